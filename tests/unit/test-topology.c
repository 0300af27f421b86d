/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Topology from sysfs, on umockdev testbeds: the recorded hosts under
 * tests/data/topology against their golden JSON and against known facts,
 * malformed trees made on the fly, and the live /sys of whatever machine runs
 * the test, and viommud.conf(5) rules matched against a recorded tree. The
 * program runs itself again under umockdev-wrapper.
 *
 * VIOMMU_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
 * VIOMMU_TEST_SRCDIR overrides the source directory compiled in.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <json-c/json.h>
#include <libudev.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

/* Not "config.h": that names autoconf's in the build directory. */
#include "daemon/config.h"
#include "testbed.h"
#include "util.h"
#include "viommu-topology.h"

#ifndef TOP_SRCDIR
#  define TOP_SRCDIR "."
#endif

#define JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char *srcdir(void) {
        const char *s = getenv("VIOMMU_TEST_SRCDIR");
        return isempty(s) ? TOP_SRCDIR : s;
}

/* Enumerates the testbed in place, as the daemon would. */
static struct viommu_topology *enumerate(void) {
        struct viommu_topology *t = NULL;

        assert_int_equal(viommu_topology_new(&t), 0);
        assert_non_null(t);
        return t;
}

static char *to_json_string(const struct viommu_topology *t) {
        struct json_object *j = NULL;
        char *s;

        assert_int_equal(viommu_topology_to_json(t, &j), 0);
        assert_int_equal(asprintf(&s, "%s\n", json_object_to_json_string_ext(j, JSON_FLAGS)) > 0, 1);
        json_object_put(j);
        return s;
}

static char *read_file(const char *path) {
        _cleanup_fclose_ FILE *f = NULL;
        char *buf = NULL;
        size_t size = 0;
        ssize_t n;

        f = fopen(path, "re");
        if (!f)
                return NULL;
        n = getdelim(&buf, &size, '\0', f);
        if (n < 0) {
                free(buf);
                return strdup("");
        }
        return buf;
}

static void write_file(const char *path, const char *content) {
        _cleanup_fclose_ FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_true(fputs(content, f) >= 0);
}

/* Says where the first difference is, so a failure reads like a diff hunk. */
static void compare_golden(const char *name, const char *actual) {
        _cleanup_free_ char *golden_path = NULL, *golden = NULL;
        const char *a, *g;
        unsigned line = 1;

        assert_int_equal(asprintf(&golden_path, "%s/tests/data/topology/%s.json", srcdir(), name) > 0, 1);

        if (streq(getenv("VIOMMU_UPDATE_GOLDEN") ?: "", "1")) {
                write_file(golden_path, actual);
                print_message("updated %s\n", golden_path);
                return;
        }

        golden = read_file(golden_path);
        if (!golden)
                fail_msg("cannot read %s: %m (VIOMMU_UPDATE_GOLDEN=1 writes it)", golden_path);
        if (streq(golden, actual))
                return;

        for (a = actual, g = golden; *a && *a == *g; a++, g++)
                if (*a == '\n')
                        line++;
        while (a > actual && a[-1] != '\n')
                a--, g--;

        _cleanup_free_ char *actual_path = NULL;
        assert_int_equal(asprintf(&actual_path, "%s.actual.json", name) > 0, 1);
        write_file(actual_path, actual);

        fail_msg("%s differs from the enumeration at line %u:\n"
                 "-%.*s\n+%.*s\n"
                 "whole output in %s; diff -u %s %s\n"
                 "if the change is intended: VIOMMU_UPDATE_GOLDEN=1 make check TESTS=tests/unit/test-topology",
                 golden_path, line,
                 (int) strcspn(g, "\n"), g, (int) strcspn(a, "\n"), a,
                 actual_path, golden_path, actual_path);
}

static bool has_issue(char * const *issues, size_t n, const char *needle) {
        for (size_t i = 0; i < n; i++)
                if (strstr(issues[i], needle))
                        return true;
        return false;
}

static void dump_issues(const char *what, char * const *issues, size_t n) {
        for (size_t i = 0; i < n; i++)
                print_message("%s: %s\n", what, issues[i]);
}

/* ------------------------------------------------------ trees made on the fly */

/* A formatted path; the test dies rather than go on without it. */
_printf_(1, 2)
static char *pathf(const char *fmt, ...) {
        va_list ap;
        char *p;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&p, fmt, ap);
        va_end(ap);
        assert_true(r >= 0);
        return p;
}

/* The running test's testbed; tree_*() write below its sys directory, the root. */
static UMockdevTestbed *testbed = NULL;

static char *tree_new(void) {
        /* A failed test jumps past its cleanup. */
        testbed = testbed_free(testbed);
        testbed = testbed_new();
        return testbed_sys_dir(testbed);
}

static char *tree_path(const char *root, const char *path) {
        _cleanup_free_ char *full = pathf("%s/%s", root, path);

        for (char *p = full + strlen(root) + 1; (p = strchr(p, '/')); p++) {
                *p = 0;
                assert_true(mkdir(full, 0755) == 0 || errno == EEXIST);
                *p = '/';
        }
        return TAKE_PTR(full);
}

static void tree_file(const char *root, const char *path, const char *content) {
        _cleanup_free_ char *full = tree_path(root, path);

        write_file(full, content);
}

static void tree_file_bytes(const char *root, const char *path, const void *data, size_t size) {
        _cleanup_free_ char *full = tree_path(root, path);
        _cleanup_close_ int fd = -EBADF;

        fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
}

/* A relative link at path to target, both below root, the way sysfs has them. */
static void tree_link(const char *root, const char *path, const char *target) {
        _cleanup_free_ char *full = tree_path(root, path), *rel = strdup("");

        for (const char *p = path; (p = strchr(p, '/')); p++) {
                char *r = pathf("../%s", rel);
                free(rel);
                rel = r;
        }
        _cleanup_free_ char *target_rel = pathf("%s%s", rel, target);
        assert_int_equal(symlink(target_rel, full), 0);
}

/* A PCI device as the kernel makes one; the test may spoil it afterwards. */
static void tree_pci(const char *root, const char *bdf, const char *driver, int group) {
        _cleanup_free_ char *record = NULL, *drv = NULL, *grp = NULL;

        if (driver)
                drv = pathf("E: DRIVER=%s\nL: driver=../../../bus/pci/drivers/%s\n", driver, driver);
        if (group >= 0)
                grp = pathf("L: iommu_group=../../../kernel/iommu_groups/%i\n", group);
        record = pathf("P: /devices/pci0000:00/%s\n"
                       "E: SUBSYSTEM=pci\n"
                       "A: vendor=0x1234\\n\n"
                       "A: device=0x11e8\\n\n"
                       "A: subsystem_vendor=0x1af4\\n\n"
                       "A: subsystem_device=0x1100\\n\n"
                       "A: class=0x00ff00\\n\n"
                       "A: revision=0x10\\n\n"
                       "%s%s\n",
                       bdf, drv ?: "", grp ?: "");
        testbed_add(testbed, record);
}

static void tree_group(const char *root, unsigned id, const char *type, const char *regions, const char *member) {
        _cleanup_free_ char *m = member ? pathf("devices/pci0000:00/%s", member) : NULL;

        testbed_add_group(testbed, id, type, regions, m);
}

static void tree_free(char *root) {
        if (!root)
                return;
        testbed = testbed_free(testbed);
        free(root);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, tree_free)

/*
 * A recorded host, enumerated on a testbed of its own. The names from the
 * hardware database are the build host's, so they are left out.
 */
static struct viommu_topology *enumerate_recorded(const char *name) {
        _cleanup_(tree_freep) char *root = tree_new();
        struct viommu_topology *t;

        testbed_add_host(testbed, srcdir(), name);
        t = enumerate();
        for (size_t i = 0; i < t->n_devices; i++) {
                t->devices[i]->pci.vendor_name = mfree(t->devices[i]->pci.vendor_name);
                t->devices[i]->pci.device_name = mfree(t->devices[i]->pci.device_name);
        }
        return t;
}

/* ------------------------------------------------------------ recorded hosts */

static void test_vtd_golden(void **state) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = enumerate_recorded("vtd-host");
        _cleanup_free_ char *json = to_json_string(t);

        compare_golden("vtd-host", json);
}

static void test_vtd_facts(void **state) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = enumerate_recorded("vtd-host");
        const struct viommu_topology_device *d, *d2;
        const struct viommu_topology_group *g;
        const struct viommu_topology_iommu *u;

        dump_issues("vtd-host", t->issues, t->n_issues);
        assert_int_equal(t->n_issues, 0);
        assert_int_equal(t->n_iommus, 2);
        assert_int_equal(t->n_groups, 9);
        assert_int_equal(t->n_devices, 13);

        /* The device given to vfio-pci, by full and short BDF. */
        assert_int_equal(viommu_topology_find_pci_device(t, "0000:01:00.0", &d), 0);
        assert_int_equal(viommu_topology_find_pci_device(t, "01:00.0", &d2), 0);
        assert_ptr_equal(d, d2);
        assert_string_equal(d->driver, "vfio-pci");
        assert_string_equal(d->bus, "pci");
        assert_string_equal(d->devpath, "/devices/pci0000:00/0000:00:01.0/0000:01:00.0");
        assert_string_equal(d->vfio_cdev, "/dev/vfio/devices/vfio0");
        assert_true(d->vfio_devnum == makedev(237, 0));
        assert_int_equal(d->iommu_group, 7);
        assert_string_equal(d->iommu, "dmar1");
        assert_int_equal(d->pci.vendor, 0x8086);
        assert_int_equal(d->pci.device, 0x1592);
        assert_int_equal(d->pci.class_code, 0x020000);
        assert_int_equal(d->pci.bus, 1);
        assert_true(d->pci.caps.known);
        assert_true(d->pci.caps.ats);
        assert_false(d->pci.caps.ats_enabled);
        assert_false(d->pci.caps.pasid);
        assert_false(d->pci.caps.pri);
        assert_int_equal(d->n_issues, 0);

        /* The integrated GPU: ATS, PRI and PASID. */
        assert_int_equal(viommu_topology_find_pci_device(t, "0000:00:02.0", &d), 0);
        assert_string_equal(d->driver, "i915");
        assert_null(d->vfio_cdev);
        assert_true(d->pci.caps.known);
        assert_true(d->pci.caps.ats);
        assert_int_equal(d->pci.caps.ats_queue_depth, 32);
        assert_true(d->pci.caps.pasid);
        assert_int_equal(d->pci.caps.pasid_width, 14);
        assert_true(d->pci.caps.pri);
        assert_int_equal(d->pci.caps.pri_max_requests, 0x8000);

        /* Extended config space present but empty, and absent (256 bytes). */
        assert_int_equal(viommu_topology_find_pci_device(t, "0000:00:00.0", &d), 0);
        assert_null(d->driver);
        assert_true(d->pci.caps.known);
        assert_false(d->pci.caps.ats);
        assert_int_equal(viommu_topology_find_pci_device(t, "0000:00:1f.0", &d), 0);
        assert_false(d->pci.caps.known);

        assert_int_equal(viommu_topology_find_pci_device(t, "0000:09:00.0", &d), -ENOENT);
        assert_int_equal(viommu_topology_find_pci_device(t, "00:02", &d), -EINVAL);
        assert_int_equal(viommu_topology_find_pci_device(t, "0000:00:20.0", &d), -EINVAL);
        assert_int_equal(viommu_topology_find_device(t, "pci", "0000:00:17.0", &d), 0);
        assert_string_equal(d->driver, "ahci");
        assert_int_equal(viommu_topology_find_device(t, "platform", "0000:00:17.0", &d), -ENOENT);

        /* The SATA controller's group: an RMRR that must stay mapped, then MSI. */
        assert_int_equal(viommu_topology_find_group(t, 5, &g), 0);
        assert_string_equal(g->type, "DMA");
        assert_true(g->regions_known);
        assert_int_equal(g->n_regions, 2);
        assert_int_equal(g->regions[0].start, 0x6f000000);
        assert_int_equal(g->regions[0].end, 0x6f7fffff);
        assert_int_equal(g->regions[0].type, VIOMMU_REGION_DIRECT);
        assert_int_equal(g->regions[1].start, 0xfee00000);
        assert_int_equal(g->regions[1].end, 0xfeefffff);
        assert_int_equal(g->regions[1].type, VIOMMU_REGION_MSI);

        assert_int_equal(viommu_topology_find_group(t, 4, &g), 0);
        assert_int_equal(g->n_devices, 2);
        assert_string_equal(g->devices[0], "0000:00:14.0");
        assert_string_equal(g->devices[1], "0000:00:14.2");
        assert_int_equal(g->regions[0].type, VIOMMU_REGION_DIRECT_RELAXABLE);
        assert_int_equal(viommu_topology_find_group(t, 6, &g), 0);
        assert_int_equal(g->n_devices, 4);
        assert_int_equal(viommu_topology_find_group(t, 9, &g), -ENOENT);

        assert_int_equal(viommu_topology_find_iommu(t, "dmar1", &u), 0);
        assert_int_equal(u->kind, VIOMMU_IOMMU_KIND_INTEL_VTD);
        assert_true(u->has_vtd);
        assert_true(u->has_address);
        assert_int_equal(u->address, 0xfed91000);
        assert_int_equal(u->vtd.version_major, 1);
        assert_int_equal(u->vtd.cap, 0x9d2008c40660462);
        assert_int_equal(u->vtd.domains_supported, 256);
        assert_int_equal(u->vtd.mgaw, 39);
        assert_true(u->vtd.scalable_mode);
        assert_true(u->vtd.nested);
        assert_true(u->vtd.dirty_tracking);
        assert_int_equal(u->vtd.pasid_bits, 20);
        assert_int_equal(u->n_devices, 12);
        assert_int_equal(viommu_topology_find_iommu(t, "dmar0", &u), 0);
        assert_false(u->vtd.nested);
        assert_int_equal(u->n_devices, 1);
        assert_null(u->parent);
        assert_int_equal(viommu_topology_find_iommu(t, "dmar2", &u), -ENOENT);
}

static void test_smmuv3_golden(void **state) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = enumerate_recorded("smmuv3-host");
        _cleanup_free_ char *json = to_json_string(t);

        compare_golden("smmuv3-host", json);
}

static void test_smmuv3_facts(void **state) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = enumerate_recorded("smmuv3-host");
        const struct viommu_topology_device *d;
        const struct viommu_topology_group *g;
        const struct viommu_topology_iommu *u;

        dump_issues("smmuv3-host", t->issues, t->n_issues);
        assert_int_equal(t->n_issues, 0);
        assert_int_equal(t->n_iommus, 2);
        assert_int_equal(t->n_groups, 6);
        assert_int_equal(t->n_devices, 7);

        assert_int_equal(viommu_topology_find_iommu(t, "smmu3.0x0000000148000000", &u), 0);
        assert_int_equal(u->kind, VIOMMU_IOMMU_KIND_ARM_SMMU_V3);
        assert_true(u->has_address);
        assert_int_equal(u->address, 0x148000000);
        assert_string_equal(u->parent, "arm-smmu-v3.0.auto");
        assert_string_equal(u->parent_driver, "arm-smmu-v3");
        assert_false(u->has_vtd);
        assert_int_equal(u->n_devices, 5);

        /* Platform devices are found through their groups and units. */
        assert_int_equal(viommu_topology_find_device(t, "platform", "HISI0162:01", &d), 0);
        assert_string_equal(d->driver, "hisi_sas_v2_hw");
        assert_int_equal(d->iommu_group, 0);
        assert_string_equal(d->iommu, "smmu3.0x00000000a0040000");
        assert_false(d->is_pci);
        assert_int_equal(viommu_topology_find_device(t, NULL, "HISI00B2:00", &d), 0);
        assert_int_equal(viommu_topology_find_device(t, NULL, "arm-smmu-v3.0.auto", &d), -ENOENT);

        assert_int_equal(viommu_topology_find_pci_device(t, "0000:02:00.0", &d), 0);
        assert_string_equal(d->vfio_cdev, "/dev/vfio/devices/vfio0");
        assert_true(d->vfio_devnum == makedev(511, 0));
        assert_int_equal(viommu_topology_find_pci_device(t, "0000:01:00.1", &d), 0);
        assert_true(d->pci.caps.ats);
        assert_false(d->pci.caps.ats_page_aligned);

        assert_int_equal(viommu_topology_find_group(t, 2, &g), 0);
        assert_string_equal(g->type, "DMA-FQ");
        assert_int_equal(g->n_devices, 2);
        assert_int_equal(g->n_regions, 1);
        assert_int_equal(g->regions[0].start, 0x8000000);
        assert_int_equal(g->regions[0].end, 0x80fffff);
        assert_int_equal(g->regions[0].type, VIOMMU_REGION_MSI);
}

static void test_mock_golden(void **state) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = enumerate_recorded("mock-host");
        _cleanup_free_ char *json = to_json_string(t);

        compare_golden("mock-host", json);
}

static void test_mock_facts(void **state) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = enumerate_recorded("mock-host");
        const struct viommu_topology_device *d;
        const struct viommu_topology_group *g;

        assert_int_equal(t->n_issues, 0);
        assert_int_equal(t->n_iommus, 1);
        assert_int_equal(t->iommus[0]->kind, VIOMMU_IOMMU_KIND_IOMMUFD_TEST);
        assert_null(t->iommus[0]->parent_driver);

        assert_int_equal(viommu_topology_find_device(t, "iommufd_mock", "iommufd_mock1", &d), 0);
        assert_int_equal(d->iommu_group, 1);
        assert_string_equal(d->iommu, "iommufd_selftest_iommu.0");
        assert_null(d->driver);

        assert_int_equal(viommu_topology_find_group(t, 0, &g), 0);
        assert_string_equal(g->type, "blocked");
        assert_true(g->regions_known);
        assert_int_equal(g->n_regions, 0);

        /* The VM's own devices are not behind any IOMMU. */
        assert_int_equal(viommu_topology_find_pci_device(t, "00:02.0", &d), 0);
        assert_int_equal(d->iommu_group, VIOMMU_TOPOLOGY_NO_GROUP);
        assert_null(d->iommu);
        assert_false(d->pci.caps.known);
}

/* ---------------------------------------------------------- malformed trees */

static void test_missing_type(void **state) {
        _cleanup_(tree_freep) char *root = tree_new();
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        const struct viommu_topology_group *g;
        struct json_object *j = NULL, *v;

        tree_pci(root, "0000:00:03.0", "vfio-pci", 3);
        tree_group(root, 3, NULL, "", "0000:00:03.0");

        t = enumerate();
        assert_int_equal(viommu_topology_find_group(t, 3, &g), 0);
        assert_null(g->type);
        assert_true(has_issue(g->issues, g->n_issues, "type: No such file or directory"));
        assert_true(g->regions_known);

        assert_int_equal(viommu_topology_group_to_json(g, &j), 0);
        assert_true(json_object_object_get_ex(j, "type", &v));
        assert_null(v);
        assert_true(json_object_object_get_ex(j, "issues", &v));
        json_object_put(j);
}

static void test_bad_regions(void **state) {
        _cleanup_(tree_freep) char *root = tree_new();
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        const struct viommu_topology_group *g;
        struct json_object *j = NULL, *v;

        tree_group(root, 0, "DMA\n", "0x00000000fee00000 0x00000000feefffff msi\ngarbage here\n", NULL);
        tree_group(root, 1, "DMA\n", "0x0000000000002000 0x0000000000001000 direct\n", NULL);
        tree_group(root, 2, "DMA\n", "0xfee00000 0xfeefffff msi extra\n", NULL);
        tree_group(root, 3, "DMA\n", "0x00000000fee00000 0x00000000feefffff msi\n"
                                     "0x000000fd00000000 0x000000ffffffffff reserved\n"
                                     "0x0000000000100000 0x00000000001fffff fancy-new-type\n", NULL);
        tree_group(root, 4, "identity\n", NULL, NULL);
        tree_group(root, 5, "DMA\n", "fee00000 feefffff msi\n", NULL);
        tree_group(root, 6, "DMA\n", "0x-1 0x10 msi\n", NULL);
        /* A page of regions: the kernel cut the rest, maybe in the last
         * line's type ("direct-relaxable" read as "direct"). */
        {
                char regions[4096 + 1];
                size_t n = 0;

                while (n + 42 < 4096)
                        n += (size_t) snprintf(regions + n, sizeof(regions) - n, "0x%016zx 0x%016zx msi\n",
                                               n << 12, (n << 12) + 0xfff);
                memcpy(regions + n, "0x0000000000100000 0x00000000001fffff direct", 4096 - n);
                regions[4095] = 0;      /* the newline udev takes off */
                tree_group(root, 7, "DMA\n", regions, NULL);
        }

        t = enumerate();
        assert_int_equal(t->n_groups, 8);
        assert_int_equal(viommu_topology_find_group(t, 7, &g), 0);
        assert_false(g->regions_known);
        assert_true(has_issue(g->issues, g->n_issues, "reserved_regions: a page long, so cut short by the kernel"));

        assert_int_equal(viommu_topology_find_group(t, 0, &g), 0);
        assert_false(g->regions_known);
        assert_int_equal(g->n_regions, 0);
        assert_true(has_issue(g->issues, g->n_issues, "reserved_regions: line 2: cannot parse"));
        assert_int_equal(viommu_topology_group_to_json(g, &j), 0);
        assert_true(json_object_object_get_ex(j, "reserved_regions", &v));
        assert_null(v);
        json_object_put(j);

        for (unsigned id = 1; id <= 6; id++) {
                if (id == 3)
                        continue;
                assert_int_equal(viommu_topology_find_group(t, id, &g), 0);
                assert_false(g->regions_known);
                assert_int_equal(g->n_issues, 1);
        }

        /* A type this library does not know is kept, and said so. */
        assert_int_equal(viommu_topology_find_group(t, 3, &g), 0);
        assert_true(g->regions_known);
        assert_int_equal(g->n_regions, 3);
        assert_int_equal(g->regions[1].type, VIOMMU_REGION_RESERVED);
        assert_int_equal(g->regions[1].end, 0xffffffffffULL);
        assert_int_equal(g->regions[2].type, VIOMMU_REGION_UNKNOWN);
        assert_true(has_issue(g->issues, g->n_issues, "unknown type \"fancy-new-type\""));

        assert_int_equal(viommu_topology_find_group(t, 4, &g), 0);
        assert_string_equal(g->type, "identity");
        assert_true(has_issue(g->issues, g->n_issues, "reserved_regions: No such file or directory"));
}

static void test_dangling_links(void **state) {
        _cleanup_(tree_freep) char *root = tree_new();
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        const struct viommu_topology_device *d;
        struct json_object *j = NULL, *v;
        _cleanup_free_ char *p1 = NULL, *p2 = NULL;

        tree_pci(root, "0000:00:03.0", "vfio-pci", 9);          /* group 9 does not exist */
        tree_pci(root, "0000:00:04.0", NULL, 1);
        tree_group(root, 1, "DMA\n", "", "0000:00:04.0");
        tree_link(root, "devices/pci0000:00/0000:00:04.0/iommu", "devices/virtual/iommu/dmar7");
        tree_link(root, "bus/pci/devices/0000:00:05.0", "devices/pci0000:00/0000:00:05.0");
        tree_link(root, "kernel/iommu_groups/1/devices/0000:00:06.0", "devices/pci0000:00/0000:00:06.0");
        /* Links that leave the root, and one that is no group. */
        tree_pci(root, "0000:00:07.0", NULL, -1);
        p1 = pathf("%s/devices/pci0000:00/0000:00:07.0/iommu_group", root);
        assert_int_equal(symlink("../../../../../../../../../../../../../../../../kernel/iommu_groups/1", p1), 0);
        tree_pci(root, "0000:00:08.0", NULL, -1);
        tree_link(root, "devices/pci0000:00/0000:00:08.0/iommu_group", "devices/pci0000:00");
        p2 = pathf("%s/bus/pci/devices/0000:00:09.0", root);
        assert_int_equal(symlink("/sys/devices/pci0000:00/0000:00:09.0", p2), 0);

        t = enumerate();
        dump_issues("topology", t->issues, t->n_issues);
        assert_int_equal(t->n_devices, 4);
        assert_true(has_issue(t->issues, t->n_issues, "/kernel/iommu_groups/1/devices/0000:00:06.0: linked to, but missing"));

        assert_int_equal(viommu_topology_find_pci_device(t, "0000:00:03.0", &d), 0);
        assert_int_equal(d->iommu_group, VIOMMU_TOPOLOGY_GROUP_UNKNOWN);
        assert_string_equal(d->driver, "vfio-pci");
        assert_true(has_issue(d->issues, d->n_issues, "iommu_group: links to ../../../kernel/iommu_groups/9, which does not exist"));
        assert_int_equal(viommu_topology_device_to_json(d, &j), 0);
        assert_true(json_object_object_get_ex(j, "iommu_group", &v));
        assert_null(v);
        json_object_put(j);

        assert_int_equal(viommu_topology_find_pci_device(t, "0000:00:04.0", &d), 0);
        assert_int_equal(d->iommu_group, 1);
        assert_null(d->iommu);
        assert_true(has_issue(d->issues, d->n_issues, "iommu: links to ../../../devices/virtual/iommu/dmar7, which does not exist"));

        assert_int_equal(viommu_topology_find_pci_device(t, "0000:00:07.0", &d), 0);
        assert_int_equal(d->iommu_group, VIOMMU_TOPOLOGY_GROUP_UNKNOWN);
        assert_int_equal(viommu_topology_find_pci_device(t, "0000:00:08.0", &d), 0);
        assert_int_equal(d->iommu_group, VIOMMU_TOPOLOGY_GROUP_UNKNOWN);
        assert_true(has_issue(d->issues, d->n_issues, "not to an IOMMU group"));
}

static void test_bad_attributes(void **state) {
        _cleanup_(tree_freep) char *root = tree_new();
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        _cleanup_free_ char *json = NULL;
        const struct viommu_topology_device *d;
        uint8_t config[4096] = {};
        _cleanup_free_ char *p = NULL;

        tree_pci(root, "0000:00:03.0", "vfio-pci", -1);
        tree_file(root, "devices/pci0000:00/0000:00:03.0/vendor", "garbage\n");
        tree_file(root, "devices/pci0000:00/0000:00:03.0/device", "0x123456\n");
        /* A VFIO cdev whose uevent names the node but gives no number. */
        testbed_add(testbed, "P: /devices/pci0000:00/0000:00:03.0/vfio-dev/vfio3\n"
                             "E: SUBSYSTEM=vfio-dev\n"
                             "E: DEVNAME=vfio/devices/vfio3\n"
                             "A: dev=not-a-devnum\\n\n");
        /* An ATS capability whose next pointer is itself. */
        config[0x08] = 0x10;
        config[0x100] = 0x0f;
        config[0x102] = 0x01;
        config[0x103] = 0x10;
        tree_file_bytes(root, "devices/pci0000:00/0000:00:03.0/config", config, sizeof(config));

        /* Config space cut short, and a vendor file that is not there. */
        tree_pci(root, "0000:00:04.0", NULL, -1);
        tree_file_bytes(root, "devices/pci0000:00/0000:00:04.0/config", config, 0x102);
        p = pathf("%s/devices/pci0000:00/0000:00:04.0/vendor", root);
        assert_int_equal(unlink(p), 0);

        /* Config space of all ones, as a device gone from the bus answers. */
        tree_pci(root, "0000:00:05.0", NULL, -1);
        memset(config, 0xff, sizeof(config));
        tree_file_bytes(root, "devices/pci0000:00/0000:00:05.0/config", config, sizeof(config));

        /* A PCI device whose name is no address, and one without subsystem link. */
        tree_file(root, "devices/pci0000:00/weird/uevent", "");
        tree_file(root, "devices/pci0000:00/weird/vendor", "0x1234\n");
        tree_link(root, "devices/pci0000:00/weird/subsystem", "bus/pci");
        tree_link(root, "bus/pci/devices/weird", "devices/pci0000:00/weird");
        tree_file(root, "devices/pci0000:00/orphan/uevent", "");
        tree_link(root, "bus/pci/devices/orphan", "devices/pci0000:00/orphan");
        tree_group(root, 1, "DMA\n", "", "orphan");

        t = enumerate();
        assert_int_equal(t->n_devices, 5);

        assert_int_equal(viommu_topology_find_pci_device(t, "0000:00:03.0", &d), 0);
        assert_int_equal(d->pci.vendor, -1);
        assert_int_equal(d->pci.device, -1);
        assert_int_equal(d->pci.revision, 0x10);
        assert_true(has_issue(d->issues, d->n_issues, "vendor: cannot parse \"garbage\""));
        assert_true(has_issue(d->issues, d->n_issues, "device: cannot parse \"0x123456\""));
        assert_string_equal(d->vfio_cdev, "/dev/vfio/devices/vfio3");
        assert_true(d->vfio_devnum == 0);
        assert_true(has_issue(d->issues, d->n_issues, "vfio-dev/vfio3: no device number"));
        assert_true(d->pci.caps.known);
        assert_true(d->pci.caps.ats);

        assert_int_equal(viommu_topology_find_pci_device(t, "0000:00:04.0", &d), 0);
        assert_int_equal(d->pci.vendor, -1);
        assert_true(has_issue(d->issues, d->n_issues, "vendor: No such file or directory"));
        assert_false(d->pci.caps.known);

        assert_int_equal(viommu_topology_find_pci_device(t, "0000:00:05.0", &d), 0);
        assert_false(d->pci.caps.known);
        /* Not config space's all ones: the revision the kernel read. */
        assert_int_equal(d->pci.revision, 0x10);

        assert_int_equal(viommu_topology_find_device(t, "pci", "weird", &d), 0);
        assert_true(d->is_pci);
        assert_true(has_issue(d->issues, d->n_issues, "\"weird\" is not a PCI address"));

        /* A device whose bus is unknown sorts last. */
        d = t->devices[t->n_devices - 1];
        assert_string_equal(d->name, "orphan");
        assert_null(d->bus);
        assert_false(d->is_pci);
        assert_true(has_issue(d->issues, d->n_issues, "subsystem: No such file or directory"));

        /* Whatever sysfs said, the JSON is whole. */
        json = to_json_string(t);
        assert_non_null(strstr(json, "\"vendor\": null"));
        assert_non_null(strstr(json, "\"major\": null"));
        assert_non_null(strstr(json, "\"bus\": null"));
}

/* Device bdf of t has these IDs, and sysfs told all of them. */
static void assert_pci_ids(const struct viommu_topology *t, const char *bdf, int32_t vendor, int32_t device,
                           int32_t subsystem_vendor, int32_t subsystem_device, int32_t class_code, int32_t revision) {
        const struct viommu_topology_device *d;

        assert_int_equal(viommu_topology_find_pci_device(t, bdf, &d), 0);
        assert_int_equal(d->pci.vendor, vendor);
        assert_int_equal(d->pci.device, device);
        assert_int_equal(d->pci.subsystem_vendor, subsystem_vendor);
        assert_int_equal(d->pci.subsystem_device, subsystem_device);
        assert_int_equal(d->pci.class_code, class_code);
        assert_int_equal(d->pci.revision, revision);
        assert_int_equal(d->n_issues, 0);
}

/* The IDs come from the uevent (the kernel's view, a VF's too); the
 * attributes only when it lacks them or they do not parse. */
static void test_pci_ids_from_uevent(void **state) {
        _cleanup_(tree_freep) char *root = tree_new();
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        static const char * const attrs[] = { "vendor", "device", "subsystem_vendor", "subsystem_device", "class" };

        testbed_add(testbed, "P: /devices/pci0000:00/0000:00:06.0\n"
                             "E: SUBSYSTEM=pci\n"
                             "E: PCI_ID=8086:154C\n"
                             "E: PCI_SUBSYS_ID=8086:0000\n"
                             "E: PCI_CLASS=20000\n"
                             "A: revision=0x01\\n\n");
        /* Malformed in the uevent: the attributes tell. */
        testbed_add(testbed, "P: /devices/pci0000:00/0000:00:07.0\n"
                             "E: SUBSYSTEM=pci\n"
                             "E: PCI_ID=8086\n"
                             "E: PCI_SUBSYS_ID=12345:0001\n"
                             "E: PCI_CLASS=0x1000000\n"
                             "A: vendor=0x1234\\n\n"
                             "A: device=0x11e8\\n\n"
                             "A: subsystem_vendor=0x1af4\\n\n"
                             "A: subsystem_device=0x1100\\n\n"
                             "A: class=0x00ff00\\n\n"
                             "A: revision=0x10\\n\n");
        /* The uevent's IDs and no attributes: read from the uevent, no file asked for. */
        for (size_t i = 0; i < ELEMENTSOF(attrs); i++) {
                _cleanup_free_ char *p = pathf("%s/devices/pci0000:00/0000:00:06.0/%s", root, attrs[i]);
                assert_true(access(p, F_OK) < 0 && errno == ENOENT);
        }

        t = enumerate();
        assert_int_equal(t->n_devices, 2);

        assert_pci_ids(t, "0000:00:06.0", 0x8086, 0x154c, 0x8086, 0, 0x020000, 1);
        assert_pci_ids(t, "0000:00:07.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00, 0x10);
}

static void test_units(void **state) {
        _cleanup_(tree_freep) char *root = tree_new();
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        _cleanup_free_ char *json = NULL;
        const struct viommu_topology_iommu *u;

        /* AMD-Vi: the unit hangs off the IOMMU's own PCI function. */
        tree_pci(root, "0000:00:00.2", NULL, -1);
        testbed_add(testbed, "P: /devices/pci0000:00/0000:00:00.2/iommu/ivhd0\n"
                             "E: SUBSYSTEM=iommu\n"
                             "A: amd-iommu/cap=190b0000\\n\n"
                             "A: amd-iommu/features=246577efa2254afa:0\\n\n"
                             "\n"
                             "P: /devices/pci0000:00/0000:00:00.3/iommu/ivhd1\n"
                             "E: SUBSYSTEM=iommu\n"
                             "A: amd-iommu/cap=40\\n\n"
                             "A: amd-iommu/features=58f77ef22294ade\\n\n"
                             "\n"
                             "P: /devices/pci0000:00/0000:00:00.4/iommu/ivhd2\n"
                             "E: SUBSYSTEM=iommu\n"
                             "A: amd-iommu/features=zz\\n\n"
                             "\n"
                             /* VT-d that shows only some of its registers. */
                             "P: /devices/virtual/iommu/dmar10\n"
                             "E: SUBSYSTEM=iommu\n"
                             "A: intel-iommu/version=1:0\\n\n"
                             "A: intel-iommu/ecap=f050da\\n\n"
                             "\n"
                             "P: /devices/virtual/iommu/dmar2\n"
                             "E: SUBSYSTEM=iommu\n"
                             "A: intel-iommu/version=x\\n\n");

        /* A directory rather than a link, an unknown kind, and a dangling link udev passes over. */
        tree_file(root, "class/iommu/handmade/uevent", "");
        tree_link(root, "class/iommu/handmade/subsystem", "class/iommu");
        tree_link(root, "class/iommu/gone", "devices/virtual/iommu/gone");

        t = enumerate();
        dump_issues("topology", t->issues, t->n_issues);
        assert_int_equal(t->n_iommus, 6);

        /* Natural order: dmar2 before dmar10. */
        assert_string_equal(t->iommus[0]->name, "dmar2");
        assert_string_equal(t->iommus[1]->name, "dmar10");

        assert_int_equal(viommu_topology_find_iommu(t, "ivhd0", &u), 0);
        assert_int_equal(u->kind, VIOMMU_IOMMU_KIND_AMD_VI);
        assert_true(u->has_amd_vi);
        assert_int_equal(u->amd_vi.cap, 0x190b0000);
        assert_int_equal(u->amd_vi.efr, 0x246577efa2254afaULL);
        assert_int_equal(u->amd_vi.efr2, 0);
        assert_string_equal(u->parent, "0000:00:00.2");
        assert_null(u->parent_driver);
        assert_int_equal(u->n_issues, 0);
        assert_int_equal(viommu_topology_find_iommu(t, "ivhd1", &u), 0);
        assert_int_equal(u->amd_vi.efr, 0x58f77ef22294adeULL);
        assert_int_equal(viommu_topology_find_iommu(t, "ivhd2", &u), 0);
        assert_int_equal(u->kind, VIOMMU_IOMMU_KIND_AMD_VI);
        assert_true(has_issue(u->issues, u->n_issues, "amd-iommu/cap: No such file or directory"));
        assert_true(has_issue(u->issues, u->n_issues, "amd-iommu/features: cannot parse \"zz\""));

        assert_int_equal(viommu_topology_find_iommu(t, "dmar10", &u), 0);
        assert_int_equal(u->kind, VIOMMU_IOMMU_KIND_INTEL_VTD);
        assert_false(u->has_address);
        assert_int_equal(u->vtd.ecap, 0xf050da);
        assert_int_equal(u->vtd.domains_supported, -1);
        assert_true(u->vtd.interrupt_remapping);
        assert_true(u->vtd.pass_through);
        assert_false(u->vtd.scalable_mode);
        assert_true(has_issue(u->issues, u->n_issues, "intel-iommu/cap: No such file or directory"));
        assert_true(has_issue(u->issues, u->n_issues, "intel-iommu/address: No such file or directory"));
        assert_int_equal(viommu_topology_find_iommu(t, "dmar2", &u), 0);
        assert_true(has_issue(u->issues, u->n_issues, "intel-iommu/version: cannot parse \"x\""));

        assert_int_equal(viommu_topology_find_iommu(t, "handmade", &u), 0);
        assert_int_equal(u->kind, VIOMMU_IOMMU_KIND_UNKNOWN);
        assert_string_equal(u->devpath, "/class/iommu/handmade");
        assert_int_equal(u->n_devices, 0);

        json = to_json_string(t);
        assert_non_null(strstr(json, "\"kind\": \"amd-vi\""));
        assert_non_null(strstr(json, "\"version\": null"));
        assert_non_null(strstr(json, "\"domains_supported\": null"));
}

static void test_order(void **state) {
        _cleanup_(tree_freep) char *root = tree_new();
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        const struct viommu_topology_device *d;
        static const char * const bdfs[] = { "0000:00:02.0", "0000:00:10.0", "0000:ff:1f.7", "10000:00:00.0" };

        /* Created out of order; a string sort would put 10000: before 0000:ff. */
        tree_pci(root, "10000:00:00.0", NULL, 10);
        tree_pci(root, "0000:ff:1f.7", NULL, 2);
        tree_pci(root, "0000:00:10.0", NULL, 1);
        tree_pci(root, "0000:00:02.0", NULL, 1);
        tree_group(root, 10, "DMA\n", "", "10000:00:00.0");
        tree_group(root, 2, "DMA\n", "", "0000:ff:1f.7");
        tree_group(root, 1, "DMA\n", "", "0000:00:10.0");
        tree_group(root, 1, NULL, NULL, "0000:00:02.0");

        t = enumerate();
        assert_int_equal(t->n_issues, 0);
        assert_int_equal(t->n_devices, ELEMENTSOF(bdfs));
        for (size_t i = 0; i < ELEMENTSOF(bdfs); i++)
                assert_string_equal(t->devices[i]->name, bdfs[i]);
        assert_int_equal(t->n_groups, 3);
        assert_int_equal(t->groups[0]->id, 1);
        assert_int_equal(t->groups[1]->id, 2);
        assert_int_equal(t->groups[2]->id, 10);
        assert_string_equal(t->groups[0]->devices[0], "0000:00:02.0");
        assert_string_equal(t->groups[0]->devices[1], "0000:00:10.0");

        assert_int_equal(viommu_topology_find_pci_device(t, "10000:00:00.0", &d), 0);
        assert_int_equal(d->pci.domain, 0x10000);
        assert_int_equal(d->iommu_group, 10);
        assert_int_equal(viommu_topology_find_pci_device(t, "FF:1F.7", &d), 0);
        assert_int_equal(d->pci.bus, 0xff);
        assert_int_equal(d->pci.slot, 0x1f);
        assert_int_equal(d->pci.function, 7);
}

static void test_roots(void **state) {
        _cleanup_(tree_freep) char *root = tree_new();
        struct viommu_topology *t = NULL;
        _cleanup_free_ char *json = NULL;

        assert_int_equal(viommu_topology_new(NULL), -EINVAL);

        /* An empty tree is a machine without IOMMU and without PCI. */
        assert_int_equal(viommu_topology_new(&t), 0);
        assert_int_equal(t->n_iommus + t->n_groups + t->n_devices + t->n_issues, 0);
        json = to_json_string(t);
        assert_non_null(strstr(json, "\"iommus\": ["));
        assert_non_null(strstr(json, "\"issues\": ["));
        viommu_topology_free(t);

        assert_null(viommu_topology_free(NULL));
        assert_null(viommu_topology_device_free(NULL));
        assert_int_equal(viommu_topology_find_group(NULL, 0, NULL), -EINVAL);
        assert_int_equal(viommu_topology_to_json(NULL, NULL), -EINVAL);
        assert_string_equal(viommu_region_type_to_string(VIOMMU_REGION_DIRECT_RELAXABLE), "direct-relaxable");
        assert_null(viommu_region_type_to_string(_VIOMMU_REGION_TYPE_MAX));
        assert_int_equal(viommu_region_type_from_string("msi"), VIOMMU_REGION_MSI);
        assert_int_equal(viommu_region_type_from_string(NULL), _VIOMMU_REGION_TYPE_INVALID);
        assert_string_equal(viommu_iommu_kind_to_string(VIOMMU_IOMMU_KIND_ARM_SMMU_V3), "arm-smmu-v3");
        assert_null(viommu_iommu_kind_to_string(_VIOMMU_IOMMU_KIND_INVALID));
}

/* ------------------------------------------------------------------ updates */

/* The topology brought up to date by uevents reads as one read afresh. */
static void assert_same_as_fresh(const struct viommu_topology *t) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *fresh = enumerate();
        _cleanup_free_ char *a = to_json_string(t), *b = to_json_string(fresh);

        assert_string_equal(a, b);
}

static struct udev_device *device_at(struct udev *udev, const char *devpath) {
        _cleanup_free_ char *syspath = pathf("/sys%s", devpath);
        struct udev_device *d = udev_device_new_from_syspath(udev, syspath);

        assert_non_null(d);
        return d;
}

/*
 * A host large enough for its devices to be read in shares, a thread each
 * (on a machine of two CPUs or more): every device reads as when read
 * alone, the shares' issues reach the topology, and the order holds.
 */
static void test_many_devices(void **state) {
        _cleanup_(tree_freep) char *root = tree_new();
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        _cleanup_free_ char *shares = NULL;
        struct json_object *j = NULL;
        struct udev *udev;
        const unsigned n = 768;
        int pipe_fds[2], status;
        pid_t pid;

        /* Two units, read by a thread of their own while the groups are read. */
        testbed_add(testbed, "P: /devices/virtual/iommu/dmar0\nE: SUBSYSTEM=iommu\n\n"
                             "P: /devices/virtual/iommu/dmar1\nE: SUBSYSTEM=iommu\n");
        for (unsigned i = 0; i < n; i++) {
                _cleanup_free_ char *dev = NULL, *link = NULL, *unit = pathf("devices/virtual/iommu/dmar%u", i % 2);
                char bdf[16];

                snprintf(bdf, sizeof(bdf), "0000:%02x:%02x.%x", i / 64, i / 8 % 8, i % 8);
                tree_pci(root, bdf, i % 3 == 0 ? "vfio-pci" : NULL, (int) (i / 16));
                tree_group(root, i / 16, "DMA\n", "", bdf);
                dev = pathf("devices/pci0000:00/%s", bdf);
                link = pathf("%s/devices/%s", unit, bdf);
                tree_link(root, link, dev);
                free(link);
                link = pathf("%s/iommu", dev);
                tree_link(root, link, unit);
        }
        /* Linked to from a group, but no device: the share that meets it says so. */
        tree_file(root, "devices/pci0000:00/husk/vendor", "0x1234\n");
        tree_link(root, "kernel/iommu_groups/3/devices/husk", "devices/pci0000:00/husk");
        /* A unit's device on no bus listed: only the units' thread finds it. And a unit's link to nothing. */
        testbed_add(testbed, "P: /devices/platform/offbus\nE: SUBSYSTEM=platform\n"
                             "L: iommu=../../virtual/iommu/dmar1\n");
        tree_link(root, "devices/virtual/iommu/dmar1/devices/offbus", "devices/platform/offbus");
        tree_link(root, "devices/virtual/iommu/dmar0/devices/ghost", "devices/pci0000:00/ghost");

        t = enumerate();
        print_message("%ld CPUs\n", sysconf(_SC_NPROCESSORS_ONLN));
        assert_int_equal(t->n_devices, n + 1);
        assert_int_equal(t->n_groups, n / 16);
        assert_int_equal(t->n_iommus, 2);
        assert_int_equal(t->iommus[0]->n_devices, n / 2 + 1);
        assert_int_equal(t->iommus[1]->n_devices, n / 2 + 1);
        assert_true(has_issue(t->issues, t->n_issues, "/devices/pci0000:00/husk: linked to, but not a device"));
        assert_true(has_issue(t->issues, t->n_issues, "/devices/virtual/iommu/dmar0/devices/ghost: linked to, but missing"));
        /* The bus sorts the devices: the platform's last. */
        assert_string_equal(t->devices[n]->name, "offbus");
        assert_string_equal(t->devices[n]->iommu, "dmar1");
        assert_int_equal(t->devices[n]->n_issues, 0);

        udev = udev_new();
        assert_non_null(udev);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(viommu_topology_device_freep) struct viommu_topology_device *alone = NULL;
                const struct viommu_topology_device *d = t->devices[i];
                struct json_object *a = NULL, *b = NULL;
                struct udev_device *ud;

                if (i > 0)
                        assert_true(strcmp(t->devices[i - 1]->name, d->name) < 0);
                assert_int_equal(d->iommu_group, (int) (i / 16));
                assert_string_equal(d->iommu, i % 2 ? "dmar1" : "dmar0");
                assert_int_equal(d->n_issues, 0);

                ud = device_at(udev, d->devpath);
                assert_int_equal(viommu_topology_device_new_from_udev(ud, &alone), 0);
                udev_device_unref(ud);
                assert_int_equal(viommu_topology_device_to_json(d, &a), 0);
                assert_int_equal(viommu_topology_device_to_json(alone, &b), 0);
                assert_string_equal(json_object_to_json_string(a), json_object_to_json_string(b));
                json_object_put(a);
                json_object_put(b);
        }
        udev_unref(udev);

        /*
         * Under umockdev the library reads in one thread. Read in shares, on
         * the testbed bound on /sys with no preload, it must read the same.
         */
        assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
        pid = testbed_spawn_bound(root, (char *[]) { (char *) "test-topology", (char *) "--topology-json", NULL },
                                  pipe_fds[1]);
        close(pipe_fds[1]);
        assert_int_equal(read_full_fd(pipe_fds[0], 64 << 20, &shares, NULL), 0);
        close(pipe_fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == TESTBED_NO_NAMESPACE)
                skip();
        assert_int_equal(WEXITSTATUS(status), EXIT_SUCCESS);
        assert_int_equal(viommu_topology_to_json(t, &j), 0);
        assert_string_equal(shares, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
}

/* The topology of the /sys this process sees, as JSON on stdout: test_many_devices()'s reader in shares. */
static int topology_json(void) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        struct json_object *j;

        if (viommu_topology_new(&t) < 0 || viommu_topology_to_json(t, &j) < 0)
                return EXIT_FAILURE;
        fputs(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), stdout);
        json_object_put(j);
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static void test_update(void **state) {
        _cleanup_(tree_freep) char *root = tree_new();
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        const struct viommu_topology_device *d;
        const struct viommu_topology_group *g;
        const struct viommu_topology_iommu *u;
        struct udev_device *ud, *vfio;
        struct udev *udev;
        _cleanup_free_ char *p = NULL;

        testbed_add_host(testbed, srcdir(), "vtd-host");
        t = enumerate();
        udev = udev_new();
        assert_non_null(udev);

        /* The NVMe drive goes: its group with it, and its unit forgets it. */
        ud = device_at(udev, "/devices/pci0000:00/0000:00:06.0/0000:02:00.0");
        testbed_remove_group(testbed, 8);
        p = pathf("%s/devices/virtual/iommu/dmar1/devices/0000:02:00.0", root);
        assert_int_equal(unlink(p), 0);
        testbed_remove_device(testbed, "/devices/pci0000:00/0000:00:06.0/0000:02:00.0");
        assert_int_equal(viommu_topology_update_device(t, ud), 0);
        udev_device_unref(ud);
        assert_int_equal(viommu_topology_find_pci_device(t, "0000:02:00.0", &d), -ENOENT);
        assert_int_equal(viommu_topology_find_group(t, 8, &g), -ENOENT);
        assert_int_equal(viommu_topology_find_iommu(t, "dmar1", &u), 0);
        assert_int_equal(u->n_devices, 11);
        assert_same_as_fresh(t);

        /* One comes in a group of its own, behind dmar1. */
        testbed_add(testbed, "P: /devices/pci0000:00/0000:00:06.0/0000:03:00.0\n"
                             "E: SUBSYSTEM=pci\n"
                             "A: vendor=0x144d\\n\n"
                             "A: device=0xa80a\\n\n"
                             "A: subsystem_vendor=0x144d\\n\n"
                             "A: subsystem_device=0xa801\\n\n"
                             "A: class=0x010802\\n\n"
                             "A: revision=0x00\\n\n"
                             "L: iommu=../../../virtual/iommu/dmar1\n"
                             "L: iommu_group=../../../../kernel/iommu_groups/12\n");
        testbed_add_group(testbed, 12, "DMA\n", "0x00000000fee00000 0x00000000feefffff msi\n",
                          "devices/pci0000:00/0000:00:06.0/0000:03:00.0");
        free(p);
        p = pathf("%s/devices/virtual/iommu/dmar1/devices/0000:03:00.0", root);
        assert_int_equal(symlink("../../../../pci0000:00/0000:00:06.0/0000:03:00.0", p), 0);
        ud = device_at(udev, "/devices/pci0000:00/0000:00:06.0/0000:03:00.0");
        assert_int_equal(viommu_topology_update_device(t, ud), 0);
        assert_int_equal(viommu_topology_find_pci_device(t, "03:00.0", &d), 0);
        assert_int_equal(d->iommu_group, 12);
        assert_string_equal(d->iommu, "dmar1");
        assert_null(d->vfio_cdev);
        assert_int_equal(viommu_topology_find_group(t, 12, &g), 0);
        assert_int_equal(g->n_devices, 1);
        assert_same_as_fresh(t);

        /* vfio-pci takes it: the cdev's event stands for the device. */
        free(p);
        p = pathf("%s/devices/pci0000:00/0000:00:06.0/0000:03:00.0/driver", root);
        assert_int_equal(symlink("../../../../bus/pci/drivers/vfio-pci", p), 0);
        testbed_add(testbed, "P: /devices/pci0000:00/0000:00:06.0/0000:03:00.0/vfio-dev/vfio1\n"
                             "E: SUBSYSTEM=vfio-dev\n"
                             "E: MAJOR=237\n"
                             "E: MINOR=1\n"
                             "E: DEVNAME=vfio/devices/vfio1\n");
        vfio = device_at(udev, "/devices/pci0000:00/0000:00:06.0/0000:03:00.0/vfio-dev/vfio1");
        assert_int_equal(viommu_topology_update_device(t, vfio), 0);
        udev_device_unref(vfio);
        assert_int_equal(viommu_topology_find_pci_device(t, "03:00.0", &d), 0);
        assert_string_equal(d->driver, "vfio-pci");
        assert_string_equal(d->vfio_cdev, "/dev/vfio/devices/vfio1");
        assert_true(d->vfio_devnum == makedev(237, 1));
        assert_same_as_fresh(t);

        /* A device of no bus the topology lists, behind no IOMMU, stays out. */
        testbed_add(testbed, "P: /devices/platform/serial8250\nE: SUBSYSTEM=platform\n");
        udev_device_unref(ud);
        ud = device_at(udev, "/devices/platform/serial8250");
        assert_int_equal(viommu_topology_update_device(t, ud), 0);
        assert_int_equal(viommu_topology_find_device(t, NULL, "serial8250", &d), -ENOENT);
        assert_int_equal(viommu_topology_update_device(NULL, ud), -EINVAL);
        udev_device_unref(ud);

        /* The kernel sends "remove" before it deletes the device's
         * directory: the event alone takes the device out. */
        {
                struct udev_monitor *mon = udev_monitor_new_from_netlink(udev, "udev");
                struct pollfd pfd = { .events = POLLIN };
                struct udev_device *ev;

                assert_non_null(mon);
                assert_int_equal(udev_monitor_filter_add_match_subsystem_devtype(mon, "pci", NULL), 0);
                assert_int_equal(udev_monitor_enable_receiving(mon), 0);
                testbed_uevent(testbed, "/devices/pci0000:00/0000:00:06.0/0000:03:00.0", "remove");
                pfd.fd = udev_monitor_get_fd(mon);
                assert_int_equal(poll(&pfd, 1, 5000), 1);
                ev = udev_monitor_receive_device(mon);
                assert_non_null(ev);
                assert_string_equal(udev_device_get_action(ev), "remove");
                assert_int_equal(access("/sys/devices/pci0000:00/0000:00:06.0/0000:03:00.0", F_OK), 0);
                assert_int_equal(viommu_topology_update_device(t, ev), 0);
                assert_int_equal(viommu_topology_find_pci_device(t, "03:00.0", &d), -ENOENT);
                udev_device_unref(ev);
                udev_monitor_unref(mon);
        }
        udev_unref(udev);
}

/* ------------------------------------------------------------- the live /sys */

/* What each tree must satisfy: groups and devices agree on membership. */
static void check_consistency(const struct viommu_topology *t) {
        for (size_t i = 0; i < t->n_devices; i++) {
                const struct viommu_topology_device *d = t->devices[i];
                const struct viommu_topology_group *g;
                bool found = false;

                if (d->iommu_group < 0)
                        continue;
                assert_int_equal(viommu_topology_find_group(t, d->iommu_group, &g), 0);
                for (size_t k = 0; k < g->n_devices; k++)
                        found = found || streq(g->devices[k], d->name);
                assert_true(found);
                if (d->iommu)
                        assert_int_equal(viommu_topology_find_iommu(t, d->iommu, NULL), 0);
        }
}

static void test_consistency(void **state) {
        static const char * const trees[] = { "vtd-host", "smmuv3-host", "mock-host" };

        for (size_t i = 0; i < ELEMENTSOF(trees); i++) {
                _cleanup_(viommu_topology_freep) struct viommu_topology *t = enumerate_recorded(trees[i]);
                check_consistency(t);
        }
}

static void test_live(void **state) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        _cleanup_free_ char *json = NULL;
        size_t n_pci = 0, n_vfio = 0;

        /* Build chroots may have no /sys at all. */
        if (access("/sys/devices", F_OK) < 0) {
                print_message("no /sys here\n");
                skip();
        }

        assert_int_equal(viommu_topology_new(&t), 0);
        json = to_json_string(t);

        for (size_t i = 0; i < t->n_devices; i++) {
                n_pci += t->devices[i]->is_pci;
                n_vfio += !!t->devices[i]->vfio_cdev;
        }
        print_message("live /sys: %zu IOMMU units, %zu groups, %zu devices (%zu PCI, %zu with a VFIO cdev), %zu issues\n",
                      t->n_iommus, t->n_groups, t->n_devices, n_pci, n_vfio, t->n_issues);
        dump_issues("live /sys", t->issues, t->n_issues);
        check_consistency(t);
}

static void test_live_udev(void **state) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        _cleanup_(viommu_topology_device_freep) struct viommu_topology_device *d = NULL;
        const struct viommu_topology_device *expected;
        struct udev_device *ud;
        struct udev *udev;

        if (access("/sys/devices", F_OK) < 0) {
                print_message("no /sys here\n");
                skip();
        }
        assert_int_equal(viommu_topology_new(&t), 0);
        if (t->n_devices == 0 || !t->devices[0]->bus) {
                print_message("no devices in /sys: nothing to compare\n");
                viommu_topology_free(TAKE_PTR(t)); /* skip() does not return */
                skip();
        }
        expected = t->devices[0];

        udev = udev_new();
        assert_non_null(udev);
        ud = udev_device_new_from_subsystem_sysname(udev, expected->bus, expected->name);
        assert_non_null(ud);

        assert_int_equal(viommu_topology_device_new_from_udev(ud, &d), 0);
        assert_string_equal(d->name, expected->name);
        assert_string_equal(d->devpath, expected->devpath);
        assert_string_equal(d->bus, expected->bus);
        assert_true(streq(d->driver ?: "", expected->driver ?: ""));
        assert_int_equal(d->iommu_group, expected->iommu_group);
        assert_int_equal(d->is_pci, expected->is_pci);
        assert_int_equal(d->pci.vendor, expected->pci.vendor);

        assert_int_equal(viommu_topology_device_new_from_udev(NULL, &d), -EINVAL);
        udev_device_unref(ud);
        udev_unref(udev);
}

/* viommud.conf(5) rules matched against devices read from a recorded tree. */
static void test_config_rules(void **state) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *error = NULL;
        const struct viommu_topology_device *nic, *nvme, *audio;
        UMockdevTestbed *tb = testbed_new();
        static const char rules[] =
                "{\"allow\": ["
                " {\"devices\": [{\"id\": \"8086:1592\"}], \"users\": [1000]},"
                " {\"devices\": [{\"pci\": \"02:00.0\"}], \"users\": [1001]},"
                " {\"devices\": [{\"group\": 6}], \"users\": [1002]}"
                "]}";

        testbed_add_host(tb, TOP_SRCDIR, "vtd-host");
        assert_int_equal(viommu_topology_new(&t), 0);
        testbed_free(tb);
        assert_int_equal(viommu_topology_find_pci_device(t, "0000:01:00.0", &nic), 0);
        assert_int_equal(viommu_topology_find_pci_device(t, "0000:02:00.0", &nvme), 0);
        assert_int_equal(viommu_topology_find_pci_device(t, "0000:00:1f.3", &audio), 0);

        assert_int_equal(config_parse(rules, strlen(rules), "test.conf", &c, &error), 0);
        assert_null(error);
        assert_int_equal(config_device_allowed(c, nic, 1000, NULL, 0, NULL), 1);
        assert_int_equal(config_device_allowed(c, nvme, 1000, NULL, 0, NULL), 0);
        assert_int_equal(config_device_allowed(c, nvme, 1001, NULL, 0, NULL), 1);
        assert_int_equal(config_device_allowed(c, audio, 1002, NULL, 0, NULL), 1);
        assert_int_equal(config_device_allowed(c, nic, 1002, NULL, 0, NULL), 0);
}

int main(int argc, char *argv[]) {
        if (argc == 2 && streq(argv[1], "--topology-json"))
                return topology_json();
        testbed_reexec(argv);

        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vtd_golden),
                cmocka_unit_test(test_vtd_facts),
                cmocka_unit_test(test_smmuv3_golden),
                cmocka_unit_test(test_smmuv3_facts),
                cmocka_unit_test(test_mock_golden),
                cmocka_unit_test(test_mock_facts),
                cmocka_unit_test(test_consistency),
                cmocka_unit_test(test_missing_type),
                cmocka_unit_test(test_bad_regions),
                cmocka_unit_test(test_dangling_links),
                cmocka_unit_test(test_bad_attributes),
                cmocka_unit_test(test_pci_ids_from_uevent),
                cmocka_unit_test(test_units),
                cmocka_unit_test(test_order),
                cmocka_unit_test(test_roots),
                cmocka_unit_test(test_many_devices),
                cmocka_unit_test(test_update),
                cmocka_unit_test(test_live),
                cmocka_unit_test(test_live_udev),
                cmocka_unit_test(test_config_rules),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
