/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The VFIO device cdev (/dev/vfio/devices/vfioN) ioctls that tie a device to
 * an iommufd. Older <linux/vfio.h> lack them or carry shorter structs, so the
 * project defines them under its own names and never includes that header.
 * The layout is the kernel's (struct vfio_device_bind_iommufd and friends);
 * tests/abi/check-abi.sh compares the two. Like iommufd, each struct starts
 * with its size (argsz), so fields at the end are only seen by kernels that
 * know them.
 */

#include <linux/ioctl.h>
#include <linux/types.h>

#define VIOMMU_VFIO_TYPE (';')
#define VIOMMU_VFIO_BASE 100

/* 7.3 at the latest: token_uuid_ptr is valid. */
#define VIOMMU_VFIO_DEVICE_BIND_FLAG_TOKEN (1 << 0)

/*
 * Since 6.6. Binds the device to an iommufd; out_devid is its dev_id in
 * iommufd commands. Unbinding happens when the device fd is closed. A VF
 * whose PF set a VF token needs it here, as a pointer to the 16-byte UUID.
 */
struct viommu_vfio_bind_iommufd {
        __u32 argsz;
        __u32 flags;
        __s32 iommufd;
        __u32 out_devid;
        __aligned_u64 token_uuid_ptr;   /* 7.3 at the latest */
};
#define VIOMMU_VFIO_DEVICE_BIND_IOMMUFD _IO(VIOMMU_VFIO_TYPE, VIOMMU_VFIO_BASE + 18)

/* 6.15: attach to the PASID in pasid instead of the whole device. */
#define VIOMMU_VFIO_DEVICE_ATTACH_PASID (1 << 0)

/*
 * Since 6.6. Attaches the device to an IOAS or HWPT, or replaces its current
 * attachment. For an IOAS the kernel picks or makes a HWPT, and pt_id may
 * come back as that HWPT's id.
 */
struct viommu_vfio_attach_iommufd_pt {
        __u32 argsz;
        __u32 flags;
        __u32 pt_id;
        __u32 pasid;            /* 6.15 */
};
#define VIOMMU_VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VIOMMU_VFIO_TYPE, VIOMMU_VFIO_BASE + 19)

/* 6.15: detach only the PASID in pasid. */
#define VIOMMU_VFIO_DEVICE_DETACH_PASID (1 << 0)

/* Since 6.6. Leaves the device blocked from DMA. */
struct viommu_vfio_detach_iommufd_pt {
        __u32 argsz;
        __u32 flags;
        __u32 pasid;            /* 6.15 */
};
#define VIOMMU_VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VIOMMU_VFIO_TYPE, VIOMMU_VFIO_BASE + 20)

/*
 * Long-standing VFIO: an eventfd the kernel signals when it wants a vfio-pci
 * device back (the device is being unplugged or unbound): the "request"
 * interrupt. One eventfd, so the argument is the header and one s32.
 */
#define VIOMMU_VFIO_PCI_REQ_IRQ_INDEX 4
#define VIOMMU_VFIO_IRQ_SET_DATA_NONE      (1 << 0)
#define VIOMMU_VFIO_IRQ_SET_DATA_EVENTFD   (1 << 2)
#define VIOMMU_VFIO_IRQ_SET_ACTION_TRIGGER (1 << 5)
struct viommu_vfio_irq_set_eventfd {
        __u32 argsz;
        __u32 flags;
        __u32 index;
        __u32 start;
        __u32 count;
        __s32 eventfd;          /* the variable-length data[] of one eventfd */
};
#define VIOMMU_VFIO_DEVICE_SET_IRQS _IO(VIOMMU_VFIO_TYPE, VIOMMU_VFIO_BASE + 10)
