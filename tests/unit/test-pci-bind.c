/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon/pci-bind.c on a sysfs of plain files and links in a temporary
 * directory: the checks before a bind (IOMMU group, boot VGA, interfaces
 * up, block devices held), and the sysfs writes of a bind, its undoing and
 * a give-back. What the kernel does with the writes is the VM's to prove
 * (tests/integration/bind.sh).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "pci-bind.h"
#include "util.h"

#define BDF "0000:01:00.0"
#define FN1 "0000:01:00.1"

static char root[] = "/tmp/test-pci-bind.XXXXXX";

static void mkdirs(const char *fmt, ...) _printf_(1, 2);
static void mkdirs(const char *fmt, ...) {
        char path[PATH_MAX], cmd[2 * PATH_MAX + 16];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(path, sizeof(path), fmt, ap);
        va_end(ap);
        snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", root, path);
        assert_int_equal(system(cmd), 0);
}

static void put(const char *rel, const char *text) {
        char path[PATH_MAX];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static char *get(const char *rel) {
        char path[PATH_MAX], *text = NULL;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        if (read_one_line_file(path, &text) < 0)
                return NULL;
        return text;
}

static void link_to(const char *rel, const char *target) {
        char path[2 * PATH_MAX], abs_target[2 * PATH_MAX];

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        snprintf(abs_target, sizeof(abs_target), "%s/%s", root, target);
        (void) unlink(path);
        assert_int_equal(symlink(abs_target, path), 0);
}

static void set_driver(const char *bdf, const char *driver) {
        char rel[PATH_MAX], target[PATH_MAX];

        snprintf(rel, sizeof(rel), "bus/pci/devices/%s/driver", bdf);
        if (!driver) {
                char path[2 * PATH_MAX];

                snprintf(path, sizeof(path), "%s/%s", root, rel);
                (void) unlink(path);
                return;
        }
        mkdirs("bus/pci/drivers/%s", driver);
        snprintf(target, sizeof(target), "bus/pci/drivers/%s", driver);
        link_to(rel, target);
}

/* BDF on e1000e, alone in IOMMU group 5, nothing in use; FN1 exists, in no group. */
static int setup(void **state) {
        assert_non_null(mkdtemp(root));
        mkdirs("bus/pci/devices/" BDF "/net/eth0");
        mkdirs("bus/pci/devices/" FN1);
        mkdirs("kernel/iommu_groups/5/devices");
        put("bus/pci/devices/" BDF "/boot_vga", "0\n");
        put("bus/pci/devices/" BDF "/net/eth0/flags", "0x1002\n");
        put("bus/pci/devices/" BDF "/driver_override", "(null)\n");
        put("bus/pci/drivers_probe", "");
        link_to("bus/pci/devices/" BDF "/iommu_group", "kernel/iommu_groups/5");
        link_to("kernel/iommu_groups/5/devices/" BDF, "bus/pci/devices/" BDF);
        set_driver(BDF, "e1000e");
        put("bus/pci/drivers/e1000e/bind", "");
        put("bus/pci/drivers/e1000e/unbind", "");
        mkdirs("bus/pci/drivers/vfio-pci");
        put("bus/pci/drivers/vfio-pci/unbind", "");
        return 0;
}

static int teardown(void **state) {
        char cmd[sizeof(root) + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
        strcpy(root, "/tmp/test-pci-bind.XXXXXX");
        return 0;
}

static int check(bool force, char **why) {
        free(*why);
        *why = NULL;
        return pci_bind_check(root, BDF, force, why);
}

static void test_bindable(void **state) {
        _cleanup_free_ char *why = NULL, *driver = NULL;

        assert_int_equal(pci_bind_driver(root, BDF, &driver), 0);
        assert_string_equal(driver, "e1000e");
        assert_int_equal(check(false, &why), 0);
        assert_null(why);
}

static void test_gone_and_no_iommu(void **state) {
        _cleanup_free_ char *why = NULL;
        char path[PATH_MAX];

        assert_int_equal(pci_bind_check(root, "0000:09:00.0", false, &why), -ENODEV);
        assert_non_null(strstr(why, "No PCI device 0000:09:00.0"));
        snprintf(path, sizeof(path), "%s/bus/pci/devices/" BDF "/iommu_group", root);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(check(true, &why), -EOPNOTSUPP);
        assert_non_null(strstr(why, "not behind an IOMMU"));
}

static void test_already_bound(void **state) {
        _cleanup_free_ char *why = NULL;

        set_driver(BDF, "vfio-pci");
        assert_int_equal(check(true, &why), -EALREADY);
        assert_non_null(strstr(why, "on vfio-pci already"));
}

static void test_group(void **state) {
        _cleanup_free_ char *why = NULL;

        link_to("kernel/iommu_groups/5/devices/" FN1, "bus/pci/devices/" FN1);
        /* No driver, or one that lets the group go: fine. */
        assert_int_equal(check(false, &why), 0);
        set_driver(FN1, "pcieport");
        assert_int_equal(check(false, &why), 0);
        set_driver(FN1, "vfio-pci");
        assert_int_equal(check(false, &why), 0);
        /* A host driver: refused, even forced, naming the device and driver. */
        set_driver(FN1, "snd_hda_intel");
        assert_int_equal(check(true, &why), -EXDEV);
        assert_non_null(strstr(why, FN1 " (snd_hda_intel)"));
}

static void test_host_uses(void **state) {
        _cleanup_free_ char *why = NULL;

        put("bus/pci/devices/" BDF "/boot_vga", "1\n");
        assert_int_equal(check(false, &why), -ETXTBSY);
        assert_non_null(strstr(why, "boot VGA"));
        assert_int_equal(check(true, &why), 0);
        put("bus/pci/devices/" BDF "/boot_vga", "0\n");

        put("bus/pci/devices/" BDF "/net/eth0/flags", "0x1003\n");
        assert_int_equal(check(false, &why), -ETXTBSY);
        assert_non_null(strstr(why, "network interface eth0 is up"));
        assert_int_equal(check(true, &why), 0);
        put("bus/pci/devices/" BDF "/net/eth0/flags", "0x1002\n");

        /* A partition below the controller, held by device-mapper. */
        mkdirs("bus/pci/devices/" BDF "/host0/target0/block/sda/sda1/holders/dm-0");
        mkdirs("bus/pci/devices/" BDF "/host0/target0/block/sda/holders");
        put("bus/pci/devices/" BDF "/host0/target0/block/sda/sda1/partition", "1\n");
        assert_int_equal(check(false, &why), -ETXTBSY);
        assert_non_null(strstr(why, "block device sda1 is held by dm-0"));
        /* Not a partition: a directory without "partition" is not looked at. */
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/bus/pci/devices/" BDF "/host0/target0/block/sda/sda1/partition", root);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(check(false, &why), 0);
}

static void test_bind_undone(void **state) {
        _cleanup_free_ char *override = NULL, *unbound = NULL, *probed = NULL, *rebound = NULL;

        /* Unbound and probed, vfio-pci did not take it (nothing moves the
         * link here, and it had none left): the bind is undone, the device
         * back on its driver. */
        set_driver(BDF, NULL);
        assert_int_equal(pci_bind_vfio(root, BDF, "e1000e"), -ENXIO);
        unbound = get("bus/pci/drivers/e1000e/unbind");
        probed = get("bus/pci/drivers_probe");
        override = get("bus/pci/devices/" BDF "/driver_override");
        rebound = get("bus/pci/drivers/e1000e/bind");
        assert_string_equal(unbound, BDF);
        assert_string_equal(probed, BDF);
        assert_string_equal(override, "");
        assert_string_equal(rebound, BDF);
}

static void test_bind_undone_still_bound(void **state) {
        _cleanup_free_ char *override = NULL, *rebound = NULL;

        /* Still on its driver (the unbind did not take): only the override goes. */
        assert_int_equal(pci_bind_vfio(root, BDF, "e1000e"), -ENXIO);
        override = get("bus/pci/devices/" BDF "/driver_override");
        rebound = get("bus/pci/drivers/e1000e/bind");
        assert_string_equal(override, "");
        assert_string_equal(rebound, "");
}

static void test_bind_gone(void **state) {
        assert_int_equal(pci_bind_vfio(root, "0000:09:00.0", NULL), -ENODEV);
}

static void test_give_back(void **state) {
        _cleanup_free_ char *unbound = NULL, *override = NULL, *bound = NULL, *probed = NULL;

        set_driver(BDF, "vfio-pci");
        put("bus/pci/devices/" BDF "/driver_override", "vfio-pci\n");
        assert_int_equal(pci_bind_give_back(root, BDF, "e1000e", true), 0);
        unbound = get("bus/pci/drivers/vfio-pci/unbind");
        override = get("bus/pci/devices/" BDF "/driver_override");
        bound = get("bus/pci/drivers/e1000e/bind");
        probed = get("bus/pci/drivers_probe");
        assert_string_equal(unbound, BDF);
        assert_string_equal(override, "");
        assert_string_equal(bound, BDF);
        /* The previous driver took it: no probe. */
        assert_string_equal(probed, "");
}

static void test_give_back_no_driver(void **state) {
        _cleanup_free_ char *bound = NULL, *probed = NULL;

        set_driver(BDF, "vfio-pci");
        assert_int_equal(pci_bind_give_back(root, BDF, NULL, false), 0);
        bound = get("bus/pci/drivers/e1000e/bind");
        probed = get("bus/pci/drivers_probe");
        assert_string_equal(bound, "");
        assert_string_equal(probed, "");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_bindable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_gone_and_no_iommu, setup, teardown),
                cmocka_unit_test_setup_teardown(test_already_bound, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group, setup, teardown),
                cmocka_unit_test_setup_teardown(test_host_uses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bind_undone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bind_undone_still_bound, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bind_gone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_give_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_give_back_no_driver, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
