/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * How long enumerating a large host takes, and how much memory it needs.
 *
 * Writes a sysfs tree of many PCI devices (by default 4096 across 256 IOMMU
 * groups behind 4 VT-d units; every 16th device bound to vfio-pci, every 4th
 * with ATS and PASID) into a temporary directory, enumerates it over and over
 * through $VIOMMU_SYSFS_ROOT's code path, and prints the time per
 * enumeration, per JSON conversion, and the peak RSS. A benchmark to run by
 * hand, not a test: it judges nothing but that the result is complete.
 *
 *   bench-topology [-n ITERATIONS] [-d DEVICES] [-g GROUPS] [-u UNITS] [-k]
 *
 * -k keeps the tree and prints its path. The tree goes to $TMPDIR, else
 * /dev/shm, else /tmp.
 */

#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

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

static void tree_text(const char *root, const char *path, const char *text) {
        tree_file(root, path, text, strlen(text), strlen(text));
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

static void make_tree(const char *root) {
        uint8_t config[4096];

        for (unsigned u = 0; u < n_units; u++) {
                static const char *const attrs[][2] = {
                        { "version", "1:0\n" },
                        { "cap", "d2008c40660462\n" },
                        { "ecap", "3ef9824f0505e\n" },
                        { "domains_supported", "65536\n" },
                        { "domains_used", "17\n" },
                };
                _cleanup_free_ char *unit = pathf("devices/virtual/iommu/dmar%u", u),
                                    *link = pathf("class/iommu/dmar%u", u),
                                    *addr = pathf("%s/intel-iommu/address", unit),
                                    *addr_value = pathf("%x\n", 0xfed90000 + u * 0x1000);

                tree_link(root, link, unit);
                tree_text(root, addr, addr_value);
                for (size_t i = 0; i < ELEMENTSOF(attrs); i++) {
                        _cleanup_free_ char *p = pathf("%s/intel-iommu/%s", unit, attrs[i][0]);
                        tree_text(root, p, attrs[i][1]);
                }
        }

        for (unsigned g = 0; g < n_groups; g++) {
                _cleanup_free_ char *type = pathf("kernel/iommu_groups/%u/type", g),
                                    *regions = pathf("kernel/iommu_groups/%u/reserved_regions", g);

                tree_text(root, type, "DMA\n");
                tree_text(root, regions, g % 8 == 0 ?
                          "0x000000006e9f0000 0x000000006ea0ffff direct-relaxable\n"
                          "0x00000000fee00000 0x00000000feefffff msi\n" :
                          "0x00000000fee00000 0x00000000feefffff msi\n");
        }

        for (unsigned i = 0; i < n_devices; i++) {
                unsigned bus = 1 + i / 256, slot = (i / 8) % 32, fn = i % 8;
                unsigned group = (unsigned) ((uint64_t) i * n_groups / n_devices);
                unsigned unit = (unsigned) ((uint64_t) group * n_units / n_groups);
                bool vfio = i % 16 == 0;
                _cleanup_free_ char *bdf = pathf("0000:%02x:%02x.%u", bus, slot, fn),
                                    *dev = pathf("devices/pci0000:%02x/%s", bus, bdf),
                                    *unit_path = pathf("devices/virtual/iommu/dmar%u", unit),
                                    *group_path = pathf("kernel/iommu_groups/%u", group);
                const struct {
                        const char *name;
                        char *value;
                } attrs[] = {
                        { "vendor", pathf("0x8086\n") },
                        { "device", pathf("0x%04x\n", 0x1500 + i % 256) },
                        { "subsystem_vendor", pathf("0x8086\n") },
                        { "subsystem_device", pathf("0x0001\n") },
                        { "class", pathf("0x020000\n") },
                        { "revision", pathf("0x02\n") },
                };
                const struct {
                        char *link, *target;
                } links[] = {
                        { pathf("%s/subsystem", dev), pathf("bus/pci") },
                        { pathf("%s/driver", dev), pathf("bus/pci/drivers/%s", vfio ? "vfio-pci" : "ixgbe") },
                        { pathf("%s/iommu_group", dev), pathf("%s", group_path) },
                        { pathf("%s/iommu", dev), pathf("%s", unit_path) },
                        { pathf("bus/pci/devices/%s", bdf), pathf("%s", dev) },
                        { pathf("%s/devices/%s", group_path, bdf), pathf("%s", dev) },
                        { pathf("%s/devices/%s", unit_path, bdf), pathf("%s", dev) },
                };
                _cleanup_free_ char *cfg = pathf("%s/config", dev);

                for (size_t k = 0; k < ELEMENTSOF(attrs); k++) {
                        _cleanup_free_ char *p = pathf("%s/%s", dev, attrs[k].name);
                        tree_text(root, p, attrs[k].value);
                        free(attrs[k].value);
                }
                for (size_t k = 0; k < ELEMENTSOF(links); k++) {
                        tree_link(root, links[k].link, links[k].target);
                        free(links[k].link);
                        free(links[k].target);
                }
                /* What is read, the header and the extended capabilities; zeros after. */
                config_space(config, 0x1500 + i % 256, i % 4 == 0);
                tree_file(root, cfg, config, 0x200, sizeof(config));

                if (vfio) {
                        _cleanup_free_ char *node = pathf("%s/vfio-dev/vfio%u/dev", dev, i / 16),
                                            *devnum = pathf("237:%u\n", i / 16);
                        tree_text(root, node, devnum);
                }
        }
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
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
        size_t json_bytes = 0;
        const char *tmp;
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

        /* Memory-backed when possible: writing the tree is not what is measured. */
        tmp = getenv("TMPDIR");
        if (isempty(tmp))
                tmp = access("/dev/shm", W_OK) >= 0 ? "/dev/shm" : "/tmp";
        root = pathf("%s/viommu-bench-topology-XXXXXX", tmp);
        if (!mkdtemp(root))
                die("mkdtemp", root);

        t0 = now_us();
        make_tree(root);
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

                r = viommu_topology_new_at(root, &t);
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
        else if (nftw(root, rm_one, 64, FTW_DEPTH | FTW_PHYS) < 0)
                die("remove", root);

        return EXIT_SUCCESS;
}
