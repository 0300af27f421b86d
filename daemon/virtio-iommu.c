/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The virtio-iommu backend (virtio-iommu.h). Statuses follow the virtio
 * specification (5.13, "IOMMU device"): a request that is malformed on its
 * own is answered by virtio_iommu_parse() before anything is looked at,
 * and each operation checks everything it depends on before it asks the
 * kernel, so that a refused request changes nothing.
 *
 * Endpoints and domains name objects by kernel id and creation time, not
 * by pointer: the VMM may release a device or destroy an IOAS through the
 * rest of the API, and an entry whose object is gone simply no longer
 * resolves. The journal keeps them as they are, whole with each change
 * (journal_virtio_iommu()), references and all.
 */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "auth.h"
#include "bus-signals.h"
#include "device.h"
#include "fdstore.h"
#include "guest-memory.h"
#include "hwpt.h"
#include "ioas.h"
#include "journal.h"
#include "json-util.h"
#include "log.h"
#include "mapping-index.h"
#include "util.h"
#include "virtio-iommu.h"
#include "viommu-topology.h"

#define GRANULE UINT64_C(4096)
#define TAIL_SIZE sizeof(struct virtio_iommu_req_tail)

typedef struct ObjectRef {
        uint32_t id;
        uint64_t created;
} ObjectRef;

typedef struct Endpoint {
        uint32_t id;
        ObjectRef dev;
} Endpoint;

/* With faults enabled, the endpoints attach to a paging HWPT on the IOAS
 * that reports to the fault queue; without, to the IOAS (hwpt.id 0). */
typedef struct Domain {
        uint32_t id;
        ObjectRef ioas, hwpt;
} Domain;

struct VirtioIommu {
        Endpoint *endpoints;
        size_t n_endpoints;
        Domain *domains;
        size_t n_domains;
        /* The fault queue the daemon reads, once the VMM enabled faults. */
        ObjectRef fault_queue;
        int fault_fd;
        sd_event_source *fault_source;
};

static bool all_zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

static size_t request_size(uint8_t type) {
        switch (type) {
        case VIRTIO_IOMMU_T_ATTACH:
                return sizeof(struct virtio_iommu_req_attach);
        case VIRTIO_IOMMU_T_DETACH:
                return sizeof(struct virtio_iommu_req_detach);
        case VIRTIO_IOMMU_T_MAP:
                return sizeof(struct virtio_iommu_req_map);
        case VIRTIO_IOMMU_T_UNMAP:
                return sizeof(struct virtio_iommu_req_unmap);
        case VIRTIO_IOMMU_T_PROBE:
                return sizeof(struct virtio_iommu_req_probe) + VIRTIO_IOMMU_PROBE_SIZE + TAIL_SIZE;
        default:
                return 0;
        }
}

uint8_t virtio_iommu_parse(const void *buf, size_t size, VirtioIommuRequest *ret, size_t *ret_reply_size) {
        /* The request is read from an aligned copy: buf may be anywhere (a
         * D-Bus byte array is aligned to 4 bytes, a MAP's fields to 8). */
        union {
                struct virtio_iommu_req_head head;
                struct virtio_iommu_req_attach attach;
                struct virtio_iommu_req_detach detach;
                struct virtio_iommu_req_map map;
                struct virtio_iommu_req_unmap unmap;
                struct virtio_iommu_req_probe probe;
        } in = {};
        const struct virtio_iommu_req_head *head = &in.head;
        size_t want;

        *ret = (VirtioIommuRequest) {};
        *ret_reply_size = TAIL_SIZE;
        if (!buf || size < sizeof(*head) + TAIL_SIZE)
                return VIRTIO_IOMMU_S_INVAL;
        memcpy(&in, buf, MIN(size, sizeof(in)));
        ret->type = head->type;
        want = request_size(head->type);
        if (want == 0)
                return VIRTIO_IOMMU_S_UNSUPP;
        /* A PROBE's device-writable part is all that follows its body,
         * whatever the driver made it; the tail is at its end. */
        if (head->type == VIRTIO_IOMMU_T_PROBE && size >= sizeof(struct virtio_iommu_req_probe) + TAIL_SIZE)
                *ret_reply_size = size - sizeof(struct virtio_iommu_req_probe);
        if (size != want || !all_zero(head->reserved, sizeof(head->reserved)))
                return VIRTIO_IOMMU_S_INVAL;

        switch (head->type) {
        case VIRTIO_IOMMU_T_ATTACH: {
                const struct virtio_iommu_req_attach *a = &in.attach;

                ret->domain = le32toh(a->domain);
                ret->endpoint = le32toh(a->endpoint);
                ret->flags = le32toh(a->flags);
                if (!all_zero(a->reserved, sizeof(a->reserved)) || (ret->flags & ~(uint32_t) VIRTIO_IOMMU_ATTACH_F_BYPASS))
                        return VIRTIO_IOMMU_S_INVAL;
                break;
        }
        case VIRTIO_IOMMU_T_DETACH: {
                const struct virtio_iommu_req_detach *d = &in.detach;

                ret->domain = le32toh(d->domain);
                ret->endpoint = le32toh(d->endpoint);
                if (!all_zero(d->reserved, sizeof(d->reserved)))
                        return VIRTIO_IOMMU_S_INVAL;
                break;
        }
        case VIRTIO_IOMMU_T_MAP: {
                const struct virtio_iommu_req_map *mp = &in.map;

                ret->domain = le32toh(mp->domain);
                ret->virt_start = le64toh(mp->virt_start);
                ret->virt_end = le64toh(mp->virt_end);
                ret->phys_start = le64toh(mp->phys_start);
                ret->flags = le32toh(mp->flags);
                /* MMIO is for devices with VIRTIO_IOMMU_F_MMIO, which this
                 * one does not offer: the flag is as unknown as any other. */
                if ((ret->flags & ~(uint32_t) (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)) ||
                    !(ret->flags & (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)) ||
                    ret->virt_end < ret->virt_start)
                        return VIRTIO_IOMMU_S_INVAL;
                if (((ret->virt_start | ret->phys_start | (ret->virt_end + 1)) & (GRANULE - 1)) ||
                    ret->virt_end - ret->virt_start == UINT64_MAX ||
                    ret->phys_start + (ret->virt_end - ret->virt_start) < ret->phys_start)
                        return VIRTIO_IOMMU_S_RANGE;
                break;
        }
        case VIRTIO_IOMMU_T_UNMAP: {
                const struct virtio_iommu_req_unmap *u = &in.unmap;

                ret->domain = le32toh(u->domain);
                ret->virt_start = le64toh(u->virt_start);
                ret->virt_end = le64toh(u->virt_end);
                if (!all_zero(u->reserved, sizeof(u->reserved)) || ret->virt_end < ret->virt_start)
                        return VIRTIO_IOMMU_S_INVAL;
                if ((ret->virt_start | (ret->virt_end + 1)) & (GRANULE - 1))
                        return VIRTIO_IOMMU_S_RANGE;
                break;
        }
        case VIRTIO_IOMMU_T_PROBE: {
                const struct virtio_iommu_req_probe *p = &in.probe;

                ret->endpoint = le32toh(p->endpoint);
                if (!all_zero(p->reserved, sizeof(p->reserved)))
                        return VIRTIO_IOMMU_S_INVAL;
                break;
        }
        }
        return VIRTIO_IOMMU_S_OK;
}

/* ---- endpoints and domains ------------------------------------------------ */

static int state(Session *s, VirtioIommu **ret) {
        if (!s->virtio_iommu) {
                s->virtio_iommu = calloc(1, sizeof(VirtioIommu));
                if (!s->virtio_iommu)
                        return -ENOMEM;
                s->virtio_iommu->fault_fd = -EBADF;
        }
        *ret = s->virtio_iommu;
        return 0;
}

static Object *resolve(Session *s, ObjectRef ref, ObjectType type) {
        Object *o = object_find_by_id(s, ref.id);

        return o && o->type == type && o->created == ref.created ? o : NULL;
}

static Endpoint *endpoint_find(Session *s, uint32_t id) {
        VirtioIommu *v = s->virtio_iommu;

        for (size_t i = 0; v && i < v->n_endpoints; i++)
                if (v->endpoints[i].id == id)
                        return v->endpoints + i;
        return NULL;
}

/* The device of an endpoint; NULL if the endpoint or its device is gone. */
static Object *endpoint_device(Session *s, uint32_t id) {
        Endpoint *e = endpoint_find(s, id);

        return e ? resolve(s, e->dev, OBJECT_DEVICE) : NULL;
}

static Domain *domain_find(Session *s, uint32_t id, Object **ret_ioas) {
        VirtioIommu *v = s->virtio_iommu;

        *ret_ioas = NULL;
        for (size_t i = 0; v && i < v->n_domains; i++) {
                if (v->domains[i].id != id)
                        continue;
                *ret_ioas = resolve(s, v->domains[i].ioas, OBJECT_IOAS);
                if (*ret_ioas)
                        return v->domains + i;
                /* The VMM destroyed the IOAS itself: the domain is gone. */
                memmove(v->domains + i, v->domains + i + 1, (--v->n_domains - i) * sizeof(Domain));
                return NULL;
        }
        return NULL;
}

static bool ref_is(ObjectRef ref, const Object *o) {
        return ref.id == o->id && ref.created == o->created;
}

/* The domain whose page table pt (what a device is attached to) is. */
static Domain *domain_of_pt(Session *s, const Object *pt) {
        VirtioIommu *v = s->virtio_iommu;

        for (size_t i = 0; v && pt && i < v->n_domains; i++)
                if (ref_is(v->domains[i].hwpt.id != 0 ? v->domains[i].hwpt : v->domains[i].ioas, pt))
                        return v->domains + i;
        return NULL;
}

/* What endpoints of dom attach to: its HWPT, or its IOAS. */
static Object *domain_pt(Session *s, const Domain *dom, Object *ioas) {
        return dom->hwpt.id != 0 ? resolve(s, dom->hwpt, OBJECT_HWPT) : ioas;
}

/* Destroys o unless something uses it; 0 if it went. */
static int destroy_unused(Session *s, Object *o) {
        _cleanup_free_ char *path = NULL;
        uint64_t mapped = s->mapped_bytes;
        ObjectType type = o->type;

        if (o->n_users > 0)
                return -EBUSY;
        path = strdup(o->path);
        if (!path || object_destroy(o) < 0)
                return -EBUSY;
        emit_object_removed(s, path, type, mapped);
        return 0;
}

/* Destroys a domain no endpoint is attached to any more, unless the VMM
 * made something else use its IOAS. */
static void domain_release(Session *s, Domain *dom) {
        VirtioIommu *v = s->virtio_iommu;
        Object *ioas = resolve(s, dom->ioas, OBJECT_IOAS), *hwpt = resolve(s, dom->hwpt, OBJECT_HWPT);
        uint32_t id = dom->id;

        if (hwpt && destroy_unused(s, hwpt) < 0)
                return;
        dom->hwpt.id = 0;
        if (!ioas || destroy_unused(s, ioas) >= 0) {
                memmove(dom, dom + 1, (v->domains + --v->n_domains - dom) * sizeof(*dom));
                log_session(s, "virtio-iommu domain %u destroyed", id);
        }
        journal_virtio_iommu(s);
}

int virtio_iommu_add_endpoint(Session *s, Object *dev, uint32_t endpoint) {
        VirtioIommu *v;
        Endpoint *n;
        int r;

        r = state(s, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->n_endpoints;) {
                Object *o = resolve(s, v->endpoints[i].dev, OBJECT_DEVICE);

                if (!o) {       /* its device was released: the id is free again */
                        memmove(v->endpoints + i, v->endpoints + i + 1, (--v->n_endpoints - i) * sizeof(Endpoint));
                        continue;
                }
                if (v->endpoints[i].id == endpoint || o == dev)
                        return -EEXIST;
                i++;
        }
        n = reallocarray(v->endpoints, v->n_endpoints + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        v->endpoints = n;
        n[v->n_endpoints++] = (Endpoint) { endpoint, { dev->id, dev->created } };
        journal_virtio_iommu(s);
        return 0;
}

int virtio_iommu_remove_endpoint(Session *s, uint32_t endpoint) {
        VirtioIommu *v = s->virtio_iommu;
        Endpoint *e = endpoint_find(s, endpoint);
        Object *dev;

        if (!e)
                return -ENOENT;
        dev = resolve(s, e->dev, OBJECT_DEVICE);
        if (dev && domain_of_pt(s, dev->device.attached))
                return -EBUSY;
        memmove(e, e + 1, (v->endpoints + --v->n_endpoints - e) * sizeof(*e));
        journal_virtio_iommu(s);
        return 0;
}

void virtio_iommu_free(Session *s, bool forget_store) {
        char name[FDSTORE_NAME_MAX];
        Object *fq;

        if (!s->virtio_iommu)
                return;
        fq = virtio_iommu_fault_queue(s);
        if (forget_store && fq && s->virtio_iommu->fault_fd >= 0)
                fdstore_remove(fdstore_name(s, fq, name));
        sd_event_source_disable_unref(s->virtio_iommu->fault_source);
        closep(&s->virtio_iommu->fault_fd);
        free(s->virtio_iommu->endpoints);
        free(s->virtio_iommu->domains);
        s->virtio_iommu = mfree(s->virtio_iommu);
}

/* ---- the journal ---------------------------------------------------------- */

/* A reference as the record keeps an object: its kernel id and creation
 * time, so that one gone before a restart stays gone after it. */
static struct json_object *ref_to_json(ObjectRef ref) {
        _cleanup_(json_object_putp) struct json_object *j = json_object_new_object();

        if (!j || json_add(j, "id", json_object_new_int64(ref.id)) < 0 ||
            json_add(j, "created", json_new_hex(ref.created, 0)) < 0)
                return NULL;
        return TAKE_PTR(j);
}

static int ref_from_json(struct json_object *j, const char *key, ObjectRef *ret) {
        struct json_object *v;

        if (!json_object_object_get_ex(j, key, &v) || json_read_u32(v, "id", &ret->id) < 0 ||
            json_read_hex(v, "created", &ret->created) < 0)
                return -EBADMSG;
        return 0;
}

/* A new object at the end of array a. */
static struct json_object *array_add_object(struct json_object *a) {
        struct json_object *o = json_object_new_object();

        if (o && json_object_array_add(a, o) < 0)
                o = (json_object_put(o), NULL);
        return o;
}

int virtio_iommu_to_json(Session *s, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *j = json_object_new_object(),
                                                       *endpoints = json_object_new_array(),
                                                       *domains = json_object_new_array();
        VirtioIommu *v = s->virtio_iommu;
        int r = 0;

        if (!j || !endpoints || !domains)
                return -ENOMEM;
        for (size_t i = 0; v && i < v->n_endpoints; i++) {
                struct json_object *e = array_add_object(endpoints);

                if (!e)
                        return -ENOMEM;
                r |= json_add(e, "id", json_object_new_int64(v->endpoints[i].id));
                r |= json_add(e, "device", ref_to_json(v->endpoints[i].dev));
        }
        for (size_t i = 0; v && i < v->n_domains; i++) {
                struct json_object *d = array_add_object(domains);

                if (!d)
                        return -ENOMEM;
                r |= json_add(d, "id", json_object_new_int64(v->domains[i].id));
                r |= json_add(d, "ioas", ref_to_json(v->domains[i].ioas));
                r |= json_add(d, "hwpt", ref_to_json(v->domains[i].hwpt));
        }
        r |= json_add(j, "endpoints", TAKE_PTR(endpoints));
        r |= json_add(j, "domains", TAKE_PTR(domains));
        r |= json_add(j, "fault-queue", ref_to_json(v ? v->fault_queue : (ObjectRef) {}));
        if (r < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(j);
        return 0;
}

int virtio_iommu_from_json(Session *s, struct json_object *j) {
        _cleanup_free_ Endpoint *endpoints = NULL;
        _cleanup_free_ Domain *domains = NULL;
        struct json_object *je, *jd;
        ObjectRef fault_queue;
        VirtioIommu *v;
        size_t ne, nd;
        int r;

        if (!json_object_object_get_ex(j, "endpoints", &je) || !json_object_is_type(je, json_type_array) ||
            !json_object_object_get_ex(j, "domains", &jd) || !json_object_is_type(jd, json_type_array) ||
            ref_from_json(j, "fault-queue", &fault_queue) < 0)
                return -EBADMSG;
        ne = json_object_array_length(je);
        nd = json_object_array_length(jd);
        endpoints = calloc(ne ?: 1, sizeof(Endpoint));
        domains = calloc(nd ?: 1, sizeof(Domain));
        if (!endpoints || !domains)
                return -ENOMEM;

        /* Ids are the guest's names: each once. */
        for (size_t i = 0; i < ne; i++) {
                struct json_object *e = json_object_array_get_idx(je, i);

                if (json_read_u32(e, "id", &endpoints[i].id) < 0 || ref_from_json(e, "device", &endpoints[i].dev) < 0 ||
                    endpoints[i].dev.id == 0)
                        return -EBADMSG;
                for (size_t k = 0; k < i; k++)
                        if (endpoints[k].id == endpoints[i].id)
                                return -EBADMSG;
        }
        for (size_t i = 0; i < nd; i++) {
                struct json_object *d = json_object_array_get_idx(jd, i);

                if (json_read_u32(d, "id", &domains[i].id) < 0 || ref_from_json(d, "ioas", &domains[i].ioas) < 0 ||
                    ref_from_json(d, "hwpt", &domains[i].hwpt) < 0 || domains[i].ioas.id == 0)
                        return -EBADMSG;
                for (size_t k = 0; k < i; k++)
                        if (domains[k].id == domains[i].id)
                                return -EBADMSG;
        }

        r = state(s, &v);
        if (r < 0)
                return r;
        free(v->endpoints);
        free(v->domains);
        v->endpoints = TAKE_PTR(endpoints);
        v->domains = TAKE_PTR(domains);
        v->n_endpoints = ne;
        v->n_domains = nd;
        v->fault_queue = fault_queue;
        return 0;
}

/* ---- faults --------------------------------------------------------------- */

/* A domain's paging HWPT, made for dev on ioas, reporting to the fault queue. */
static int domain_new_hwpt(Session *s, Object *dev, Object *ioas, Object **ret) {
        Object *fq = resolve(s, s->virtio_iommu->fault_queue, OBJECT_FAULT_QUEUE);

        if (!fq)
                return -ENOENT;
        return hwpt_new(s, dev, ioas, fq, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, ret);
}

static uint32_t endpoint_of_device_id(Session *s, uint32_t dev_id, bool *found) {
        VirtioIommu *v = s->virtio_iommu;

        for (size_t i = 0; i < v->n_endpoints; i++) {
                Object *dev = resolve(s, v->endpoints[i].dev, OBJECT_DEVICE);

                if (dev && dev->id == dev_id) {
                        *found = true;
                        return v->endpoints[i].id;
                }
        }
        *found = false;
        return 0;
}

void virtio_iommu_fault_record(const struct iommu_hwpt_pgfault *f, uint32_t endpoint, struct virtio_iommu_fault *ret) {
        uint32_t flags = VIRTIO_IOMMU_FAULT_F_ADDRESS;

        if (f->perm & IOMMU_PGFAULT_PERM_READ)
                flags |= VIRTIO_IOMMU_FAULT_F_READ;
        if (f->perm & IOMMU_PGFAULT_PERM_WRITE)
                flags |= VIRTIO_IOMMU_FAULT_F_WRITE;
        if (f->perm & IOMMU_PGFAULT_PERM_EXEC)
                flags |= VIRTIO_IOMMU_FAULT_F_EXEC;
        *ret = (struct virtio_iommu_fault) {
                .reason = VIRTIO_IOMMU_FAULT_R_MAPPING,
                .flags = htole32(flags),
                .endpoint = htole32(endpoint),
                .address = htole64(f->addr),
        };
}

/* Page requests of the domains' HWPTs: each is a fault record for the VMM
 * and answered Invalid at once, as the guest has no way to resolve it. */
static int on_fault(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Session *s = userdata;
        struct iommu_hwpt_pgfault faults[16];
        int n;

        while ((n = viommu_fault_read(fd, faults, ELEMENTSOF(faults))) > 0)
                for (int i = 0; i < n; i++) {
                        struct virtio_iommu_fault record;
                        uint32_t endpoint;
                        bool found;
                        int r;

                        endpoint = endpoint_of_device_id(s, faults[i].dev_id, &found);
                        if (found) {
                                virtio_iommu_fault_record(faults + i, endpoint, &record);
                                emit_virtio_iommu_fault(s, &record);
                        } else
                                log_session(s, "page request of device %u, which is no endpoint, refused",
                                            faults[i].dev_id);
                        /* One answer per group, on its last page. */
                        if (!(faults[i].flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE))
                                continue;
                        r = viommu_fault_respond(fd, faults[i].cookie, IOMMUFD_PAGE_RESP_INVALID);
                        if (r < 0)
                                log_warning_errno(r, "session %u: cannot answer page request %u: %m", s->id,
                                                  faults[i].cookie);
                }
        if (n < 0) {
                log_warning_errno(n, "session %u: cannot read the virtio-iommu fault queue, faults stop: %m", s->id);
                return sd_event_source_set_enabled(source, SD_EVENT_OFF);
        }
        return 0;
}

/* Never block the loop: an empty queue reads as nothing. */
static int watch_faults(Session *s, int fd) {
        return fcntl(fd, F_SETFL, O_NONBLOCK) < 0 ? -errno :
               sd_event_add_io(s->daemon->event, &s->virtio_iommu->fault_source, fd, EPOLLIN, on_fault, s);
}

int virtio_iommu_enable_faults(Session *s) {
        _cleanup_close_ int fd = -EBADF;
        char name[FDSTORE_NAME_MAX];
        VirtioIommu *v;
        Object *fq;
        int r;

        r = state(s, &v);
        if (r < 0)
                return r;
        if (v->fault_queue.id != 0)
                return 0;
        r = fault_queue_new(s, &fq, &fd);
        if (r < 0)
                return r;
        r = watch_faults(s, fd);
        if (r < 0) {
                fd = (close(fd), -EBADF);       /* a queue goes only once its fd is closed */
                (void) object_destroy(fq);
                return r;
        }
        v->fault_fd = TAKE_FD(fd);
        v->fault_queue = (ObjectRef) { fq->id, fq->created };
        /* The queue's page requests wait in the store for the next run. */
        r = fdstore_add(fdstore_name(s, fq, name), v->fault_fd);
        if (r < 0)
                log_warning("session %u: the virtio-iommu fault queue is not in the fd store (%s): a restart ends "
                            "the session", s->id, strerror(-r));
        journal_virtio_iommu(s);
        emit_object_added(fq);
        return 1;
}

Object *virtio_iommu_fault_queue(Session *s) {
        return s->virtio_iommu ? resolve(s, s->virtio_iommu->fault_queue, OBJECT_FAULT_QUEUE) : NULL;
}

int virtio_iommu_resume(Session *s, int fault_fd) {
        s->virtio_iommu->fault_fd = fault_fd;
        return watch_faults(s, fault_fd);
}

/* ---- requests ------------------------------------------------------------- */

static uint8_t do_attach(Session *s, const VirtioIommuRequest *req) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Object *dev = endpoint_device(s, req->endpoint), *ioas, *pt = NULL;
        Domain *dom, *old;
        VirtioIommu *v;
        bool created = false;
        int r;

        if (!dev)
                return VIRTIO_IOMMU_S_NOENT;
        /* iommufd gives userspace no identity domain to attach to. */
        if (req->flags & VIRTIO_IOMMU_ATTACH_F_BYPASS)
                return VIRTIO_IOMMU_S_UNSUPP;
        dom = domain_find(s, req->domain, &ioas);
        old = domain_of_pt(s, dev->device.attached);
        if (dom) {
                pt = domain_pt(s, dom, ioas);
                if (!pt)
                        return VIRTIO_IOMMU_S_DEVERR;   /* the VMM destroyed its HWPT */
                if (dev->device.attached == pt)
                        return VIRTIO_IOMMU_S_OK;
        }

        if (!dom) {
                Domain *n;

                if (state(s, &v) < 0)
                        return VIRTIO_IOMMU_S_NOMEM;
                /* The IOAS, and with faults its HWPT. */
                if (auth_check_limit(s->daemon, s, CONFIG_LIMIT_OBJECTS, v->fault_queue.id != 0 ? 2 : 1,
                                     &error) < 0)
                        return VIRTIO_IOMMU_S_NOMEM;
                n = reallocarray(v->domains, v->n_domains + 1, sizeof(*n));
                if (!n)
                        return VIRTIO_IOMMU_S_NOMEM;
                v->domains = n;
                old = domain_of_pt(s, dev->device.attached);  /* the array moved */
                r = ioas_new(s, &ioas);
                if (r < 0)
                        return r == -ENOMEM ? VIRTIO_IOMMU_S_NOMEM : VIRTIO_IOMMU_S_DEVERR;
                created = true;
                pt = ioas;
                if (v->fault_queue.id != 0) {
                        r = domain_new_hwpt(s, dev, ioas, &pt);
                        if (r < 0) {
                                (void) object_destroy(ioas);
                                return r == -ENOMEM ? VIRTIO_IOMMU_S_NOMEM :
                                       IN_SET(r, -EINVAL, -EOPNOTSUPP) ? VIRTIO_IOMMU_S_UNSUPP : VIRTIO_IOMMU_S_DEVERR;
                        }
                }
        }

        /* An endpoint attached elsewhere moves: the kernel replaces its
         * page table in place. */
        r = device_attach(dev, pt, NULL);
        if (r < 0) {
                if (created) {
                        if (pt != ioas)
                                (void) object_destroy(pt);
                        (void) object_destroy(ioas);
                }
                return r == -ENOMEM ? VIRTIO_IOMMU_S_NOMEM :
                       IN_SET(r, -EINVAL, -EOPNOTSUPP) ? VIRTIO_IOMMU_S_UNSUPP : VIRTIO_IOMMU_S_DEVERR;
        }
        if (created) {
                Domain d = { req->domain, { ioas->id, ioas->created }, {} };

                emit_object_added(ioas);
                if (pt != ioas) {
                        d.hwpt = (ObjectRef) { pt->id, pt->created };
                        emit_object_added(pt);
                }
                v->domains[v->n_domains++] = d;
                journal_virtio_iommu(s);
                log_session(s, "virtio-iommu domain %u is %s", req->domain, pt->path);
        }
        emit_device_attached(dev);
        if (old)
                domain_release(s, old);
        return VIRTIO_IOMMU_S_OK;
}

static uint8_t do_detach(Session *s, const VirtioIommuRequest *req) {
        Object *dev = endpoint_device(s, req->endpoint), *ioas;
        Domain *dom;

        if (!dev)
                return VIRTIO_IOMMU_S_NOENT;
        dom = domain_find(s, req->domain, &ioas);
        if (!dom)
                return VIRTIO_IOMMU_S_NOENT;
        if (!dev->device.attached || dev->device.attached != domain_pt(s, dom, ioas))
                return VIRTIO_IOMMU_S_INVAL;
        if (device_detach(dev) < 0)
                return VIRTIO_IOMMU_S_DEVERR;
        emit_device_attached(dev);
        domain_release(s, dom);
        return VIRTIO_IOMMU_S_OK;
}

static uint8_t do_map(Session *s, const VirtioIommuRequest *req) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t length = req->virt_end - req->virt_start + 1, iova = req->virt_start;
        uint32_t flags = IOMMU_IOAS_MAP_FIXED_IOVA;
        const GuestRegion *g;
        Object *ioas;
        int r;

        if (!domain_find(s, req->domain, &ioas))
                return VIRTIO_IOMMU_S_NOENT;
        g = guest_memory_at(s, req->phys_start);
        if (!g || req->phys_start + (length - 1) > g->gpa + (g->size - 1))
                return VIRTIO_IOMMU_S_RANGE;
        if (auth_check_limit(s->daemon, s, CONFIG_LIMIT_PINNED_BYTES, length, &error) < 0)
                return VIRTIO_IOMMU_S_NOMEM;
        if (req->flags & VIRTIO_IOMMU_MAP_F_READ)
                flags |= IOMMU_IOAS_MAP_READABLE;
        if (req->flags & VIRTIO_IOMMU_MAP_F_WRITE)
                flags |= IOMMU_IOAS_MAP_WRITEABLE;

        r = ioas_map_guest(ioas, g, req->phys_start, length, flags, &iova);
        if (r == -EEXIST)
                return VIRTIO_IOMMU_S_INVAL;    /* something is mapped there */
        /* The request was checked: what the kernel finds wrong is the IOVA
         * range, reserved, outside the aperture or not of its alignment. */
        if (IN_SET(r, -EINVAL, -EADDRINUSE) || IN_SET(r, -ENOSPC, -EOVERFLOW))
                return VIRTIO_IOMMU_S_RANGE;
        if (r == -ENOMEM)
                return VIRTIO_IOMMU_S_NOMEM;
        if (r < 0)
                return VIRTIO_IOMMU_S_DEVERR;
        emit_mapped_bytes(ioas);
        return VIRTIO_IOMMU_S_OK;
}

/* The whole space, 0 to UINT64_MAX, has no length in 64 bits: iommufd's
 * (0, UINT64_MAX) stands for it. */
static uint64_t unmap_length(const VirtioIommuRequest *req) {
        return req->virt_end - req->virt_start + 1 ?: UINT64_MAX;
}

bool virtio_iommu_unmap_target(Session *s, const void *buf, size_t size, Object **ret_ioas, uint64_t ret_range[2]) {
        VirtioIommuRequest req;
        size_t reply_size;

        if (virtio_iommu_parse(buf, size, &req, &reply_size) != VIRTIO_IOMMU_S_OK ||
            req.type != VIRTIO_IOMMU_T_UNMAP || !domain_find(s, req.domain, ret_ioas))
                return false;
        ret_range[0] = req.virt_start;
        ret_range[1] = unmap_length(&req);
        /* One that splits a mapping, or finds none, unmaps nothing. */
        return ioas_range_removable((*ret_ioas)->ioas.mappings, ret_range[0], ret_range[1]);
}

static uint8_t do_unmap(Session *s, const VirtioIommuRequest *req) {
        uint64_t length = unmap_length(req), unmapped = 0;
        const struct viommu_mapping *mp;
        Object *ioas;
        int r;

        if (!domain_find(s, req->domain, &ioas))
                return VIRTIO_IOMMU_S_NOENT;
        /* A range that splits a mapping unmaps nothing: checked here, as the
         * kernel would take off the whole mappings before the split one. */
        mp = ioas_lookup(ioas, req->virt_start);
        if (mp && mp->iova < req->virt_start)
                return VIRTIO_IOMMU_S_RANGE;
        mp = ioas_lookup(ioas, req->virt_end);
        if (mp && mp->iova + (mp->length - 1) > req->virt_end)
                return VIRTIO_IOMMU_S_RANGE;

        r = ioas_unmap(ioas, req->virt_start, length, &unmapped);
        if (r == -ENOENT)
                return VIRTIO_IOMMU_S_OK;       /* nothing was mapped there */
        if (r == -EINVAL)
                return VIRTIO_IOMMU_S_RANGE;
        if (r < 0)
                return VIRTIO_IOMMU_S_DEVERR;
        emit_mapped_bytes(ioas);
        return VIRTIO_IOMMU_S_OK;
}

/* The endpoint's reserved regions, from its IOMMU group, as RESV_MEM
 * properties; a mock device has none. */
static uint8_t do_probe(Session *s, const VirtioIommuRequest *req, uint8_t *props, size_t size) {
        const struct viommu_topology *t;
        const struct viommu_topology_device *dev;
        const struct viommu_topology_group *g;
        Object *o = endpoint_device(s, req->endpoint);
        size_t at = 0;

        if (!o)
                return VIRTIO_IOMMU_S_NOENT;
        if (device_is_mock(o))
                return VIRTIO_IOMMU_S_OK;
        if (daemon_topology(s->daemon, &t) < 0 || viommu_topology_find_device(t, NULL, o->device.name, &dev) < 0)
                return VIRTIO_IOMMU_S_DEVERR;
        if (dev->iommu_group < 0)
                return VIRTIO_IOMMU_S_OK;
        if (viommu_topology_find_group(t, dev->iommu_group, &g) < 0 || !g->regions_known)
                return VIRTIO_IOMMU_S_DEVERR;   /* holes not known: the guest must not guess */

        for (size_t i = 0; i < g->n_regions; i++) {
                struct virtio_iommu_probe_resv_mem p = {
                        .head.type = htole16(VIRTIO_IOMMU_PROBE_T_RESV_MEM),
                        .head.length = htole16(sizeof(p) - sizeof(p.head)),
                        .subtype = g->regions[i].type == VIOMMU_REGION_MSI ? VIRTIO_IOMMU_RESV_MEM_T_MSI :
                                                                             VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
                        .start = htole64(g->regions[i].start),
                        .end = htole64(g->regions[i].end),
                };

                if (size - at < sizeof(p))
                        return VIRTIO_IOMMU_S_DEVERR;
                memcpy(props + at, &p, sizeof(p));
                at += sizeof(p);
        }
        return VIRTIO_IOMMU_S_OK;
}

size_t virtio_iommu_reply_size(const void *buf, size_t size) {
        VirtioIommuRequest req;
        size_t reply_size;

        (void) virtio_iommu_parse(buf, size, &req, &reply_size);
        return reply_size;
}

ssize_t virtio_iommu_request(Session *s, const void *buf, size_t size, uint8_t *reply, size_t room) {
        VirtioIommuRequest req;
        struct virtio_iommu_req_tail *tail;
        size_t reply_size;
        uint8_t status;

        status = virtio_iommu_parse(buf, size, &req, &reply_size);
        if (reply_size > room)
                return -ENOBUFS;
        memset(reply, 0, reply_size);
        tail = (struct virtio_iommu_req_tail *) (reply + reply_size - TAIL_SIZE);

        if (status == VIRTIO_IOMMU_S_OK)
                switch (req.type) {
                case VIRTIO_IOMMU_T_ATTACH:
                        status = do_attach(s, &req);
                        break;
                case VIRTIO_IOMMU_T_DETACH:
                        status = do_detach(s, &req);
                        break;
                case VIRTIO_IOMMU_T_MAP:
                        status = do_map(s, &req);
                        break;
                case VIRTIO_IOMMU_T_UNMAP:
                        status = do_unmap(s, &req);
                        break;
                case VIRTIO_IOMMU_T_PROBE:
                        status = do_probe(s, &req, reply, reply_size - TAIL_SIZE);
                        break;
                }
        if (status != VIRTIO_IOMMU_S_OK)
                memset(reply, 0, reply_size);
        tail->status = status;
        return reply_size;
}

/* ---- config space --------------------------------------------------------- */

/* The IOAS a device's DMA goes through now: its domain, the IOAS under its
 * HWPT, or the one the kernel keeps it on while detached; 0 if none. */
static uint32_t device_ioas_id(Object *dev) {
        Object *pt = dev->device.attached;

        if (pt && pt->type == OBJECT_HWPT)
                pt = pt->uses[0];
        if (pt && pt->type == OBJECT_IOAS)
                return pt->id;
        return !pt && dev->device.ops->parked_ioas ? dev->device.ops->parked_ioas(dev) : 0;
}

int virtio_iommu_config(Session *s, VirtioIommuConfig *ret) {
        VirtioIommu *v = s->virtio_iommu;
        uint64_t granule = GRANULE, start = 0, end = UINT64_MAX;

        /* The input range bounds what every endpoint's IOAS allows; the
         * holes inside it are each endpoint's PROBE. */
        for (size_t i = 0; v && i < v->n_endpoints; i++) {
                _cleanup_free_ struct iommu_iova_range *ranges = NULL;
                Object *dev = resolve(s, v->endpoints[i].dev, OBJECT_DEVICE);
                uint32_t id = dev ? device_ioas_id(dev) : 0;
                uint64_t alignment = 0;
                size_t n = 0;
                int r;

                if (id == 0)
                        continue;
                r = viommu_ioas_iova_ranges(s->iommufd, id, &ranges, &n, &alignment);
                if (r < 0)
                        return r;
                if (n > 0) {
                        start = MAX(start, (uint64_t) ranges[0].start);
                        end = MIN(end, (uint64_t) ranges[n - 1].last);
                }
                granule = MAX(granule, alignment);
        }
        if (start > end)
                return -ERANGE;

        ret->features = UINT64_C(1) << VIRTIO_IOMMU_F_INPUT_RANGE | UINT64_C(1) << VIRTIO_IOMMU_F_DOMAIN_RANGE |
                        UINT64_C(1) << VIRTIO_IOMMU_F_MAP_UNMAP | UINT64_C(1) << VIRTIO_IOMMU_F_PROBE;
        ret->config = (struct virtio_iommu_config) {
                .page_size_mask = htole64(~(granule - 1)),
                .input_range.start = htole64(start),
                .input_range.end = htole64(end),
                .domain_range.start = htole32(0),
                .domain_range.end = htole32(UINT32_MAX),
                .probe_size = htole32(VIRTIO_IOMMU_PROBE_SIZE),
        };
        return 0;
}
