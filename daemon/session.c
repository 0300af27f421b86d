/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fdstore.h"
#include "mapping-index.h"
#include "mock/viommu-mock.h"
#include "session.h"
#include "util.h"
#include "viommu-iommufd.h"
#include "viommu-vfio.h"

static const char *const object_type_table[_OBJECT_TYPE_MAX] = {
        [OBJECT_DEVICE]      = "device",
        [OBJECT_IOAS]        = "ioas",
        [OBJECT_HWPT]        = "hwpt",
        [OBJECT_FAULT_QUEUE] = "fault-queue",
        [OBJECT_VIOMMU]      = "viommu",
        [OBJECT_VDEVICE]     = "vdevice",
        [OBJECT_VEVENTQ]     = "veventq",
};

const char *object_type_to_string(ObjectType t) {
        return t >= 0 && t < _OBJECT_TYPE_MAX ? object_type_table[t] : NULL;
}

ObjectType object_type_from_string(const char *s) {
        for (ObjectType t = 0; t < _OBJECT_TYPE_MAX; t++)
                if (s && streq(object_type_table[t], s))
                        return t;
        return _OBJECT_TYPE_INVALID;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int session_adopt(Daemon *d, unsigned id, int iommufd, uid_t uid, const char *owner, bool persistent,
                  bool delegated, uint64_t created, Session **ret) {
        _cleanup_(session_freep) Session *s = NULL;
        char ids[16];
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->iommufd = -EBADF;
        s->id = id;
        s->uid = uid;
        s->persistent = persistent;
        s->delegated = delegated;
        s->created = created;
        s->owner = strdup(owner);
        if (!s->owner)
                return -ENOMEM;
        snprintf(ids, sizeof(ids), "%u", id);
        r = sd_bus_path_encode(VIOMMU_SESSION_PREFIX, ids, &s->path);
        if (r < 0)
                return r;
        if (session_find(d, s->path))
                return -EEXIST;

        s->iommufd = iommufd;
        s->daemon = d;
        s->sessions_next = d->sessions;
        if (d->sessions)
                d->sessions->sessions_prev = s;
        d->sessions = s;
        d->next_session_id = MAX(d->next_session_id, id);

        *ret = TAKE_PTR(s);
        return 0;
}

int session_new(Daemon *d, uid_t uid, const char *owner, bool persistent, bool delegated, Session **ret) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = viommu_iommufd_open();
        if (fd < 0)
                return fd;
        /* A VMM driving the iommufd itself pins pages in its own name; the
         * kernel only takes this on an empty iommufd. */
        if (delegated) {
                r = viommu_option_set(fd, IOMMU_OPTION_RLIMIT_MODE, 0, 1);
                if (r < 0)
                        return r;
        }

        r = session_adopt(d, d->next_session_id + 1, fd, uid, owner, persistent, delegated, now_usec(), ret);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return 0;
}

int session_backing_add(Session *s, void *addr, uint64_t length, uint32_t *ret) {
        size_t i;

        /* Reuse a free slot so that indexes stay small and stable. */
        for (i = 0; i < s->n_backings; i++)
                if (s->backings[i].refs == 0)
                        break;
        if (i == s->n_backings) {
                Backing *n = reallocarray(s->backings, s->n_backings + 1, sizeof(Backing));
                if (!n)
                        return -ENOMEM;
                s->backings = n;
                s->n_backings++;
        }
        s->backings[i] = (Backing) { .addr = addr, .length = length, .refs = 1 };
        *ret = i;
        return 0;
}

void session_backing_ref(Session *s, uint32_t i) {
        if (i < s->n_backings && s->backings[i].refs > 0)
                s->backings[i].refs++;
}

void session_backing_unref(Session *s, uint32_t i) {
        Backing *b;

        if (i >= s->n_backings)
                return;
        b = &s->backings[i];
        if (b->refs == 0 || --b->refs > 0)
                return;
        if (b->addr)
                munmap(b->addr, b->length);
        *b = (Backing) {};
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

/* Lets go of a device's attachments in the record only. */
static void device_forget_attachments(Object *dev) {
        while (dev->device.n_pasids > 0)
                device_pasid_forget(dev, dev->device.n_pasids - 1);
        device_set_attached(dev, NULL, 0);
}

static void object_unlink(Object *o) {
        Session *s = o->session;

        for (size_t i = 0; i < ELEMENTSOF(o->uses); i++)
                if (o->uses[i])
                        o->uses[i]->n_users--;
        if (o->type == OBJECT_DEVICE)
                device_forget_attachments(o);
        /* Nothing may point at a forgotten object. */
        for (Object *u = s->objects; u; u = u->objects_next) {
                for (size_t i = 0; i < ELEMENTSOF(u->uses); i++)
                        if (u->uses[i] == o)
                                u->uses[i] = NULL;
                if (u->type != OBJECT_DEVICE)
                        continue;
                if (u->device.attached == o)
                        u->device.attached = NULL;
                for (size_t i = u->device.n_pasids; i > 0; i--)
                        if (u->device.pasids[i - 1].hwpt == o)
                                device_pasid_forget(u, i - 1);
        }
        if (o->objects_prev)
                o->objects_prev->objects_next = o->objects_next;
        else
                s->objects = o->objects_next;
        if (o->objects_next)
                o->objects_next->objects_prev = o->objects_prev;
        s->n_objects--;
        if (o->type == OBJECT_DEVICE)
                s->n_devices--;
}

static void object_free(Object *o) {
        switch (o->type) {
        case OBJECT_DEVICE:
                free(o->device.name);
                free(o->device.pasids);
                sd_event_source_disable_unref(o->device.request_source);
                if (o->device.request_fd >= 0)
                        close(o->device.request_fd);
                if (o->device.fd >= 0)
                        close(o->device.fd);
                break;
        case OBJECT_IOAS:
                if (o->ioas.mappings) {
                        const struct viommu_mapping *m;
                        struct viommu_mapping_iter it;

                        VIOMMU_MAPPING_INDEX_FOREACH(m, o->ioas.mappings, it)
                                session_backing_unref(o->session, m->backing);
                        viommu_mapping_index_free(o->ioas.mappings);
                }
                break;
        default:
                break;
        }
        free(o->path);
        free(o);
}

int object_new(Session *s, ObjectType type, uint32_t id, Object **ret) {
        Object *o;
        char ids[32];
        int r;

        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->session = s;
        o->type = type;
        o->id = id;
        o->created = now_usec();
        if (type == OBJECT_DEVICE)
                o->device.fd = o->device.request_fd = -EBADF;
        if (type == OBJECT_IOAS) {
                r = viommu_mapping_index_new(&o->ioas.mappings);
                if (r < 0) {
                        free(o);
                        return r;
                }
        }

        char sid[16];
        snprintf(sid, sizeof(sid), "%u", s->id);
        /* A device of a delegated session is not bound: it has no kernel id. */
        if (type == OBJECT_DEVICE && id == 0)
                snprintf(ids, sizeof(ids), "unbound%u", s->next_unbound++);
        else
                snprintf(ids, sizeof(ids), "%u", id);
        r = sd_bus_path_encode_many(&o->path, VIOMMU_SESSION_PREFIX "/%/%/%", sid, object_type_to_string(type), ids);
        if (r < 0) {
                object_free(o);
                return r;
        }

        o->objects_next = s->objects;
        if (s->objects)
                s->objects->objects_prev = o;
        s->objects = o;
        s->n_objects++;
        if (type == OBJECT_DEVICE)
                s->n_devices++;
        *ret = o;
        return 0;
}

void object_use(Object *o, Object *dependency) {
        for (size_t i = 0; i < ELEMENTSOF(o->uses); i++)
                if (!o->uses[i]) {
                        o->uses[i] = dependency;
                        dependency->n_users++;
                        return;
                }
        abort();        /* a programming error: no object holds more than three */
}

int device_attach(Object *dev, Object *pt, uint32_t *ret_kernel_pt) {
        Session *s = dev->session;
        uint32_t attached = pt->id;
        int r;

        if (dev->device.mock)
                r = viommu_mock_device_replace(s->iommufd, dev->device.stdev_id, pt->id, &attached);
        else
                r = viommu_vfio_attach(dev->device.fd, pt->id, &attached);
        if (r < 0)
                return r;
        device_set_attached(dev, pt, attached);
        if (ret_kernel_pt)
                *ret_kernel_pt = attached;
        return 0;
}

int device_detach(Object *dev) {
        Session *s = dev->session;
        int r;

        if (dev->device.mock)
                r = viommu_mock_device_replace(s->iommufd, dev->device.stdev_id, s->mock_parking_ioas, NULL);
        else
                r = viommu_vfio_detach(dev->device.fd);
        if (r < 0)
                return r;
        device_set_attached(dev, NULL, 0);
        return 0;
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
        Session *s = dev->session;
        bool attached_before = device_find_pasid(dev, pasid);
        uint32_t attached = hwpt->id;
        int r;

        /* Room first: once the kernel has attached, the record must follow. */
        r = device_pasid_reserve(dev);
        if (r < 0)
                return r;

        /* VFIO replaces an attached PASID by itself; the mock has an op for it. */
        if (dev->device.mock)
                r = attached_before ? viommu_mock_pasid_replace(s->iommufd, dev->device.stdev_id, pasid, hwpt->id) :
                                      viommu_mock_pasid_attach(s->iommufd, dev->device.stdev_id, pasid, hwpt->id);
        else
                r = viommu_vfio_attach_pasid(dev->device.fd, pasid, hwpt->id, &attached);
        if (r < 0)
                return r;

        device_pasid_set(dev, pasid, hwpt);
        if (ret_kernel_pt)
                *ret_kernel_pt = attached;
        return 0;
}

static int device_detach_pasid_at(Object *dev, size_t i) {
        Session *s = dev->session;
        uint32_t pasid = dev->device.pasids[i].pasid;
        int r;

        if (dev->device.mock)
                r = viommu_mock_pasid_detach(s->iommufd, dev->device.stdev_id, pasid);
        else
                r = viommu_vfio_detach_pasid(dev->device.fd, pasid);
        if (r < 0)
                return r;
        device_pasid_forget(dev, i);
        return 0;
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

static int device_release(Object *o) {
        Session *s = o->session;
        int r;

        r = device_detach_from(o, NULL);
        if (r < 0)
                return r;
        if (o->device.mock)
                /* Destroying the mock's test object unbinds and frees it. */
                return viommu_destroy(s->iommufd, o->device.stdev_id);
        /* Closing the cdev unbinds the device from the iommufd, once the fd
         * store's copy is gone too. */
        if (o->device.fd >= 0) {
                char name[FDSTORE_NAME_MAX];

                fdstore_remove(fdstore_name(s, o, name));
        }
        o->device.fd = (close(o->device.fd), -EBADF);
        return 0;
}

int object_destroy(Object *o) {
        Session *s = o->session;
        int r;

        if (o->n_users > 0)
                return -EBUSY;

        if (o->type == OBJECT_DEVICE)
                r = device_release(o);
        else
                r = viommu_destroy(s->iommufd, o->id);
        if (r < 0)
                return r;

        if (o->type == OBJECT_IOAS)
                s->mapped_bytes -= viommu_mapping_index_bytes(o->ioas.mappings);
        object_unlink(o);
        object_free(o);
        return 0;
}

void object_forget(Object *o) {
        object_unlink(o);
        object_free(o);
}

Object *object_find(Session *s, const char *path) {
        for (Object *o = s->objects; o; o = o->objects_next)
                if (streq(o->path, path))
                        return o;
        return NULL;
}

Object *object_find_by_id(Session *s, uint32_t id) {
        for (Object *o = s->objects; o; o = o->objects_next)
                if (o->id == id)
                        return o;
        return NULL;
}

Session *session_find(Daemon *d, const char *path) {
        for (Session *s = d->sessions; s; s = s->sessions_next)
                if (streq(s->path, path))
                        return s;
        return NULL;
}

/* Lets go of the record and the daemon's fds, without a word to the kernel. */
static Session *session_drop(Session *s) {
        while (s->objects)
                object_forget(s->objects);

        for (size_t i = 0; i < s->n_backings; i++)
                if (s->backings[i].refs > 0 && s->backings[i].addr)
                        munmap(s->backings[i].addr, s->backings[i].length);
        free(s->backings);

        if (s->iommufd >= 0)
                close(s->iommufd);
        sd_bus_track_unref(s->track);

        if (s->daemon) {
                if (s->sessions_prev)
                        s->sessions_prev->sessions_next = s->sessions_next;
                else
                        s->daemon->sessions = s->sessions_next;
                if (s->sessions_next)
                        s->sessions_next->sessions_prev = s->sessions_prev;
        }
        free(s->owner);
        free(s->path);
        free(s);
        return NULL;
}

Session *session_free(Session *s) {
        char name[FDSTORE_NAME_MAX];
        bool progress = true;

        if (!s)
                return NULL;

        /* A device and the HWPT it is attached to hold each other (the HWPT
         * was made for the device): detach every device first, its PASIDs
         * before it. What the kernel refuses to let go, closing the iommufd
         * ends. */
        for (Object *o = s->objects; o; o = o->objects_next)
                if (o->type == OBJECT_DEVICE && device_detach_from(o, NULL) < 0)
                        device_forget_attachments(o);

        /* Leaves first, as the kernel does: whatever nothing else holds. An
         * object the kernel keeps busy (a fault queue whose fd the VMM still
         * has) is only forgotten; closing the iommufd takes it. */
        while (s->objects && progress) {
                progress = false;
                for (Object *o = s->objects, *next; o; o = next) {
                        next = o->objects_next;
                        if (o->n_users > 0)
                                continue;
                        if (object_destroy(o) < 0)
                                object_forget(o);
                        progress = true;
                }
        }

        /* The fd store must not keep alive what the session held. */
        for (Object *o = s->objects; o; o = o->objects_next)
                if (o->type == OBJECT_DEVICE && o->device.fd >= 0)
                        fdstore_remove(fdstore_name(s, o, name));
        if (s->iommufd >= 0)
                fdstore_remove(fdstore_name(s, NULL, name));
        return session_drop(s);
}

Session *session_abandon(Session *s) {
        return s ? session_drop(s) : NULL;
}
