/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <endian.h>
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdstore.h"
#include "journal-format.h"
#include "journal.h"
#include "json-util.h"
#include "log.h"
#include "mapping-index.h"
#include "object-json.h"
#include "record.h"
#include "util.h"
#include "virtio-iommu.h"

struct Journal {
        int fd;
        uint8_t *data;
        size_t size, capacity;
        size_t snapshot_size;
        unsigned depth;
};

/* Changes may grow to the snapshot's size, and at least to this, before a
 * new generation replaces them. */
#define JOURNAL_CHANGES_MIN (1024 * 1024)

#if defined(__x86_64__)
/* SSE 4.2 has CRC-32C as an instruction, eight bytes at a time. */
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t size) {
        uint64_t c = crc;

        for (; size >= 8; size -= 8, p += 8) {
                uint64_t v;

                memcpy(&v, p, sizeof(v));
                c = __builtin_ia32_crc32di(c, v);
        }
        for (; size > 0; size--)
                c = __builtin_ia32_crc32qi((uint32_t) c, *p++);
        return c;
}
#endif

/* Without the instruction (QEMU's default x86 model has none), eight bytes
 * a step through eight tables ("slicing by eight"): a byte a step costs a
 * journaled map several times as much. */
static uint32_t crc_tables(uint32_t crc, const uint8_t *p, size_t size) {
        static uint32_t t[8][256];
        static bool ready;

        if (!ready) {
                for (uint32_t i = 0; i < 256; i++) {
                        uint32_t c = i;

                        for (int k = 0; k < 8; k++)
                                c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
                        t[0][i] = c;
                }
                for (uint32_t i = 0; i < 256; i++)
                        for (int k = 1; k < 8; k++)
                                t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
                ready = true;
        }
        for (; size >= 8; size -= 8, p += 8) {
                uint64_t v;

                memcpy(&v, p, sizeof(v));
                v = le64toh(v) ^ crc;
                crc = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^ t[4][(v >> 24) & 0xff] ^
                      t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
        }
        for (; size > 0; size--)
                crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        return crc;
}

uint32_t journal_crc(uint32_t crc, const void *data, size_t size) {
#if defined(__x86_64__)
        if (__builtin_cpu_supports("sse4.2"))
                return ~crc_sse42(~crc, data, size);
#endif
        return ~crc_tables(~crc, data, size);
}

Journal *journal_free(Journal *j) {
        if (!j)
                return NULL;
        if (j->data)
                munmap(j->data, j->capacity);
        if (j->fd >= 0)
                close(j->fd);
        return mfree(j);
}

static int journal_reserve(Journal *j, size_t more) {
        size_t capacity = j->capacity;
        void *p;

        if (j->size + more <= capacity)
                return 0;
        while (capacity < j->size + more)
                capacity *= 2;
        if (ftruncate(j->fd, capacity) < 0)
                return -errno;
        p = mremap(j->data, j->capacity, capacity, MREMAP_MAYMOVE);
        if (p == MAP_FAILED)
                return -errno;
        j->data = p;
        j->capacity = capacity;
        return 0;
}

/* Writes one entry from up to two pieces of payload. The memfd is shared
 * memory: once written, an entry outlives the daemon. */
static int journal_append(Journal *j, uint32_t type, const void *a, size_t a_size, const void *b, size_t b_size) {
        struct journal_entry e = { .type = type, .size = a_size + b_size };
        size_t total = sizeof(e) + JOURNAL_ALIGN(e.size);
        uint8_t *p;
        int r;

        r = journal_reserve(j, total);
        if (r < 0)
                return r;
        e.crc = journal_crc(journal_crc(journal_crc(0, &e, sizeof(e)), a, a_size), b, b_size);
        p = j->data + j->size;
        if (a_size > 0)
                memcpy(p + sizeof(e), a, a_size);
        if (b_size > 0)
                memcpy(p + sizeof(e) + a_size, b, b_size);
        /* The header last: a kill half way leaves zeros or a bad checksum. */
        memcpy(p, &e, sizeof(e));
        j->size += total;
        return 0;
}

static int journal_append_json(Journal *j, uint32_t type, struct json_object *o) {
        size_t n;
        const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);

        return s ? journal_append(j, type, s, n, NULL, 0) : -ENOMEM;
}

static struct journal_region journal_region_entry(const GuestRegion *g) {
        return (struct journal_region) {
                .id = g->id,
                .backing = g->backing,
                .gpa = g->gpa,
                .size = g->size,
                .offset = g->offset,
        };
}

static int journal_write_snapshot(Journal *j, Session *s) {
        _cleanup_(json_object_putp) struct json_object *record = NULL;
        _cleanup_free_ uint64_t *lengths = NULL;
        int r;

        r = session_record_to_json(s, &record);
        if (r < 0)
                return r;
        r = journal_append_json(j, J_RECORD, record);
        if (r < 0)
                return r;

        lengths = calloc(s->n_backings ?: 1, sizeof(uint64_t));
        if (!lengths)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_backings; i++)
                lengths[i] = s->backings[i].refs > 0 ? s->backings[i].length : 0;
        /* A region's slot comes back with the region. */
        for (size_t i = 0; i < s->n_regions; i++)
                lengths[s->regions[i].backing] = 0;
        r = journal_append(j, J_BACKINGS, lengths, s->n_backings * sizeof(uint64_t), NULL, 0);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_regions; i++) {
                struct journal_region e = journal_region_entry(&s->regions[i]);

                r = journal_append(j, J_REGION, &e, sizeof(e), NULL, 0);
                if (r < 0)
                        return r;
        }

        for (Object *o = s->objects; o; o = o->objects_next) {
                _cleanup_free_ uint8_t *buf = NULL;
                size_t size;

                if (o->type != OBJECT_IOAS)
                        continue;
                r = viommu_mapping_index_encode(o->ioas.mappings, &buf, &size);
                if (r < 0)
                        return r;
                r = journal_append(j, J_MAPPINGS, &o->id, sizeof(o->id), buf, size);
                if (r < 0)
                        return r;
        }
        if (s->virtio_iommu) {
                _cleanup_(json_object_putp) struct json_object *v = NULL;

                r = virtio_iommu_to_json(s, &v);
                if (r >= 0)
                        r = journal_append_json(j, J_VIRTIO_IOMMU, v);
                if (r < 0)
                        return r;
        }
        j->snapshot_size = j->size;
        return 0;
}

/* Takes generation generation of the session's journal, j, out of the
 * store: by its name, or the first, which shares the session's entry with
 * its iommufd (journal_begin()), by emptying it, which a take-over skips. */
static void journal_retire(Session *s, uint64_t generation, Journal *j) {
        char name[FDSTORE_NAME_MAX];

        if (generation > 1)
                fdstore_remove(fdstore_journal_name(s->id, generation, name));
        else if (generation == 1 && j)
                journal_empty(j->fd);
}

void journal_empty(int fd) {
        (void) ftruncate(fd, sizeof(struct journal_header));
}

static void journal_set_header(Journal *j, unsigned session, uint64_t generation) {
        struct journal_header h = {
                .magic = JOURNAL_MAGIC,
                .version = JOURNAL_VERSION,
                .session = session,
                .generation = generation,
        };

        memcpy(j->data, &h, sizeof(h));
}

/* Zeros what follows the header, where the next writer expects zeros; a
 * take-over finds no record in it. Memory, not a system call: the memfd
 * keeps its size and pages for the next session. */
static void journal_wipe(Journal *j) {
        size_t start = JOURNAL_ALIGN(sizeof(struct journal_header));

        if (j->size > start)
                memset(j->data + start, 0, j->size - start);
        j->size = start;
        j->snapshot_size = 0;
        j->depth = 0;
}

void journal_mark_spare(Journal *j) {
        journal_wipe(j);
        journal_set_header(j, 0, 0);
}

int journal_entry_session(int fd, unsigned *ret) {
        struct journal_header h;

        if (pread(fd, &h, sizeof(h), 0) != (ssize_t) sizeof(h) || memcmp(h.magic, JOURNAL_MAGIC, sizeof(h.magic)) != 0)
                return -EBADMSG;
        *ret = h.session;
        return 0;
}

/* Logs once that the session has no journal any more. */
static void journal_lost(Session *s, int r) {
        log_error_errno(r, "session %u: cannot keep its journal (%m): a crash of the daemon now ends the session",
                        s->id);
        journal_end(s, false);
}

/* A new generation of the session's journal, holding its snapshot: in
 * spare, a spare entry's (which it takes), or in a new memfd, not in the
 * store yet. */
static int journal_make(Session *s, Journal *spare, Journal **ret) {
        _cleanup_(journal_freep) Journal *j = spare;
        int r;

        if (!j) {
                j = calloc(1, sizeof(*j));
                if (!j)
                        return -ENOMEM;
                j->capacity = 64 * 1024;
                j->fd = memfd_create("viommu-journal", MFD_CLOEXEC);
                if (j->fd < 0)
                        return -errno;
                if (ftruncate(j->fd, j->capacity) < 0)
                        return -errno;
                j->data = mmap(NULL, j->capacity, PROT_READ | PROT_WRITE, MAP_SHARED, j->fd, 0);
                if (j->data == MAP_FAILED) {
                        j->data = NULL;
                        return -errno;
                }
        }
        /* First of all a spare names the session: a crash before the
         * snapshot is whole ends the session, and never hands its iommufd
         * to another as a spare. */
        journal_set_header(j, s->id, s->journal_generation + 1);
        j->size = JOURNAL_ALIGN(sizeof(struct journal_header));

        r = journal_write_snapshot(j, s);
        if (r < 0) {
                if (spare)
                        journal_wipe(j);
                return r;
        }
        *ret = TAKE_PTR(j);
        return 0;
}

int journal_from_spare(int fd, Journal **ret) {
        _cleanup_(journal_freep) Journal *j = NULL;
        struct stat st;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->fd = fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        j->capacity = MAX((size_t) st.st_size, (size_t) 64 * 1024);
        if ((size_t) st.st_size < j->capacity && ftruncate(fd, j->capacity) < 0)
                return -errno;
        j->data = mmap(NULL, j->capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (j->data == MAP_FAILED) {
                j->data = NULL;
                return -errno;
        }
        j->size = j->capacity;
        journal_mark_spare(j);
        *ret = TAKE_PTR(j);
        return 0;
}

int journal_begin(Session *s, Journal *spare) {
        _cleanup_(journal_freep) Journal *j = NULL;
        char name[FDSTORE_NAME_MAX];
        bool stored = spare;
        int r, fds[2] = { s->iommufd };

        if (!fdstore_available()) {
                journal_free(spare);
                return 0;
        }
        r = journal_make(s, spare, &j);
        if (r < 0)
                log_error_errno(r, "session %u: cannot make its journal (%m): a crash of the daemon ends the session",
                                s->id);
        else
                fds[1] = j->fd;
        /* A spare's fds are in the store already. */
        if (!stored) {
                r = fdstore_add_many(fdstore_name(s, NULL, name), fds, j ? 2 : 1);
                if (r < 0)
                        return r;
        }
        if (j) {
                s->journal = TAKE_PTR(j);
                s->journal_generation = 1;
        }
        return 0;
}

int journal_start(Session *s) {
        _cleanup_(journal_freep) Journal *j = NULL;
        char name[FDSTORE_NAME_MAX];
        int r;

        if (!fdstore_available())
                return 0;

        r = journal_make(s, NULL, &j);
        if (r >= 0)
                r = fdstore_add(fdstore_journal_name(s->id, s->journal_generation + 1, name), j->fd);
        if (r < 0) {
                if (!s->journal)
                        journal_lost(s, r);
                return r;
        }

        /* Both are in the store for a moment: the next run takes the newer. */
        journal_retire(s, s->journal_generation, s->journal);
        journal_free(s->journal);
        s->journal = TAKE_PTR(j);
        s->journal_generation++;
        return 0;
}

Journal *journal_end(Session *s, bool keep_first) {
        Journal *first = NULL;

        if (keep_first && s->journal_generation == 1 && s->journal) {
                first = TAKE_PTR(s->journal);
                journal_wipe(first);
        } else
                journal_retire(s, s->journal_generation, s->journal);
        s->journal = journal_free(s->journal);
        s->journal_generation = 0;
        return first;
}

/* Test only: a kill -9 between a kernel call and its record, the instant a
 * take-over must settle (Testing.DieBeforeRecording). */
static void die_if_asked(Session *s) {
#if ENABLE_TEST_HOOKS
        if (s->daemon->die_before_recording)
                (void) raise(SIGKILL);
#endif
}

static void journal_write(Session *s, uint32_t type, const void *a, size_t a_size, const void *b, size_t b_size) {
        int r;

        if (!s->journal)
                return;
        if (type != J_INTENT)
                die_if_asked(s);
        r = journal_append(s->journal, type, a, a_size, b, b_size);
        if (r < 0)
                journal_lost(s, r);
}

void journal_intent(Object *o, JournalIntent i) {
        Session *s = o->session;
        struct journal_intent e = {
                .op = i.op,
                .flags = i.flags,
                .pasid = i.pasid,
                .target = i.target,
                .iova = i.iova,
                .length = i.length,
        };

        if (!s->journal || s->journal->depth++ > 0)
                return;
        journal_write(s, J_INTENT, &e, sizeof(e), o->path, strlen(o->path));
}

void journal_done(Session *s) {
        Journal *j = s->journal;

        if (!j || --j->depth > 0)
                return;
        journal_write(s, J_DONE, NULL, 0, NULL, 0);
        /* A new generation when the changes outgrow the snapshot; if that
         * fails, the old one goes on growing. */
        if (s->journal && s->journal->size - s->journal->snapshot_size >
                                  MAX(s->journal->snapshot_size, (size_t) JOURNAL_CHANGES_MIN)) {
                int r = journal_start(s);
                if (r < 0)
                        log_warning_errno(r, "session %u: cannot compact its journal: %m", s->id);
        }
}

/* An entry of JSON, j, which its writer made with outcome r. */
static void journal_write_json(Session *s, uint32_t type, int r, struct json_object *j) {
        die_if_asked(s);
        if (r >= 0)
                r = journal_append_json(s->journal, type, j);
        if (r < 0)
                journal_lost(s, r);
}

void journal_object(Object *o) {
        _cleanup_(json_object_putp) struct json_object *j = NULL;
        Session *s = o->session;
        int r;

        if (!s->journal)
                return;
        r = object_to_json(o, OBJECT_JSON_RECORD, &j);
        journal_write_json(s, J_OBJECT, r, j);
}

void journal_virtio_iommu(Session *s) {
        _cleanup_(json_object_putp) struct json_object *j = NULL;
        int r;

        if (!s->journal)
                return;
        r = virtio_iommu_to_json(s, &j);
        journal_write_json(s, J_VIRTIO_IOMMU, r, j);
}

void journal_forget(Object *o) {
        journal_write(o->session, J_FORGET, o->path, strlen(o->path), NULL, 0);
}

void journal_counters(Session *s) {
        struct journal_counters c = {
                .next_unbound = s->next_unbound,
        };

        journal_write(s, J_COUNTERS, &c, sizeof(c), NULL, 0);
}

void journal_map(Object *ioas, const struct viommu_mapping *m, uint64_t backing_length) {
        struct journal_map e = {
                .ioas = ioas->id,
                .backing = m->backing,
                .iova = m->iova,
                .length = m->length,
                .offset = m->offset,
                .flags = m->flags,
                .backing_length = backing_length,
        };

        journal_write(ioas->session, J_MAP, &e, sizeof(e), NULL, 0);
}

void journal_unmap(Object *ioas, uint64_t iova, uint64_t length) {
        struct journal_unmap e = { .ioas = ioas->id, .iova = iova, .length = length };

        journal_write(ioas->session, J_UNMAP, &e, sizeof(e), NULL, 0);
}

void journal_copy(Object *dst, Object *src, uint64_t src_iova, uint64_t length, uint64_t dst_iova,
                  uint32_t flags) {
        struct journal_copy e = {
                .dst = dst->id,
                .src = src->id,
                .src_iova = src_iova,
                .length = length,
                .dst_iova = dst_iova,
                .flags = flags,
        };

        journal_write(dst->session, J_COPY, &e, sizeof(e), NULL, 0);
}

void journal_region(Session *s, const GuestRegion *g) {
        struct journal_region e = journal_region_entry(g);

        journal_write(s, J_REGION, &e, sizeof(e), NULL, 0);
}

void journal_region_removed(Session *s, uint32_t id) {
        struct journal_region_gone e = { .id = id };

        journal_write(s, J_REGION_GONE, &e, sizeof(e), NULL, 0);
}

#if ENABLE_TEST_HOOKS
void journal_damage(Journal *j) {
        ((struct journal_header *) j->data)->version ^= 0xff;
}

int journal_store_as_older_run(Session *s) {
        char name[FDSTORE_NAME_MAX];
        int r;

        /* First out: the store keeps no file twice. */
        fdstore_remove(fdstore_name(s, NULL, name));
        s->older_entry = true;
        s->slot = 0;
        r = fdstore_add(fdstore_name(s, NULL, name), s->iommufd);
        if (r >= 0 && s->journal_generation == 1)
                r = fdstore_add(fdstore_journal_name(s->id, 1, name), s->journal->fd);
        return r;
}
#endif

void journal_intent_done(JournalIntent *i) {
        i->path = mfree(i->path);
}
