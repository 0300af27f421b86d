/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Every struct, field and constant of lib/abi/iommufd.h and
 * lib/abi/vfio-cdev.h, each tagged with the kernel release (major, minor)
 * from which it exists in its current form. abi-dump.c includes this list
 * with the macros below defined, once against the project's headers and
 * once against a kernel's installed headers, and prints only what the
 * release under test should have; check-abi.sh compares the two outputs.
 *
 *   ABI_STRUCT(maj, min, s)          struct s exists
 *   ABI_SIZE(maj, min, s)            sizeof and alignment of struct s are
 *                                    the current ones
 *   ABI_FIELD(maj, min, s, f)        field f of struct s: offset and size
 *   ABI_CONST(maj, min, C)           value of constant C (enum or macro)
 *   ABI_VSTRUCT / ABI_VSIZE / ABI_VFIELD (maj, min, ps, ks[, f])
 *   ABI_VCONST(maj, min, PC, KC)     the same for the VFIO cdev ABI, where the
 *                                    project's name (ps, PC) differs from the
 *                                    kernel's (ks, KC)
 *
 * Where the tags come from: the release that brought each ioctl, and the
 * structs and constants that came with it, is the one the project brief
 * records (6.2, 6.6, 6.7, 6.8, 6.11, 6.13, 6.15, 6.17). Anything else was
 * dated only by comparing two kernels' headers, Debian's 6.12.117 and 7.3.4:
 * it is tagged 6.12 if 6.12 shows it, else 7.3. Those tags are upper
 * bounds; the real release may be earlier (they are marked "bound").
 * A struct that grew carries ABI_SIZE with the release of its last growth,
 * so a kernel with the shorter struct still gets its older fields checked.
 *
 * This file is a list, not a header: it has no include guard on purpose.
 */

/* Since 6.2 */
ABI_CONST(6, 2, IOMMUFD_TYPE)
ABI_CONST(6, 2, IOMMUFD_CMD_BASE)
ABI_CONST(6, 2, IOMMUFD_CMD_DESTROY)
ABI_CONST(6, 2, IOMMUFD_CMD_IOAS_ALLOC)
ABI_CONST(6, 2, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)
ABI_CONST(6, 2, IOMMUFD_CMD_IOAS_COPY)
ABI_CONST(6, 2, IOMMUFD_CMD_IOAS_IOVA_RANGES)
ABI_CONST(6, 2, IOMMUFD_CMD_IOAS_MAP)
ABI_CONST(6, 2, IOMMUFD_CMD_IOAS_UNMAP)
ABI_CONST(6, 2, IOMMUFD_CMD_OPTION)
ABI_CONST(6, 2, IOMMUFD_CMD_VFIO_IOAS)

ABI_STRUCT(6, 2, iommu_destroy)
ABI_SIZE(6, 2, iommu_destroy)
ABI_FIELD(6, 2, iommu_destroy, size)
ABI_FIELD(6, 2, iommu_destroy, id)
ABI_CONST(6, 2, IOMMU_DESTROY)

ABI_STRUCT(6, 2, iommu_ioas_alloc)
ABI_SIZE(6, 2, iommu_ioas_alloc)
ABI_FIELD(6, 2, iommu_ioas_alloc, size)
ABI_FIELD(6, 2, iommu_ioas_alloc, flags)
ABI_FIELD(6, 2, iommu_ioas_alloc, out_ioas_id)
ABI_CONST(6, 2, IOMMU_IOAS_ALLOC)

ABI_STRUCT(6, 2, iommu_iova_range)
ABI_SIZE(6, 2, iommu_iova_range)
ABI_FIELD(6, 2, iommu_iova_range, start)
ABI_FIELD(6, 2, iommu_iova_range, last)

ABI_STRUCT(6, 2, iommu_ioas_iova_ranges)
ABI_SIZE(6, 2, iommu_ioas_iova_ranges)
ABI_FIELD(6, 2, iommu_ioas_iova_ranges, size)
ABI_FIELD(6, 2, iommu_ioas_iova_ranges, ioas_id)
ABI_FIELD(6, 2, iommu_ioas_iova_ranges, num_iovas)
ABI_FIELD(6, 2, iommu_ioas_iova_ranges, __reserved)
ABI_FIELD(6, 2, iommu_ioas_iova_ranges, allowed_iovas)
ABI_FIELD(6, 2, iommu_ioas_iova_ranges, out_iova_alignment)
ABI_CONST(6, 2, IOMMU_IOAS_IOVA_RANGES)

ABI_STRUCT(6, 2, iommu_ioas_allow_iovas)
ABI_SIZE(6, 2, iommu_ioas_allow_iovas)
ABI_FIELD(6, 2, iommu_ioas_allow_iovas, size)
ABI_FIELD(6, 2, iommu_ioas_allow_iovas, ioas_id)
ABI_FIELD(6, 2, iommu_ioas_allow_iovas, num_iovas)
ABI_FIELD(6, 2, iommu_ioas_allow_iovas, __reserved)
ABI_FIELD(6, 2, iommu_ioas_allow_iovas, allowed_iovas)
ABI_CONST(6, 2, IOMMU_IOAS_ALLOW_IOVAS)

ABI_CONST(6, 2, IOMMU_IOAS_MAP_FIXED_IOVA)
ABI_CONST(6, 2, IOMMU_IOAS_MAP_WRITEABLE)
ABI_CONST(6, 2, IOMMU_IOAS_MAP_READABLE)

ABI_STRUCT(6, 2, iommu_ioas_map)
ABI_SIZE(6, 2, iommu_ioas_map)
ABI_FIELD(6, 2, iommu_ioas_map, size)
ABI_FIELD(6, 2, iommu_ioas_map, flags)
ABI_FIELD(6, 2, iommu_ioas_map, ioas_id)
ABI_FIELD(6, 2, iommu_ioas_map, __reserved)
ABI_FIELD(6, 2, iommu_ioas_map, user_va)
ABI_FIELD(6, 2, iommu_ioas_map, length)
ABI_FIELD(6, 2, iommu_ioas_map, iova)
ABI_CONST(6, 2, IOMMU_IOAS_MAP)

ABI_STRUCT(6, 2, iommu_ioas_copy)
ABI_SIZE(6, 2, iommu_ioas_copy)
ABI_FIELD(6, 2, iommu_ioas_copy, size)
ABI_FIELD(6, 2, iommu_ioas_copy, flags)
ABI_FIELD(6, 2, iommu_ioas_copy, dst_ioas_id)
ABI_FIELD(6, 2, iommu_ioas_copy, src_ioas_id)
ABI_FIELD(6, 2, iommu_ioas_copy, length)
ABI_FIELD(6, 2, iommu_ioas_copy, dst_iova)
ABI_FIELD(6, 2, iommu_ioas_copy, src_iova)
ABI_CONST(6, 2, IOMMU_IOAS_COPY)

ABI_STRUCT(6, 2, iommu_ioas_unmap)
ABI_SIZE(6, 2, iommu_ioas_unmap)
ABI_FIELD(6, 2, iommu_ioas_unmap, size)
ABI_FIELD(6, 2, iommu_ioas_unmap, ioas_id)
ABI_FIELD(6, 2, iommu_ioas_unmap, iova)
ABI_FIELD(6, 2, iommu_ioas_unmap, length)
ABI_CONST(6, 2, IOMMU_IOAS_UNMAP)

ABI_CONST(6, 2, IOMMU_OPTION_RLIMIT_MODE)
ABI_CONST(6, 2, IOMMU_OPTION_HUGE_PAGES)
ABI_CONST(6, 2, IOMMU_OPTION_OP_SET)
ABI_CONST(6, 2, IOMMU_OPTION_OP_GET)

ABI_STRUCT(6, 2, iommu_option)
ABI_SIZE(6, 2, iommu_option)
ABI_FIELD(6, 2, iommu_option, size)
ABI_FIELD(6, 2, iommu_option, option_id)
ABI_FIELD(6, 2, iommu_option, op)
ABI_FIELD(6, 2, iommu_option, __reserved)
ABI_FIELD(6, 2, iommu_option, object_id)
ABI_FIELD(6, 2, iommu_option, val64)
ABI_CONST(6, 2, IOMMU_OPTION)

ABI_CONST(6, 2, IOMMU_VFIO_IOAS_GET)
ABI_CONST(6, 2, IOMMU_VFIO_IOAS_SET)
ABI_CONST(6, 2, IOMMU_VFIO_IOAS_CLEAR)

ABI_STRUCT(6, 2, iommu_vfio_ioas)
ABI_SIZE(6, 2, iommu_vfio_ioas)
ABI_FIELD(6, 2, iommu_vfio_ioas, size)
ABI_FIELD(6, 2, iommu_vfio_ioas, ioas_id)
ABI_FIELD(6, 2, iommu_vfio_ioas, op)
ABI_FIELD(6, 2, iommu_vfio_ioas, __reserved)
ABI_CONST(6, 2, IOMMU_VFIO_IOAS)

/* Since 6.6: HWPT_ALLOC, GET_HW_INFO, the VFIO cdev */
ABI_CONST(6, 6, IOMMUFD_CMD_HWPT_ALLOC)
ABI_CONST(6, 6, IOMMUFD_CMD_GET_HW_INFO)

ABI_STRUCT(6, 6, iommu_hwpt_alloc)
ABI_SIZE(6, 11, iommu_hwpt_alloc)
ABI_FIELD(6, 6, iommu_hwpt_alloc, size)
ABI_FIELD(6, 6, iommu_hwpt_alloc, flags)
ABI_FIELD(6, 6, iommu_hwpt_alloc, dev_id)
ABI_FIELD(6, 6, iommu_hwpt_alloc, pt_id)
ABI_FIELD(6, 6, iommu_hwpt_alloc, out_hwpt_id)
ABI_FIELD(6, 6, iommu_hwpt_alloc, __reserved)
ABI_FIELD(6, 7, iommu_hwpt_alloc, data_type)
ABI_FIELD(6, 7, iommu_hwpt_alloc, data_len)
ABI_FIELD(6, 7, iommu_hwpt_alloc, data_uptr)
ABI_FIELD(6, 11, iommu_hwpt_alloc, fault_id)
ABI_FIELD(6, 11, iommu_hwpt_alloc, __reserved2)
ABI_CONST(6, 6, IOMMU_HWPT_ALLOC)

ABI_CONST(6, 6, IOMMU_HW_INFO_TYPE_NONE)
ABI_CONST(6, 6, IOMMU_HW_INFO_TYPE_INTEL_VTD)

ABI_STRUCT(6, 6, iommu_hw_info_vtd)
ABI_SIZE(6, 6, iommu_hw_info_vtd)
ABI_FIELD(6, 6, iommu_hw_info_vtd, flags)
ABI_FIELD(6, 6, iommu_hw_info_vtd, __reserved)
ABI_FIELD(6, 6, iommu_hw_info_vtd, cap_reg)
ABI_FIELD(6, 6, iommu_hw_info_vtd, ecap_reg)
ABI_CONST(6, 12, IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17)     /* bound */

ABI_STRUCT(6, 6, iommu_hw_info)
ABI_SIZE(6, 7, iommu_hw_info)
ABI_FIELD(6, 6, iommu_hw_info, size)
ABI_FIELD(6, 6, iommu_hw_info, flags)
ABI_FIELD(6, 6, iommu_hw_info, dev_id)
ABI_FIELD(6, 6, iommu_hw_info, data_len)
ABI_FIELD(6, 6, iommu_hw_info, data_uptr)
ABI_FIELD(6, 6, iommu_hw_info, out_data_type)
ABI_FIELD(7, 3, iommu_hw_info, in_data_type)                /* bound */
ABI_FIELD(6, 12, iommu_hw_info, out_max_pasid_log2)         /* bound */
/* Was one __u32 until out_max_pasid_log2 took its first byte. */
ABI_FIELD(6, 12, iommu_hw_info, __reserved)                 /* bound */
ABI_FIELD(6, 7, iommu_hw_info, out_capabilities)
ABI_CONST(6, 6, IOMMU_GET_HW_INFO)

ABI_VCONST(6, 6, VIOMMU_VFIO_TYPE, VFIO_TYPE)
ABI_VCONST(6, 6, VIOMMU_VFIO_BASE, VFIO_BASE)

ABI_VSTRUCT(6, 6, viommu_vfio_bind_iommufd, vfio_device_bind_iommufd)
ABI_VSIZE(7, 3, viommu_vfio_bind_iommufd, vfio_device_bind_iommufd)           /* bound */
ABI_VFIELD(6, 6, viommu_vfio_bind_iommufd, vfio_device_bind_iommufd, argsz)
ABI_VFIELD(6, 6, viommu_vfio_bind_iommufd, vfio_device_bind_iommufd, flags)
ABI_VFIELD(6, 6, viommu_vfio_bind_iommufd, vfio_device_bind_iommufd, iommufd)
ABI_VFIELD(6, 6, viommu_vfio_bind_iommufd, vfio_device_bind_iommufd, out_devid)
ABI_VFIELD(7, 3, viommu_vfio_bind_iommufd, vfio_device_bind_iommufd, token_uuid_ptr) /* bound */
ABI_VCONST(6, 6, VIOMMU_VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_BIND_IOMMUFD)
ABI_VCONST(7, 3, VIOMMU_VFIO_DEVICE_BIND_FLAG_TOKEN, VFIO_DEVICE_BIND_FLAG_TOKEN) /* bound */

ABI_VSTRUCT(6, 6, viommu_vfio_attach_iommufd_pt, vfio_device_attach_iommufd_pt)
ABI_VSIZE(6, 15, viommu_vfio_attach_iommufd_pt, vfio_device_attach_iommufd_pt)
ABI_VFIELD(6, 6, viommu_vfio_attach_iommufd_pt, vfio_device_attach_iommufd_pt, argsz)
ABI_VFIELD(6, 6, viommu_vfio_attach_iommufd_pt, vfio_device_attach_iommufd_pt, flags)
ABI_VFIELD(6, 6, viommu_vfio_attach_iommufd_pt, vfio_device_attach_iommufd_pt, pt_id)
ABI_VFIELD(6, 15, viommu_vfio_attach_iommufd_pt, vfio_device_attach_iommufd_pt, pasid)
ABI_VCONST(6, 6, VIOMMU_VFIO_DEVICE_ATTACH_IOMMUFD_PT, VFIO_DEVICE_ATTACH_IOMMUFD_PT)
ABI_VCONST(6, 15, VIOMMU_VFIO_DEVICE_ATTACH_PASID, VFIO_DEVICE_ATTACH_PASID)

ABI_VSTRUCT(6, 6, viommu_vfio_detach_iommufd_pt, vfio_device_detach_iommufd_pt)
ABI_VSIZE(6, 15, viommu_vfio_detach_iommufd_pt, vfio_device_detach_iommufd_pt)
ABI_VFIELD(6, 6, viommu_vfio_detach_iommufd_pt, vfio_device_detach_iommufd_pt, argsz)
ABI_VFIELD(6, 6, viommu_vfio_detach_iommufd_pt, vfio_device_detach_iommufd_pt, flags)
ABI_VFIELD(6, 15, viommu_vfio_detach_iommufd_pt, vfio_device_detach_iommufd_pt, pasid)
ABI_VCONST(6, 6, VIOMMU_VFIO_DEVICE_DETACH_IOMMUFD_PT, VFIO_DEVICE_DETACH_IOMMUFD_PT)
ABI_VCONST(6, 15, VIOMMU_VFIO_DEVICE_DETACH_PASID, VFIO_DEVICE_DETACH_PASID)

/* Since 6.7: nesting with VT-d stage 1, dirty tracking */
ABI_CONST(6, 7, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)
ABI_CONST(6, 7, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)
ABI_CONST(6, 7, IOMMU_HWPT_ALLOC_NEST_PARENT)
ABI_CONST(6, 7, IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
ABI_CONST(6, 7, IOMMU_HWPT_DATA_NONE)
ABI_CONST(6, 7, IOMMU_HWPT_DATA_VTD_S1)
ABI_CONST(6, 7, IOMMU_VTD_S1_SRE)
ABI_CONST(6, 7, IOMMU_VTD_S1_EAFE)
ABI_CONST(6, 7, IOMMU_VTD_S1_WPE)

ABI_STRUCT(6, 7, iommu_hwpt_vtd_s1)
ABI_SIZE(6, 7, iommu_hwpt_vtd_s1)
ABI_FIELD(6, 7, iommu_hwpt_vtd_s1, flags)
ABI_FIELD(6, 7, iommu_hwpt_vtd_s1, pgtbl_addr)
ABI_FIELD(6, 7, iommu_hwpt_vtd_s1, addr_width)
ABI_FIELD(6, 7, iommu_hwpt_vtd_s1, __reserved)

ABI_CONST(6, 7, IOMMU_HW_CAP_DIRTY_TRACKING)
ABI_CONST(6, 7, IOMMU_HWPT_DIRTY_TRACKING_ENABLE)

ABI_STRUCT(6, 7, iommu_hwpt_set_dirty_tracking)
ABI_SIZE(6, 7, iommu_hwpt_set_dirty_tracking)
ABI_FIELD(6, 7, iommu_hwpt_set_dirty_tracking, size)
ABI_FIELD(6, 7, iommu_hwpt_set_dirty_tracking, flags)
ABI_FIELD(6, 7, iommu_hwpt_set_dirty_tracking, hwpt_id)
ABI_FIELD(6, 7, iommu_hwpt_set_dirty_tracking, __reserved)
ABI_CONST(6, 7, IOMMU_HWPT_SET_DIRTY_TRACKING)

ABI_CONST(6, 7, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)

ABI_STRUCT(6, 7, iommu_hwpt_get_dirty_bitmap)
ABI_SIZE(6, 7, iommu_hwpt_get_dirty_bitmap)
ABI_FIELD(6, 7, iommu_hwpt_get_dirty_bitmap, size)
ABI_FIELD(6, 7, iommu_hwpt_get_dirty_bitmap, hwpt_id)
ABI_FIELD(6, 7, iommu_hwpt_get_dirty_bitmap, flags)
ABI_FIELD(6, 7, iommu_hwpt_get_dirty_bitmap, __reserved)
ABI_FIELD(6, 7, iommu_hwpt_get_dirty_bitmap, iova)
ABI_FIELD(6, 7, iommu_hwpt_get_dirty_bitmap, length)
ABI_FIELD(6, 7, iommu_hwpt_get_dirty_bitmap, page_size)
ABI_FIELD(6, 7, iommu_hwpt_get_dirty_bitmap, data)
ABI_CONST(6, 7, IOMMU_HWPT_GET_DIRTY_BITMAP)

/* Since 6.8: HWPT_INVALIDATE */
ABI_CONST(6, 8, IOMMUFD_CMD_HWPT_INVALIDATE)
ABI_CONST(6, 8, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1)
ABI_CONST(6, 8, IOMMU_VTD_INV_FLAGS_LEAF)

ABI_STRUCT(6, 8, iommu_hwpt_vtd_s1_invalidate)
ABI_SIZE(6, 8, iommu_hwpt_vtd_s1_invalidate)
ABI_FIELD(6, 8, iommu_hwpt_vtd_s1_invalidate, addr)
ABI_FIELD(6, 8, iommu_hwpt_vtd_s1_invalidate, npages)
ABI_FIELD(6, 8, iommu_hwpt_vtd_s1_invalidate, flags)
ABI_FIELD(6, 8, iommu_hwpt_vtd_s1_invalidate, __reserved)

ABI_STRUCT(6, 8, iommu_hwpt_invalidate)
ABI_SIZE(6, 8, iommu_hwpt_invalidate)
ABI_FIELD(6, 8, iommu_hwpt_invalidate, size)
ABI_FIELD(6, 8, iommu_hwpt_invalidate, hwpt_id)
ABI_FIELD(6, 8, iommu_hwpt_invalidate, data_uptr)
ABI_FIELD(6, 8, iommu_hwpt_invalidate, data_type)
ABI_FIELD(6, 8, iommu_hwpt_invalidate, entry_len)
ABI_FIELD(6, 8, iommu_hwpt_invalidate, entry_num)
ABI_FIELD(6, 8, iommu_hwpt_invalidate, __reserved)
ABI_CONST(6, 8, IOMMU_HWPT_INVALIDATE)

/* Since 6.11: fault queues */
ABI_CONST(6, 11, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)
ABI_CONST(6, 11, IOMMU_HWPT_FAULT_ID_VALID)
ABI_CONST(6, 11, IOMMU_PGFAULT_FLAGS_PASID_VALID)
ABI_CONST(6, 11, IOMMU_PGFAULT_FLAGS_LAST_PAGE)
ABI_CONST(6, 11, IOMMU_PGFAULT_PERM_READ)
ABI_CONST(6, 11, IOMMU_PGFAULT_PERM_WRITE)
ABI_CONST(6, 11, IOMMU_PGFAULT_PERM_EXEC)
ABI_CONST(6, 11, IOMMU_PGFAULT_PERM_PRIV)

ABI_STRUCT(6, 11, iommu_hwpt_pgfault)
ABI_SIZE(6, 11, iommu_hwpt_pgfault)
ABI_FIELD(6, 11, iommu_hwpt_pgfault, flags)
ABI_FIELD(6, 11, iommu_hwpt_pgfault, dev_id)
ABI_FIELD(6, 11, iommu_hwpt_pgfault, pasid)
ABI_FIELD(6, 11, iommu_hwpt_pgfault, grpid)
ABI_FIELD(6, 11, iommu_hwpt_pgfault, perm)
ABI_FIELD(6, 11, iommu_hwpt_pgfault, __reserved)
ABI_FIELD(6, 11, iommu_hwpt_pgfault, addr)
ABI_FIELD(6, 11, iommu_hwpt_pgfault, length)
ABI_FIELD(6, 11, iommu_hwpt_pgfault, cookie)

ABI_CONST(6, 11, IOMMUFD_PAGE_RESP_SUCCESS)
ABI_CONST(6, 11, IOMMUFD_PAGE_RESP_INVALID)

ABI_STRUCT(6, 11, iommu_hwpt_page_response)
ABI_SIZE(6, 11, iommu_hwpt_page_response)
ABI_FIELD(6, 11, iommu_hwpt_page_response, cookie)
ABI_FIELD(6, 11, iommu_hwpt_page_response, code)

ABI_STRUCT(6, 11, iommu_fault_alloc)
ABI_SIZE(6, 11, iommu_fault_alloc)
ABI_FIELD(6, 11, iommu_fault_alloc, size)
ABI_FIELD(6, 11, iommu_fault_alloc, flags)
ABI_FIELD(6, 11, iommu_fault_alloc, out_fault_id)
ABI_FIELD(6, 11, iommu_fault_alloc, out_fault_fd)
ABI_CONST(6, 11, IOMMU_FAULT_QUEUE_ALLOC)

/* Shown first by the 6.12 header (bound) */
ABI_CONST(6, 12, IOMMU_HW_CAP_PCI_PASID_EXEC)
ABI_CONST(6, 12, IOMMU_HW_CAP_PCI_PASID_PRIV)

/* Since 6.13: file mappings, process change, vIOMMU, vDEVICE, SMMUv3 nesting */
ABI_CONST(6, 13, IOMMUFD_CMD_IOAS_MAP_FILE)
ABI_CONST(6, 13, IOMMUFD_CMD_VIOMMU_ALLOC)
ABI_CONST(6, 13, IOMMUFD_CMD_VDEVICE_ALLOC)
ABI_CONST(6, 13, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)

ABI_STRUCT(6, 13, iommu_ioas_map_file)
ABI_SIZE(6, 13, iommu_ioas_map_file)
ABI_FIELD(6, 13, iommu_ioas_map_file, size)
ABI_FIELD(6, 13, iommu_ioas_map_file, flags)
ABI_FIELD(6, 13, iommu_ioas_map_file, ioas_id)
ABI_FIELD(6, 13, iommu_ioas_map_file, fd)
ABI_FIELD(6, 13, iommu_ioas_map_file, start)
ABI_FIELD(6, 13, iommu_ioas_map_file, length)
ABI_FIELD(6, 13, iommu_ioas_map_file, iova)
ABI_CONST(6, 13, IOMMU_IOAS_MAP_FILE)

ABI_CONST(6, 13, IOMMU_HWPT_DATA_ARM_SMMUV3)

ABI_STRUCT(6, 13, iommu_hwpt_arm_smmuv3)
ABI_SIZE(6, 13, iommu_hwpt_arm_smmuv3)
ABI_FIELD(6, 13, iommu_hwpt_arm_smmuv3, ste)

ABI_CONST(6, 13, IOMMU_HW_INFO_TYPE_ARM_SMMUV3)

ABI_STRUCT(6, 13, iommu_hw_info_arm_smmuv3)
ABI_SIZE(6, 13, iommu_hw_info_arm_smmuv3)
ABI_FIELD(6, 13, iommu_hw_info_arm_smmuv3, flags)
ABI_FIELD(6, 13, iommu_hw_info_arm_smmuv3, __reserved)
ABI_FIELD(6, 13, iommu_hw_info_arm_smmuv3, idr)
ABI_FIELD(6, 13, iommu_hw_info_arm_smmuv3, iidr)
ABI_FIELD(6, 13, iommu_hw_info_arm_smmuv3, aidr)

ABI_CONST(6, 13, IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3)

ABI_STRUCT(6, 13, iommu_viommu_arm_smmuv3_invalidate)
ABI_SIZE(6, 13, iommu_viommu_arm_smmuv3_invalidate)
ABI_FIELD(6, 13, iommu_viommu_arm_smmuv3_invalidate, cmd)

ABI_CONST(6, 13, IOMMU_VIOMMU_TYPE_DEFAULT)
ABI_CONST(6, 13, IOMMU_VIOMMU_TYPE_ARM_SMMUV3)

ABI_STRUCT(6, 13, iommu_viommu_alloc)
ABI_SIZE(7, 3, iommu_viommu_alloc)                          /* bound */
ABI_FIELD(6, 13, iommu_viommu_alloc, size)
ABI_FIELD(6, 13, iommu_viommu_alloc, flags)
ABI_FIELD(6, 13, iommu_viommu_alloc, type)
ABI_FIELD(6, 13, iommu_viommu_alloc, dev_id)
ABI_FIELD(6, 13, iommu_viommu_alloc, hwpt_id)
ABI_FIELD(6, 13, iommu_viommu_alloc, out_viommu_id)
ABI_FIELD(7, 3, iommu_viommu_alloc, data_len)               /* bound */
ABI_FIELD(7, 3, iommu_viommu_alloc, __reserved)             /* bound */
ABI_FIELD(7, 3, iommu_viommu_alloc, data_uptr)              /* bound */
ABI_CONST(6, 13, IOMMU_VIOMMU_ALLOC)

ABI_STRUCT(6, 13, iommu_vdevice_alloc)
ABI_SIZE(6, 13, iommu_vdevice_alloc)
ABI_FIELD(6, 13, iommu_vdevice_alloc, size)
ABI_FIELD(6, 13, iommu_vdevice_alloc, viommu_id)
ABI_FIELD(6, 13, iommu_vdevice_alloc, dev_id)
ABI_FIELD(6, 13, iommu_vdevice_alloc, out_vdevice_id)
ABI_FIELD(6, 13, iommu_vdevice_alloc, virt_id)
ABI_CONST(6, 13, IOMMU_VDEVICE_ALLOC)

ABI_STRUCT(6, 13, iommu_ioas_change_process)
ABI_SIZE(6, 13, iommu_ioas_change_process)
ABI_FIELD(6, 13, iommu_ioas_change_process, size)
ABI_FIELD(6, 13, iommu_ioas_change_process, __reserved)
ABI_CONST(6, 13, IOMMU_IOAS_CHANGE_PROCESS)

/* Since 6.15: vEVENTQ, PASID attachment */
ABI_CONST(6, 15, IOMMUFD_CMD_VEVENTQ_ALLOC)
ABI_CONST(6, 15, IOMMU_HWPT_ALLOC_PASID)
ABI_CONST(6, 15, IOMMU_VEVENTQ_FLAG_LOST_EVENTS)
ABI_CONST(6, 15, IOMMU_VEVENTQ_TYPE_DEFAULT)
ABI_CONST(6, 15, IOMMU_VEVENTQ_TYPE_ARM_SMMUV3)

ABI_STRUCT(6, 15, iommufd_vevent_header)
ABI_SIZE(6, 15, iommufd_vevent_header)
ABI_FIELD(6, 15, iommufd_vevent_header, flags)
ABI_FIELD(6, 15, iommufd_vevent_header, sequence)

ABI_STRUCT(6, 15, iommu_vevent_arm_smmuv3)
ABI_SIZE(6, 15, iommu_vevent_arm_smmuv3)
ABI_FIELD(6, 15, iommu_vevent_arm_smmuv3, evt)

ABI_STRUCT(6, 15, iommu_veventq_alloc)
ABI_SIZE(6, 15, iommu_veventq_alloc)
ABI_FIELD(6, 15, iommu_veventq_alloc, size)
ABI_FIELD(6, 15, iommu_veventq_alloc, flags)
ABI_FIELD(6, 15, iommu_veventq_alloc, viommu_id)
ABI_FIELD(6, 15, iommu_veventq_alloc, type)
ABI_FIELD(6, 15, iommu_veventq_alloc, veventq_depth)
ABI_FIELD(6, 15, iommu_veventq_alloc, out_veventq_id)
ABI_FIELD(6, 15, iommu_veventq_alloc, out_veventq_fd)
ABI_FIELD(6, 15, iommu_veventq_alloc, __reserved)
ABI_CONST(6, 15, IOMMU_VEVENTQ_ALLOC)

/* Since 6.17: HW_QUEUE_ALLOC */
ABI_CONST(6, 17, IOMMUFD_CMD_HW_QUEUE_ALLOC)
ABI_CONST(6, 17, IOMMU_HW_QUEUE_TYPE_DEFAULT)

ABI_STRUCT(6, 17, iommu_hw_queue_alloc)
ABI_SIZE(6, 17, iommu_hw_queue_alloc)
ABI_FIELD(6, 17, iommu_hw_queue_alloc, size)
ABI_FIELD(6, 17, iommu_hw_queue_alloc, flags)
ABI_FIELD(6, 17, iommu_hw_queue_alloc, viommu_id)
ABI_FIELD(6, 17, iommu_hw_queue_alloc, type)
ABI_FIELD(6, 17, iommu_hw_queue_alloc, index)
ABI_FIELD(6, 17, iommu_hw_queue_alloc, out_hw_queue_id)
ABI_FIELD(6, 17, iommu_hw_queue_alloc, nesting_parent_iova)
ABI_FIELD(6, 17, iommu_hw_queue_alloc, length)
ABI_CONST(6, 17, IOMMU_HW_QUEUE_ALLOC)

/* Shown first by the 7.3 header (bound) */
ABI_CONST(7, 3, IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA)

ABI_STRUCT(7, 3, iommu_ioas_noiommu_get_pa)
ABI_SIZE(7, 3, iommu_ioas_noiommu_get_pa)
ABI_FIELD(7, 3, iommu_ioas_noiommu_get_pa, size)
ABI_FIELD(7, 3, iommu_ioas_noiommu_get_pa, flags)
ABI_FIELD(7, 3, iommu_ioas_noiommu_get_pa, ioas_id)
ABI_FIELD(7, 3, iommu_ioas_noiommu_get_pa, __reserved)
ABI_FIELD(7, 3, iommu_ioas_noiommu_get_pa, iova)
ABI_FIELD(7, 3, iommu_ioas_noiommu_get_pa, length)
ABI_FIELD(7, 3, iommu_ioas_noiommu_get_pa, out_phys)
ABI_CONST(7, 3, IOMMU_IOAS_NOIOMMU_GET_PA)

ABI_CONST(7, 3, IOMMU_HWPT_DATA_AMD_GUEST)

ABI_STRUCT(7, 3, iommu_hwpt_amd_guest)
ABI_SIZE(7, 3, iommu_hwpt_amd_guest)
ABI_FIELD(7, 3, iommu_hwpt_amd_guest, dte)

ABI_CONST(7, 3, IOMMU_HW_INFO_TYPE_DEFAULT)
ABI_CONST(7, 3, IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV)
ABI_CONST(7, 3, IOMMU_HW_INFO_TYPE_AMD)
ABI_CONST(7, 3, IOMMU_HW_INFO_ARM_SMMUV3_ERRATA_REPEAT_TLBI_CFGI)
ABI_CONST(7, 3, IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED)
ABI_CONST(7, 3, IOMMU_HW_INFO_FLAG_INPUT_TYPE)

ABI_STRUCT(7, 3, iommu_hw_info_tegra241_cmdqv)
ABI_SIZE(7, 3, iommu_hw_info_tegra241_cmdqv)
ABI_FIELD(7, 3, iommu_hw_info_tegra241_cmdqv, flags)
ABI_FIELD(7, 3, iommu_hw_info_tegra241_cmdqv, version)
ABI_FIELD(7, 3, iommu_hw_info_tegra241_cmdqv, log2vcmdqs)
ABI_FIELD(7, 3, iommu_hw_info_tegra241_cmdqv, log2vsids)
ABI_FIELD(7, 3, iommu_hw_info_tegra241_cmdqv, __reserved)

ABI_STRUCT(7, 3, iommu_hw_info_amd)
ABI_SIZE(7, 3, iommu_hw_info_amd)
ABI_FIELD(7, 3, iommu_hw_info_amd, efr)
ABI_FIELD(7, 3, iommu_hw_info_amd, efr2)

ABI_CONST(7, 3, IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV)

ABI_STRUCT(7, 3, iommu_viommu_tegra241_cmdqv)
ABI_SIZE(7, 3, iommu_viommu_tegra241_cmdqv)
ABI_FIELD(7, 3, iommu_viommu_tegra241_cmdqv, out_vintf_mmap_offset)
ABI_FIELD(7, 3, iommu_viommu_tegra241_cmdqv, out_vintf_mmap_length)

ABI_CONST(7, 3, IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV)

ABI_STRUCT(7, 3, iommu_vevent_tegra241_cmdqv)
ABI_SIZE(7, 3, iommu_vevent_tegra241_cmdqv)
ABI_FIELD(7, 3, iommu_vevent_tegra241_cmdqv, lvcmdq_err_map)

ABI_CONST(7, 3, IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV)
