/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A session: one VMM's iommufd and the record of every object the daemon
 * created in it. The kernel cannot list the objects inside an iommufd, so
 * this record is the only inventory there is: what exists, who holds whom
 * (and so the order of destruction), what is mapped where.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "daemon.h"

struct viommu_mapping_index;

typedef enum ObjectType {
        OBJECT_DEVICE,
        OBJECT_IOAS,
        OBJECT_HWPT,
        OBJECT_FAULT_QUEUE,
        OBJECT_VIOMMU,
        OBJECT_VDEVICE,
        OBJECT_VEVENTQ,
        _OBJECT_TYPE_MAX,
        _OBJECT_TYPE_INVALID = -EINVAL,
} ObjectType;

typedef struct DeviceOps DeviceOps;
typedef struct VirtioIommu VirtioIommu;

/* A PASID of a device and the HWPT it is attached to, which it holds. */
typedef struct DevicePasid {
        uint32_t pasid;
        Object *hwpt;
} DevicePasid;

/* Guest memory the daemon mapped itself, for kernels without
 * IOMMU_IOAS_MAP_FILE; shared by the IOASes a mapping was copied into. */
typedef struct Backing {
        void *addr;
        uint64_t length;
        unsigned refs;
} Backing;

/* Guest memory registered at a guest-physical address (guest-memory.h). */
typedef struct GuestRegion {
        uint32_t id;
        uint32_t backing;       /* its slot in the session's backings */
        uint64_t gpa, size;
        uint64_t offset;        /* where gpa is in the memfd */
        int fd;                 /* the memfd; -EBADF until a take-over gives it back */
} GuestRegion;

struct Object {
        Session *session;
        ObjectType type;
        uint32_t id;            /* the kernel's id in the session's iommufd */
        uint64_t created;       /* CLOCK_REALTIME, µs */
        char *path;

        /* Objects this one keeps alive; it goes before any of them. */
        Object *uses[3];
        unsigned n_users;

        union {
                struct {
                        char *name;             /* BDF, sysfs name, or "mockN" */
                        const DeviceOps *ops;   /* how the kernel is told (device.h) */
                        int fd;                 /* the VFIO cdev; -1 for a mock device */
                        bool bound;             /* false for a delegated session's device */
                        /* Kernel objects its DeviceOps keep for it, besides the device itself. */
                        uint32_t ops_ids[2];
                        Object *attached;       /* IOAS or HWPT; NULL when detached */
                        uint32_t attached_pt;   /* what the kernel attached (maybe an automatic HWPT) */
                        DevicePasid *pasids;    /* in PASID order */
                        size_t n_pasids;
                        int request_fd;         /* signalled when the host wants the device back */
                        sd_event_source *request_source;
                } device;
                struct {
                        struct viommu_mapping_index *mappings;
                } ioas;
                struct {
                        uint32_t flags;         /* IOMMU_HWPT_ALLOC_* */
                        bool nested;
                        uint32_t data_type;
                } hwpt;
                struct {
                        uint32_t type;
                } viommu;
                struct {
                        uint64_t virt_id;
                } vdevice;
        };

        Object *objects_prev, *objects_next;
        /* Properties to announce (bus-signals.c), and the next object that has some. */
        unsigned dirty;
        Object *dirty_next;
};

struct Session {
        Daemon *daemon;
        unsigned id;
        char *path;
        int iommufd;

        uid_t uid;
        char *owner;            /* the unique bus name that opened it */
        bool persistent;        /* outlives its owner's bus connection */
        bool delegated;         /* the VMM drives the iommufd itself */
        /* owner is a name on this run's bus, where it is never reused: the
         * name that opened it, or for a session adopted from an earlier run,
         * the recorded name found held by the session's user. */
        bool owner_here;
        /* Stored by a run before its iommufd and first journal shared "sN":
         * as "sN-iommufd" (fdstore_name()), taken over from there. */
        bool older_entry;
        /* Its entry in the fd store, "slotK" (fdstore.h); 0 for an older
         * run's "sN", or without a store. */
        unsigned slot;
        /* A device was bound to its iommufd: never a spare (entry-pool.h). */
        bool had_device;
        uint64_t created;

        Object *objects;        /* newest first */
        struct lh_table *object_ids;    /* kernel id -> Object (frames, journal, virtio-iommu) */
        unsigned n_objects;
        unsigned n_devices;
        unsigned next_unbound;  /* names delegated devices, which have no kernel id */

        Backing *backings;
        size_t n_backings;
        uint64_t mapped_bytes;
        GuestRegion *regions;   /* in the order added */
        size_t n_regions;
        uint32_t next_region;   /* the last region id given */
        VirtioIommu *virtio_iommu;      /* endpoints and domains (virtio-iommu.h); NULL until used */
        /* Translation leases and the calls waiting for them (lease.h). */
        struct Lease *leases;
        struct LeaseDrain *drains;
        size_t n_leases;
        uint32_t next_lease;    /* the last lease id given */
        bool lease_ids_wrapped; /* ids past 2^32: one still held is skipped */

        /* What a restart needs after a crash (journal.h); NULL without a fd
         * store. The generation names it there. */
        Journal *journal;
        uint64_t journal_generation;

        Session *sessions_prev, *sessions_next;
        unsigned dirty;
        Session *dirty_next;
};

const char *object_type_to_string(ObjectType t);
ObjectType object_type_from_string(const char *s);

int session_new(Daemon *d, uid_t uid, const char *owner, bool persistent, bool delegated, Session **ret);
/* A session around an iommufd that exists already (a restart finds it in the
 * fd store), with an empty record; takes iommufd on success. -EEXIST if id is
 * taken. */
int session_adopt(Daemon *d, unsigned id, int iommufd, uid_t uid, const char *owner, bool persistent,
                  bool delegated, uint64_t created, Session **ret);
/* Destroys every object in dependency order, closes the iommufd; takes NULL. */
Session *session_free(Session *s);
/* Forgets the session and closes the daemon's fds without touching the
 * kernel: for handing it over to the daemon's next run, the fd store keeping
 * the kernel objects alive meanwhile. Takes NULL. */
Session *session_abandon(Session *s);
Session *session_find(Daemon *d, const char *path);

int object_new(Session *s, ObjectType type, uint32_t id, Object **ret);
/* The same at a given path (a record read back names objects as they were);
 * -EEXIST if another object has it. */
int object_new_at(Session *s, ObjectType type, uint32_t id, const char *path, Object **ret);
/* Records an object the kernel has just allocated with id. If the record
 * cannot take it, the kernel object is destroyed (after closing *fd, the
 * object's fd if it has one), so that nothing is left in the kernel that
 * the record does not know. Every allocation goes through here. */
int object_adopt(Session *s, ObjectType type, uint32_t id, int *fd, Object **ret);
/* Records that o keeps dependency alive. */
void object_use(Object *o, Object *dependency);

/* Destroys the kernel object and forgets it; -EBUSY while others use it. */
int object_destroy(Object *o);
/* Forgets an object without asking the kernel: for what the kernel keeps
 * busy (closing the iommufd ends it) or already lost. */
void object_forget(Object *o);
Object *object_find(Session *s, const char *path);
/* The object at path in any session. */
Object *object_find_any(Daemon *d, const char *path);
Object *object_find_by_id(Session *s, uint32_t id);

static inline void session_freep(Session **s) {
        if (*s)
                session_free(*s);
}
