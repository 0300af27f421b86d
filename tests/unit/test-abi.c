/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Absolute facts about the iommufd and VFIO cdev ABI, as lib/abi/ defines
 * them. tests/abi/check-abi.sh compares the whole layout with a kernel's
 * headers; this test needs no kernel headers and pins the numbers the
 * library relies on most, so a slip in lib/abi/ fails "make check" at once.
 * Every number here was read off a build against Linux 7.3's headers.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "viommu-abi.h"

#define assert_offset(type, field, expected) \
        assert_int_equal(offsetof(type, field), (expected))

static void test_ioctl_numbers(void **state) {
        /* iommufd: type ';', commands from 0x80 on, no size encoded. */
        assert_int_equal(IOMMUFD_TYPE, ';');
        assert_int_equal(IOMMU_DESTROY, 0x3b80);
        assert_int_equal(IOMMU_IOAS_ALLOC, 0x3b81);
        assert_int_equal(IOMMU_IOAS_MAP, 0x3b85);
        assert_int_equal(IOMMU_VFIO_IOAS, 0x3b88);
        assert_int_equal(IOMMU_HWPT_ALLOC, 0x3b89);
        assert_int_equal(IOMMU_GET_HW_INFO, 0x3b8a);
        assert_int_equal(IOMMU_HWPT_INVALIDATE, 0x3b8d);
        assert_int_equal(IOMMU_FAULT_QUEUE_ALLOC, 0x3b8e);
        assert_int_equal(IOMMU_IOAS_MAP_FILE, _IO(';', 0x8f));
        assert_int_equal(IOMMU_IOAS_MAP_FILE, 0x3b8f);
        assert_int_equal(IOMMU_VIOMMU_ALLOC, 0x3b90);
        assert_int_equal(IOMMU_VDEVICE_ALLOC, 0x3b91);
        assert_int_equal(IOMMU_IOAS_CHANGE_PROCESS, 0x3b92);
        assert_int_equal(IOMMU_VEVENTQ_ALLOC, 0x3b93);
        assert_int_equal(IOMMU_HW_QUEUE_ALLOC, 0x3b94);
        assert_int_equal(IOMMU_IOAS_NOIOMMU_GET_PA, 0x3b95);

        /* VFIO shares the ';' type, from base 100. */
        assert_int_equal(VIOMMU_VFIO_DEVICE_BIND_IOMMUFD, _IO(';', 100 + 18));
        assert_int_equal(VIOMMU_VFIO_DEVICE_BIND_IOMMUFD, 0x3b76);
        assert_int_equal(VIOMMU_VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0x3b77);
        assert_int_equal(VIOMMU_VFIO_DEVICE_DETACH_IOMMUFD_PT, 0x3b78);
}

static void test_struct_sizes(void **state) {
        assert_int_equal(sizeof(struct iommu_destroy), 8);
        assert_int_equal(sizeof(struct iommu_ioas_map), 40);
        assert_int_equal(sizeof(struct iommu_ioas_map_file), 40);
        assert_int_equal(sizeof(struct iommu_ioas_unmap), 24);
        assert_int_equal(sizeof(struct iommu_option), 24);
        assert_int_equal(sizeof(struct iommu_hwpt_alloc), 48);
        assert_int_equal(sizeof(struct iommu_hw_info), 40);
        assert_int_equal(sizeof(struct iommu_hwpt_vtd_s1), 24);
        assert_int_equal(sizeof(struct iommu_hwpt_get_dirty_bitmap), 48);
        assert_int_equal(sizeof(struct iommu_hwpt_invalidate), 32);
        assert_int_equal(sizeof(struct iommu_hwpt_vtd_s1_invalidate), 24);
        assert_int_equal(sizeof(struct iommu_hwpt_pgfault), 40);
        assert_int_equal(sizeof(struct iommu_hwpt_page_response), 8);
        assert_int_equal(sizeof(struct iommu_fault_alloc), 16);
        assert_int_equal(sizeof(struct iommu_viommu_alloc), 40);
        assert_int_equal(sizeof(struct iommu_vdevice_alloc), 24);
        assert_int_equal(sizeof(struct iommu_ioas_change_process), 8);
        assert_int_equal(sizeof(struct iommufd_vevent_header), 8);
        assert_int_equal(sizeof(struct iommu_veventq_alloc), 32);
        assert_int_equal(sizeof(struct iommu_hw_queue_alloc), 40);

        assert_int_equal(sizeof(struct viommu_vfio_bind_iommufd), 24);
        assert_int_equal(sizeof(struct viommu_vfio_attach_iommufd_pt), 16);
        assert_int_equal(sizeof(struct viommu_vfio_detach_iommufd_pt), 12);

        /* The 64-bit fields force 8-byte alignment on 32-bit builds too. */
        assert_int_equal(_Alignof(struct iommu_hwpt_alloc), 8);
        assert_int_equal(_Alignof(struct viommu_vfio_bind_iommufd), 8);
        assert_int_equal(_Alignof(struct viommu_vfio_attach_iommufd_pt), 4);
}

static void test_field_offsets(void **state) {
        assert_offset(struct iommu_hwpt_alloc, data_type, 24);
        assert_offset(struct iommu_hwpt_alloc, data_uptr, 32);
        assert_offset(struct iommu_hwpt_alloc, fault_id, 40);

        /* in_data_type and out_data_type are one slot. */
        assert_offset(struct iommu_hw_info, data_uptr, 16);
        assert_offset(struct iommu_hw_info, out_data_type, 24);
        assert_offset(struct iommu_hw_info, in_data_type, 24);
        assert_offset(struct iommu_hw_info, out_max_pasid_log2, 28);
        assert_offset(struct iommu_hw_info, out_capabilities, 32);

        assert_offset(struct iommu_ioas_map_file, fd, 12);
        assert_offset(struct iommu_ioas_map_file, start, 16);
        assert_offset(struct iommu_ioas_map_file, iova, 32);

        assert_offset(struct iommu_hwpt_invalidate, data_uptr, 8);
        assert_offset(struct iommu_hwpt_invalidate, entry_num, 24);

        assert_offset(struct iommu_hwpt_pgfault, addr, 24);
        assert_offset(struct iommu_hwpt_pgfault, cookie, 36);

        assert_offset(struct iommu_viommu_alloc, data_uptr, 32);
        assert_offset(struct iommu_vdevice_alloc, virt_id, 16);
        assert_offset(struct iommu_hw_queue_alloc, nesting_parent_iova, 24);

        assert_offset(struct viommu_vfio_bind_iommufd, out_devid, 12);
        assert_offset(struct viommu_vfio_bind_iommufd, token_uuid_ptr, 16);
        assert_offset(struct viommu_vfio_attach_iommufd_pt, pasid, 12);
        assert_offset(struct viommu_vfio_detach_iommufd_pt, pasid, 8);
}

static void test_constants(void **state) {
        assert_int_equal(IOMMU_HWPT_ALLOC_NEST_PARENT, 1);
        assert_int_equal(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 2);
        assert_int_equal(IOMMU_HWPT_FAULT_ID_VALID, 4);
        assert_int_equal(IOMMU_HWPT_ALLOC_PASID, 8);

        assert_int_equal(IOMMU_HWPT_DATA_VTD_S1, 1);
        assert_int_equal(IOMMU_HWPT_DATA_ARM_SMMUV3, 2);
        assert_int_equal(IOMMU_HWPT_DATA_AMD_GUEST, 3);
        assert_int_equal(IOMMU_HW_INFO_TYPE_INTEL_VTD, 1);
        assert_int_equal(IOMMU_HW_INFO_TYPE_AMD, 4);
        assert_int_equal(IOMMU_HW_INFO_FLAG_INPUT_TYPE, 1);
        assert_int_equal(IOMMU_HW_CAP_DIRTY_TRACKING, 1);
        assert_int_equal(IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED, 8);

        assert_int_equal(IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 0);
        assert_int_equal(IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 1);
        assert_int_equal(IOMMU_PGFAULT_FLAGS_LAST_PAGE, 2);
        assert_int_equal(IOMMU_VEVENTQ_FLAG_LOST_EVENTS, 1);
        assert_int_equal(IOMMU_OPTION_RLIMIT_MODE, 0);
        assert_int_equal(IOMMU_OPTION_HUGE_PAGES, 1);

        assert_int_equal(VIOMMU_VFIO_DEVICE_BIND_FLAG_TOKEN, 1);
        assert_int_equal(VIOMMU_VFIO_DEVICE_ATTACH_PASID, 1);
        assert_int_equal(VIOMMU_VFIO_DEVICE_DETACH_PASID, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ioctl_numbers),
                cmocka_unit_test(test_struct_sizes),
                cmocka_unit_test(test_field_offsets),
                cmocka_unit_test(test_constants),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
