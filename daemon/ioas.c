/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ioas.h"
#include "journal.h"
#include "log.h"
#include "mapping-index.h"
#include "util.h"

int ioas_new(Session *s, Object **ret) {
        uint32_t id;
        int r;

        r = viommu_ioas_alloc(s->iommufd, &id);
        if (r < 0)
                return r;
        r = object_adopt(s, OBJECT_IOAS, id, NULL, ret);
        if (r < 0)
                return r;
        journal_object(*ret);
        return 0;
}

int ioas_record_map(Object *ioas, const struct viommu_mapping *m) {
        int r;

        r = viommu_mapping_index_insert(ioas->ioas.mappings, m);
        if (r < 0)
                return r;
        ioas->session->mapped_bytes += m->length;
        return 0;
}

/* Maps memory into the daemon's address space (before Linux 6.13, whose
 * kernel maps only the caller's addresses) or has the kernel map the file.
 * A mapping of guest memory points into its region's own mapping in the
 * daemon and holds the region's backing; one of a memfd gets a backing of
 * its own. */
static int ioas_map_kernel(Object *ioas, const IoasMapEntry *e, uint64_t *iova) {
        Session *s = ioas->session;
        uint32_t backing = VIOMMU_MAPPING_NO_BACKING;
        void *addr = NULL;
        int r;

        if (viommu_features_has(s->daemon->features, VIOMMU_FEATURE_IOAS_MAP_FILE))
                r = viommu_ioas_map_file(s->iommufd, ioas->id, e->flags, e->fd, e->offset, e->length, iova);
        else if (e->region)
                r = viommu_ioas_map(s->iommufd, ioas->id, e->flags,
                                    (uint8_t *) s->backings[e->region->backing].addr +
                                            (e->offset - e->region->offset),
                                    e->length, iova);
        else {
                /* Map the memfd into the daemon, shared, and keep it mapped
                 * as long as an IOAS uses it. */
                int prot = (e->flags & IOMMU_IOAS_MAP_WRITEABLE ? PROT_WRITE : 0) | PROT_READ;

                addr = mmap(NULL, e->length, prot, MAP_SHARED, e->fd, e->offset);
                if (addr == MAP_FAILED)
                        return -errno;
                r = viommu_ioas_map(s->iommufd, ioas->id, e->flags, addr, e->length, iova);
                if (r < 0) {
                        munmap(addr, e->length);
                        return r;
                }
                r = session_backing_add(s, addr, e->length, &backing);
                if (r < 0) {
                        munmap(addr, e->length);
                        goto undo;
                }
        }
        if (r < 0)
                return r;
        if (e->region) {
                backing = e->region->backing;
                session_backing_ref(s, backing);
        }

        struct viommu_mapping m = {
                .iova = *iova,
                .length = e->length,
                .offset = e->offset,
                .flags = e->flags,
                .backing = backing,
        };
        r = ioas_record_map(ioas, &m);
        if (r < 0) {
                session_backing_unref(s, backing);
                goto undo;
        }
        journal_map(ioas, &m, addr ? e->length : 0);
        log_debug("session %u: mapped 0x%llx+0x%llx at IOVA 0x%llx in %s", s->id, (unsigned long long) e->offset,
                  (unsigned long long) e->length, (unsigned long long) *iova, ioas->path);
        return 0;

undo:
        (void) viommu_ioas_unmap(s->iommufd, ioas->id, *iova, e->length, NULL);
        return r;
}

static int ioas_map_entry(Object *ioas, const IoasMapEntry *e, uint64_t *iova) {
        int r;

        *iova = e->flags & IOMMU_IOAS_MAP_FIXED_IOVA ? e->iova : 0;
        journal_intent(ioas, (JournalIntent) { .op = JOURNAL_OP_MAP, .iova = *iova, .length = e->length,
                                               .flags = e->flags });
        r = ioas_map_kernel(ioas, e, iova);
        journal_done(ioas->session);
        return r;
}

int ioas_map(Object *ioas, int fd, uint64_t offset, uint64_t length, uint32_t flags, uint64_t *iova) {
        return ioas_map_entry(ioas, &(IoasMapEntry) { .fd = fd, .offset = offset, .length = length, .iova = *iova,
                                                      .flags = flags }, iova);
}

int ioas_map_guest(Object *ioas, const GuestRegion *g, uint64_t gpa, uint64_t length, uint32_t flags,
                   uint64_t *iova) {
        return ioas_map_entry(ioas, &(IoasMapEntry) { .fd = g->fd, .offset = g->offset + (gpa - g->gpa),
                                                      .length = length, .iova = *iova, .flags = flags,
                                                      .region = g }, iova);
}

int ioas_map_batch(Object *ioas, const IoasMapEntry *entries, size_t n, bool all_or_nothing, uint64_t *iovas,
                   size_t *ret_done) {
        uint64_t unmapped;
        size_t i;
        int r = 0;

        for (i = 0; i < n; i++) {
                r = ioas_map_entry(ioas, &entries[i], &iovas[i]);
                if (r < 0)
                        break;
        }
        *ret_done = i;
        if (r < 0 && all_or_nothing)
                for (size_t k = i; k > 0; k--)
                        (void) ioas_unmap(ioas, iovas[k - 1], entries[k - 1].length, &unmapped);
        return r;
}

/* Calls f for each mapping intersecting [iova, iova+length). */
static void foreach_in(struct viommu_mapping_index *idx, uint64_t iova, uint64_t length,
                       void (*f)(const struct viommu_mapping *mp, void *userdata), void *userdata) {
        const struct viommu_mapping *mp;
        struct viommu_mapping_iter it;
        uint64_t last = iova + length - 1;

        viommu_mapping_index_iter_init(idx, iova, &it);
        while ((mp = viommu_mapping_iter_next(&it)) && mp->iova <= last)
                f(mp, userdata);
}

static void release_backing(const struct viommu_mapping *mp, void *userdata) {
        session_backing_unref(userdata, mp->backing);
}

bool ioas_range_removable(struct viommu_mapping_index *idx, uint64_t iova, uint64_t length) {
        const struct viommu_mapping *first, *last;
        uint64_t end = iova + length - 1;

        if (iova == 0 && length == UINT64_MAX)
                return viommu_mapping_index_count(idx) > 0;
        if (length == 0 || end < iova)
                return false;
        first = viommu_mapping_index_find_first(idx, iova, length);
        last = viommu_mapping_index_lookup(idx, end);
        return first && first->iova >= iova && (!last || last->iova + (last->length - 1) <= end);
}

int ioas_record_unmap(Object *ioas, uint64_t iova, uint64_t length, uint64_t *ret_removed) {
        uint64_t removed = 0;
        int r;

        /* Backings go only with their mappings: not for a range the index
         * refuses (nothing there, a cut, or one past 2^64-1). */
        if (ioas_range_removable(ioas->ioas.mappings, iova, length))
                foreach_in(ioas->ioas.mappings, iova, length, release_backing, ioas->session);
        r = viommu_mapping_index_remove(ioas->ioas.mappings, iova, length, &removed);
        ioas->session->mapped_bytes -= removed;
        *ret_removed = removed;
        return r;
}

int ioas_unmap(Object *ioas, uint64_t iova, uint64_t length, uint64_t *ret_unmapped) {
        Session *s = ioas->session;
        uint64_t unmapped = 0, removed = 0;
        int r;

        /* The kernel takes whole mappings off in IOVA order until one that
         * the range cuts, then fails with ENOENT and does not put back what
         * it took: a cut is refused from the record, before the kernel. */
        if (!(iova == 0 && length == UINT64_MAX) &&
            viommu_mapping_index_find_first(ioas->ioas.mappings, iova, length) &&
            !ioas_range_removable(ioas->ioas.mappings, iova, length))
                return -EINVAL;

        journal_intent(ioas, (JournalIntent) { .op = JOURNAL_OP_UNMAP, .iova = iova, .length = length });
        r = viommu_ioas_unmap(s->iommufd, ioas->id, iova, length, &unmapped);
        if (r < 0) {
                journal_done(s);
                return r;
        }

        /* The kernel took the same areas off that the index holds. */
        r = ioas_record_unmap(ioas, iova, length, &removed);
        if ((r < 0 && r != -ENOENT) || removed != unmapped)
                log_warning("session %u: %s: record and kernel disagree on unmapping 0x%llx+0x%llx "
                            "(%llu vs %llu bytes)", s->id, ioas->path, (unsigned long long) iova,
                            (unsigned long long) length, (unsigned long long) removed,
                            (unsigned long long) unmapped);
        journal_unmap(ioas, iova, length);
        journal_done(s);
        *ret_unmapped = unmapped;
        return 0;
}

int ioas_unmap_batch(Object *ioas, const uint64_t (*ranges)[2], size_t n, size_t *ret_done,
                     uint64_t *ret_unmapped) {
        uint64_t total = 0, unmapped;
        size_t i;
        int r = 0;

        for (i = 0; i < n; i++) {
                r = ioas_unmap(ioas, ranges[i][0], ranges[i][1], &unmapped);
                if (r < 0)
                        break;
                total += unmapped;
        }
        *ret_done = i;
        *ret_unmapped = total;
        return r;
}

struct copy_ctx {
        Session *session;
        struct viommu_mapping_index *dst;
        uint64_t src_iova, length, dst_iova;
        uint32_t flags;
        uint64_t copied;
        int error;
};

/* Records the part of one source mapping that the copy covers. */
static void copy_one(const struct viommu_mapping *mp, void *userdata) {
        struct copy_ctx *c = userdata;
        uint64_t start = MAX(mp->iova, c->src_iova);
        uint64_t end = MIN(mp->iova + mp->length - 1, c->src_iova + c->length - 1);
        int r;

        r = viommu_mapping_index_insert(c->dst, &(struct viommu_mapping) {
                .iova = c->dst_iova + (start - c->src_iova),
                .length = end - start + 1,
                .offset = mp->offset + (start - mp->iova),
                .flags = c->flags | IOMMU_IOAS_MAP_FIXED_IOVA,
                .backing = mp->backing,
        });
        if (r < 0) {
                c->error = r;
                return;
        }
        session_backing_ref(c->session, mp->backing);
        c->copied += end - start + 1;
}

struct collect_ctx {
        struct viommu_mapping *mappings;
        size_t n, allocated;
        int error;
};

static void collect_one(const struct viommu_mapping *mp, void *userdata) {
        struct collect_ctx *c = userdata;

        if (c->error < 0)
                return;
        if (c->n == c->allocated) {
                size_t allocated = MAX(c->allocated * 2, (size_t) 8);
                struct viommu_mapping *m = reallocarray(c->mappings, allocated, sizeof(*m));

                if (!m) {
                        c->error = -ENOMEM;
                        return;
                }
                c->mappings = m;
                c->allocated = allocated;
        }
        c->mappings[c->n++] = *mp;
}

uint64_t ioas_record_copy(Object *dst, Object *src, uint64_t src_iova, uint64_t length, uint64_t dst_iova,
                          uint32_t flags) {
        struct copy_ctx c = {
                .session = dst->session,
                .dst = dst->ioas.mappings,
                .src_iova = src_iova,
                .length = length,
                .dst_iova = dst_iova,
                .flags = flags,
        };

        if (dst != src)
                foreach_in(src->ioas.mappings, src_iova, length, copy_one, &c);
        else {
                /* Within one IOAS the inserts would move the walk: copy what
                 * the range holds first. */
                _cleanup_free_ struct viommu_mapping *found = NULL;
                struct collect_ctx all = {};

                foreach_in(src->ioas.mappings, src_iova, length, collect_one, &all);
                found = all.mappings;
                if (all.error < 0)
                        return 0;
                for (size_t i = 0; i < all.n; i++)
                        copy_one(&found[i], &c);
        }
        dst->session->mapped_bytes += c.copied;
        return c.error < 0 ? 0 : c.copied;
}

int ioas_copy(Object *dst, Object *src, uint64_t src_iova, uint64_t length, uint32_t flags, uint64_t *dst_iova) {
        Session *s = dst->session;
        uint64_t copied;
        int r;

        if (!(flags & IOMMU_IOAS_MAP_FIXED_IOVA))
                *dst_iova = 0;
        journal_intent(dst, (JournalIntent) { .op = JOURNAL_OP_COPY, .iova = *dst_iova, .length = length, .flags = flags });
        r = viommu_ioas_copy(s->iommufd, dst->id, src->id, flags, src_iova, length, dst_iova);
        if (r >= 0) {
                copied = ioas_record_copy(dst, src, src_iova, length, *dst_iova, flags);
                if (copied != length)
                        log_warning("session %u: copy into %s recorded %llu of %llu bytes", s->id, dst->path,
                                    (unsigned long long) copied, (unsigned long long) length);
                journal_copy(dst, src, src_iova, length, *dst_iova, flags);
        }
        journal_done(s);
        return r;
}

int ioas_allow_iovas(Object *ioas, const struct iommu_iova_range *ranges, size_t n) {
        return viommu_ioas_allow_iovas(ioas->session->iommufd, ioas->id, ranges, n);
}

int ioas_iova_ranges(Object *ioas, struct iommu_iova_range **ret, size_t *ret_n, uint64_t *ret_alignment) {
        return viommu_ioas_iova_ranges(ioas->session->iommufd, ioas->id, ret, ret_n, ret_alignment);
}

const struct viommu_mapping *ioas_lookup(Object *ioas, uint64_t iova) {
        return viommu_mapping_index_lookup(ioas->ioas.mappings, iova);
}

void ioas_free_mappings(Object *ioas) {
        const struct viommu_mapping *m;
        struct viommu_mapping_iter it;

        if (!ioas->ioas.mappings)
                return;
        VIOMMU_MAPPING_INDEX_FOREACH(m, ioas->ioas.mappings, it)
                session_backing_unref(ioas->session, m->backing);
        ioas->ioas.mappings = viommu_mapping_index_free(ioas->ioas.mappings);
}

int session_backing_restore(Session *s, uint32_t i, uint64_t length) {
        if (i >= s->n_backings) {
                Backing *n = reallocarray(s->backings, (size_t) i + 1, sizeof(Backing));
                if (!n)
                        return -ENOMEM;
                memset(n + s->n_backings, 0, (i + 1 - s->n_backings) * sizeof(Backing));
                s->backings = n;
                s->n_backings = i + 1;
        }
        if (s->backings[i].length > 0 || length == 0)
                return -EBADMSG;
        s->backings[i].length = length;
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

void session_backings_free(Session *s) {
        for (size_t i = 0; i < s->n_backings; i++)
                if (s->backings[i].refs > 0 && s->backings[i].addr)
                        munmap(s->backings[i].addr, s->backings[i].length);
        s->backings = mfree(s->backings);
        s->n_backings = 0;
}
