/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Test support, not part of libviommu: drives the kernel's iommufd mock
 * driver (CONFIG_IOMMUFD_TEST), whose mock devices live inside one iommufd.
 * Only tests, and the daemon when started with its test-only option, link it.
 */

#include <stdbool.h>
#include <stdint.h>

#include "iommufd-test-abi.h"

struct viommu_mock_device {
        uint32_t stdev_id;      /* the mock device, for MOCK_DOMAIN_REPLACE and PASID ops */
        uint32_t hwpt_id;       /* the paging domain it was attached to */
        uint32_t idev_id;       /* its iommufd device id, as from VFIO_DEVICE_BIND_IOMMUFD */
};

/* Creates a mock device, binds it and attaches it to pt_id (IOAS or HWPT). */
int viommu_mock_device_new(int iommufd, uint32_t pt_id, uint32_t dev_flags,
                           struct viommu_mock_device *ret);
int viommu_mock_device_replace(int iommufd, uint32_t stdev_id, uint32_t pt_id,
                               uint32_t *ret_pt_id);

/* 0 if the mock domain hwpt_id maps [iova, iova+length) onto the pages
 * behind va, -EINVAL if not. */
int viommu_mock_check_map(int iommufd, uint32_t hwpt_id, uint64_t iova,
                          uint64_t length, const void *va);
/* An access object on IOAS ioas_id, as an emulated device's driver in the
 * kernel has one: the kernel reads and writes the memory the IOAS maps
 * through it. It lives while *ret_fd is open. */
int viommu_mock_access_new(int iommufd, uint32_t ioas_id, int *ret_fd);
/* Copies length bytes between buf and [iova, iova+length) of the access
 * object's IOAS, as the kernel translates it. */
int viommu_mock_access_rw(int iommufd, int access_fd, uint64_t iova, void *buf, uint64_t length, bool write);

/* 0 if entry iotlb_id of nested HWPT hwpt_id holds expected, -EINVAL if not. */
int viommu_mock_check_iotlb(int iommufd, uint32_t hwpt_id, uint32_t iotlb_id,
                            uint32_t expected);
/* 0 if cache entry cache_id of the mock device holds expected (Linux 6.13). */
int viommu_mock_check_dev_cache(int iommufd, uint32_t idev_id, uint32_t cache_id,
                                uint32_t expected);
/* Marks the pages set in bitmap dirty in the mock domain. */
int viommu_mock_dirty(int iommufd, uint32_t hwpt_id, uint64_t iova,
                      uint64_t length, uint64_t page_size,
                      const uint64_t *bitmap, uint64_t *ret_nr_dirty);
int viommu_mock_trigger_iopf(int iommufd, uint32_t idev_id, uint32_t pasid,
                             uint32_t grpid, uint32_t perm, uint64_t addr);
int viommu_mock_trigger_vevent(int iommufd, uint32_t idev_id);

int viommu_mock_pasid_attach(int iommufd, uint32_t stdev_id, uint32_t pasid, uint32_t pt_id);
int viommu_mock_pasid_replace(int iommufd, uint32_t stdev_id, uint32_t pasid, uint32_t pt_id);
int viommu_mock_pasid_detach(int iommufd, uint32_t stdev_id, uint32_t pasid);
/* 0 if pasid of the mock device is attached to hwpt_id (0: to nothing). */
int viommu_mock_pasid_check(int iommufd, uint32_t stdev_id, uint32_t pasid, uint32_t hwpt_id);
