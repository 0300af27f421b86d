/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "ioas.h"
#include "log.h"
#include "mapping-index.h"
#include "reconcile.h"
#include "util.h"
#include "viommu-iommufd.h"

/* Takes off what the kernel maps inside [iova, iova+length) that the record
 * does not have there. The record has nothing there unless the kernel
 * refused the map, which then left nothing to undo. */
static void unmap_unrecorded(Object *ioas, uint64_t iova, uint64_t length) {
        Session *s = ioas->session;
        uint64_t unmapped = 0;

        if (viommu_mapping_index_find_first(ioas->ioas.mappings, iova, length))
                return;
        if (viommu_ioas_unmap(s->iommufd, ioas->id, iova, length, &unmapped) >= 0 && unmapped > 0)
                log_notice("session %u: %s: unmapped 0x%llx+0x%llx, which the previous run mapped but did not "
                           "report", s->id, ioas->path, (unsigned long long) iova, (unsigned long long) unmapped);
}

/* The kernel chose the IOVA: the mapping is in a gap of the record at least
 * length long. Each such gap is unmapped whole; the kernel takes off only
 * what lies wholly inside, which is only what the record does not know. */
static void unmap_unrecorded_anywhere(Object *ioas, uint64_t length) {
        const struct viommu_mapping *m;
        struct viommu_mapping_iter it;
        uint64_t start = 0;

        if (viommu_mapping_index_count(ioas->ioas.mappings) == 0) {
                unmap_unrecorded(ioas, 0, UINT64_MAX);
                return;
        }
        VIOMMU_MAPPING_INDEX_FOREACH(m, ioas->ioas.mappings, it) {
                if (m->iova - start >= length)
                        unmap_unrecorded(ioas, start, m->iova - start);
                start = m->iova + m->length;
                if (start == 0)
                        return;         /* the last one ends at 2^64 */
        }
        if (-start >= length)
                unmap_unrecorded(ioas, start, -start);
}

static void finish_unmap(Object *ioas, uint64_t iova, uint64_t length) {
        uint64_t unmapped, removed;

        (void) viommu_ioas_unmap(ioas->session->iommufd, ioas->id, iova, length, &unmapped);
        (void) ioas_record_unmap(ioas, iova, length, &removed);
}

/* The attachment the intent names, made what the record says. */
static int put_back(Object *dev, uint32_t pasid) {
        const DeviceOps *ops = dev->device.ops;
        uint32_t kernel_pt;
        Object *pt;
        int r;

        if (pasid == JOURNAL_NO_PASID) {
                pt = dev->device.attached;
                if (!pt) {
                        (void) ops->detach(dev);
                        return 0;
                }
                r = ops->attach(dev, pt->id, &kernel_pt);
                if (r >= 0)
                        device_set_attached(dev, pt, kernel_pt);
                return r;
        }
        pt = device_pasid_hwpt(dev, pasid);
        if (!pt) {
                (void) ops->detach_pasid(dev, pasid);
                return 0;
        }
        /* Attached already (to this or another HWPT), or not at all. */
        r = ops->attach_pasid(dev, pasid, pt->id, true, &kernel_pt);
        if (r < 0)
                r = ops->attach_pasid(dev, pasid, pt->id, false, &kernel_pt);
        return r;
}

/* The attachment the intent names, made what the intent was making it,
 * in the kernel (where it may be already) and in the record. */
static int finish(Object *dev, const JournalIntent *i) {
        const DeviceOps *ops = dev->device.ops;
        Object *pt = NULL;
        uint32_t kernel_pt;
        int r;

        if (i->target != 0) {
                pt = object_find_by_id(dev->session, i->target);
                if (!pt || (pt->type != OBJECT_HWPT && (pt->type != OBJECT_IOAS || i->pasid != JOURNAL_NO_PASID)))
                        return -EBADMSG;
        }
        if (i->pasid == JOURNAL_NO_PASID) {
                if (!pt) {
                        (void) ops->detach(dev);
                        device_set_attached(dev, NULL, 0);
                        return 0;
                }
                r = ops->attach(dev, pt->id, &kernel_pt);
                if (r >= 0)
                        device_set_attached(dev, pt, kernel_pt);
                return r;
        }
        if (!pt) {
                (void) ops->detach_pasid(dev, i->pasid);
                device_forget_pasid(dev, i->pasid);
                return 0;
        }
        r = ops->attach_pasid(dev, i->pasid, pt->id, true, &kernel_pt);
        if (r < 0)
                r = ops->attach_pasid(dev, i->pasid, pt->id, false, &kernel_pt);
        return r < 0 ? r : device_record_pasid(dev, i->pasid, pt);
}

/* Back as recorded where the kernel lets it go back; it may not: an IOAS
 * whose memory a previous run mapped by address (before Linux 6.13) cannot
 * be filled into a new domain once that run is gone. Then forward, as the
 * intent was going. */
static int settle_device(Object *dev, const JournalIntent *i) {
        int r;

        if (!dev->device.bound)
                return 0;
        r = put_back(dev, i->pasid);
        if (r >= 0)
                return 0;
        log_notice("session %u: %s: cannot put its attachment back as recorded (%s); finishing the change instead",
                   dev->session->id, dev->device.name, strerror(-r));
        return finish(dev, i);
}

static int finish_destroy(Object *o) {
        int r;

        r = object_destroy(o);
        if (r >= 0)
                return 0;
        /* Gone from the kernel already, or a device half released: what the
         * kernel still holds of it goes with its fd. */
        if (r == -ENOENT || o->type == OBJECT_DEVICE) {
                if (o->type == OBJECT_DEVICE)
                        (void) o->device.ops->release(o);
                object_forget(o);
                return 0;
        }
        return r;
}

static int reconcile_intent(Session *s, const JournalIntent *i) {
        Object *o = object_find(s, i->path);

        switch (i->op) {
        case JOURNAL_OP_MAP:
        case JOURNAL_OP_COPY:
                if (!o || o->type != OBJECT_IOAS)
                        return -EBADMSG;
                if (i->flags & IOMMU_IOAS_MAP_FIXED_IOVA)
                        unmap_unrecorded(o, i->iova, i->length);
                else
                        unmap_unrecorded_anywhere(o, i->length);
                return 0;
        case JOURNAL_OP_UNMAP:
                if (!o || o->type != OBJECT_IOAS)
                        return -EBADMSG;
                finish_unmap(o, i->iova, i->length);
                return 0;
        case JOURNAL_OP_DEVICE:
                if (!o || o->type != OBJECT_DEVICE)
                        return -EBADMSG;
                return settle_device(o, i);
        case JOURNAL_OP_DESTROY:
                /* Forgotten already: only the intent's close was missing. */
                return o ? finish_destroy(o) : 0;
        default:
                return -EBADMSG;
        }
}

static void mark(uint8_t *known, uint32_t limit, uint32_t id) {
        if (id > 0 && id < limit)
                known[id / 8] |= 1 << (id % 8);
}

/*
 * The kernel gives an object the lowest free id, so one the journal does
 * not know has an id at most a few above the highest it knows (objects the
 * kernel made on its own, such as the HWPT of a device attached to an IOAS,
 * are counted in). Destroying it by id is all the kernel offers: what is in
 * use says EBUSY and stays, what is not there says ENOENT. A delegated
 * session's VMM makes objects of its own, unknown to the daemon: none of
 * its ids are touched.
 */
int reconcile_sweep_orphans(Session *s, uint32_t room) {
        _cleanup_free_ uint8_t *known = NULL;
        uint32_t highest = 0, limit;
        bool progress = true;
        int n = 0;

        if (s->delegated)
                return 0;
        for (Object *o = s->objects; o; o = o->objects_next) {
                highest = MAX(highest, o->id);
                if (o->type == OBJECT_DEVICE) {
                        highest = MAX(highest, o->device.attached_pt);
                        for (size_t i = 0; i < ELEMENTSOF(o->device.ops_ids); i++)
                                highest = MAX(highest, o->device.ops_ids[i]);
                }
        }
        /* Room for the one operation's objects, and for those the kernel
         * made for each device. */
        limit = highest + room + 2 * s->n_devices;
        known = calloc(limit / 8 + 1, 1);
        if (!known)
                return -ENOMEM;
        for (Object *o = s->objects; o; o = o->objects_next) {
                mark(known, limit, o->id);
                if (o->type == OBJECT_DEVICE) {
                        mark(known, limit, o->device.attached_pt);
                        for (size_t i = 0; i < ELEMENTSOF(o->device.ops_ids); i++)
                                mark(known, limit, o->device.ops_ids[i]);
                }
        }

        /* An orphan may hold another: again until nothing more goes. */
        while (progress) {
                progress = false;
                for (uint32_t id = 1; id < limit; id++) {
                        if (known[id / 8] & (1 << (id % 8)))
                                continue;
                        if (viommu_destroy(s->iommufd, id) < 0)
                                continue;
                        log_notice("session %u: destroyed kernel object %u, which the previous run made but did "
                                   "not record", s->id, id);
                        progress = true;
                        n++;
                }
        }
        return n;
}

int reconcile_session(Session *s, const JournalIntent *pending) {
        int r;

        if (pending->op != 0) {
                log_notice("session %u: the previous run died in an operation on %s; settling it", s->id,
                           pending->path);
                r = reconcile_intent(s, pending);
                if (r < 0)
                        return log_error_errno(r, "session %u: cannot settle the operation the previous run "
                                               "died in: %m", s->id);
        }
        r = reconcile_sweep_orphans(s, 16);
        return r < 0 ? r : 0;
}
