/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VFIO device cdevs and their iommufd ioctls. */

#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"
#include "viommu-vfio.h"
#include "viommu-abi.h"

static int vfio_ioctl(int fd, unsigned long cmd, void *arg) {
        if (fd < 0)
                return -EBADF;
        return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

_public_ int viommu_vfio_open(const char *path) {
        int fd;

        if (!path)
                return -EINVAL;
        fd = open(path, O_RDWR | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

_public_ int viommu_vfio_open_devnum(dev_t devnum) {
        struct udev_device *d = NULL;
        struct udev *udev;
        struct stat st;
        const char *node;
        int r;

        udev = udev_new();
        if (!udev)
                return -ENOMEM;
        /* The node's name comes from sysfs (DEVNAME), so udevd need not run. */
        d = udev_device_new_from_devnum(udev, 'c', devnum);
        node = d ? udev_device_get_devnode(d) : NULL;
        if (!node || !startswith(node, "/dev/vfio/devices/"))
                r = -ENODEV;
        else
                r = viommu_vfio_open(node);
        if (d)
                udev_device_unref(d);
        udev_unref(udev);
        if (r < 0)
                return r;

        /* Refuse a node that is not the device asked for. */
        if (fstat(r, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != devnum) {
                close(r);
                return -ENODEV;
        }
        return r;
}

_public_ int viommu_vfio_bind(int device_fd, int iommufd, uint32_t *ret_dev_id) {
        struct viommu_vfio_bind_iommufd cmd = {
                .argsz = sizeof(cmd),
                .iommufd = iommufd,
        };
        int r;

        if (!ret_dev_id || iommufd < 0)
                return -EINVAL;
        r = vfio_ioctl(device_fd, VIOMMU_VFIO_DEVICE_BIND_IOMMUFD, &cmd);
        if (r < 0)
                return r;
        *ret_dev_id = cmd.out_devid;
        return 0;
}

static int vfio_attach(int device_fd, uint32_t flags, uint32_t pasid, uint32_t pt_id,
                       uint32_t *ret_pt_id) {
        struct viommu_vfio_attach_iommufd_pt cmd = {
                .argsz = sizeof(cmd),
                .flags = flags,
                .pt_id = pt_id,
                .pasid = pasid,
        };
        int r;

        r = vfio_ioctl(device_fd, VIOMMU_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd);
        if (r < 0)
                return r;
        if (ret_pt_id)
                *ret_pt_id = cmd.pt_id;
        return 0;
}

static int vfio_detach(int device_fd, uint32_t flags, uint32_t pasid) {
        struct viommu_vfio_detach_iommufd_pt cmd = {
                .argsz = sizeof(cmd),
                .flags = flags,
                .pasid = pasid,
        };

        return vfio_ioctl(device_fd, VIOMMU_VFIO_DEVICE_DETACH_IOMMUFD_PT, &cmd);
}

_public_ int viommu_vfio_attach(int device_fd, uint32_t pt_id, uint32_t *ret_pt_id) {
        return vfio_attach(device_fd, 0, 0, pt_id, ret_pt_id);
}

_public_ int viommu_vfio_attach_pasid(int device_fd, uint32_t pasid, uint32_t pt_id,
                                      uint32_t *ret_pt_id) {
        return vfio_attach(device_fd, VIOMMU_VFIO_DEVICE_ATTACH_PASID, pasid, pt_id, ret_pt_id);
}

_public_ int viommu_vfio_detach(int device_fd) {
        return vfio_detach(device_fd, 0, 0);
}

_public_ int viommu_vfio_detach_pasid(int device_fd, uint32_t pasid) {
        return vfio_detach(device_fd, VIOMMU_VFIO_DEVICE_DETACH_PASID, pasid);
}

_public_ int viommu_vfio_set_request_eventfd(int device_fd, int eventfd) {
        struct viommu_vfio_irq_set_eventfd cmd = {
                .argsz = sizeof(cmd),
                .flags = VIOMMU_VFIO_IRQ_SET_DATA_EVENTFD | VIOMMU_VFIO_IRQ_SET_ACTION_TRIGGER,
                .index = VIOMMU_VFIO_PCI_REQ_IRQ_INDEX,
                .count = 1,
                .eventfd = eventfd,
        };

        return vfio_ioctl(device_fd, VIOMMU_VFIO_DEVICE_SET_IRQS, &cmd);
}
