/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The test-only ABI of the kernel's iommufd mock driver (CONFIG_IOMMUFD_TEST).
 * It is not a uapi header and changes between kernels: only the operations
 * the project uses are defined, in the layout both test kernels (6.12, 7.3)
 * accept. Struct tails added by newer kernels are zero, which older kernels
 * take as "unused".
 */

#include "viommu-abi.h"

#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

enum {
        IOMMU_TEST_OP_MOCK_DOMAIN           = 2,
        IOMMU_TEST_OP_MD_CHECK_MAP          = 3,
        IOMMU_TEST_OP_CREATE_ACCESS         = 5,
        IOMMU_TEST_OP_ACCESS_RW             = 8,
        IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE   = 10,
        IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS     = 12,
        IOMMU_TEST_OP_DIRTY                 = 13,
        IOMMU_TEST_OP_MD_CHECK_IOTLB        = 14,
        IOMMU_TEST_OP_TRIGGER_IOPF          = 15,
        /* Linux 6.13+ */
        IOMMU_TEST_OP_DEV_CHECK_CACHE       = 16,
        IOMMU_TEST_OP_TRIGGER_VEVENT        = 17,
        IOMMU_TEST_OP_PASID_ATTACH          = 18,
        IOMMU_TEST_OP_PASID_REPLACE         = 19,
        IOMMU_TEST_OP_PASID_DETACH          = 20,
        IOMMU_TEST_OP_PASID_CHECK_HWPT      = 21,
};

/* The mock domain's usable IOVA window. */
#define MOCK_APERTURE_START (UINT64_C(1) << 24)
#define MOCK_APERTURE_LAST  ((UINT64_C(1) << 31) - 1)

enum {
        MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
        MOCK_FLAGS_DEVICE_PASID    = 1 << 2,    /* Linux 6.15+ */
};

/* An access object's read or write (IOMMU_TEST_OP_ACCESS_RW). */
#define MOCK_ACCESS_RW_WRITE (1 << 0)

#define MOCK_PAGE_SIZE 2048                     /* half a 4 KiB CPU page */
#define MOCK_NESTED_DOMAIN_IOTLB_NUM 4
#define MOCK_PASID_WIDTH 20

struct iommu_test_cmd {
        __u32 size;
        __u32 op;
        __u32 id;
        __u32 __reserved;
        union {
                struct {
                        __u32 out_stdev_id;
                        __u32 out_hwpt_id;
                        __u32 out_idev_id;
                        __u32 dev_flags;
                } mock_domain_flags;
                struct {
                        __u32 pt_id;
                } mock_domain_replace;
                struct {
                        __aligned_u64 iova;
                        __aligned_u64 length;
                        __aligned_u64 uptr;
                } check_map;
                struct {
                        __u32 out_access_fd;
                        __u32 flags;
                } create_access;
                struct {
                        __aligned_u64 iova;
                        __aligned_u64 length;
                        __aligned_u64 uptr;
                        __u32 flags;
                } access_rw;
                struct {
                        __u32 flags;
                        __aligned_u64 iova;
                        __aligned_u64 length;
                        __aligned_u64 page_size;
                        __aligned_u64 uptr;
                        __aligned_u64 out_nr_dirty;
                } dirty;
                struct {
                        __u32 id;
                        __u32 iotlb;
                } check_iotlb;
                struct {
                        __u32 dev_id;
                        __u32 pasid;
                        __u32 grpid;
                        __u32 perm;
                        __u64 addr;
                } trigger_iopf;
                struct {
                        __u32 id;
                        __u32 cache;
                } check_dev_cache;
                struct {
                        __u32 dev_id;
                } trigger_vevent;
                struct {
                        __u32 pasid;
                        __u32 pt_id;
                } pasid_attach;
                struct {
                        __u32 pasid;
                        __u32 hwpt_id;
                } pasid_check;
        };
        __u32 last;
};

/* Device info, nested HWPT data, invalidation and vIOMMU types of the mock. */
#define IOMMU_HW_INFO_TYPE_SELFTEST         0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL       0xdeadbeef
struct iommu_test_hw_info {
        __u32 flags;
        __u32 test_reg;
};

#define IOMMU_HWPT_DATA_SELFTEST            0xdead
#define IOMMU_TEST_IOTLB_DEFAULT            0xbadbeef
struct iommu_hwpt_selftest {
        __u32 iotlb;
        __u32 pagetable_type;                   /* newer kernels; 0: default */
};

#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST         0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef
#define IOMMU_TEST_INVALIDATE_FLAG_ALL              (1 << 0)
struct iommu_hwpt_invalidate_selftest {
        __u32 flags;
        __u32 iotlb_id;
};

#define IOMMU_VIOMMU_TYPE_SELFTEST          0xdeadbeef
struct iommu_viommu_selftest {
        __u32 in_data;
        __u32 out_data;
        __aligned_u64 out_mmap_offset;
        __aligned_u64 out_mmap_length;
};

#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST       0xdeadbeef
#define IOMMU_TEST_DEV_CACHE_DEFAULT                0xbaddad
#define MOCK_DEV_CACHE_NUM                          4
struct iommu_viommu_invalidate_selftest {
        __u32 flags;
        __u32 vdev_id;
        __u32 cache_id;
};

#define IOMMU_VEVENTQ_TYPE_SELFTEST         0xbeefbeef
struct iommu_viommu_event_selftest {
        __u32 virt_id;
};

#define IOMMU_HW_QUEUE_TYPE_SELFTEST        0xdeadbeef
