/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libviommu: one typed wrapper per iommufd ioctl.
 *
 * Every function returns 0 (or a count) on success and a negative errno on
 * failure, exactly as the kernel reported it; nothing here logs. An iommufd
 * ioctl the running kernel does not know fails with -ENOTTY: see
 * viommu-features.h to find out beforehand and to name the kernel version
 * that brings it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "viommu-abi.h"

/* Opens /dev/iommu (or $VIOMMU_IOMMUFD_PATH); returns the fd or -errno. */
int viommu_iommufd_open(void);

int viommu_destroy(int iommufd, uint32_t id);

/* IOAS: address spaces and their mappings (Linux 6.2). */
int viommu_ioas_alloc(int iommufd, uint32_t *ret_ioas_id);
/*
 * Maps [va, va+length) of the caller. With IOMMU_IOAS_MAP_FIXED_IOVA in flags
 * *iova is the IOVA to use; without it the kernel picks one and stores it in
 * *iova.
 */
int viommu_ioas_map(int iommufd, uint32_t ioas_id, uint32_t flags,
                    const void *va, uint64_t length, uint64_t *iova);
/* Same for [start, start+length) of a file such as a memfd (Linux 6.13). */
int viommu_ioas_map_file(int iommufd, uint32_t ioas_id, uint32_t flags,
                         int file_fd, uint64_t start, uint64_t length,
                         uint64_t *iova);
/* Unmaps every mapping inside [iova, iova+length); length UINT64_MAX with
 * iova 0 unmaps all. *ret_unmapped (may be NULL) gets the bytes unmapped. */
int viommu_ioas_unmap(int iommufd, uint32_t ioas_id, uint64_t iova,
                      uint64_t length, uint64_t *ret_unmapped);
/* Maps the pages behind src_iova in src_ioas into dst_ioas; *dst_iova as for
 * viommu_ioas_map(). */
int viommu_ioas_copy(int iommufd, uint32_t dst_ioas_id, uint32_t src_ioas_id,
                     uint32_t flags, uint64_t src_iova, uint64_t length,
                     uint64_t *dst_iova);
/* Usable IOVA ranges; *ret_ranges is malloc()ed and owned by the caller. */
int viommu_ioas_iova_ranges(int iommufd, uint32_t ioas_id,
                            struct iommu_iova_range **ret_ranges,
                            size_t *ret_n_ranges, uint64_t *ret_alignment);
/* Restricts kernel-chosen IOVAs to these ranges; n 0 lifts the restriction. */
int viommu_ioas_allow_iovas(int iommufd, uint32_t ioas_id,
                            const struct iommu_iova_range *ranges, size_t n);
/* Moves the pinned-page accounting of file mappings to the caller (6.13). */
int viommu_ioas_change_process(int iommufd);

int viommu_option_set(int iommufd, uint32_t option_id, uint32_t object_id,
                      uint64_t value);
int viommu_option_get(int iommufd, uint32_t option_id, uint32_t object_id,
                      uint64_t *ret_value);
/* VFIO container compatibility: op is an enum iommufd_vfio_ioas_op. */
int viommu_vfio_ioas(int iommufd, uint16_t op, uint32_t *ioas_id);

/* HWPT: hardware page tables (Linux 6.6; nesting 6.7, faults 6.11). */
int viommu_hwpt_alloc(int iommufd, uint32_t flags, uint32_t dev_id,
                      uint32_t pt_id, uint32_t fault_id, uint32_t data_type,
                      const void *data, uint32_t data_len,
                      uint32_t *ret_hwpt_id);

struct viommu_hw_info {
        uint32_t type;          /* enum iommu_hw_info_type */
        uint32_t data_len;      /* bytes of vendor data the kernel has */
        uint64_t capabilities;  /* enum iommufd_hw_capabilities */
        uint8_t max_pasid_log2; /* 0 before Linux 6.13 or without PASID */
};
/*
 * Vendor data goes to data (data_len bytes, may be 0). in_type 0 asks for the
 * device's own type; another value asks for that type (Linux 6.17).
 */
int viommu_get_hw_info(int iommufd, uint32_t dev_id, uint32_t in_type,
                       void *data, uint32_t data_len,
                       struct viommu_hw_info *ret);

int viommu_hwpt_set_dirty_tracking(int iommufd, uint32_t hwpt_id, bool enable);
/* One bit per page_size page of [iova, iova+length), into bitmap, which must
 * hold DIV_ROUND_UP(length / page_size, 64) words. */
int viommu_hwpt_get_dirty_bitmap(int iommufd, uint32_t hwpt_id, uint32_t flags,
                                 uint64_t iova, uint64_t length,
                                 uint64_t page_size, uint64_t *bitmap);
/*
 * Stage-1 cache invalidation on a nested HWPT or (Linux 6.13) a vIOMMU.
 * *entry_num is the number of entry_len-sized entries going in and the number
 * the kernel handled coming out, also when it fails part way.
 */
int viommu_hwpt_invalidate(int iommufd, uint32_t id, uint32_t data_type,
                           uint32_t entry_len, const void *entries,
                           uint32_t *entry_num);

/* Fault queues (Linux 6.11): the fd delivers struct iommu_hwpt_pgfault. */
int viommu_fault_queue_alloc(int iommufd, uint32_t *ret_fault_id,
                             int *ret_fault_fd);
/* Reads up to n faults; returns how many, 0 if none is pending. */
int viommu_fault_read(int fault_fd, struct iommu_hwpt_pgfault *faults, size_t n);
int viommu_fault_respond(int fault_fd, uint32_t cookie, uint32_t code);

/* vIOMMU objects (Linux 6.13; vEVENTQ 6.15; HW queues 6.17). */
int viommu_viommu_alloc(int iommufd, uint32_t type, uint32_t dev_id,
                        uint32_t hwpt_id, const void *data, uint32_t data_len,
                        uint32_t *ret_viommu_id);
int viommu_vdevice_alloc(int iommufd, uint32_t viommu_id, uint32_t dev_id,
                         uint64_t virt_id, uint32_t *ret_vdevice_id);
int viommu_veventq_alloc(int iommufd, uint32_t viommu_id, uint32_t type,
                         uint32_t depth, uint32_t *ret_veventq_id,
                         int *ret_veventq_fd);
int viommu_hw_queue_alloc(int iommufd, uint32_t viommu_id, uint32_t type,
                          uint32_t index, uint64_t nesting_parent_iova,
                          uint64_t length, uint32_t *ret_hw_queue_id);
