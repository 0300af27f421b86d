/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The paging flow of a VMM with a real vfio-pci device behind an emulated
 * VT-d: claimed, its fd handed out, attached to an IOAS and to a HWPT of its
 * own; and where the device's own DMA lands in guest memory after each of
 * the calls that change its translation. The vtd profile, as the uid
 * viommud.conf allows the device to.
 *
 *   test-vtd [vtd]
 *
 * The environment is described in itest.h.
 */

#include "edu-dma.h"
#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
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
        size_t size;
        sd_bus_message *reply;

        vfio_devices(d, 2);
        s = open_session(bus, false);
        host = reply_object(CALL(bus, MANAGER_PATH, I_MANAGER, "GetDevice", "s", d[0].bdf), NULL);
        str = get_string(bus, host, I_HOST_DEVICE, "Driver", "s");
        assert_string_equal(str, "vfio-pci");
        free(TAKE_PTR(str));

        /* Claimed and bound by the daemon; the VMM gets the device fd; a
         * watcher on the bus sees the session grow. */
        watcher_reset(w);
        dev = claim_with_fd(bus, s, d[0].bdf, &dev_id, &dev_fd);
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

/* ---- DMA as the oracle -------------------------------------------------- */

#define GUEST_SIZE (256 * PAGE)
#define CHUNK      (16 * PAGE)
#define NOWHERE    UINT64_MAX
/* Half a page: what edu moves at once. */
#define DMA_LEN    (PAGE / 2)

/* Guest memory as the test expects it, byte for byte, and edu, whose DMA
 * goes through the IOMMU into it. */
typedef struct Guest {
        Edu edu;
        const char *bdf;
        int memfd;
        int kmsg;                       /* the kernel's log since the test began */
        uint8_t expected[GUEST_SIZE];
        uint8_t pattern[DMA_LEN];       /* what edu read last, if it could */
        unsigned seed;
} Guest;

/* Writes a pattern no other step used into guest memory at offset. */
static void fresh_pattern(Guest *g, uint64_t offset) {
        g->seed++;
        for (size_t i = 0; i < DMA_LEN; i++)
                g->pattern[i] = (uint8_t) (g->seed * 37 + i + (i >> 8) * 3);
        assert_int_equal(pwrite(g->memfd, g->pattern, DMA_LEN, offset), DMA_LEN);
        memcpy(g->expected + offset, g->pattern, DMA_LEN);
}

static void guest_is_expected(const Guest *g, const char *step) {
        _cleanup_free_ uint8_t *now = malloc(GUEST_SIZE);

        assert_non_null(now);
        assert_int_equal(pread(g->memfd, now, GUEST_SIZE, 0), GUEST_SIZE);
        for (size_t i = 0; i < GUEST_SIZE; i++)
                if (now[i] != g->expected[i])
                        fail_msg("%s: guest memory at offset %#zx holds %#x, expected %#x", step, i, now[i],
                                 g->expected[i]);
}

/* edu reads a fresh pattern at iova, which guest memory backs at offset. */
static void dma_read(Guest *g, uint64_t iova, uint64_t offset) {
        fresh_pattern(g, offset);
        assert_int_equal(edu_dma(&g->edu, EDU_FROM_RAM, iova, DMA_LEN), 0);
}

/* edu writes what it read last at iova: it lands at offset in guest memory
 * (NOWHERE: nowhere), and changes nothing else. */
static void dma_write(Guest *g, uint64_t iova, uint64_t offset, const char *step) {
        assert_int_equal(edu_dma(&g->edu, EDU_TO_RAM, iova, DMA_LEN), 0);
        if (offset != NOWHERE)
                memcpy(g->expected + offset, g->pattern, DMA_LEN);
        guest_is_expected(g, step);
}

/* edu says nothing of a DMA the IOMMU refused; the guest's VT-d driver logs
 * the fault the emulated VT-d reports: "DMAR: [DMA Write NO_PASID] Request
 * device [00:01.0] fault addr 0x200000 [fault reason 0x05] ...". Checked
 * for the boot's first faults only: QEMU 7.2's VT-d signalled the fourth
 * without a fault record the driver could read. */
static void dma_faulted(Guest *g, const char *kind, uint64_t iova) {
        char needle[128], record[1024];
        uint64_t deadline = now_usec() + 5 * UINT64_C(1000000);

        /* Linux 6.12 names the device by bus, slot and function, 7.3 with
         * its domain too. */
        snprintf(needle, sizeof(needle), "%s] fault addr %#" PRIx64 " ", g->bdf + 5, iova);
        while (now_usec() < deadline) {
                ssize_t n = read(g->kmsg, record, sizeof(record) - 1);

                if (n < 0 && errno == EAGAIN) {
                        usleep(20 * 1000);
                        continue;
                }
                if (n < 0 && errno == EPIPE)    /* records overwritten before they were read */
                        continue;
                assert_true(n >= 0);
                record[n] = 0;
                if (strstr(record, needle) && strstr(record, kind))
                        return;
        }
        fail_msg("the kernel logged no %s fault of %s at %#" PRIx64, kind, g->bdf, iova);
}

/* edu reads at iova, which no longer translates: the fresh pattern at offset
 * must not reach its buffer, as edu shows by writing it out at scratch_iova,
 * backed by guest memory at scratch. */
static void dma_read_faults(Guest *g, uint64_t iova, uint64_t offset, uint64_t scratch_iova, uint64_t scratch) {
        uint8_t got[DMA_LEN], zeros[DMA_LEN] = {};

        fresh_pattern(g, offset);
        assert_int_equal(edu_dma(&g->edu, EDU_FROM_RAM, iova, DMA_LEN), 0);
        dma_faulted(g, "DMA Read", iova);
        assert_int_equal(edu_dma(&g->edu, EDU_TO_RAM, scratch_iova, DMA_LEN), 0);
        assert_int_equal(pread(g->memfd, got, sizeof(got), scratch), sizeof(got));
        assert_memory_not_equal(got, g->pattern, sizeof(got));
        /* QEMU hands a device reading through a failed translation zeros. */
        assert_memory_equal(got, zeros, sizeof(got));
        memcpy(g->expected + scratch, got, sizeof(got));
        memcpy(g->pattern, got, sizeof(got));
        guest_is_expected(g, "a DMA read that faulted");
}

/* Where edu's DMA lands in the memfd that backs guest memory, after each
 * call that changes its translation: Map, Unmap, Attach to another IOAS, to
 * a paging HWPT, and Copy. */
static void test_vtd_dma(void **state) {
        /* Offsets in guest memory; IOVAs below edu's 28 bits. */
        const uint64_t a = 0, b = CHUNK, c = 2 * CHUNK, d = 3 * CHUNK;
        const uint64_t iova_a = 0x100000, iova_b = 0x200000, iova_copy = 0x300000;
        VfioDevice devices[2];
        sd_bus *bus = bus_open();
        _cleanup_free_ Guest *g = calloc(1, sizeof(Guest));
        _cleanup_free_ char *s = NULL, *dev = NULL, *ioas = NULL, *ioas2 = NULL, *ioas3 = NULL, *hwpt = NULL;
        _cleanup_close_ int dev_fd = -EBADF;
        uint32_t dev_id, hwpt_id;
        uint64_t got_iova;
        int r;

        assert_non_null(g);
        vfio_devices(devices, 2);
        g->bdf = devices[0].bdf;
        g->memfd = memfd_new("vtd-dma-ram", GUEST_SIZE, 0x42);
        memset(g->expected, 0x42, GUEST_SIZE);
        g->kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        assert_true(g->kmsg >= 0);
        assert_true(lseek(g->kmsg, 0, SEEK_END) >= 0);

        s = open_session(bus, false);
        dev = claim_with_fd(bus, s, g->bdf, &dev_id, &dev_fd);
        r = edu_open(dev_fd, &g->edu);
        if (r < 0)
                fail_msg("%s is not a working edu device: %s", g->bdf, strerror(-r));

        /* After Map: edu reads the memory mapped at an IOVA and writes its
         * bytes where another IOVA points. */
        ioas = create_ioas(bus, s, NULL);
        attach(bus, s, dev, ioas);
        assert_int_equal(map(bus, ioas, g->memfd, a, CHUNK, iova_a, MAP_FIXED_RW), iova_a);
        assert_int_equal(map(bus, ioas, g->memfd, b, CHUNK, iova_b, MAP_FIXED_RW), iova_b);
        dma_read(g, iova_a + PAGE, a + PAGE);
        dma_write(g, iova_a + 2 * PAGE, a + 2 * PAGE, "DMA after Map");
        dma_read(g, iova_b, b);
        dma_write(g, iova_b + 3 * PAGE, b + 3 * PAGE, "DMA after a second Map");

        /* After Unmap: the IOVA faults both ways, and nothing is written.
         * Later faults are seen only in guest memory (dma_faulted()). */
        assert_int_equal(unmap(bus, ioas, iova_b, CHUNK), CHUNK);
        dma_read(g, iova_a, a);
        dma_write(g, iova_b, NOWHERE, "DMA write after Unmap");
        dma_faulted(g, "DMA Write", iova_b);
        dma_read_faults(g, iova_b, b, iova_a + 3 * PAGE, a + 3 * PAGE);

        /* Attached to another IOAS: the same IOVA is other memory. */
        ioas2 = create_ioas(bus, s, NULL);
        assert_int_equal(map(bus, ioas2, g->memfd, c, CHUNK, iova_a, MAP_FIXED_RW), iova_a);
        attach(bus, s, dev, ioas2);
        dma_read(g, iova_a, c);
        dma_write(g, iova_a + PAGE, c + PAGE, "DMA after Attach to another IOAS");

        /* A paging HWPT of its own follows its IOAS, Maps after the
         * Attach included. */
        hwpt = alloc_hwpt(bus, s, dev, ioas2, NULL, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &hwpt_id);
        assert_int_equal(attach(bus, s, dev, hwpt), hwpt_id);
        dma_read(g, iova_a + 2 * PAGE, c + 2 * PAGE);
        dma_write(g, iova_a + 3 * PAGE, c + 3 * PAGE, "DMA after Attach to a paging HWPT");
        dma_write(g, iova_b, NOWHERE, "DMA write to an IOVA the HWPT's IOAS does not map");
        assert_int_equal(map(bus, ioas2, g->memfd, d, CHUNK, iova_b, MAP_FIXED_RW), iova_b);
        dma_write(g, iova_b, d, "DMA after a Map into the HWPT's IOAS");
        assert_int_equal(unmap(bus, ioas2, iova_b, CHUNK), CHUNK);
        dma_write(g, iova_b + PAGE, NOWHERE, "DMA after an Unmap from the HWPT's IOAS");

        /* After a Copy into a third IOAS: its IOVA reaches the first IOAS's
         * memory, and only its IOVA does. */
        ioas3 = create_ioas(bus, s, NULL);
        reply_take(CALL(bus, ioas3, I_IOAS, "Copy", "otttu", ioas, iova_a, (uint64_t) CHUNK, iova_copy,
                        (uint32_t) MAP_FIXED_RW),
                   "t", &got_iova);
        assert_int_equal(got_iova, iova_copy);
        attach(bus, s, dev, ioas3);
        dma_read(g, iova_copy + 4 * PAGE, a + 4 * PAGE);
        dma_write(g, iova_copy + 5 * PAGE, a + 5 * PAGE, "DMA after Copy");
        dma_write(g, iova_a, NOWHERE, "DMA to the source IOVA of the Copy");

        /* The VMM lets go of the device, then of the session. */
        CALL_OK(bus, s, I_SESSION, "Detach", "o", dev);
        dev_fd = (close(dev_fd), -EBADF);
        close_session(bus, s);
        close(g->kmsg);
        close(g->memfd);
        sd_bus_flush_close_unref(bus);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest vtd[] = { cmocka_unit_test(test_vtd_paging_flow), cmocka_unit_test(test_vtd_dma) };
        const Group groups[] = { GROUP("vtd", vtd) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
