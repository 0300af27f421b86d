/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * How long enumerating a large host takes, and how much memory it needs.
 *
 * Makes a umockdev testbed of many PCI devices (by default 4096 across 256
 * IOMMU groups behind 4 VT-d units; every 16th device bound to vfio-pci, every
 * 4th with ATS and PASID), enumerates it over and over, and prints the time
 * per enumeration, per JSON conversion, and the peak RSS. A benchmark to run
 * by hand, not a test: it judges nothing but that the result is complete. It
 * runs itself again under umockdev-wrapper.
 *
 *   bench-topology [-n ITERATIONS] [-d DEVICES] [-g GROUPS] [-u UNITS] [-k]
 *
 * -k keeps the testbed and prints its path. umockdev puts it in $TMPDIR, else
 * /tmp.
 */

#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "testbed.h"
#include "util.h"
#include "viommu-topology.h"

static unsigned n_devices = 4096, n_groups = 256, n_units = 4, n_iterations = 20;

_printf_(1, 2)
static char *pathf(const char *fmt, ...) {
        va_list ap;
        char *p;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&p, fmt, ap);
        va_end(ap);
        if (r < 0) {
                fputs("out of memory\n", stderr);
                exit(EXIT_FAILURE);
        }
        return p;
}

static void die(const char *what, const char *path) {
        fprintf(stderr, "%s %s: %m\n", what, path);
        exit(EXIT_FAILURE);
}

/* Creates the parent directories of root/path and returns root/path. */
static char *tree_path(const char *root, const char *path) {
        char *full = pathf("%s/%s", root, path);

        for (char *p = full + strlen(root) + 1; (p = strchr(p, '/')); p++) {
                *p = 0;
                if (mkdir(full, 0755) < 0 && errno != EEXIST)
                        die("mkdir", full);
                *p = '/';
        }
        return full;
}

/* Writes data and makes the file size long, sparse past the data. */
static void tree_file(const char *root, const char *path, const void *data, size_t size, off_t length) {
        _cleanup_free_ char *full = tree_path(root, path);
        _cleanup_close_ int fd = -EBADF;

        fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, data, size) != (ssize_t) size || ftruncate(fd, length) < 0)
                die("write", full);
}

/* A relative link at path to target, both below root, as sysfs makes them. */
static void tree_link(const char *root, const char *path, const char *target) {
        _cleanup_free_ char *full = tree_path(root, path), *rel = NULL;
        size_t depth = 0;

        for (const char *p = path; (p = strchr(p, '/')); p++)
                depth++;
        rel = malloc(depth * 3 + strlen(target) + 1);
        if (!rel)
                die("malloc", path);
        rel[0] = 0;
        while (depth-- > 0)
                strcat(rel, "../");
        strcat(rel, target);
        if (symlink(rel, full) < 0)
                die("symlink", full);
}

static void config_space(uint8_t c[4096], uint16_t device, bool ats_pasid) {
        memset(c, 0, 4096);
        c[0] = 0x86, c[1] = 0x80;                       /* vendor 8086 */
        c[2] = device & 0xff, c[3] = device >> 8;
        c[0x0b] = 0x02;                                 /* network controller */
        if (ats_pasid) {
                /* ATS at 0x100, then PASID at 0x110 with 20 bits. */
                c[0x100] = 0x0f, c[0x102] = 0x01, c[0x103] = 0x11;
                c[0x104] = 0x20;
                c[0x110] = 0x1b, c[0x112] = 0x01;
                c[0x115] = 20;
        }
}

static void make_testbed(UMockdevTestbed *tb, const char *root) {
        uint8_t config[4096];

        for (unsigned u = 0; u < n_units; u++) {
                _cleanup_free_ char *record = pathf("P: /devices/virtual/iommu/dmar%u\n"
                                                    "E: SUBSYSTEM=iommu\n"
                                                    "A: intel-iommu/address=%x\\n\n"
                                                    "A: intel-iommu/version=1:0\\n\n"
                                                    "A: intel-iommu/cap=d2008c40660462\\n\n"
                                                    "A: intel-iommu/ecap=3ef9824f0505e\\n\n"
                                                    "A: intel-iommu/domains_supported=65536\\n\n"
                                                    "A: intel-iommu/domains_used=17\\n\n",
                                                    u, 0xfed90000 + u * 0x1000);
                testbed_add(tb, record);
        }

        for (unsigned g = 0; g < n_groups; g++)
                testbed_add_group(tb, g, "DMA\n", g % 8 == 0 ?
                                  "0x000000006e9f0000 0x000000006ea0ffff direct-relaxable\n"
                                  "0x00000000fee00000 0x00000000feefffff msi\n" :
                                  "0x00000000fee00000 0x00000000feefffff msi\n", NULL);

        for (unsigned i = 0; i < n_devices; i++) {
                unsigned bus = 1 + i / 256, slot = (i / 8) % 32, fn = i % 8;
                unsigned group = (unsigned) ((uint64_t) i * n_groups / n_devices);
                unsigned unit = (unsigned) ((uint64_t) group * n_units / n_groups);
                bool vfio = i % 16 == 0;
                const char *driver = vfio ? "vfio-pci" : "ixgbe";
                _cleanup_free_ char *bdf = pathf("0000:%02x:%02x.%u", bus, slot, fn),
                                    *dev = pathf("devices/pci0000:%02x/%s", bus, bdf),
                                    *record = NULL, *cfg = pathf("%s/config", dev),
                                    *group_link = pathf("kernel/iommu_groups/%u/devices/%s", group, bdf),
                                    *unit_link = pathf("devices/virtual/iommu/dmar%u/devices/%s", unit, bdf);

                record = pathf("P: /%s\n"
                               "E: SUBSYSTEM=pci\n"
                               "E: DRIVER=%s\n"
                               "A: vendor=0x8086\\n\n"
                               "A: device=0x%04x\\n\n"
                               "A: subsystem_vendor=0x8086\\n\n"
                               "A: subsystem_device=0x0001\\n\n"
                               "A: class=0x020000\\n\n"
                               "A: revision=0x02\\n\n"
                               "L: driver=../../../bus/pci/drivers/%s\n"
                               "L: iommu_group=../../../kernel/iommu_groups/%u\n"
                               "L: iommu=../../virtual/iommu/dmar%u\n",
                               dev, driver, 0x1500 + i % 256, driver, group, unit);
                testbed_add(tb, record);
                tree_link(root, group_link, dev);
                tree_link(root, unit_link, dev);

                /* What is read, the header and the extended capabilities; zeros after. */
                config_space(config, 0x1500 + i % 256, i % 4 == 0);
                tree_file(root, cfg, config, 0x200, sizeof(config));

                if (vfio) {
                        _cleanup_free_ char *node = pathf("P: /%s/vfio-dev/vfio%u\n"
                                                          "E: SUBSYSTEM=vfio-dev\n"
                                                          "E: MAJOR=237\n"
                                                          "E: MINOR=%u\n"
                                                          "E: DEVNAME=vfio/devices/vfio%u\n",
                                                          dev, i / 16, i / 16, i / 16);
                        testbed_add(tb, node);
                }
        }
}

static double now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static void report(const char *what, double *samples, unsigned n) {
        double sum = 0;

        qsort(samples, n, sizeof(double), compare_double);
        for (unsigned i = 0; i < n; i++)
                sum += samples[i];
        printf("%-16s min %9.2f ms   median %9.2f ms   mean %9.2f ms   max %9.2f ms\n", what,
               samples[0] / 1e3, samples[n / 2] / 1e3, sum / n / 1e3, samples[n - 1] / 1e3);
}

static long peak_rss_kib(void) {
        struct rusage ru;

        return getrusage(RUSAGE_SELF, &ru) < 0 ? -1 : ru.ru_maxrss;
}

/* Only libviommu's public API is visible here, so no safe_atou(). */
static unsigned parse_count(const char *s) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno > 0 || *end || end == s || v == 0 || v > UINT32_MAX) {
                fprintf(stderr, "not a positive number: %s\n", s);
                exit(EXIT_FAILURE);
        }
        return v;
}

int main(int argc, char *argv[]) {
        _cleanup_free_ double *enum_us = NULL, *json_us = NULL;
        _cleanup_free_ char *root = NULL;
        UMockdevTestbed *tb;
        size_t json_bytes = 0;
        bool keep = false;
        long rss_before;
        double t0;
        int c;

        while ((c = getopt(argc, argv, "n:d:g:u:kh")) >= 0)
                switch (c) {
                case 'n': n_iterations = parse_count(optarg); break;
                case 'd': n_devices = parse_count(optarg); break;
                case 'g': n_groups = parse_count(optarg); break;
                case 'u': n_units = parse_count(optarg); break;
                case 'k': keep = true; break;
                default:
                        fprintf(stderr, "usage: %s [-n ITERATIONS] [-d DEVICES] [-g GROUPS] [-u UNITS] [-k]\n",
                                argv[0]);
                        return c == 'h' ? EXIT_SUCCESS : EXIT_FAILURE;
                }
        if (n_groups > n_devices || n_units > n_groups || n_devices > 255 * 256) {
                fputs("need UNITS <= GROUPS <= DEVICES <= 65280\n", stderr);
                return EXIT_FAILURE;
        }

        testbed_reexec(argv);
        tb = testbed_new();
        root = testbed_sys_dir(tb);

        t0 = now_us();
        make_testbed(tb, root);
        printf("tree: %u PCI devices, %u groups, %u units in %s (written in %.0f ms)\n",
               n_devices, n_groups, n_units, root, (now_us() - t0) / 1e3);

        enum_us = calloc(n_iterations, sizeof(double));
        json_us = calloc(n_iterations, sizeof(double));
        if (!enum_us || !json_us)
                die("calloc", "samples");

        rss_before = peak_rss_kib();

        /* One run first, so that every measured one finds the dentries cached. */
        for (unsigned i = 0; i <= n_iterations; i++) {
                _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
                struct json_object *j = NULL;
                double start = now_us(), mid;
                int r;

                r = viommu_topology_new(&t);
                if (r < 0) {
                        fprintf(stderr, "enumeration failed: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
                mid = now_us();
                r = viommu_topology_to_json(t, &j);
                if (r < 0) {
                        fprintf(stderr, "JSON failed: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
                json_bytes = strlen(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
                json_object_put(j);

                if (t->n_devices != n_devices || t->n_groups != n_groups || t->n_iommus != n_units ||
                    t->n_issues != 0) {
                        fprintf(stderr, "incomplete: %zu devices, %zu groups, %zu units, %zu issues%s%s\n",
                                t->n_devices, t->n_groups, t->n_iommus, t->n_issues,
                                t->n_issues ? "; first: " : "", t->n_issues ? t->issues[0] : "");
                        return EXIT_FAILURE;
                }

                if (i > 0) {
                        enum_us[i - 1] = mid - start;
                        json_us[i - 1] = now_us() - mid;
                }
        }

        printf("%u enumerations:\n", n_iterations);
        report("enumerate", enum_us, n_iterations);
        report("to JSON+string", json_us, n_iterations);
        printf("JSON: %zu bytes; peak RSS %ld KiB (%ld KiB before enumerating)\n",
               json_bytes, peak_rss_kib(), rss_before);

        if (keep)
                printf("kept %s\n", root);
        else
                testbed_free(tb);

        return EXIT_SUCCESS;
}
