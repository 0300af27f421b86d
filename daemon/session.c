/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <json-c/linkhash.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus-signals.h"
#include "device.h"
#include "fdstore.h"
#include "guest-memory.h"
#include "ioas.h"
#include "journal.h"
#include "json-util.h"
#include "lease.h"
#include "log.h"
#include "mapping-index.h"
#include "session.h"
#include "util.h"
#include "viommu-iommufd.h"
#include "virtio-iommu.h"

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

/* The path tables live while there are sessions: a daemon (or a test) that
 * never opens one needs no setting up or tearing down. Keys are the paths
 * the sessions and objects own. */
static int path_tables_ref(Daemon *d) {
        if (d->session_paths)
                return 0;
        d->session_paths = lh_kchar_table_new(16, NULL);
        d->object_paths = lh_kchar_table_new(64, NULL);
        if (!d->session_paths || !d->object_paths) {
                d->session_paths = lh_table_free_safe(d->session_paths);
                d->object_paths = lh_table_free_safe(d->object_paths);
                return -ENOMEM;
        }
        return 0;
}

static void path_tables_unref(Daemon *d) {
        if (d->sessions || !d->session_paths)
                return;
        d->session_paths = lh_table_free_safe(d->session_paths);
        d->object_paths = lh_table_free_safe(d->object_paths);
}

static void *path_lookup(struct lh_table *t, const char *path) {
        void *v;

        return t && lh_table_lookup_ex(t, path, &v) ? v : NULL;
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
        r = path_tables_ref(d);
        if (r < 0)
                return r;
        if (lh_table_insert(d->session_paths, s->path, s) < 0) {
                path_tables_unref(d);
                return -ENOMEM;
        }

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

/* The new session's iommufd: a spare entry's, or for a delegated session,
 * whose VMM gets a copy, or when there is no spare, a new one. Its slot,
 * and the spare's journal (NULL for a new iommufd). */
static int session_iommufd(Daemon *d, bool delegated, unsigned *ret_slot, Journal **ret_journal) {
        int fd, r;

        *ret_slot = 0;
        *ret_journal = NULL;
        if (!delegated && fdstore_available() && entry_pool_take(&d->entry_pool, ret_slot, &fd, ret_journal) > 0)
                return fd;

        fd = viommu_iommufd_open();
        if (fd < 0)
                return fd;
        /* A VMM driving the iommufd itself pins pages in its own name; the
         * kernel only takes this on an empty iommufd. */
        if (delegated) {
                r = viommu_option_set(fd, IOMMU_OPTION_RLIMIT_MODE, 0, 1);
                if (r < 0) {
                        (void) close(fd);
                        return r;
                }
        }
        if (fdstore_available())
                *ret_slot = entry_pool_new_slot(&d->entry_pool);
        return fd;
}

int session_new(Daemon *d, uid_t uid, const char *owner, bool persistent, bool delegated, Session **ret) {
        _cleanup_(journal_freep) Journal *spare = NULL;
        _cleanup_close_ int fd = -EBADF;
        unsigned slot;
        Session *s;
        int r;

        fd = session_iommufd(d, delegated, &slot, &spare);
        if (fd < 0)
                return fd;
        r = session_adopt(d, d->next_session_id + 1, fd, uid, owner, persistent, delegated, now_usec(), &s);
        if (r < 0) {
                /* Untouched, the spare goes back. */
                if (spare && entry_pool_put(&d->entry_pool, slot, fd, spare) > 0) {
                        TAKE_FD(fd);
                        TAKE_PTR(spare);
                }
                return r;
        }
        TAKE_FD(fd);
        s->owner_here = true;
        s->slot = slot;
        r = journal_begin(s, TAKE_PTR(spare));
        if (r < 0)
                log_warning("session %u: not in the fd store (%s): a restart ends it", s->id, strerror(-r));
        *ret = s;
        return 0;
}

/* Kernel ids are the table's keys as they are; 0 is no id (an unbound
 * device), and never one of the table's own markers. */
static const void *object_id_key(uint32_t id) {
        return (const void *) (uintptr_t) id;
}

static void object_unlink(Object *o) {
        Session *s = o->session;

        for (size_t i = 0; i < ELEMENTSOF(o->uses); i++)
                if (o->uses[i])
                        o->uses[i]->n_users--;
        if (o->type == OBJECT_DEVICE)
                device_forget_attachments_to(o, NULL);
        journal_forget(o);
        /* Nothing may point at a forgotten object. */
        for (Object *u = s->objects; u; u = u->objects_next) {
                for (size_t i = 0; i < ELEMENTSOF(u->uses); i++)
                        if (u->uses[i] == o)
                                u->uses[i] = NULL;
                if (u->type == OBJECT_DEVICE)
                        device_forget_attachments_to(u, o);
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
        (void) lh_table_delete(s->daemon->object_paths, o->path);
        if (o->id != 0)
                (void) lh_table_delete(s->object_ids, object_id_key(o->id));
        signals_forget_object(o);
}

static void object_free(Object *o) {
        switch (o->type) {
        case OBJECT_DEVICE:
                device_close(o);
                free(o->device.name);
                free(o->device.pasids);
                break;
        case OBJECT_IOAS:
                ioas_free_mappings(o);
                break;
        default:
                break;
        }
        free(o->path);
        free(o);
}

int object_new(Session *s, ObjectType type, uint32_t id, Object **ret) {
        return object_new_at(s, type, id, NULL, ret);
}

int object_new_at(Session *s, ObjectType type, uint32_t id, const char *path, Object **ret) {
        Object *o;
        char ids[32];
        int r;

        if (type < 0 || type >= _OBJECT_TYPE_MAX)
                return -EINVAL;
        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->session = s;
        o->type = type;
        o->id = id;
        o->created = now_usec();
        /* A device is a VFIO device unless it is made otherwise; never
         * without ops, not even in a record refused half way. */
        if (type == OBJECT_DEVICE) {
                o->device.ops = &vfio_device_ops;
                o->device.fd = o->device.request_fd = -EBADF;
        }
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
        if (path)
                r = (o->path = strdup(path)) ? 0 : -ENOMEM;
        else
                r = sd_bus_path_encode_many(&o->path, VIOMMU_SESSION_PREFIX "/%/%/%", sid,
                                            object_type_to_string(type), ids);
        /* One object a path: the table's keys are unique. */
        if (r >= 0 && object_find_any(s->daemon, o->path))
                r = -EEXIST;
        if (r >= 0 && id != 0 && !s->object_ids && !(s->object_ids = lh_kptr_table_new(16, NULL)))
                r = -ENOMEM;
        if (r >= 0 && id != 0 && object_find_by_id(s, id))
                r = -EEXIST;
        if (r >= 0 && lh_table_insert(s->daemon->object_paths, o->path, o) < 0)
                r = -ENOMEM;
        if (r >= 0 && id != 0 && lh_table_insert(s->object_ids, object_id_key(id), o) < 0) {
                (void) lh_table_delete(s->daemon->object_paths, o->path);
                r = -ENOMEM;
        }
        if (r < 0) {
                object_free(o);
                return r;
        }

        o->objects_next = s->objects;
        if (s->objects)
                s->objects->objects_prev = o;
        s->objects = o;
        s->n_objects++;
        if (type == OBJECT_DEVICE) {
                s->n_devices++;
                s->had_device = true;
        }
        *ret = o;
        return 0;
}

int object_adopt(Session *s, ObjectType type, uint32_t id, int *fd, Object **ret) {
        int r;

        r = object_new(s, type, id, ret);
        if (r < 0) {
                /* A queue lives while its fd is open. */
                if (fd && *fd >= 0)
                        *fd = (close(*fd), -EBADF);
                (void) viommu_destroy(s->iommufd, id);
        }
        return r;
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

int object_destroy(Object *o) {
        Session *s = o->session;
        int r;

        if (o->n_users > 0)
                return -EBUSY;
        /* A lease, and a call that waits for one to go, hold on to their IOAS. */
        if (o->type == OBJECT_IOAS && (lease_overlapping(o, 0, UINT64_MAX) || lease_draining_ioas(o)))
                return -EBUSY;

        journal_intent(o, (JournalIntent) { .op = JOURNAL_OP_DESTROY });
        if (o->type == OBJECT_DEVICE)
                r = device_release(o);
        else
                r = viommu_destroy(s->iommufd, o->id);
        if (r < 0) {
                journal_done(s);
                return r;
        }

        if (o->type == OBJECT_IOAS)
                s->mapped_bytes -= viommu_mapping_index_bytes(o->ioas.mappings);
        object_unlink(o);
        object_free(o);
        journal_done(s);
        return 0;
}

void object_forget(Object *o) {
        object_unlink(o);
        object_free(o);
}

Object *object_find(Session *s, const char *path) {
        Object *o = object_find_any(s->daemon, path);

        return o && o->session == s ? o : NULL;
}

Object *object_find_any(Daemon *d, const char *path) {
        return path_lookup(d->object_paths, path);
}

Object *object_find_by_id(Session *s, uint32_t id) {
        void *v;

        return id != 0 && s->object_ids && lh_table_lookup_ex(s->object_ids, object_id_key(id), &v) ? v : NULL;
}

Session *session_find(Daemon *d, const char *path) {
        return path_lookup(d->session_paths, path);
}

/* Lets go of the record and the daemon's fds, without a word to the kernel. */
static Session *session_drop(Session *s) {
        /* What goes here goes from the daemon's memory only. */
        s->journal = journal_free(s->journal);
        while (s->objects)
                object_forget(s->objects);

        guest_memory_free(s, false);
        session_backings_free(s);
        virtio_iommu_free(s, false);

        if (s->iommufd >= 0)
                close(s->iommufd);

        if (s->daemon) {
                if (s->sessions_prev)
                        s->sessions_prev->sessions_next = s->sessions_next;
                else
                        s->daemon->sessions = s->sessions_next;
                if (s->sessions_next)
                        s->sessions_next->sessions_prev = s->sessions_prev;
                (void) lh_table_delete(s->daemon->session_paths, s->path);
                signals_forget_session(s);
                path_tables_unref(s->daemon);
        }
        lh_table_free_safe(s->object_ids);
        free(s->owner);
        free(s->path);
        free(s);
        return NULL;
}

/* Whether the session's entry in the fd store may be kept for another
 * session once its objects are gone (entry-pool.h). */
static bool session_entry_reusable(Session *s) {
        return s->slot > 0 && s->iommufd >= 0 && !s->delegated && !s->had_device && s->journal_generation == 1;
}

Session *session_free(Session *s) {
        _cleanup_(journal_freep) Journal *first_journal = NULL;
        char name[FDSTORE_NAME_MAX];
        bool progress = true, reuse, emptied = true;

        if (!s)
                return NULL;

        /* Ended from here on, even if the daemon dies half way: the store
         * lets go of its journal and iommufd, and with the daemon's copy
         * goes what is left in the kernel. An entry that may be reused
         * stays, its journal emptied: a take-over ends the session. */
        reuse = session_entry_reusable(s);
        first_journal = journal_end(s, reuse);
        reuse = reuse && first_journal;
        if (s->iommufd >= 0 && !reuse)
                fdstore_remove(fdstore_name(s, NULL, name));
        leases_free_session(s);

        /* A device and the HWPT it is attached to hold each other (the HWPT
         * was made for the device): detach every device first, its PASIDs
         * before it. What the kernel refuses to let go, closing the iommufd
         * ends. */
        for (Object *o = s->objects; o; o = o->objects_next)
                if (o->type == OBJECT_DEVICE && device_detach_from(o, NULL) < 0)
                        device_forget_attachments_to(o, NULL);
        /* The daemon's fault queue goes as the rest once its fd is closed. */
        virtio_iommu_free(s, true);

        /* Leaves first, as the kernel does: whatever nothing else holds. An
         * object the kernel keeps busy (a fault queue whose fd the VMM still
         * has) is only forgotten; closing the iommufd takes it. */
        while (s->objects && progress) {
                progress = false;
                for (Object *o = s->objects, *next; o; o = next) {
                        next = o->objects_next;
                        if (o->n_users > 0)
                                continue;
                        if (object_destroy(o) < 0) {
                                object_forget(o);
                                emptied = false;
                        }
                        progress = true;
                }
        }

        /* The fd store must not keep alive what the session held. */
        for (Object *o = s->objects; o; o = o->objects_next)
                if (o->type == OBJECT_DEVICE && o->device.fd >= 0)
                        fdstore_remove(fdstore_name(s, o, name));
        guest_memory_free(s, true);

        if (reuse) {
                if (emptied && !s->objects &&
                    entry_pool_put(&s->daemon->entry_pool, s->slot, s->iommufd, first_journal) > 0) {
                        s->iommufd = -EBADF;
                        TAKE_PTR(first_journal);
                } else
                        fdstore_remove(fdstore_name(s, NULL, name));
        }
        return session_drop(s);
}

Session *session_abandon(Session *s) {
        if (!s)
                return NULL;
        leases_free_session(s);
        return session_drop(s);
}
