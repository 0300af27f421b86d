/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * How long a restart takes over a session, and how big its record is, at
 * the scale of a guest that maps page by page: the record of a session whose
 * IOAS holds N mappings of 4 KiB (default 1,000,000) is written as on
 * SIGTERM (record to JSON, JSON to a file) and read back as by the next run
 * (file to JSON, JSON to the session record). Each step prints its time, the
 * file its size, and the run the growth of the resident set. A benchmark to
 * run by hand, not a test: it checks only that the session read back holds
 * every mapping.
 *
 *   bench-record [-n MAPPINGS] [-d DIR]
 */

#include <getopt.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "ioas.h"
#include "json-util.h"
#include "mapping-index.h"
#include "record.h"
#include "session.h"
#include "util.h"

#define PAGE 4096ULL

/* A session with a device attached to one IOAS, which maps nothing yet. */
static const char base[] =
        "{ \"record-version\": 1, \"id\": 1, \"uid\": 1000, \"owner\": \":1.1\", \"persistent\": true,"
        "  \"delegated\": false, \"created\": \"0x1\", \"next-mock\": 1, \"next-unbound\": 0,"
        "  \"mock-parking-ioas\": 0, \"backings\": [],"
        "  \"objects\": ["
        "    { \"path\": \"/org/viommu1/session/_31/ioas/_32\", \"type\": \"ioas\", \"id\": 2,"
        "      \"created\": \"0x2\", \"uses\": [], \"mappings\": [] },"
        "    { \"path\": \"/org/viommu1/session/_31/device/_33\", \"type\": \"device\", \"id\": 3,"
        "      \"created\": \"0x3\", \"uses\": [], \"name\": \"0000:01:00.0\", \"mock\": false, \"bound\": true,"
        "      \"stdev-id\": 0, \"attached\": \"/org/viommu1/session/_31/ioas/_32\", \"attached-pt\": 4,"
        "      \"pasids\": [] } ] }";

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static long rss_kib(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/statm", "re");
        unsigned long size, resident;

        if (!f || fscanf(f, "%lu %lu", &size, &resident) != 2)
                return 0;
        return (long) (resident * (unsigned long) sysconf(_SC_PAGESIZE) / 1024);
}

static void check(int r, const char *what) {
        if (r < 0) {
                fprintf(stderr, "bench-record: %s: %s\n", what, strerror(-r));
                exit(EXIT_FAILURE);
        }
}

static void step(const char *what, uint64_t start) {
        printf("%-28s %8.3f s\n", what, (double) (now_ns() - start) / 1e9);
}

int main(int argc, char *argv[]) {
        _cleanup_(json_object_putp) struct json_object *j = NULL, *written = NULL, *read_back = NULL;
        _cleanup_free_ char *path = NULL;
        const char *dir = "/tmp";
        uint64_t n = 1000000, t;
        Daemon d1 = {}, d2 = {};
        Session *s = NULL, *copy = NULL;
        Object *ioas;
        long rss_before = rss_kib();
        struct stat st;
        int c;

        while ((c = getopt(argc, argv, "n:d:")) >= 0)
                switch (c) {
                case 'n':
                        n = strtoull(optarg, NULL, 0);
                        break;
                case 'd':
                        dir = optarg;
                        break;
                default:
                        fprintf(stderr, "usage: bench-record [-n MAPPINGS] [-d DIR]\n");
                        return EXIT_FAILURE;
                }
        if (asprintf(&path, "%s/bench-record-%d.json", dir, (int) getpid()) < 0)
                return EXIT_FAILURE;

        j = json_tokener_parse(base);
        check(j ? 0 : -EINVAL, "the base record");
        check(session_record_from_json(&d1, j, -EBADF, &s), "reading the base record");
        ioas = object_find(s, "/org/viommu1/session/_31/ioas/_32");
        for (uint64_t i = 0; i < n; i++) {
                struct viommu_mapping m = {
                        .iova = i * PAGE, .length = PAGE, .offset = i * PAGE,
                        .flags = 7, .backing = VIOMMU_MAPPING_NO_BACKING,
                };

                check(viommu_mapping_index_insert(ioas->ioas.mappings, &m), "mapping");
        }
        printf("%" PRIu64 " mappings of 4 KiB\n", n);

        /* On SIGTERM. */
        t = now_ns();
        check(session_record_to_json(s, &written), "writing the record");
        step("record to JSON", t);
        t = now_ns();
        check(json_object_to_file_ext(path, written, JSON_C_TO_STRING_PLAIN) < 0 ? -EIO : 0, "writing the file");
        step("JSON to file", t);
        check(stat(path, &st) < 0 ? -errno : 0, "stat");
        printf("%-28s %8.1f MiB (%.1f bytes a mapping)\n", "record file", st.st_size / 1048576.0,
               (double) st.st_size / (double) (n ?: 1));

        /* In the next run. */
        t = now_ns();
        read_back = json_object_from_file(path);
        check(read_back ? 0 : -EIO, "reading the file");
        step("file to JSON", t);
        t = now_ns();
        check(session_record_from_json(&d2, read_back, -EBADF, &copy), "reading the record");
        step("JSON to session record", t);
        printf("%-28s %8ld MiB\n", "resident set growth", (rss_kib() - rss_before) / 1024);

        ioas = object_find(copy, "/org/viommu1/session/_31/ioas/_32");
        if (viommu_mapping_index_count(ioas->ioas.mappings) != n) {
                fprintf(stderr, "bench-record: %" PRIu64 " mappings read back, not %" PRIu64 "\n",
                        (uint64_t) viommu_mapping_index_count(ioas->ioas.mappings), n);
                return EXIT_FAILURE;
        }
        (void) unlink(path);
        session_free(copy);
        session_free(s);
        return EXIT_SUCCESS;
}
