/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binding.h"
#include "device.h"
#include "fdstore.h"
#include "hotplug.h"
#include "journal.h"
#include "log.h"
#include "util.h"
#include "viommu-iommufd.h"
#include "viommu-topology.h"
#include "viommu-vfio.h"

static int vfio_attach(Object *dev, uint32_t pt_id, uint32_t *ret_kernel_pt) {
        return viommu_vfio_attach(dev->device.fd, pt_id, ret_kernel_pt);
}

static int vfio_detach(Object *dev) {
        return viommu_vfio_detach(dev->device.fd);
}

/* VFIO replaces an attached PASID by itself. */
static int vfio_attach_pasid(Object *dev, uint32_t pasid, uint32_t pt_id, bool replace, uint32_t *ret_kernel_pt) {
        return viommu_vfio_attach_pasid(dev->device.fd, pasid, pt_id, ret_kernel_pt);
}

static int vfio_detach_pasid(Object *dev, uint32_t pasid) {
        return viommu_vfio_detach_pasid(dev->device.fd, pasid);
}

/* Closing the cdev unbinds the device from the iommufd, once the fd store's
 * copy is gone too. */
static int vfio_release(Object *dev) {
        char name[FDSTORE_NAME_MAX];

        if (dev->device.fd >= 0)
                fdstore_remove(fdstore_name(dev->session, dev, name));
        device_close(dev);
        binding_claim_ended(dev->session->daemon, dev->device.name);
        return 0;
}

const DeviceOps vfio_device_ops = {
        .attach = vfio_attach,
        .detach = vfio_detach,
        .attach_pasid = vfio_attach_pasid,
        .detach_pasid = vfio_detach_pasid,
        .release = vfio_release,
};

#if ENABLE_TEST_HOOKS
extern const DeviceOps mock_device_ops;
#else
int device_create_mock(Session *s, uint32_t flags, Object **ret) {
        return -EOPNOTSUPP;
}
#endif

const DeviceOps *device_ops_for(bool mock) {
#if ENABLE_TEST_HOOKS
        if (mock)
                return &mock_device_ops;
#endif
        return mock ? NULL : &vfio_device_ops;
}

bool device_is_mock(const Object *dev) {
        return dev->type == OBJECT_DEVICE && dev->device.ops != &vfio_device_ops;
}

Object *device_find_claimed(Daemon *d, const char *name) {
        for (Session *s = d->sessions; s; s = s->sessions_next)
                for (Object *o = s->objects; o; o = o->objects_next)
                        if (o->type == OBJECT_DEVICE && streq(o->device.name, name))
                                return o;
        return NULL;
}

int device_claim(Session *s, const struct viommu_topology_device *dev, Object **ret, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF, copy = -EBADF;
        _cleanup_free_ char *name = NULL;
        char store_name[FDSTORE_NAME_MAX];
        uint32_t dev_id = 0;
        Object *o;
        int r;

        name = strdup(dev->name);
        if (!name)
                return -ENOMEM;
        fd = viommu_vfio_open_devnum(dev->vfio_devnum);
        if (fd == -ENOENT)
                return -ENODEV;
        if (fd < 0)
                return fd;
        /* A delegated session's VMM binds the device to the iommufd itself. */
        if (!s->delegated) {
                r = viommu_vfio_bind(fd, s->iommufd, &dev_id);
                /* A cdev binds once: EINVAL while another open of it is
                 * bound (the kernel's vfio_df_open()). */
                if (r == -EINVAL)
                        return -EALREADY;
                if (r < 0)
                        return r;
        }
        if (ret_fd) {
                copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (copy < 0)
                        return -errno;
        }

        /* Closing the cdev unbinds it: nothing is left behind on failure. */
        r = object_new(s, OBJECT_DEVICE, dev_id, &o);
        if (r < 0)
                return r;
        o->device.name = TAKE_PTR(name);
        o->device.ops = &vfio_device_ops;
        o->device.fd = TAKE_FD(fd);
        o->device.bound = !s->delegated;

        r = fdstore_add(fdstore_name(s, o, store_name), o->device.fd);
        if (r < 0)
                log_warning("session %u: %s: not in the fd store (%s): a restart ends the session", s->id,
                            o->device.name, strerror(-r));
        if (o->device.bound) {
                r = hotplug_watch_device(o);
                if (r < 0)
                        log_warning("session %u: %s: no unplug notification (%s); an unplug waits for the "
                                    "session to end", s->id, o->device.name, strerror(-r));
        }
        journal_object(o);
        journal_counters(s);
        if (ret_fd)
                *ret_fd = TAKE_FD(copy);
        *ret = o;
        return 0;
}

void device_set_attached(Object *dev, Object *pt, uint32_t kernel_pt) {
        if (dev->device.attached)
                dev->device.attached->n_users--;
        dev->device.attached = pt;
        dev->device.attached_pt = kernel_pt;
        if (pt)
                pt->n_users++;
}

static void device_pasid_forget(Object *dev, size_t i) {
        DevicePasid *p = dev->device.pasids;

        p[i].hwpt->n_users--;
        memmove(p + i, p + i + 1, (--dev->device.n_pasids - i) * sizeof(*p));
}

static DevicePasid *device_find_pasid(Object *dev, uint32_t pasid);

void device_forget_pasid(Object *dev, uint32_t pasid) {
        DevicePasid *p = device_find_pasid(dev, pasid);

        if (p)
                device_pasid_forget(dev, p - dev->device.pasids);
}

void device_forget_attachments_to(Object *dev, Object *pt) {
        for (size_t i = dev->device.n_pasids; i > 0; i--)
                if (!pt || dev->device.pasids[i - 1].hwpt == pt)
                        device_pasid_forget(dev, i - 1);
        if (!pt || dev->device.attached == pt)
                device_set_attached(dev, NULL, 0);
}

void device_close(Object *dev) {
        dev->device.request_source = sd_event_source_disable_unref(dev->device.request_source);
        if (dev->device.request_fd >= 0)
                dev->device.request_fd = (close(dev->device.request_fd), -EBADF);
        if (dev->device.fd >= 0)
                dev->device.fd = (close(dev->device.fd), -EBADF);
}

/* An attachment of the device (pasid) is about to change: to pt, or none. */
static void journal_device_intent(Object *dev, uint32_t pasid, Object *pt) {
        journal_intent(dev, (JournalIntent) { .op = JOURNAL_OP_DEVICE, .pasid = pasid, .target = pt ? pt->id : 0 });
}

static int journal_device_done(Object *dev, int r) {
        if (r >= 0)
                journal_object(dev);
        journal_done(dev->session);
        return r;
}

int device_attach(Object *dev, Object *pt, uint32_t *ret_kernel_pt) {
        uint32_t attached = pt->id;
        int r;

        journal_device_intent(dev, JOURNAL_NO_PASID, pt);
        r = dev->device.ops->attach(dev, pt->id, &attached);
        if (r >= 0)
                device_set_attached(dev, pt, attached);
        if (r >= 0 && ret_kernel_pt)
                *ret_kernel_pt = attached;
        return journal_device_done(dev, r);
}

int device_detach(Object *dev) {
        int r;

        journal_device_intent(dev, JOURNAL_NO_PASID, NULL);
        r = dev->device.ops->detach(dev);
        if (r >= 0)
                device_set_attached(dev, NULL, 0);
        return journal_device_done(dev, r);
}

static DevicePasid *device_find_pasid(Object *dev, uint32_t pasid) {
        for (size_t i = 0; i < dev->device.n_pasids; i++)
                if (dev->device.pasids[i].pasid == pasid)
                        return dev->device.pasids + i;
        return NULL;
}

Object *device_pasid_hwpt(Object *dev, uint32_t pasid) {
        DevicePasid *p = device_find_pasid(dev, pasid);

        return p ? p->hwpt : NULL;
}

/* Room for one more PASID, so that recording one cannot fail. */
static int device_pasid_reserve(Object *dev) {
        DevicePasid *n = reallocarray(dev->device.pasids, dev->device.n_pasids + 1, sizeof(DevicePasid));

        if (!n)
                return -ENOMEM;
        dev->device.pasids = n;
        return 0;
}

/* Records pasid on hwpt, replacing what it was on; room was reserved. */
static void device_pasid_set(Object *dev, uint32_t pasid, Object *hwpt) {
        DevicePasid *p = device_find_pasid(dev, pasid);
        size_t i;

        if (p) {
                p->hwpt->n_users--;
        } else {
                for (i = 0; i < dev->device.n_pasids && dev->device.pasids[i].pasid < pasid; i++)
                        ;
                p = dev->device.pasids + i;
                memmove(p + 1, p, (dev->device.n_pasids++ - i) * sizeof(*p));
                p->pasid = pasid;
        }
        p->hwpt = hwpt;
        hwpt->n_users++;
}

int device_record_pasid(Object *dev, uint32_t pasid, Object *hwpt) {
        int r = device_pasid_reserve(dev);

        if (r < 0)
                return r;
        device_pasid_set(dev, pasid, hwpt);
        return 0;
}

int device_attach_pasid(Object *dev, uint32_t pasid, Object *hwpt, uint32_t *ret_kernel_pt) {
        uint32_t attached = hwpt->id;
        int r;

        /* Room first: once the kernel has attached, the record must follow. */
        r = device_pasid_reserve(dev);
        if (r < 0)
                return r;
        journal_device_intent(dev, pasid, hwpt);
        r = dev->device.ops->attach_pasid(dev, pasid, hwpt->id, device_find_pasid(dev, pasid), &attached);
        if (r >= 0)
                device_pasid_set(dev, pasid, hwpt);
        if (r >= 0 && ret_kernel_pt)
                *ret_kernel_pt = attached;
        return journal_device_done(dev, r);
}

static int device_detach_pasid_at(Object *dev, size_t i) {
        int r;

        journal_device_intent(dev, dev->device.pasids[i].pasid, NULL);
        r = dev->device.ops->detach_pasid(dev, dev->device.pasids[i].pasid);
        if (r >= 0)
                device_pasid_forget(dev, i);
        return journal_device_done(dev, r);
}

int device_detach_pasid(Object *dev, uint32_t pasid) {
        DevicePasid *p = device_find_pasid(dev, pasid);

        if (!p)
                return -ENOENT;
        return device_detach_pasid_at(dev, p - dev->device.pasids);
}

int device_detach_from(Object *dev, Object *pt) {
        int r, n = 0;

        /* PASIDs first: while it has any, the kernel keeps the whole device
         * on a PASID-capable domain, and a mock's detach is a move to one
         * that is not. */
        for (size_t i = dev->device.n_pasids; i > 0; i--) {
                if (pt && dev->device.pasids[i - 1].hwpt != pt)
                        continue;
                r = device_detach_pasid_at(dev, i - 1);
                if (r < 0)
                        return r;
                n++;
        }
        if (dev->device.attached && (!pt || dev->device.attached == pt)) {
                r = device_detach(dev);
                if (r < 0)
                        return r;
                n++;
        }
        return n;
}

int device_release(Object *dev) {
        int r;

        r = device_detach_from(dev, NULL);
        if (r < 0)
                return r;
        return dev->device.ops->release(dev);
}
