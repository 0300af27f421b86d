/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Replays a session's journal into a session, as the daemon that wrote it
 * left the session: the snapshot, then each change in turn, through the
 * same record-only calls the model makes once the kernel has done its part.
 * Nothing here asks the kernel; restart.c reconciles what is left open.
 */

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "guest-memory.h"
#include "ioas.h"
#include "journal-format.h"
#include "journal.h"
#include "json-util.h"
#include "mapping-index.h"
#include "record.h"
#include "util.h"
#include "virtio-iommu.h"

typedef struct Replay {
        Session *session;
        JournalIntent pending;
        bool open;              /* an intent no J_DONE closed yet */
} Replay;

static Object *ioas_by_id(Session *s, uint32_t id) {
        Object *o = object_find_by_id(s, id);

        return o && o->type == OBJECT_IOAS ? o : NULL;
}

static int parse_json(const void *data, size_t size, struct json_object **ret) {
        _cleanup_(json_tokener_freep) struct json_tokener *tok = json_tokener_new();
        struct json_object *j;

        if (!tok)
                return -ENOMEM;
        if (size > INT32_MAX)
                return -EBADMSG;
        j = json_tokener_parse_ex(tok, data, (int) size);
        if (!j || json_tokener_get_error(tok) != json_tokener_success ||
            json_tokener_get_parse_end(tok) != size) {
                json_object_put(j);
                return -EBADMSG;
        }
        *ret = j;
        return 0;
}

static int replay_backings(Session *s, const uint8_t *p, size_t size) {
        uint64_t length;
        int r;

        if (size % sizeof(uint64_t) != 0 || s->n_backings > 0)
                return -EBADMSG;
        for (size_t i = 0; i < size / sizeof(uint64_t); i++) {
                memcpy(&length, p + i * sizeof(uint64_t), sizeof(length));
                if (length == 0)
                        continue;
                r = session_backing_restore(s, i, length);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A mapping holds its backing, as when it was made. */
static int hold_backing(Session *s, uint32_t backing) {
        if (backing == VIOMMU_MAPPING_NO_BACKING)
                return 0;
        if (backing >= s->n_backings || s->backings[backing].length == 0)
                return -EBADMSG;
        s->backings[backing].refs++;
        return 0;
}

static int replay_mappings(Session *s, const uint8_t *p, size_t size) {
        struct viommu_mapping_index *mappings = NULL;
        const struct viommu_mapping *m;
        struct viommu_mapping_iter it;
        uint32_t id;
        Object *ioas;
        int r;

        if (size < sizeof(id))
                return -EBADMSG;
        memcpy(&id, p, sizeof(id));
        ioas = ioas_by_id(s, id);
        if (!ioas || viommu_mapping_index_count(ioas->ioas.mappings) > 0)
                return -EBADMSG;
        r = viommu_mapping_index_decode(p + sizeof(id), size - sizeof(id), &mappings);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        viommu_mapping_index_free(ioas->ioas.mappings);
        ioas->ioas.mappings = mappings;
        s->mapped_bytes += viommu_mapping_index_bytes(mappings);

        VIOMMU_MAPPING_INDEX_FOREACH(m, mappings, it) {
                r = hold_backing(s, m->backing);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int replay_map(Session *s, const struct journal_map *e) {
        Object *ioas = ioas_by_id(s, e->ioas);
        int r;

        if (!ioas)
                return -EBADMSG;
        if (e->backing != VIOMMU_MAPPING_NO_BACKING && e->backing_length > 0) {
                /* A map makes a backing of its own; copies share it. */
                r = session_backing_restore(s, e->backing, e->backing_length);
                if (r < 0)
                        return r;
        } else if (e->backing != VIOMMU_MAPPING_NO_BACKING && !guest_memory_of_backing(s, e->backing))
                /* Or it holds its guest memory region's. */
                return -EBADMSG;
        r = hold_backing(s, e->backing);
        if (r < 0)
                return r;
        r = ioas_record_map(ioas, &(struct viommu_mapping) {
                .iova = e->iova,
                .length = e->length,
                .offset = e->offset,
                .flags = e->flags,
                .backing = e->backing,
        });
        if (r < 0) {
                session_backing_unref(s, e->backing);
                return r == -ENOMEM ? r : -EBADMSG;
        }
        return 0;
}

static int replay_unmap(Session *s, const struct journal_unmap *e) {
        Object *ioas = ioas_by_id(s, e->ioas);
        uint64_t removed;
        int r;

        if (!ioas)
                return -EBADMSG;
        /* The kernel found something to unmap: so must the record. */
        r = ioas_record_unmap(ioas, e->iova, e->length, &removed);
        return r < 0 ? -EBADMSG : 0;
}

static int replay_copy(Session *s, const struct journal_copy *e) {
        Object *dst = ioas_by_id(s, e->dst), *src = ioas_by_id(s, e->src);

        if (!dst || !src || e->length == 0 || e->src_iova + (e->length - 1) < e->src_iova)
                return -EBADMSG;
        return ioas_record_copy(dst, src, e->src_iova, e->length, e->dst_iova, e->flags) == e->length ? 0 : -EBADMSG;
}

static int replay_forget(Session *s, const char *p, size_t size) {
        _cleanup_free_ char *path = strndup(p, size);
        Object *o;

        if (!path)
                return -ENOMEM;
        o = object_find(s, path);
        if (!o || o->n_users > 0)
                return -EBADMSG;
        object_forget(o);
        return 0;
}

static int replay_intent(Replay *rp, const uint8_t *p, size_t size) {
        struct journal_intent e;

        /* One at a time: the daemon finishes each before the next. */
        if (rp->open || size <= sizeof(e))
                return -EBADMSG;
        memcpy(&e, p, sizeof(e));
        if (e.op == 0 || e.op >= _JOURNAL_OP_MAX)
                return -EBADMSG;
        journal_intent_done(&rp->pending);
        rp->pending = (JournalIntent) {
                .op = e.op,
                .flags = e.flags,
                .pasid = e.pasid,
                .target = e.target,
                .iova = e.iova,
                .length = e.length,
                .path = strndup((const char *) p + sizeof(e), size - sizeof(e)),
        };
        if (!rp->pending.path)
                return -ENOMEM;
        rp->open = true;
        return 0;
}

/* Fixed-size payloads, checked before they are read. */
static const size_t fixed_size[_J_MAX] = {
        [J_COUNTERS] = sizeof(struct journal_counters),
        [J_MAP] = sizeof(struct journal_map),
        [J_UNMAP] = sizeof(struct journal_unmap),
        [J_COPY] = sizeof(struct journal_copy),
        [J_REGION] = sizeof(struct journal_region),
        [J_REGION_GONE] = sizeof(struct journal_region_gone),
};

static int replay_entry(Replay *rp, uint32_t type, const uint8_t *p, size_t size) {
        _cleanup_(json_object_putp) struct json_object *j = NULL;
        Session *s = rp->session;
        union {
                struct journal_counters counters;
                struct journal_map map;
                struct journal_unmap unmap;
                struct journal_copy copy;
                struct journal_region region;
                struct journal_region_gone region_gone;
        } e;
        int r;

        if (type == 0 || type >= _J_MAX || type == J_RECORD)
                return -EBADMSG;
        if (fixed_size[type] > 0) {
                if (size != fixed_size[type])
                        return -EBADMSG;
                memcpy(&e, p, size);
        }

        switch (type) {
        case J_BACKINGS:
                return replay_backings(s, p, size);
        case J_MAPPINGS:
                return replay_mappings(s, p, size);
        case J_OBJECT:
                r = parse_json(p, size, &j);
                return r < 0 ? r : session_record_object(s, j);
        case J_VIRTIO_IOMMU:
                r = parse_json(p, size, &j);
                return r < 0 ? r : virtio_iommu_from_json(s, j);
        case J_FORGET:
                return replay_forget(s, (const char *) p, size);
        case J_COUNTERS:
                s->next_unbound = e.counters.next_unbound;
                return 0;
        case J_MAP:
                return replay_map(s, &e.map);
        case J_UNMAP:
                return replay_unmap(s, &e.unmap);
        case J_COPY:
                return replay_copy(s, &e.copy);
        case J_REGION:
                return guest_memory_restore(s, &(GuestRegion) {
                        .id = e.region.id,
                        .backing = e.region.backing,
                        .gpa = e.region.gpa,
                        .size = e.region.size,
                        .offset = e.region.offset,
                });
        case J_REGION_GONE:
                return guest_memory_forget(s, e.region_gone.id);
        case J_INTENT:
                return replay_intent(rp, p, size);
        case J_DONE:
                if (size != 0 || !rp->open)
                        return -EBADMSG;
                rp->open = false;
                return 0;
        default:
                return -EBADMSG;
        }
}

/* The next entry's payload, or NULL at the end: zeros, or an entry cut
 * short or damaged (*torn). */
static const uint8_t *next_entry(const uint8_t *data, size_t size, size_t *offset, uint32_t *ret_type,
                                 size_t *ret_size, bool *torn) {
        struct journal_entry e;
        const uint8_t *p;
        uint32_t crc;

        if (size - *offset < sizeof(e))
                return NULL;
        memcpy(&e, data + *offset, sizeof(e));
        if (e.type == 0 && e.size == 0 && e.crc == 0)
                return NULL;
        *torn = true;
        if (e.size > size - *offset - sizeof(e))
                return NULL;
        p = data + *offset + sizeof(e);
        crc = e.crc;
        e.crc = 0;
        if (journal_crc(journal_crc(0, &e, sizeof(e)), p, e.size) != crc)
                return NULL;
        *torn = false;
        *offset = MIN(size, *offset + sizeof(e) + JOURNAL_ALIGN(e.size));
        *ret_type = e.type;
        *ret_size = e.size;
        return p;
}

int journal_read(Daemon *d, const void *data, size_t size, int iommufd, Session **ret, JournalIntent *ret_pending,
                 uint64_t *ret_generation, bool *ret_torn) {
        _cleanup_(json_object_putp) struct json_object *record = NULL;
        _cleanup_(session_freep) Session *s = NULL;
        Replay rp = {};
        struct journal_header h;
        size_t offset = JOURNAL_ALIGN(sizeof(h)), n;
        const uint8_t *p;
        uint32_t type;
        bool torn = false;
        int r;

        if (size < offset)
                return -EBADMSG;
        memcpy(&h, data, sizeof(h));
        /* Version 1, before guest memory, is version 2 without its regions,
         * 2 is 3 without the virtio-iommu backend, and 3 is 4 but for mock
         * devices: a restart into this version takes their sessions over. */
        if (memcmp(h.magic, JOURNAL_MAGIC, sizeof(h.magic)) != 0 || h.version < 1 || h.version > JOURNAL_VERSION)
                return -EBADMSG;

        p = next_entry(data, size, &offset, &type, &n, &torn);
        /* Wiped when its session ended (journal_end()). */
        if (!p && !torn)
                return -ENODATA;
        if (!p || type != J_RECORD)
                return -EBADMSG;
        r = parse_json(p, n, &record);
        if (r < 0)
                return r;
        r = session_record_from_json(d, record, -EBADF, &s);
        if (r < 0)
                return r;
        if (s->id != h.session)
                return -EBADMSG;

        rp.session = s;
        while ((p = next_entry(data, size, &offset, &type, &n, &torn))) {
                r = replay_entry(&rp, type, p, n);
                if (r < 0) {
                        journal_intent_done(&rp.pending);
                        return r;
                }
        }

        /* A backing no mapping holds would never be let go. */
        for (size_t i = 0; i < s->n_backings; i++)
                if (s->backings[i].length > 0 && s->backings[i].refs == 0) {
                        journal_intent_done(&rp.pending);
                        return -EBADMSG;
                }

        s->iommufd = iommufd;
        *ret = TAKE_PTR(s);
        if (!rp.open) {
                journal_intent_done(&rp.pending);
                rp.pending = (JournalIntent) {};
        }
        *ret_pending = rp.pending;
        *ret_generation = h.generation;
        *ret_torn = torn;
        return 0;
}
