/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Claimed devices: claim, attach, detach, PASIDs and release, each with its
 * record. How the kernel is told depends on the kind of device: a DeviceOps
 * table does it, the VFIO one for real devices and, in builds with test
 * hooks, the kernel's mock driver for mock devices.
 */

#include <stdbool.h>
#include <stdint.h>

#include "session.h"

struct json_object;
struct viommu_topology_device;

struct DeviceOps {
        /* Attaches (or replaces the page table of) the whole device. */
        int (*attach)(Object *dev, uint32_t pt_id, uint32_t *ret_kernel_pt);
        int (*detach)(Object *dev);
        /* replace: the PASID is attached already, to another HWPT. */
        int (*attach_pasid)(Object *dev, uint32_t pasid, uint32_t pt_id, bool replace, uint32_t *ret_kernel_pt);
        int (*detach_pasid)(Object *dev, uint32_t pasid);
        /* Unbinds a detached device from the iommufd. */
        int (*release)(Object *dev);
        /* Optional. What the ops keep of their own goes in the device's record
         * (record.c) and comes back from it. */
        int (*record_save)(Object *dev, struct json_object *j);
        int (*record_load)(Object *dev, struct json_object *j);
        /* Optional. The IOAS the kernel keeps a device on while the daemon
         * has it detached; 0 for none. */
        uint32_t (*parked_ioas)(Object *dev);
};

extern const DeviceOps vfio_device_ops;

/* The ops of a recorded device; NULL for a mock device in a build without
 * test hooks. */
const DeviceOps *device_ops_for(bool mock);
bool device_is_mock(const Object *dev);

/* The claim of host device name, in any session; NULL when none. */
Object *device_find_claimed(Daemon *d, const char *name);

/* Opens the device's VFIO cdev and, unless the session is delegated, binds
 * it to the session's iommufd. *ret_fd (optional) is a copy of the cdev for
 * the caller. -ENODEV if it vanished meanwhile, -EBUSY if another program
 * has it, -EALREADY if another open of the cdev is bound. */
int device_claim(Session *s, const struct viommu_topology_device *dev, Object **ret, int *ret_fd);
/* A mock device of the kernel's test driver, with DEVICE_MOCK_* flags;
 * -EOPNOTSUPP in a build without test hooks. */
#define DEVICE_MOCK_NO_DIRTY    (UINT32_C(1) << 0)
#define DEVICE_MOCK_PASID       (UINT32_C(1) << 2)
int device_create_mock(Session *s, uint32_t flags, Object **ret);
/* Test only: whether the mock driver has the PASID of a mock device
 * attached to hwpt_id (0: detached). */
int device_mock_pasid_check(Object *dev, uint32_t pasid, uint32_t hwpt_id);

/* Attaches (or re-attaches, replacing) a device to an IOAS or HWPT. */
int device_attach(Object *dev, Object *pt, uint32_t *ret_kernel_pt);
int device_detach(Object *dev);
/* Attaches (or re-attaches, replacing) one PASID of a device to a HWPT. */
int device_attach_pasid(Object *dev, uint32_t pasid, Object *hwpt, uint32_t *ret_kernel_pt);
/* -ENOENT if the PASID is not attached. */
int device_detach_pasid(Object *dev, uint32_t pasid);
/* The HWPT a PASID of the device is attached to; NULL if none. */
Object *device_pasid_hwpt(Object *dev, uint32_t pasid);
/* Detaches what of the device is on pt (its PASIDs, then the whole device),
 * or everything with pt NULL; returns how many attachments went. */
int device_detach_from(Object *dev, Object *pt);
/* Detaches and unbinds the device and lets go of its fds; the object
 * itself stays for the caller to forget. */
int device_release(Object *dev);

/* The record alone, without the kernel: for rebuilding a record, and for
 * letting go of what the kernel has already dropped. */
void device_set_attached(Object *dev, Object *pt, uint32_t kernel_pt);
int device_record_pasid(Object *dev, uint32_t pasid, Object *hwpt);
/* One PASID of dev, if it is attached. */
void device_forget_pasid(Object *dev, uint32_t pasid);
/* What of dev is on pt, or all of it with pt NULL. */
void device_forget_attachments_to(Object *dev, Object *pt);
/* Closes a device's fds and stops watching it; for object_free(). */
void device_close(Object *dev);
