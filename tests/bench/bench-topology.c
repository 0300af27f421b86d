/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * How long enumerating a large host takes, how long one uevent's update of
 * it takes, and how much memory it needs.
 *
 * Makes a umockdev testbed of many PCI devices (by default 4096 across 256
 * IOMMU groups behind 4 VT-d units; every 16th device bound to vfio-pci, every
 * 4th with ATS and PASID; uevents and attributes as the kernel writes them)
 * and measures it twice:
 *
 *  - through umockdev: the library reads the testbed through umockdev's
 *    LD_PRELOAD, which rewrites the path of every call that takes one (and
 *    blocks signals around it). A host does not pay that, and here it costs
 *    more than the library's own work;
 *  - directly: a child process binds the testbed's sys directory on /sys in a
 *    mount namespace of its own and runs again with no preload, so that the
 *    library's calls reach the kernel as on a host. The files are the
 *    testbed's (its filesystem's, not sysfs), and libudev is told not to
 *    insist on sysfs ($SYSTEMD_DEVICE_VERIFY_SYSFS=0). This needs root or
 *    unprivileged user namespaces; without either it is left out.
 *
 * Each prints the median time of a full enumeration, of its conversion to
 * JSON, and of one uevent's update (viommu_topology_update_device() of one
 * device, spread over the tree, in the enumerated topology: the device, its
 * group and its unit read afresh), the file reads per device (read calls in
 * /proc/self/io, the library's and libudev's alone) and the peak RSS, with the
 * load average when it began: the machine may be shared. A benchmark to run by
 * hand, not a test: it judges nothing but that the result is complete and
 * that the updated topology equals a fresh one. It runs itself again under
 * umockdev-wrapper.
 *
 *   bench-topology [-n ITERATIONS] [-d DEVICES] [-g GROUPS] [-u UNITS] [-k]
 *   bench-topology -D [-n ITERATIONS]
 *
 * -k keeps the testbed and prints its path. umockdev puts it in $TMPDIR, else
 * /tmp. -D measures the /sys the program sees, with no testbed (how the direct
 * measurement runs, and a host's /sys by hand); with -d, -g and -u it expects
 * those counts.
 */

#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <libudev.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
        c[0x08] = 0x02;                                 /* revision */
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
                               "E: PCI_CLASS=20000\n"
                               "E: PCI_ID=8086:%04X\n"
                               "E: PCI_SUBSYS_ID=8086:0001\n"
                               "E: PCI_SLOT_NAME=%s\n"
                               "E: MODALIAS=pci:v00008086d0000%04Xsv00008086sd00000001bc02sc00i00\n"
                               "A: vendor=0x8086\\n\n"
                               "A: device=0x%04x\\n\n"
                               "A: subsystem_vendor=0x8086\\n\n"
                               "A: subsystem_device=0x0001\\n\n"
                               "A: class=0x020000\\n\n"
                               "A: revision=0x02\\n\n"
                               "L: driver=../../../bus/pci/drivers/%s\n"
                               "L: iommu_group=../../../kernel/iommu_groups/%u\n"
                               "L: iommu=../../virtual/iommu/dmar%u\n",
                               dev, driver, 0x1500 + i % 256, bdf, 0x1500 + i % 256, 0x1500 + i % 256, driver,
                               group, unit);
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

/* Sorts samples; the median. */
static double median(double *samples, unsigned n) {
        qsort(samples, n, sizeof(double), compare_double);
        return samples[n / 2];
}

static long peak_rss_kib(void) {
        struct rusage ru;

        return getrusage(RUSAGE_SELF, &ru) < 0 ? -1 : ru.ru_maxrss;
}

/* Read calls so far (/proc/self/io's syscr): the file reads, which nothing between the library and the kernel adds to. */
static long read_calls(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/io", "re");
        char line[128];
        long n;

        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "syscr: %ld", &n) == 1)
                        return n;
        return -1;
}

static void print_load(const char *what) {
        _cleanup_fclose_ FILE *f = fopen("/proc/loadavg", "re");
        double l1, l5, l15;

        if (f && fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) == 3)
                printf("%s, load average %.2f %.2f %.2f on %ld CPUs:\n", what, l1, l5, l15,
                       sysconf(_SC_NPROCESSORS_ONLN));
        else
                printf("%s, load average unknown:\n", what);
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

static char *topology_json(const struct viommu_topology *t) {
        struct json_object *j = NULL;
        char *s;

        if (viommu_topology_to_json(t, &j) < 0)
                die("viommu_topology_to_json", "");
        s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
        if (!s)
                die("strdup", "JSON");
        return s;
}

static struct viommu_topology *enumerate(bool check_counts) {
        struct viommu_topology *t = NULL;
        int r;

        r = viommu_topology_new(&t);
        if (r < 0) {
                fprintf(stderr, "enumeration failed: %s\n", strerror(-r));
                exit(EXIT_FAILURE);
        }
        if (check_counts && (t->n_devices != n_devices || t->n_groups != n_groups || t->n_iommus != n_units ||
                             t->n_issues != 0)) {
                fprintf(stderr, "incomplete: %zu devices, %zu groups, %zu units, %zu issues%s%s\n",
                        t->n_devices, t->n_groups, t->n_iommus, t->n_issues,
                        t->n_issues ? "; first: " : "", t->n_issues ? t->issues[0] : "");
                exit(EXIT_FAILURE);
        }
        return t;
}

/* Full enumerations, then one uevent's update of devices spread over the tree; prints both. */
static void measure(const char *what, bool check_counts) {
        _cleanup_free_ double *enum_us = NULL, *json_us = NULL, *update_us = NULL;
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL, *fresh = NULL;
        _cleanup_free_ char *updated_json = NULL, *fresh_json = NULL;
        struct udev *udev;
        long rss_before, rss_enumerated, reads, update_reads;
        size_t n_enumerated, json_bytes = 0;
        unsigned n_updates;
        double enum_median;

        print_load(what);
        enum_us = calloc(n_iterations, sizeof(double));
        json_us = calloc(n_iterations, sizeof(double));
        if (!enum_us || !json_us)
                die("calloc", "samples");
        rss_before = peak_rss_kib();

        /* One run first, so that every measured one finds the dentries cached. */
        viommu_topology_free(enumerate(check_counts));
        reads = read_calls();
        for (unsigned i = 0; i < n_iterations; i++) {
                double start, mid;
                char *j;

                t = viommu_topology_free(t);
                start = now_us();
                t = enumerate(check_counts);
                mid = now_us();
                j = topology_json(t);
                json_us[i] = now_us() - mid;
                enum_us[i] = mid - start;
                json_bytes = strlen(j);
                free(j);
        }
        /* The JSON's reads are none; the enumerations' are per device. */
        reads = read_calls() - reads;
        rss_enumerated = peak_rss_kib();
        n_enumerated = t->n_devices;
        enum_median = median(enum_us, n_iterations);

        /* A "change" uevent of up to 256 devices spread over the tree, each from a fresh udev device as a monitor gives. */
        udev = udev_new();
        if (!udev)
                die("udev_new", "");
        n_updates = t->n_devices < 256 ? (unsigned) t->n_devices : 256;
        update_us = calloc(n_updates ?: 1, sizeof(double));
        if (!update_us)
                die("calloc", "samples");
        update_reads = read_calls();
        for (unsigned i = 0; i < n_updates; i++) {
                _cleanup_free_ char *syspath = pathf("/sys%s", t->devices[i * t->n_devices / n_updates]->devpath);
                struct udev_device *ud = udev_device_new_from_syspath(udev, syspath);
                double start;
                int r;

                if (!ud)
                        die("udev_device_new_from_syspath", syspath);
                start = now_us();
                r = viommu_topology_update_device(t, ud);
                update_us[i] = now_us() - start;
                udev_device_unref(ud);
                if (r < 0) {
                        fprintf(stderr, "update of %s failed: %s\n", syspath, strerror(-r));
                        exit(EXIT_FAILURE);
                }
        }
        update_reads = read_calls() - update_reads;
        udev_unref(udev);

        /* Nothing changed: the updated topology must be the fresh one. */
        fresh = enumerate(check_counts);
        updated_json = topology_json(t);
        fresh_json = topology_json(fresh);
        if (!streq(updated_json, fresh_json)) {
                fputs("the updated topology differs from a fresh enumeration\n", stderr);
                exit(EXIT_FAILURE);
        }

        printf("  enumerate: %zu devices in %.1f ms (median of %u; min %.1f, max %.1f)\n",
               n_enumerated, enum_median / 1e3, n_iterations, enum_us[0] / 1e3, enum_us[n_iterations - 1] / 1e3);
        printf("  to JSON: %zu bytes in %.1f ms (median of %u)\n",
               json_bytes, median(json_us, n_iterations) / 1e3, n_iterations);
        if (n_updates > 0) {
                double update_median = median(update_us, n_updates);

                printf("  uevent update: one device in %.0f us (median of %u; max %.0f us), full rescan %.1f ms\n",
                       update_median, n_updates, update_us[n_updates - 1], enum_median / 1e3);
        }
        if (reads >= 0 && n_enumerated > 0)
                printf("  file reads: %.1f per device per enumeration, %.1f per uevent update\n",
                       (double) reads / n_iterations / n_enumerated,
                       n_updates > 0 ? (double) update_reads / n_updates : 0.0);
        printf("  peak RSS %ld KiB enumerating (%ld KiB before)\n", rss_enumerated, rss_before);
}

/* The direct measurement: this program again, with root bound on /sys and no preload. */
static void measure_direct(const char *root) {
        char n[16], d[16], g[16], u[16];
        int status;
        pid_t pid;

        snprintf(n, sizeof(n), "%u", n_iterations);
        snprintf(d, sizeof(d), "%u", n_devices);
        snprintf(g, sizeof(g), "%u", n_groups);
        snprintf(u, sizeof(u), "%u", n_units);

        pid = testbed_spawn_bound(root, (char *[]) { (char *) "bench-topology", (char *) "-D", (char *) "-n", n,
                                                     (char *) "-d", d, (char *) "-g", g, (char *) "-u", u, NULL },
                                  -1);
        if (waitpid(pid, &status, 0) < 0)
                die("waitpid", "");
        if (WIFEXITED(status) && WEXITSTATUS(status) == TESTBED_NO_NAMESPACE) {
                puts("directly: not measured, no mount namespace of its own");
                return;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != EXIT_SUCCESS) {
                fputs("the direct measurement failed\n", stderr);
                exit(EXIT_FAILURE);
        }
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *root = NULL;
        bool keep = false, direct = false, counts_given = false;
        UMockdevTestbed *tb;
        double t0;
        int c;

        while ((c = getopt(argc, argv, "n:d:g:u:kDh")) >= 0)
                switch (c) {
                case 'n': n_iterations = parse_count(optarg); break;
                case 'd': n_devices = parse_count(optarg); counts_given = true; break;
                case 'g': n_groups = parse_count(optarg); counts_given = true; break;
                case 'u': n_units = parse_count(optarg); counts_given = true; break;
                case 'k': keep = true; break;
                case 'D': direct = true; break;
                default:
                        fprintf(stderr, "usage: %s [-n ITERATIONS] [-d DEVICES] [-g GROUPS] [-u UNITS] [-k]\n"
                                        "       %s -D [-n ITERATIONS] [-d DEVICES -g GROUPS -u UNITS]\n",
                                argv[0], argv[0]);
                        return c == 'h' ? EXIT_SUCCESS : EXIT_FAILURE;
                }
        if (n_groups > n_devices || n_units > n_groups || n_devices > 255 * 256) {
                fputs("need UNITS <= GROUPS <= DEVICES <= 65280\n", stderr);
                return EXIT_FAILURE;
        }

        if (direct) {
                measure("directly (no preload: what the library and libudev cost)", counts_given);
                return EXIT_SUCCESS;
        }

        testbed_reexec(argv);
        tb = testbed_new();
        root = testbed_sys_dir(tb);

        t0 = now_us();
        make_testbed(tb, root);
        printf("tree: %u PCI devices, %u groups, %u units in %s (written in %.0f ms)\n",
               n_devices, n_groups, n_units, root, (now_us() - t0) / 1e3);

        measure("through umockdev (its LD_PRELOAD path redirection, which a host does not pay)", true);
        measure_direct(root);

        if (keep)
                printf("kept %s\n", root);
        else
                testbed_free(tb);

        return EXIT_SUCCESS;
}
