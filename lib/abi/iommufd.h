/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VIOMMU_ABI_IOMMUFD_H
#define VIOMMU_ABI_IOMMUFD_H

/*
 * The iommufd user ABI (/dev/iommu) as libviommu uses it, up to Linux 7.3.
 *
 * Written from the documented layout so the project builds on systems whose
 * <linux/iommufd.h> is older or missing. Struct, field, enum and constant
 * names are the kernel's, because they are the ABI: code must compile the
 * same against either header. tests/abi/check-abi.sh compares this file
 * field by field with a kernel's installed headers.
 *
 * Every command takes a struct whose first member is its own size, so the
 * kernel accepts older, shorter structs; a field at the end is only honoured
 * by kernels that know it. The "since" notes say which release brought what.
 */

#ifdef _IOMMUFD_H
#  error "<linux/iommufd.h> was included before viommu-abi.h; include viommu-abi.h first"
#endif
/* Make a later #include <linux/iommufd.h> a no-op instead of a clash. */
#define _IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Old <linux/types.h> (before Linux 6.5) lacks it. */
#ifndef __aligned_le64
#  define __aligned_le64 __le64 __attribute__((aligned(8)))
#endif

#define IOMMUFD_TYPE (';')

enum {
        IOMMUFD_CMD_BASE = 0x80,
        IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
        IOMMUFD_CMD_IOAS_ALLOC = 0x81,
        IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
        IOMMUFD_CMD_IOAS_COPY = 0x83,
        IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
        IOMMUFD_CMD_IOAS_MAP = 0x85,
        IOMMUFD_CMD_IOAS_UNMAP = 0x86,
        IOMMUFD_CMD_OPTION = 0x87,
        IOMMUFD_CMD_VFIO_IOAS = 0x88,
        IOMMUFD_CMD_HWPT_ALLOC = 0x89,
        IOMMUFD_CMD_GET_HW_INFO = 0x8a,
        IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
        IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
        IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
        IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
        IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f,
        IOMMUFD_CMD_VIOMMU_ALLOC = 0x90,
        IOMMUFD_CMD_VDEVICE_ALLOC = 0x91,
        IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 0x92,
        IOMMUFD_CMD_VEVENTQ_ALLOC = 0x93,
        IOMMUFD_CMD_HW_QUEUE_ALLOC = 0x94,
        IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA = 0x95,
};

/* Since 6.2. Destroys any object by id; fails with EBUSY while it is in use. */
struct iommu_destroy {
        __u32 size;
        __u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/* Since 6.2. A new, empty I/O address space. */
struct iommu_ioas_alloc {
        __u32 size;
        __u32 flags;
        __u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/* An inclusive IOVA interval: last is the final usable byte, not the end. */
struct iommu_iova_range {
        __aligned_u64 start;
        __aligned_u64 last;
};

/*
 * Since 6.2. Reports the IOVA ranges that every attached device can use.
 * num_iovas is the array capacity on input and the real count on output;
 * EMSGSIZE means the array was too small and num_iovas says how big.
 */
struct iommu_ioas_iova_ranges {
        __u32 size;
        __u32 ioas_id;
        __u32 num_iovas;
        __u32 __reserved;
        __aligned_u64 allowed_iovas;       /* user pointer to struct iommu_iova_range[] */
        __aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/* Since 6.2. Restricts automatic IOVA allocation to the given ranges. */
struct iommu_ioas_allow_iovas {
        __u32 size;
        __u32 ioas_id;
        __u32 num_iovas;
        __u32 __reserved;
        __aligned_u64 allowed_iovas;       /* user pointer to struct iommu_iova_range[] */
};
#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

enum iommufd_ioas_map_flags {
        IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,     /* use iova as given, else the kernel picks one */
        IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
        IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/* Since 6.2. Maps memory of the calling process, by virtual address. */
struct iommu_ioas_map {
        __u32 size;
        __u32 flags;
        __u32 ioas_id;
        __u32 __reserved;
        __aligned_u64 user_va;
        __aligned_u64 length;
        __aligned_u64 iova;                /* in with FIXED_IOVA, out otherwise */
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/*
 * Since 7.3 at the latest. For no-IOMMU devices only: the physical address
 * behind an IOVA, and in length how many bytes from there are contiguous.
 */
struct iommu_ioas_noiommu_get_pa {
        __u32 size;
        __u32 flags;
        __u32 ioas_id;
        __u32 __reserved;
        __aligned_u64 iova;
        __aligned_u64 length;
        __aligned_u64 out_phys;
};
#define IOMMU_IOAS_NOIOMMU_GET_PA _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA)

/*
 * Since 6.13. Maps a range of a memfd (start is the offset in the file), so
 * a daemon can map memory it received as an fd rather than by address.
 * Takes the same flags as IOMMU_IOAS_MAP.
 */
struct iommu_ioas_map_file {
        __u32 size;
        __u32 flags;
        __u32 ioas_id;
        __s32 fd;
        __aligned_u64 start;
        __aligned_u64 length;
        __aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)

/* Since 6.2. Maps into one IOAS the pages already pinned by another. */
struct iommu_ioas_copy {
        __u32 size;
        __u32 flags;
        __u32 dst_ioas_id;
        __u32 src_ioas_id;
        __aligned_u64 length;
        __aligned_u64 dst_iova;
        __aligned_u64 src_iova;
};
#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/*
 * Since 6.2. Unmaps whole mappings inside [iova, iova + length); iova 0 with
 * length UINT64_MAX unmaps everything. length returns what was unmapped.
 */
struct iommu_ioas_unmap {
        __u32 size;
        __u32 ioas_id;
        __aligned_u64 iova;
        __aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

enum iommufd_option {
        IOMMU_OPTION_RLIMIT_MODE = 0,   /* fd-wide: 0 per-user, 1 per-process pin accounting */
        IOMMU_OPTION_HUGE_PAGES = 1,    /* per IOAS: 0 disables huge IOPTEs */
};

enum iommufd_option_ops {
        IOMMU_OPTION_OP_SET = 0,
        IOMMU_OPTION_OP_GET = 1,
};

/* Since 6.2. Gets or sets an option of the fd (object_id 0) or an object. */
struct iommu_option {
        __u32 size;
        __u32 option_id;
        __u16 op;
        __u16 __reserved;
        __u32 object_id;
        __aligned_u64 val64;
};
#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

enum iommufd_vfio_ioas_op {
        IOMMU_VFIO_IOAS_GET = 0,
        IOMMU_VFIO_IOAS_SET = 1,
        IOMMU_VFIO_IOAS_CLEAR = 2,
};

/* Since 6.2. Picks the IOAS that the VFIO type1 compatibility layer uses. */
struct iommu_vfio_ioas {
        __u32 size;
        __u32 ioas_id;
        __u16 op;
        __u16 __reserved;
};
#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

enum iommufd_hwpt_alloc_flags {
        IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,          /* 6.7: may serve as stage 2 */
        IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,       /* 6.7 */
        IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,             /* 6.11: fault_id is set */
        IOMMU_HWPT_ALLOC_PASID = 1 << 3,                /* 6.15: attachable to a PASID */
};

enum iommu_hwpt_vtd_s1_flags {
        IOMMU_VTD_S1_SRE = 1 << 0,
        IOMMU_VTD_S1_EAFE = 1 << 1,
        IOMMU_VTD_S1_WPE = 1 << 2,
};

/* Since 6.7. Intel VT-d guest stage-1 table, for IOMMU_HWPT_DATA_VTD_S1. */
struct iommu_hwpt_vtd_s1 {
        __aligned_u64 flags;
        __aligned_u64 pgtbl_addr;
        __u32 addr_width;
        __u32 __reserved;
};

/* Since 6.13. The guest's SMMUv3 stream table entry, little endian. */
struct iommu_hwpt_arm_smmuv3 {
        __aligned_le64 ste[2];
};

/* Since 7.3 at the latest. The guest's AMD device table entry. */
struct iommu_hwpt_amd_guest {
        __aligned_u64 dte[4];
};

enum iommu_hwpt_data_type {
        IOMMU_HWPT_DATA_NONE = 0,
        IOMMU_HWPT_DATA_VTD_S1 = 1,
        IOMMU_HWPT_DATA_ARM_SMMUV3 = 2,
        IOMMU_HWPT_DATA_AMD_GUEST = 3,
};

/*
 * Since 6.6. A hardware page table: with data_type NONE a paging domain on
 * pt_id (an IOAS or a nest parent); otherwise a nested one whose stage 1 is
 * described by data_uptr/data_len (6.7) over pt_id as stage 2, or over a
 * vIOMMU (6.13). fault_id (6.11) routes page faults to a fault queue.
 */
struct iommu_hwpt_alloc {
        __u32 size;
        __u32 flags;
        __u32 dev_id;
        __u32 pt_id;
        __u32 out_hwpt_id;
        __u32 __reserved;
        __u32 data_type;
        __u32 data_len;
        __aligned_u64 data_uptr;
        __u32 fault_id;
        __u32 __reserved2;
};
#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

enum iommu_hw_info_vtd_flags {
        IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/* Since 6.6. The VT-d capability registers. */
struct iommu_hw_info_vtd {
        __u32 flags;
        __u32 __reserved;
        __aligned_u64 cap_reg;
        __aligned_u64 ecap_reg;
};

enum iommu_hw_info_arm_smmuv3_flags {
        IOMMU_HW_INFO_ARM_SMMUV3_ERRATA_REPEAT_TLBI_CFGI = 1 << 0,
};

/* Since 6.13. The SMMUv3 ID registers, as raw values. */
struct iommu_hw_info_arm_smmuv3 {
        __u32 flags;
        __u32 __reserved;
        __u32 idr[6];
        __u32 iidr;
        __u32 aidr;
};

/* Since 7.3 at the latest. NVIDIA Tegra241 CMDQV virtual interface limits. */
struct iommu_hw_info_tegra241_cmdqv {
        __u32 flags;
        __u8 version;
        __u8 log2vcmdqs;
        __u8 log2vsids;
        __u8 __reserved;
};

/* Since 7.3 at the latest. The AMD extended feature registers. */
struct iommu_hw_info_amd {
        __aligned_u64 efr;
        __aligned_u64 efr2;
};

enum iommu_hw_info_type {
        IOMMU_HW_INFO_TYPE_NONE = 0,
        IOMMU_HW_INFO_TYPE_DEFAULT = 0,         /* as input: whatever the device's IOMMU has */
        IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
        IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2,
        IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV = 3,
        IOMMU_HW_INFO_TYPE_AMD = 4,
};

enum iommufd_hw_capabilities {
        IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
        IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,   /* meaningful only if out_max_pasid_log2 > 0 */
        IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,   /* likewise */
        IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED = 1 << 3,
};

enum iommufd_hw_info_flags {
        IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0, /* in_data_type asks for one info type */
};

/*
 * Since 6.6. Needs a bound device (dev_id). The kernel fills the buffer at
 * data_uptr with the type-specific struct named by out_data_type, and sets
 * data_len to the size it has. out_capabilities came with dirty tracking
 * (6.7); out_max_pasid_log2 took a reserved byte later. in_data_type shares
 * its slot with out_data_type and is read only with
 * IOMMU_HW_INFO_FLAG_INPUT_TYPE.
 */
struct iommu_hw_info {
        __u32 size;
        __u32 flags;
        __u32 dev_id;
        __u32 data_len;
        __aligned_u64 data_uptr;
        union {
                __u32 in_data_type;
                __u32 out_data_type;
        };
        __u8 out_max_pasid_log2;
        __u8 __reserved[3];
        __aligned_u64 out_capabilities;
};
#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

enum iommufd_hwpt_set_dirty_tracking_flags {
        IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/* Since 6.7. Needs a HWPT allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING. */
struct iommu_hwpt_set_dirty_tracking {
        __u32 size;
        __u32 flags;
        __u32 hwpt_id;
        __u32 __reserved;
};
#define IOMMU_HWPT_SET_DIRTY_TRACKING _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

enum iommufd_hwpt_get_dirty_bitmap_flags {
        IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,       /* read without re-arming */
};

/*
 * Since 6.7. Sets one bit per page_size page of [iova, iova + length) that
 * was written since the last read, into the user bitmap at data.
 */
struct iommu_hwpt_get_dirty_bitmap {
        __u32 size;
        __u32 hwpt_id;
        __u32 flags;
        __u32 __reserved;
        __aligned_u64 iova;
        __aligned_u64 length;
        __aligned_u64 page_size;
        __aligned_u64 data;
};
#define IOMMU_HWPT_GET_DIRTY_BITMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

enum iommu_hwpt_invalidate_data_type {
        IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,          /* 6.8, on a nested HWPT */
        IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1,    /* 6.13, on a vIOMMU */
};

enum iommu_hwpt_vtd_s1_invalidate_flags {
        IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/* Since 6.8. addr 0 with npages UINT64_MAX flushes the whole stage 1. */
struct iommu_hwpt_vtd_s1_invalidate {
        __aligned_u64 addr;
        __aligned_u64 npages;
        __u32 flags;
        __u32 __reserved;
};

/* Since 6.13. One raw SMMUv3 command queue entry, little endian. */
struct iommu_viommu_arm_smmuv3_invalidate {
        __aligned_le64 cmd[2];
};

/*
 * Since 6.8. Runs an array of entry_num driver-specific entries of
 * entry_len bytes each; entry_num returns how many were handled, also on
 * failure, so the caller knows where a batch stopped. hwpt_id may name a
 * nested HWPT or (6.13) a vIOMMU.
 */
struct iommu_hwpt_invalidate {
        __u32 size;
        __u32 hwpt_id;
        __aligned_u64 data_uptr;
        __u32 data_type;
        __u32 entry_len;
        __u32 entry_num;
        __u32 __reserved;
};
#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

enum iommu_hwpt_pgfault_flags {
        IOMMU_PGFAULT_FLAGS_PASID_VALID = 1 << 0,
        IOMMU_PGFAULT_FLAGS_LAST_PAGE = 1 << 1,         /* last of its group: respond now */
};

enum iommu_hwpt_pgfault_perm {
        IOMMU_PGFAULT_PERM_READ = 1 << 0,
        IOMMU_PGFAULT_PERM_WRITE = 1 << 1,
        IOMMU_PGFAULT_PERM_EXEC = 1 << 2,
        IOMMU_PGFAULT_PERM_PRIV = 1 << 3,
};

/* Since 6.11. One page request, as read(2) from a fault queue fd. */
struct iommu_hwpt_pgfault {
        __u32 flags;
        __u32 dev_id;
        __u32 pasid;
        __u32 grpid;
        __u32 perm;
        __u32 __reserved;
        __aligned_u64 addr;
        __u32 length;
        __u32 cookie;
};

enum iommufd_page_response_code {
        IOMMUFD_PAGE_RESP_SUCCESS = 0,
        IOMMUFD_PAGE_RESP_INVALID = 1,
};

/* Since 6.11. The answer to a fault group, write(2) to the fault queue fd. */
struct iommu_hwpt_page_response {
        __u32 cookie;           /* from the group's last fault */
        __u32 code;
};

/* Since 6.11. A fault queue object and its fd. */
struct iommu_fault_alloc {
        __u32 size;
        __u32 flags;
        __u32 out_fault_id;
        __u32 out_fault_fd;
};
#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

enum iommu_viommu_type {
        IOMMU_VIOMMU_TYPE_DEFAULT = 0,
        IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1,
        /* The kernel backs it with a guest-owned VINTF: HYP_OWN must read 0 in the guest. */
        IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV = 2,
};

/* Since 7.3 at the latest. Where to mmap the VINTF page of a Tegra241 vIOMMU. */
struct iommu_viommu_tegra241_cmdqv {
        __aligned_u64 out_vintf_mmap_offset;
        __aligned_u64 out_vintf_mmap_length;
};

/*
 * Since 6.13. A vIOMMU instance for one VM on the physical IOMMU behind
 * dev_id, over the nest parent hwpt_id. data_uptr/data_len carry
 * type-specific data, in both directions.
 */
struct iommu_viommu_alloc {
        __u32 size;
        __u32 flags;
        __u32 type;
        __u32 dev_id;
        __u32 hwpt_id;
        __u32 out_viommu_id;
        __u32 data_len;
        __u32 __reserved;
        __aligned_u64 data_uptr;
};
#define IOMMU_VIOMMU_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VIOMMU_ALLOC)

/*
 * Since 6.13. Tells a vIOMMU the guest's id for a device (virtual stream id,
 * device id or requester id). Destroy it before unbinding the device: if
 * the device goes first, the kernel tears it down but its id stays taken
 * until the iommufd is closed.
 */
struct iommu_vdevice_alloc {
        __u32 size;
        __u32 viommu_id;
        __u32 dev_id;
        __u32 out_vdevice_id;
        __aligned_u64 virt_id;
};
#define IOMMU_VDEVICE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VDEVICE_ALLOC)

/*
 * Since 6.13. Charges the pinned pages of every mapping in the fd to the
 * calling process, so another process can take over (live update). Only
 * file-based mappings can move: EINVAL, and no change, if any other exists.
 */
struct iommu_ioas_change_process {
        __u32 size;
        __u32 __reserved;
};
#define IOMMU_IOAS_CHANGE_PROCESS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)

enum iommu_veventq_flag {
        IOMMU_VEVENTQ_FLAG_LOST_EVENTS = 1U << 0,       /* a header with no data: events were dropped */
};

/*
 * Since 6.15. Precedes each event read from a vEVENTQ fd. sequence grows
 * by one per event, so a gap counts the events lost in between.
 */
struct iommufd_vevent_header {
        __u32 flags;
        __u32 sequence;
};

enum iommu_veventq_type {
        IOMMU_VEVENTQ_TYPE_DEFAULT = 0,
        IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 = 1,
        IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV = 2,
};

/* Since 6.15. One raw SMMUv3 event queue entry, little endian. */
struct iommu_vevent_arm_smmuv3 {
        __aligned_le64 evt[4];
};

/* Since 7.3 at the latest. Bitmap of Tegra241 virtual queues in error. */
struct iommu_vevent_tegra241_cmdqv {
        __aligned_le64 lvcmdq_err_map[2];
};

/*
 * Since 6.15. An event queue of one type (at most one per type) on a
 * vIOMMU, and its fd. Events arriving while veventq_depth of them wait
 * are dropped.
 */
struct iommu_veventq_alloc {
        __u32 size;
        __u32 flags;
        __u32 viommu_id;
        __u32 type;
        __u32 veventq_depth;
        __u32 out_veventq_id;
        __u32 out_veventq_fd;
        __u32 __reserved;
};
#define IOMMU_VEVENTQ_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VEVENTQ_ALLOC)

enum iommu_hw_queue_type {
        IOMMU_HW_QUEUE_TYPE_DEFAULT = 0,
        /*
         * Allocate indexes upwards from 0 and free them downwards; the queue
         * must be a power of two in size, aligned to its size and mapped
         * in the IOAS.
         */
        IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV = 1,
};

/*
 * Since 6.17. Gives the guest a hardware-accelerated queue of a vIOMMU, in
 * guest memory at nesting_parent_iova (an IOVA of the nest parent).
 */
struct iommu_hw_queue_alloc {
        __u32 size;
        __u32 flags;
        __u32 viommu_id;
        __u32 type;
        __u32 index;
        __u32 out_hw_queue_id;
        __aligned_u64 nesting_parent_iova;
        __aligned_u64 length;
};
#define IOMMU_HW_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HW_QUEUE_ALLOC)

#endif /* VIOMMU_ABI_IOMMUFD_H */
