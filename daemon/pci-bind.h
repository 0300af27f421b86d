/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A PCI device moved to vfio-pci and back through sysfs, as driverctl and
 * libvirt's managed mode do: driver_override, unbind, drivers_probe. Every
 * function takes the sysfs root ("/sys" on a host, a directory of files in
 * the unit tests). A device that goes in the middle gives -ENODEV.
 */

#include <stdbool.h>

#define PCI_BIND_SYSFS "/sys"

/* The driver bdf is bound to, NULL when none; -ENODEV when there is no such device. */
int pci_bind_driver(const char *root, const char *bdf, char **ret);

/*
 * Whether bdf may be taken from the host for vfio-pci: 0, or a refusal with
 * *ret_why saying why in a sentence:
 *   -ENODEV      no such device;
 *   -EALREADY    it is on vfio-pci already;
 *   -EOPNOTSUPP  it is not behind an IOMMU;
 *   -EXDEV       its IOMMU group holds devices on host drivers (they are
 *                named): vfio needs the whole group, and only vfio-pci,
 *                pci-stub, pcieport or no driver let a group go;
 *   -ETXTBSY     the host uses it, unless force: it is the boot VGA device,
 *                or one of its network interfaces is up, or one of its
 *                block devices (or their partitions) is mounted, used as
 *                swap or held by another block device (dm, md).
 */
int pci_bind_check(const char *root, const char *bdf, bool force, char **ret_why);

/*
 * bdf, on driver current (NULL: none), onto vfio-pci. On failure the device
 * is put back on current and its driver_override cleared; -ENXIO when
 * vfio-pci did not take it (is the module loaded?).
 */
int pci_bind_vfio(const char *root, const char *bdf, const char *current);

/*
 * bdf off vfio-pci, its driver_override cleared, then onto driver if it is
 * not NULL, else the one the kernel picks when probe, else none. Unbinding
 * from vfio-pci waits until every open of its VFIO device is closed: run it
 * where waiting does no harm.
 */
int pci_bind_give_back(const char *root, const char *bdf, const char *driver, bool probe);
