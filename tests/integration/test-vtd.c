/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The paging flow of a VMM with a real vfio-pci device behind an emulated
 * VT-d: claimed, its fd handed out, attached to an IOAS and to a HWPT of its
 * own. The vtd profile, as the uid viommud.conf allows the device to.
 *
 *   test-vtd [vtd]
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static bool ranges_cover(sd_bus *bus, const char *ioas, uint64_t iova) {
        sd_bus_message *reply = CALL(bus, ioas, I_IOAS, "GetIOVARanges", NULL);
        uint64_t start, last;
        bool covered = false;

        assert_true(sd_bus_message_enter_container(reply, 'a', "(tt)") > 0);
        while (sd_bus_message_read(reply, "(tt)", &start, &last) > 0)
                if (start <= iova && iova <= last)
                        covered = true;
        sd_bus_message_unref(reply);
        return covered;
}

static bool reserved_region_listed(sd_bus *bus, const char *ioas, uint64_t start, uint64_t end, const char *type,
                                   const char *name) {
        sd_bus_message *reply = CALL(bus, ioas, I_IOAS, "GetReservedRegions", NULL);
        const char *t, *n;
        uint64_t s, e;
        bool found = false;

        assert_true(sd_bus_message_enter_container(reply, 'a', "(ttss)") > 0);
        while (sd_bus_message_read(reply, "(ttss)", &s, &e, &t, &n) > 0)
                if (s == start && e == end && streq(t, type) && streq(n, name))
                        found = true;
        sd_bus_message_unref(reply);
        return found;
}

/* The paging flow of a VMM with a real vfio-pci device behind an emulated
 * VT-d, as the uid viommud.conf allows the device to. */
static void test_vtd_paging_flow(void **state) {
        VfioDevice d[2];
        sd_bus *bus = bus_open();
        Watcher *w = watcher_new();
        _cleanup_free_ char *s = NULL, *dev = NULL, *ioas = NULL, *hwpt = NULL, *str = NULL, *host = NULL;
        _cleanup_close_ int dev_fd = -EBADF, memfd = memfd_new("vtd-ram", 1 << 20, 0x42);
        const uint64_t iova = 0x100000, msi = 0xfee00000;
        struct vfio_device_info info = { .argsz = sizeof(info) };
        struct vfio_region_info config = { .argsz = sizeof(config), .index = VFIO_PCI_CONFIG_REGION_INDEX };
        struct stat st, node_st;
        uint32_t hwpt_id, type, dev_id;
        uint64_t caps, start, length, offset;
        uint8_t max_pasid;
        uint16_t vendor;
        const void *data;
        const char *p;
        size_t size;
        sd_bus_message *reply;

        vfio_devices(d);
        s = open_session(bus, false);
        host = reply_object(CALL(bus, MANAGER_PATH, I_MANAGER, "GetDevice", "s", d[0].bdf), NULL);
        str = get_string(bus, host, I_HOST_DEVICE, "Driver", "s");
        assert_string_equal(str, "vfio-pci");
        free(TAKE_PTR(str));

        /* Claimed and bound by the daemon; the VMM gets the device fd; a
         * watcher on the bus sees the session grow. */
        watcher_reset(w);
        reply = CALL(bus, s, I_SESSION, "ClaimDevice", "sb", d[0].bdf, 1);
        assert_true(sd_bus_message_read(reply, "ou", &p, &dev_id) > 0);
        dev = strdup(p);
        assert_non_null(dev);
        assert_true(sd_bus_message_enter_container(reply, 'a', "(h)") > 0);
        assert_true(sd_bus_message_enter_container(reply, 'r', "h") > 0);
        dev_fd = read_fd(reply);
        sd_bus_message_unref(reply);
        assert_changed(w, s, I_SESSION, "NObjects", "1");
        assert_true(dev_id > 0);
        str = get_string(bus, dev, I_DEVICE, "Name", "s");
        assert_string_equal(str, d[0].bdf);
        free(TAKE_PTR(str));
        assert_false(get_bool(bus, dev, I_DEVICE, "Mock"));
        assert_true(get_bool(bus, dev, I_DEVICE, "Bound"));
        CALL_FAILS(E_BUSY, bus, s, I_SESSION, "ClaimDevice", "sb", d[0].bdf, 0);

        /* It is that device's cdev, and it works for the VMM: the kernel
         * answers VFIO ioctls on it and reads its config space. */
        assert_int_equal(fstat(dev_fd, &st), 0);
        assert_int_equal(stat(d[0].node, &node_st), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, node_st.st_rdev);
        assert_int_equal(ioctl(dev_fd, VFIO_DEVICE_GET_INFO, &info), 0);
        assert_true(info.flags & VFIO_DEVICE_FLAGS_PCI);
        assert_true(info.num_regions > VFIO_PCI_CONFIG_REGION_INDEX);
        assert_int_equal(ioctl(dev_fd, VFIO_DEVICE_GET_REGION_INFO, &config), 0);
        assert_int_equal(pread(dev_fd, &vendor, sizeof(vendor), config.offset), sizeof(vendor));
        assert_int_equal(vendor, get_i32(bus, host, I_HOST_DEVICE, "VendorId"));

        /* Attached to an IOAS, the device's reserved regions leave it. */
        ioas = create_ioas(bus, s, NULL);
        assert_true(ranges_cover(bus, ioas, msi));
        attach(bus, s, dev, ioas);
        assert_false(ranges_cover(bus, ioas, msi));
        assert_true(reserved_region_listed(bus, ioas, msi, 0xfeefffff, "msi", d[0].bdf));

        assert_int_equal(map(bus, ioas, memfd, 0, 1 << 20, iova, MAP_FIXED_RW), iova);
        reply_take(CALL(bus, ioas, I_IOAS, "LookupIOVA", "t", iova + PAGE), "tttu", &start, &length, &offset,
                   &type);
        assert_int_equal(start, iova);
        assert_int_equal(length, 1 << 20);
        /* The kernel refuses IOVAs the device reserves with EINVAL. */
        CALL_FAILS(E_KERNEL, bus, ioas, I_IOAS, "Map", "htttu", memfd, UINT64_C(0), (uint64_t) PAGE, msi,
                   MAP_FIXED_RW);
        assert_error_mentions("EINVAL");

        /* A paging HWPT of its own: VT-d's hardware information. */
        hwpt = alloc_hwpt(bus, s, dev, ioas, NULL, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &hwpt_id);
        reply = CALL(bus, hwpt, I_HWPT, "GetHWInfo", NULL);
        assert_true(sd_bus_message_read(reply, "uty", &type, &caps, &max_pasid) > 0);
        assert_true(sd_bus_message_read_array(reply, 'y', &data, &size) >= 0);
        assert_int_equal(type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
        assert_true(size >= sizeof(struct iommu_hw_info_vtd));
        assert_true(((const struct iommu_hw_info_vtd *) data)->cap_reg != 0);
        sd_bus_message_unref(reply);
        assert_int_equal(attach(bus, s, dev, hwpt), hwpt_id);
        str = get_string(bus, dev, I_DEVICE, "Attached", "o");
        assert_string_equal(str, hwpt);
        free(TAKE_PTR(str));
        assert_true(reserved_region_listed(bus, ioas, msi, 0xfeefffff, "msi", d[0].bdf));

        /* QEMU's VT-d offers no nesting. */
        alloc_hwpt_fails(E_NOT_SUPPORTED, bus, s, dev, ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                         IOMMU_HWPT_DATA_NONE, NULL, 0);
        CALL_FAILS(E_INVALID_ARGUMENT, bus, s, I_SESSION, "CreateMockDevice", "u", 1u << 7);

        /* Teardown in order. */
        CALL_FAILS(E_BUSY, bus, s, I_SESSION, "Destroy", "o", hwpt);
        CALL_FAILS(E_BUSY, bus, s, I_SESSION, "ReleaseDevice", "o", dev);
        CALL_OK(bus, s, I_SESSION, "Detach", "o", dev);
        destroy(bus, s, hwpt);
        assert_int_equal(unmap(bus, ioas, 0, UINT64_MAX), 1 << 20);
        destroy(bus, s, ioas);
        watcher_reset(w);
        CALL_OK(bus, s, I_SESSION, "ReleaseDevice", "o", dev);
        assert_changed(w, s, I_SESSION, "NObjects", "0");
        assert_int_equal(get_u32(bus, s, I_SESSION, "NObjects"), 0);
        close_session(bus, s);
        free(TAKE_PTR(s));

        /* The VMM still holds the device open: nobody else can bind it until
         * it lets go. */
        s = open_session(bus, false);
        CALL_FAILS(E_BUSY, bus, s, I_SESSION, "ClaimDevice", "sb", d[0].bdf, 0);
        dev_fd = (close(dev_fd), -EBADF);
        free(TAKE_PTR(dev));
        dev = reply_object(CALL(bus, s, I_SESSION, "ClaimDevice", "sb", d[0].bdf, 0), NULL);
        close_session(bus, s);
        sd_bus_flush_close_unref(bus);
        watcher_free(w);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest vtd[] = { cmocka_unit_test(test_vtd_paging_flow) };
        const Group groups[] = { GROUP("vtd", vtd) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
