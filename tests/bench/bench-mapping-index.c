/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * How fast the mapping index is at the scale of a guest that maps page by
 * page, and how much memory it takes.
 *
 * N mappings of 4 KiB (default 1,000,000) are inserted in random order, then
 * N random IOVAs are looked up (each inside a mapping), then the mappings are
 * unmapped one by one in random order. The same again with the mappings made
 * in ascending order, ending with one unmap of everything. Each phase prints
 * its time per operation; the insert phases print the index's own bytes per
 * mapping and the growth of the resident set (which adds the allocator's
 * overhead; freed memory is trimmed between phases). A benchmark to run by hand, not a test: it checks only that
 * every operation gave the expected answer.
 *
 *   bench-mapping-index [-n MAPPINGS] [-s SEED]
 */

#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <sys/resource.h>
#include <time.h>

#include "mapping-index.h"
#include "util.h"

#define PAGE 4096ULL

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void) {
        rnd_state ^= rnd_state >> 12;
        rnd_state ^= rnd_state << 25;
        rnd_state ^= rnd_state >> 27;
        return rnd_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* Current resident set in bytes, from /proc/self/statm. */
static size_t rss_now(void) {
        _cleanup_fclose_ FILE *f = NULL;
        unsigned long size, resident;

        f = fopen("/proc/self/statm", "re");
        if (!f || fscanf(f, "%lu %lu", &size, &resident) != 2)
                return 0;
        return resident * (size_t) sysconf(_SC_PAGESIZE);
}

static void die(const char *what, int r) {
        fprintf(stderr, "%s: %s\n", what, strerror(-r));
        exit(EXIT_FAILURE);
}

static void report(const char *phase, uint64_t ns, size_t ops) {
        printf("%-28s %10.1f ns/op  (%zu ops, %.3f s)\n", phase, (double) ns / ops, ops, ns / 1e9);
}

static void shuffle(uint64_t *a, size_t n) {
        for (size_t i = n - 1; i > 0; i--) {
                size_t j = rnd() % (i + 1);
                uint64_t t = a[i];

                a[i] = a[j];
                a[j] = t;
        }
}

static void insert_all(struct viommu_mapping_index *idx, const uint64_t *pages, size_t n, const char *phase) {
        size_t rss0 = rss_now(), mem;
        uint64_t t0, t1;

        t0 = now_ns();
        for (size_t i = 0; i < n; i++) {
                struct viommu_mapping m = {
                        .iova = pages[i] * PAGE,
                        .length = PAGE,
                        .offset = pages[i] * PAGE,
                        .flags = 6,
                };
                int r = viommu_mapping_index_insert(idx, &m);

                if (r < 0)
                        die("insert", r);
        }
        t1 = now_ns();
        report(phase, t1 - t0, n);

        mem = viommu_mapping_index_memory(idx);
        printf("%-28s %10.1f bytes/mapping in nodes, %.1f by RSS growth (%.1f MiB)\n", "",
               (double) mem / n, (double) (rss_now() - rss0) / n, (rss_now() - rss0) / 1048576.0);
        if (viommu_mapping_index_count(idx) != n || viommu_mapping_index_bytes(idx) != n * PAGE)
                die("count", -EBADMSG);
}

static void lookup_random(const struct viommu_mapping_index *idx, size_t n) {
        uint64_t t0, t1, *iovas;

        /* Drawn beforehand, so the generator is not timed. */
        iovas = malloc(n * sizeof(*iovas));
        if (!iovas)
                die("malloc", -ENOMEM);
        for (size_t i = 0; i < n; i++)
                iovas[i] = (rnd() % n) * PAGE + rnd() % PAGE;

        t0 = now_ns();
        for (size_t i = 0; i < n; i++) {
                const struct viommu_mapping *m = viommu_mapping_index_lookup(idx, iovas[i]);

                if (!m || iovas[i] - m->iova >= PAGE)
                        die("lookup", -ENOENT);
        }
        t1 = now_ns();
        report("lookup, random", t1 - t0, n);
        free(iovas);
}

static void remove_each(struct viommu_mapping_index *idx, const uint64_t *pages, size_t n, const char *phase) {
        uint64_t t0, t1;

        t0 = now_ns();
        for (size_t i = 0; i < n; i++) {
                uint64_t bytes;
                int r = viommu_mapping_index_remove(idx, pages[i] * PAGE, PAGE, &bytes);

                if (r < 0)
                        die("remove", r);
                if (bytes != PAGE)
                        die("remove", -EBADMSG);
        }
        t1 = now_ns();
        report(phase, t1 - t0, n);
        if (viommu_mapping_index_count(idx) != 0)
                die("count", -EBADMSG);

        /* Hand the freed nodes back, so the next phase's RSS growth is its own. */
        malloc_trim(0);
}

int main(int argc, char *argv[]) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = NULL;
        _cleanup_free_ uint64_t *pages = NULL;
        struct rusage ru;
        size_t n = 1000000, rss_start;
        uint64_t t0, t1, bytes;
        int c, r;

        while ((c = getopt(argc, argv, "n:s:")) >= 0)
                switch (c) {
                case 'n':
                        n = strtoull(optarg, NULL, 0);
                        break;
                case 's':
                        rnd_state = strtoull(optarg, NULL, 0) ?: 1;
                        break;
                default:
                        fprintf(stderr, "usage: %s [-n MAPPINGS] [-s SEED]\n", argv[0]);
                        return EXIT_FAILURE;
                }
        if (n == 0) {
                fputs("-n wants at least one mapping\n", stderr);
                return EXIT_FAILURE;
        }

        pages = malloc(n * sizeof(*pages));
        if (!pages)
                die("malloc", -ENOMEM);
        rss_start = rss_now();

        r = viommu_mapping_index_new(&idx);
        if (r < 0)
                die("new", r);

        printf("%zu mappings of 4 KiB, struct viommu_mapping is %zu bytes\n", n, sizeof(struct viommu_mapping));

        for (size_t i = 0; i < n; i++)
                pages[i] = i;
        shuffle(pages, n);
        insert_all(idx, pages, n, "insert, random order");
        lookup_random(idx, n);
        shuffle(pages, n);
        remove_each(idx, pages, n, "unmap one, random order");

        for (size_t i = 0; i < n; i++)
                pages[i] = i;
        insert_all(idx, pages, n, "insert, ascending");
        lookup_random(idx, n);

        t0 = now_ns();
        r = viommu_mapping_index_remove(idx, 0, UINT64_MAX, &bytes);
        t1 = now_ns();
        if (r < 0 || bytes != n * PAGE)
                die("remove all", r < 0 ? r : -EBADMSG);
        report("unmap everything at once", t1 - t0, n);
        malloc_trim(0);

        insert_all(idx, pages, n, "insert, ascending again");
        remove_each(idx, pages, n, "unmap one, ascending");

        if (getrusage(RUSAGE_SELF, &ru) == 0)
                printf("peak RSS %.1f MiB (%.1f MiB before the first mapping)\n",
                       ru.ru_maxrss / 1024.0, rss_start / 1048576.0);
        return EXIT_SUCCESS;
}
