/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libviommu: VFIO device character devices (/dev/vfio/devices/vfioN, Linux
 * 6.6) and their iommufd ioctls. Negative errno returns; no logging.
 */

#include <stdint.h>
#include <sys/types.h>

/* Opens a VFIO cdev by path; returns the fd or -errno. */
int viommu_vfio_open(const char *path);
/* Same, by character device number, resolved through sysfs. */
int viommu_vfio_open_devnum(dev_t devnum);

/* Binds the device to an iommufd; *ret_dev_id names it inside that iommufd. */
int viommu_vfio_bind(int device_fd, int iommufd, uint32_t *ret_dev_id);
/*
 * Attaches the device to an IOAS or HWPT. Attaching an attached device
 * replaces its page table without a window of blocked DMA. When pt_id is an
 * IOAS the kernel picks or makes the HWPT and *ret_pt_id (may be NULL) says
 * which.
 */
int viommu_vfio_attach(int device_fd, uint32_t pt_id, uint32_t *ret_pt_id);
int viommu_vfio_detach(int device_fd);
/* The same for one PASID of the device (Linux 6.15). */
int viommu_vfio_attach_pasid(int device_fd, uint32_t pasid, uint32_t pt_id,
                             uint32_t *ret_pt_id);
int viommu_vfio_detach_pasid(int device_fd, uint32_t pasid);

/*
 * The kernel signals eventfd when it wants the device back (unplug, unbind
 * from vfio-pci) and waits until the device fd is closed; -1 stops that.
 * The device must be bound.
 */
int viommu_vfio_set_request_eventfd(int device_fd, int eventfd);
