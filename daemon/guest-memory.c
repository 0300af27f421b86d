/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fdstore.h"
#include "guest-memory.h"
#include "ioas.h"
#include "journal.h"
#include "util.h"

const char *guest_memory_fdstore_name(Session *s, const GuestRegion *g, char *buf, size_t size) {
        snprintf(buf, size, "s%u-memory-%u", s->id, g->id);
        return buf;
}

/* Before Linux 6.13 the kernel maps only the caller's addresses: the region
 * is mapped into the daemon once, and every mapping made from it points
 * into that (ioas_map_guest()). Its backing slot unmaps it with the last
 * reference. */
static int region_mmap(Session *s, const GuestRegion *g, void **ret) {
        void *addr;

        *ret = NULL;
        if (viommu_features_has(s->daemon->features, VIOMMU_FEATURE_IOAS_MAP_FILE))
                return 0;
        addr = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, g->offset);
        if (addr == MAP_FAILED)
                return -errno;
        *ret = addr;
        return 0;
}

static int regions_grow(Session *s) {
        GuestRegion *n;

        if (s->n_regions >= GUEST_MEMORY_REGIONS_MAX)
                return -EDQUOT;
        n = reallocarray(s->regions, s->n_regions + 1, sizeof(GuestRegion));
        if (!n)
                return -ENOMEM;
        s->regions = n;
        return 0;
}

int memfd_reopen(int memfd, int flags) {
        char path[64];
        int fd;

        snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
        fd = open(path, flags | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int guest_memory_add(Session *s, int memfd, uint64_t offset, uint64_t gpa, uint64_t size, GuestRegion **ret) {
        char name[FDSTORE_NAME_MAX];
        GuestRegion g = {
                .id = s->next_region + 1,
                .gpa = gpa,
                .size = size,
                .offset = offset,
                .fd = -EBADF,
        };
        void *addr = NULL;
        int r;

        r = regions_grow(s);
        if (r < 0)
                return r;
        /* Opened anew, not duplicated: a file description of its own, which
         * the fd store keeps apart from another region's of the same memfd
         * (it stores a description once). */
        g.fd = memfd_reopen(memfd, O_RDWR);
        if (g.fd < 0)
                return g.fd;
        r = region_mmap(s, &g, &addr);
        if (r < 0)
                goto fail;
        r = session_backing_add(s, addr, size, &g.backing);
        if (r < 0) {
                if (addr)
                        munmap(addr, size);
                goto fail;
        }
        r = fdstore_add(guest_memory_fdstore_name(s, &g, name, sizeof(name)), g.fd);
        if (r < 0) {
                session_backing_unref(s, g.backing);
                goto fail;
        }

        s->next_region = g.id;
        s->regions[s->n_regions] = g;
        *ret = &s->regions[s->n_regions++];
        journal_region(s, *ret);
        return 0;

fail:
        close(g.fd);
        return r;
}

unsigned guest_memory_users(Session *s, const GuestRegion *g) {
        return g->backing < s->n_backings && s->backings[g->backing].refs > 0 ? s->backings[g->backing].refs - 1 : 0;
}

/* Takes the region out of the array; its memfd is the caller's. */
static void region_unlink(Session *s, GuestRegion *g) {
        size_t i = g - s->regions;

        session_backing_unref(s, g->backing);
        memmove(g, g + 1, (s->n_regions - i - 1) * sizeof(GuestRegion));
        s->n_regions--;
}

int guest_memory_remove(Session *s, GuestRegion *g) {
        char name[FDSTORE_NAME_MAX];
        int fd = g->fd;

        if (guest_memory_users(s, g) > 0)
                return -EBUSY;
        /* Recorded first: a crash after it leaves only a stale store entry,
         * which the next run drops. */
        journal_region_removed(s, g->id);
        fdstore_remove(guest_memory_fdstore_name(s, g, name, sizeof(name)));
        region_unlink(s, g);
        if (fd >= 0)
                close(fd);
        return 0;
}

GuestRegion *guest_memory_find(Session *s, uint32_t id) {
        for (size_t i = 0; i < s->n_regions; i++)
                if (s->regions[i].id == id)
                        return &s->regions[i];
        return NULL;
}

GuestRegion *guest_memory_at(Session *s, uint64_t gpa) {
        return guest_memory_overlapping(s, gpa, 1);
}

GuestRegion *guest_memory_overlapping(Session *s, uint64_t gpa, uint64_t size) {
        uint64_t last = gpa + (size - 1);

        for (size_t i = 0; i < s->n_regions; i++) {
                GuestRegion *g = &s->regions[i];

                if (gpa <= g->gpa + (g->size - 1) && g->gpa <= last)
                        return g;
        }
        return NULL;
}

GuestRegion *guest_memory_of_backing(Session *s, uint32_t backing) {
        for (size_t i = 0; i < s->n_regions; i++)
                if (s->regions[i].backing == backing)
                        return &s->regions[i];
        return NULL;
}

int guest_memory_restore(Session *s, const GuestRegion *g) {
        int r;

        if (g->id == 0 || g->size == 0 || g->gpa + (g->size - 1) < g->gpa || guest_memory_find(s, g->id) ||
            guest_memory_overlapping(s, g->gpa, g->size) || g->backing == VIOMMU_MAPPING_NO_BACKING)
                return -EBADMSG;
        r = regions_grow(s);
        if (r < 0)
                return r == -EDQUOT ? -EBADMSG : r;
        /* The region holds its slot, as when it was added. */
        r = session_backing_restore(s, g->backing, g->size);
        if (r < 0)
                return r;
        s->backings[g->backing].refs = 1;
        s->regions[s->n_regions++] = (GuestRegion) {
                .id = g->id,
                .backing = g->backing,
                .gpa = g->gpa,
                .size = g->size,
                .offset = g->offset,
                .fd = -EBADF,
        };
        s->next_region = MAX(s->next_region, g->id);
        return 0;
}

int guest_memory_forget(Session *s, uint32_t id) {
        GuestRegion *g = guest_memory_find(s, id);

        if (!g || guest_memory_users(s, g) > 0)
                return -EBADMSG;
        region_unlink(s, g);
        return 0;
}

int guest_memory_resume(Session *s, GuestRegion *g, int memfd) {
        void *addr;
        int r;

        g->fd = memfd;
        r = region_mmap(s, g, &addr);
        if (r < 0)
                return r;
        s->backings[g->backing].addr = addr;
        return 0;
}

void guest_memory_free(Session *s, bool forget_store) {
        char name[FDSTORE_NAME_MAX];

        for (size_t i = 0; i < s->n_regions; i++) {
                GuestRegion *g = &s->regions[i];

                if (forget_store)
                        fdstore_remove(guest_memory_fdstore_name(s, g, name, sizeof(name)));
                if (g->fd >= 0)
                        close(g->fd);
        }
        s->regions = mfree(s->regions);
        s->n_regions = 0;
}
