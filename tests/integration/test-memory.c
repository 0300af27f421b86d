/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest memory registered with the session (Session.AddMemory, RemoveMemory,
 * GuestMemory), mapped by guest-physical address (IOAS.MapGuest,
 * MapGuestBatch) and checked in the kernel's mock domain through the
 * Testing interface; DMA with translation (IOAS.ReadIOVA, WriteIOVA)
 * checked against the memfd's contents read directly; the refusals, each
 * named, changing nothing; the kernel's own translation (a mock access
 * object, Testing.KernelReadIOVA and KernelWriteIOVA) agreeing with the
 * daemon's; and regions that outlive a kill -9 of the daemon.
 *
 *   test-memory [memory] [restart]
 *
 *   memory   mock devices, any uid
 *   restart  root, viommud under the stand-in fd store (fdstore-harness,
 *            $VIOMMU_TEST_HARNESS_PID)
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GPA_LOW  UINT64_C(0x80000000)
#define GPA_HIGH UINT64_C(0x100000000)
#define DMA_MAX (1024 * 1024)

static uint32_t add_memory(sd_bus *bus, const char *session, int fd, uint64_t offset, uint64_t gpa, uint64_t size) {
        uint32_t id;

        reply_take(CALL(bus, session, I_SESSION, "AddMemory", "httt", fd, offset, gpa, size), "u", &id);
        return id;
}

static uint64_t map_guest(sd_bus *bus, const char *ioas, uint64_t iova, uint64_t gpa, uint64_t length,
                          uint32_t flags) {
        uint64_t got;

        reply_take(CALL(bus, ioas, I_IOAS, "MapGuest", "tttu", iova, gpa, length, flags), "t", &got);
        return got;
}

/* The session's regions as GuestMemory lists them: n of (id, gpa, size,
 * offset). */
static size_t guest_memory(sd_bus *bus, const char *session, uint64_t (*ret)[4], size_t max) {
        sd_bus_message *reply = get_property(bus, session, I_SESSION, "GuestMemory", "a(uttt)");
        uint64_t gpa, size, offset;
        size_t n = 0;
        uint32_t id;

        assert_true(sd_bus_message_enter_container(reply, 'a', "(uttt)") > 0);
        while (sd_bus_message_read(reply, "(uttt)", &id, &gpa, &size, &offset) > 0) {
                assert_true(n < max);
                ret[n][0] = id;
                ret[n][1] = gpa;
                ret[n][2] = size;
                ret[n][3] = offset;
                n++;
        }
        sd_bus_message_unref(reply);
        return n;
}

static void write_iova(sd_bus *bus, const char *ioas, uint64_t iova, const void *data, size_t n,
                       const char *expect) {
        sd_bus_message *m = new_call(bus, ioas, I_IOAS, "WriteIOVA");

        assert_true(sd_bus_message_append(m, "t", iova) >= 0);
        assert_true(sd_bus_message_append_array(m, 'y', data, n) >= 0);
        if (expect)
                SEND_FAILS(expect, bus, m);
        else
                sd_bus_message_unref(SEND(bus, m));
}

/* The bytes a reply carries must be the n of want; the reply is dropped. */
static void assert_reply_bytes(sd_bus_message *reply, const void *want, size_t n) {
        const void *got;
        size_t size;

        assert_true(sd_bus_message_read_array(reply, 'y', &got, &size) > 0);
        assert_int_equal(size, n);
        assert_memory_equal(got, want, n);
        sd_bus_message_unref(reply);
}

/* n bytes at iova, read by the daemon, must be want. */
static void assert_reads(sd_bus *bus, const char *ioas, uint64_t iova, const void *want, size_t n) {
        assert_reply_bytes(CALL(bus, ioas, I_IOAS, "ReadIOVA", "tu", iova, (uint32_t) n), want, n);
}

/* n bytes at iova, read by the kernel through an access object, must be want. */
static void kernel_reads(Fixture *f, uint64_t iova, const void *want, size_t n) {
        assert_reply_bytes(CALL(f->bus, f->session, I_TESTING, "KernelReadIOVA", "otu", f->ioas, iova, (uint32_t) n),
                           want, n);
}

static void fill(uint8_t *buf, size_t n, uint8_t seed) {
        for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t) (seed + i * 13 + (i >> 12));
}

/* ---- guest memory -------------------------------------------------------- */

/*
 * Two regions of one memfd; maps by guest address, singly on the bus and in
 * a batch on the direct channel, land in the kernel on the memfd's pages at
 * the region's offset; refusals change nothing; a region goes when its last
 * mapping has.
 */
static void test_guest_memory_maps(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_close_ int other = memfd_new("other", BUF_SIZE, 0xa5);
        _cleanup_close_ int memfd = memfd_new("guest-ram", 2 * BUF_SIZE, 0);
        uint64_t regions[4][4], batch[4 * 4];
        sd_bus_message *reply;
        const uint64_t *iovas;
        const char *err;
        uint32_t low, high, done;
        size_t size;
        sd_bus *ch;

        low = add_memory(f->bus, f->session, memfd, 0, GPA_LOW, BUF_SIZE);
        high = add_memory(f->bus, f->session, memfd, BUF_SIZE, GPA_HIGH, BUF_SIZE);
        assert_int_equal(guest_memory(f->bus, f->session, regions, 4), 2);
        assert_int_equal(regions[0][0], low);
        assert_true(regions[0][1] == GPA_LOW && regions[0][2] == BUF_SIZE && regions[0][3] == 0);
        assert_int_equal(regions[1][0], high);
        assert_true(regions[1][1] == GPA_HIGH && regions[1][3] == BUF_SIZE);
        attach(f->bus, f->session, f->dev, f->ioas);

        /* Pages 4..11 of the low region, and page 2 of the high one. */
        assert_int_equal(map_guest(f->bus, f->ioas, iova, GPA_LOW + 4 * PAGE, 8 * PAGE, MAP_FIXED_RW), iova);
        check_mapping(f->bus, f->session, f->dev, iova, 8 * PAGE, memfd, 4 * PAGE);
        check_no_mapping(f->bus, f->session, f->dev, iova, PAGE, memfd, 0);
        check_no_mapping(f->bus, f->session, f->dev, iova, PAGE, other, 4 * PAGE);
        assert_int_equal(map_guest(f->bus, f->ioas, iova + 16 * PAGE, GPA_HIGH + 2 * PAGE, PAGE, MAP_FIXED_RW),
                         iova + 16 * PAGE);
        check_mapping(f->bus, f->session, f->dev, iova + 16 * PAGE, PAGE, memfd, BUF_SIZE + 2 * PAGE);

        /* Page by page in one message, on the direct channel. */
        ch = channel_open(f->bus, f->session);
        for (size_t i = 0; i < 4; i++) {
                batch[4 * i] = iova + (32 + i) * PAGE;
                batch[4 * i + 1] = GPA_HIGH + (10 - i) * PAGE;
                batch[4 * i + 2] = PAGE;
                batch[4 * i + 3] = MAP_FIXED_RW;
        }
        {
                sd_bus_message *m = new_call(ch, f->ioas, I_IOAS, "MapGuestBatch");

                assert_true(sd_bus_message_append_array(m, 't', batch, sizeof(batch)) >= 0);
                assert_true(sd_bus_message_append(m, "u", 1) >= 0);
                reply = SEND(ch, m);
        }
        assert_true(sd_bus_message_read(reply, "us", &done, &err) > 0);
        assert_int_equal(done, 4);
        assert_string_equal(err, "");
        assert_true(sd_bus_message_read_array(reply, 't', (const void **) &iovas, &size) > 0);
        assert_int_equal(size, 4 * sizeof(uint64_t));
        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(iovas[i], iova + (32 + i) * PAGE);
                check_mapping(ch, f->session, f->dev, iova + (32 + i) * PAGE, PAGE, memfd,
                              BUF_SIZE + (10 - i) * PAGE);
        }
        sd_bus_message_unref(reply);
        assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), 6);

        /* Refusals, each named, none changing what is mapped or registered. */
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "AddMemory", "httt", other, UINT64_C(0),
                   GPA_LOW + BUF_SIZE - PAGE, (uint64_t) 2 * PAGE);
        assert_error_mentions("overlaps region");
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AddMemory", "httt", other, UINT64_C(0),
                   UINT64_C(0), UINT64_C(0));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AddMemory", "httt", other, UINT64_C(0),
                   UINT64_C(0x123), (uint64_t) PAGE);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AddMemory", "httt", other, UINT64_C(0),
                   UINT64_MAX - PAGE + 1, (uint64_t) 2 * PAGE);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "MapGuest", "tttu", iova + 64 * PAGE,
                   UINT64_C(0x40000000), (uint64_t) PAGE, (uint32_t) MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "MapGuest", "tttu", iova + 64 * PAGE,
                   GPA_LOW + BUF_SIZE - PAGE, (uint64_t) 2 * PAGE, (uint32_t) MAP_FIXED_RW);
        assert_error_mentions("runs past the end of region");
        CALL_FAILS(E_BUSY, f->bus, f->ioas, I_IOAS, "MapGuest", "tttu", iova, GPA_LOW, (uint64_t) PAGE,
                   (uint32_t) MAP_FIXED_RW);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "RemoveMemory", "u", low);
        assert_error_mentions("still used by 1 mapping");
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "RemoveMemory", "u", high);
        assert_error_mentions("still used by 5 mapping");
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "RemoveMemory", "u", (uint32_t) 999);
        assert_int_equal(guest_memory(f->bus, f->session, regions, 4), 2);
        assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), 6);
        check_no_mapping(f->bus, f->session, f->dev, iova + 64 * PAGE, PAGE, memfd, 0);

        /* Unmapped, a region may go; its addresses with it. */
        assert_int_equal(unmap(f->bus, f->ioas, iova, 8 * PAGE), 8 * PAGE);
        CALL_OK(f->bus, f->session, I_SESSION, "RemoveMemory", "u", low);
        assert_int_equal(guest_memory(f->bus, f->session, regions, 4), 1);
        assert_int_equal(regions[0][0], high);
        CALL_FAILS(E_NO_SUCH_OBJECT, ch, f->ioas, I_IOAS, "MapGuest", "tttu", iova, GPA_LOW, (uint64_t) PAGE,
                   (uint32_t) MAP_FIXED_RW);
        check_mapping(f->bus, f->session, f->dev, iova + 16 * PAGE, PAGE, memfd, BUF_SIZE + 2 * PAGE);
        sd_bus_flush_close_unref(ch);
}

/* What is not guest memory, or cannot be written, is refused. */
static void test_guest_memory_refused(void **state) {
        Fixture *f = *state;
        _cleanup_close_ int sealed = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        _cleanup_close_ int file = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        _cleanup_close_ int ro = -EBADF;
        char path[64];
        uint64_t regions[1][4];

        assert_true(sealed >= 0);
        assert_int_equal(ftruncate(sealed, BUF_SIZE), 0);
        assert_int_equal(fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE), 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AddMemory", "httt", sealed, UINT64_C(0),
                   GPA_LOW, (uint64_t) BUF_SIZE);
        assert_error_mentions("sealed");
        assert_true(file >= 0);
        assert_int_equal(ftruncate(file, BUF_SIZE), 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AddMemory", "httt", file, UINT64_C(0),
                   GPA_LOW, (uint64_t) BUF_SIZE);
        assert_error_mentions("memfd");
        snprintf(path, sizeof(path), "/proc/self/fd/%d", f->memfd);
        ro = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(ro >= 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AddMemory", "httt", ro, UINT64_C(0),
                   GPA_LOW, (uint64_t) BUF_SIZE);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AddMemory", "httt", f->memfd,
                   (uint64_t) PAGE, GPA_LOW, (uint64_t) BUF_SIZE);
        assert_error_mentions("past the end");
        assert_int_equal(guest_memory(f->bus, f->session, regions, 1), 0);
}

/* ---- DMA with translation ------------------------------------------------- */

/*
 * Writes through the daemon land in the memfd at the pages the IOVAs
 * translate to (scattered here: two mappings, reversed), reads return what
 * the memfd holds; on the bus and on the direct channel alike. The kernel's
 * mock domain maps the same pages.
 */
static void test_dma_translates(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        static uint8_t data[4 * PAGE], back[4 * PAGE];
        sd_bus *ch;

        add_memory(f->bus, f->session, f->memfd, 0, GPA_LOW, BUF_SIZE);
        attach(f->bus, f->session, f->dev, f->ioas);
        /* IOVA page 0,1 -> memfd pages 10,11; IOVA pages 2,3 -> memfd pages 4,5. */
        map_guest(f->bus, f->ioas, iova, GPA_LOW + 10 * PAGE, 2 * PAGE, MAP_FIXED_RW);
        map_guest(f->bus, f->ioas, iova + 2 * PAGE, GPA_LOW + 4 * PAGE, 2 * PAGE, MAP_FIXED_RW);
        check_mapping(f->bus, f->session, f->dev, iova, 2 * PAGE, f->memfd, 10 * PAGE);
        check_mapping(f->bus, f->session, f->dev, iova + 2 * PAGE, 2 * PAGE, f->memfd, 4 * PAGE);

        fill(data, sizeof(data), 1);
        write_iova(f->bus, f->ioas, iova + 100, data, sizeof(data) - 200, NULL);
        assert_int_equal(pread(f->memfd, back, 2 * PAGE - 100, 10 * PAGE + 100), 2 * PAGE - 100);
        assert_memory_equal(back, data, 2 * PAGE - 100);
        assert_int_equal(pread(f->memfd, back, 2 * PAGE - 100, 4 * PAGE), 2 * PAGE - 100);
        assert_memory_equal(back, data + 2 * PAGE - 100, 2 * PAGE - 100);
        /* The bytes around the write are as they were. */
        assert_int_equal(pread(f->memfd, back, 100, 10 * PAGE), 100);
        for (size_t i = 0; i < 100; i++)
                assert_int_equal(back[i], 0x5a);
        assert_reads(f->bus, f->ioas, iova + 100, data, sizeof(data) - 200);

        /* The VMM changes guest memory itself: the daemon reads that. */
        fill(data, sizeof(data), 77);
        assert_int_equal(pwrite(f->memfd, data, 2 * PAGE, 4 * PAGE), 2 * PAGE);
        ch = channel_open(f->bus, f->session);
        assert_reads(ch, f->ioas, iova + 2 * PAGE, data, 2 * PAGE);
        fill(data, sizeof(data), 200);
        write_iova(ch, f->ioas, iova, data, PAGE, NULL);
        assert_int_equal(pread(f->memfd, back, PAGE, 10 * PAGE), PAGE);
        assert_memory_equal(back, data, PAGE);
        sd_bus_flush_close_unref(ch);
        /* And the kernel still maps those very pages. */
        check_mapping(f->bus, f->session, f->dev, iova, 2 * PAGE, f->memfd, 10 * PAGE);

        /* The kernel's own translation agrees, through an access object on
         * the IOAS: it reads what WriteIOVA wrote, across both mappings, ... */
        fill(data, sizeof(data), 31);
        write_iova(f->bus, f->ioas, iova + PAGE, data, 2 * PAGE, NULL);
        kernel_reads(f, iova + PAGE, data, 2 * PAGE);
        /* ... and ReadIOVA reads what the kernel wrote. */
        fill(data, sizeof(data), 57);
        {
                sd_bus_message *m = new_call(f->bus, f->session, I_TESTING, "KernelWriteIOVA");

                assert_true(sd_bus_message_append(m, "ot", f->ioas, iova + 2 * PAGE - 8) >= 0);
                assert_true(sd_bus_message_append_array(m, 'y', data, 16) >= 0);
                sd_bus_message_unref(SEND(f->bus, m));
        }
        assert_reads(f->bus, f->ioas, iova + 2 * PAGE - 8, data, 16);
        assert_int_equal(pread(f->memfd, back, 8, 12 * PAGE - 8), 8);
        assert_memory_equal(back, data, 8);
        assert_int_equal(pread(f->memfd, back, 8, 4 * PAGE), 8);
        assert_memory_equal(back, data + 8, 8);
}

/* A DMA that would reach unmapped or unpermitted memory, or that is too
 * big, is refused before a byte moves; the error names the IOVA. */
static void test_dma_refused(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        static uint8_t big[DMA_MAX + 1], before[BUF_SIZE], after[BUF_SIZE];
        char where[32];

        add_memory(f->bus, f->session, f->memfd, 0, GPA_LOW, BUF_SIZE);
        map_guest(f->bus, f->ioas, iova, GPA_LOW, 2 * PAGE, MAP_FIXED_RW);
        map_guest(f->bus, f->ioas, iova + 2 * PAGE, GPA_LOW + 2 * PAGE, PAGE,
                  IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE);
        /* A mapping of a memfd passed with Map: no guest memory. */
        assert_int_equal(map(f->bus, f->ioas, f->memfd, 8 * PAGE, PAGE, iova + 8 * PAGE, MAP_FIXED_RW),
                         iova + 8 * PAGE);
        assert_int_equal(pread(f->memfd, before, BUF_SIZE, 0), BUF_SIZE);

        /* Runs past the third page into nothing: the first unmapped IOVA is named. */
        memset(big, 0xee, sizeof(big));
        snprintf(where, sizeof(where), "0x%llx", (unsigned long long) (iova + 3 * PAGE));
        CALL_FAILS(E_NOT_MAPPED, f->bus, f->ioas, I_IOAS, "ReadIOVA", "tu", iova + PAGE, (uint32_t) (3 * PAGE));
        assert_error_mentions(where);
        write_iova(f->bus, f->ioas, iova - PAGE, big, 2 * PAGE, E_NOT_MAPPED);
        snprintf(where, sizeof(where), "0x%llx", (unsigned long long) (iova - PAGE));
        assert_error_mentions(where);
        /* Into the read-only page: nothing written before it either. */
        write_iova(f->bus, f->ioas, iova, big, 3 * PAGE, E_PERMISSION_DENIED);
        /* Bounds. */
        write_iova(f->bus, f->ioas, iova, big, sizeof(big), E_INVALID_ARGUMENT);
        write_iova(f->bus, f->ioas, iova, big, 0, E_INVALID_ARGUMENT);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "ReadIOVA", "tu", iova, (uint32_t) (DMA_MAX + 1));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "ReadIOVA", "tu", UINT64_MAX, (uint32_t) 2);
        CALL_FAILS(E_NOT_SUPPORTED, f->bus, f->ioas, I_IOAS, "ReadIOVA", "tu", iova + 8 * PAGE, (uint32_t) 8);
        /* Guest memory its owner sealed after AddMemory: a write that runs
         * into it writes nothing, not even the bytes in the region before. */
        {
                _cleanup_close_ int sealed = memfd_create("sealed-later", MFD_CLOEXEC | MFD_ALLOW_SEALING);

                assert_true(sealed >= 0);
                assert_int_equal(ftruncate(sealed, PAGE), 0);
                add_memory(f->bus, f->session, sealed, 0, GPA_HIGH, PAGE);
                map_guest(f->bus, f->ioas, iova + 4 * PAGE, GPA_LOW + 4 * PAGE, PAGE, MAP_FIXED_RW);
                map_guest(f->bus, f->ioas, iova + 5 * PAGE, GPA_HIGH, PAGE, MAP_FIXED_RW);
                write_iova(f->bus, f->ioas, iova + 5 * PAGE, big, 8, NULL);
                assert_int_equal(fcntl(sealed, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);
                write_iova(f->bus, f->ioas, iova + 4 * PAGE, big, 2 * PAGE, E_PERMISSION_DENIED);
                assert_error_mentions("sealed");
                assert_int_equal(unmap(f->bus, f->ioas, iova + 4 * PAGE, 2 * PAGE), 2 * PAGE);
        }
        assert_int_equal(pread(f->memfd, after, BUF_SIZE, 0), BUF_SIZE);
        assert_memory_equal(before, after, BUF_SIZE);
        assert_reads(f->bus, f->ioas, iova + 2 * PAGE, before + 2 * PAGE, PAGE);

        /* After Unmap, the memory is out of reach. */
        assert_int_equal(unmap(f->bus, f->ioas, iova, 2 * PAGE), 2 * PAGE);
        CALL_FAILS(E_NOT_MAPPED, f->bus, f->ioas, I_IOAS, "ReadIOVA", "tu", iova, (uint32_t) 8);
}

/* ---- restart -------------------------------------------------------------- */

/*
 * kill -9 of the daemon under the fd store: the regions come back with the
 * next run (their memfds from the store), still mapped in the kernel, still
 * usable for DMA and for new maps; one removed before a crash stays removed.
 */
static void test_crash_regions_survive(void **state) {
        const uint64_t iova = MOCK_APERTURE_START;
        sd_bus *bus = bus_open();
        _cleanup_close_ int memfd = memfd_new("guest-ram", 2 * BUF_SIZE, 0x3c);
        _cleanup_free_ char *s = NULL, *dev = NULL, *ioas = NULL;
        static uint8_t data[2 * PAGE], back[2 * PAGE];
        uint64_t regions[4][4];
        uint32_t low, high;

        s = open_session(bus, true);
        dev = create_mock(bus, s, 0, NULL);
        ioas = create_ioas(bus, s, NULL);
        attach(bus, s, dev, ioas);
        low = add_memory(bus, s, memfd, 0, GPA_LOW, BUF_SIZE);
        high = add_memory(bus, s, memfd, BUF_SIZE, GPA_HIGH, BUF_SIZE);
        map_guest(bus, ioas, iova, GPA_LOW + 2 * PAGE, 2 * PAGE, MAP_FIXED_RW);
        fill(data, sizeof(data), 9);
        write_iova(bus, ioas, iova, data, sizeof(data), NULL);

        restart_daemon(bus, true);

        assert_int_equal(guest_memory(bus, s, regions, 4), 2);
        assert_true(regions[0][0] == low && regions[0][1] == GPA_LOW && regions[0][2] == BUF_SIZE &&
                    regions[0][3] == 0);
        assert_true(regions[1][0] == high && regions[1][1] == GPA_HIGH && regions[1][3] == BUF_SIZE);
        check_mapping(bus, s, dev, iova, 2 * PAGE, memfd, 2 * PAGE);
        assert_reads(bus, ioas, iova, data, sizeof(data));
        /* New maps by guest address go through the region's memfd of this run. */
        map_guest(bus, ioas, iova + 4 * PAGE, GPA_HIGH + 5 * PAGE, PAGE, MAP_FIXED_RW);
        check_mapping(bus, s, dev, iova + 4 * PAGE, PAGE, memfd, BUF_SIZE + 5 * PAGE);
        fill(data, sizeof(data), 99);
        write_iova(bus, ioas, iova + 4 * PAGE, data, PAGE, NULL);
        assert_int_equal(pread(memfd, back, PAGE, BUF_SIZE + 5 * PAGE), PAGE);
        assert_memory_equal(back, data, PAGE);
        CALL_FAILS(E_BUSY, bus, s, I_SESSION, "RemoveMemory", "u", low);
        assert_error_mentions("still used by 1 mapping");

        /* Removed, then a crash: it stays removed; the other stays. */
        assert_int_equal(unmap(bus, ioas, iova, 2 * PAGE), 2 * PAGE);
        CALL_OK(bus, s, I_SESSION, "RemoveMemory", "u", low);
        restart_daemon(bus, true);
        assert_int_equal(guest_memory(bus, s, regions, 4), 1);
        assert_true(regions[0][0] == high);
        CALL_FAILS(E_BUSY, bus, s, I_SESSION, "RemoveMemory", "u", high);
        assert_error_mentions("still used by 1 mapping");
        check_mapping(bus, s, dev, iova + 4 * PAGE, PAGE, memfd, BUF_SIZE + 5 * PAGE);
        assert_reads(bus, ioas, iova + 4 * PAGE, data, PAGE);

        close_session(bus, s);
        sd_bus_flush_close_unref(bus);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest memory[] = {
                T(test_guest_memory_maps),
                T(test_guest_memory_refused),
                T(test_dma_translates),
                T(test_dma_refused),
        };
        const struct CMUnitTest restart[] = {
                cmocka_unit_test(test_crash_regions_survive),
        };
        const Group groups[] = { GROUP("memory", memory), GROUP("restart", restart) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
