/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.viommu1.IOAS: Map, LookupIOVA, GetIOVARanges, Copy, Unmap and
 * AllowIOVAs, each checked in the kernel's mock domain through the Testing
 * interface, and their refusals; then how guest memory reaches the kernel.
 *
 *   test-ioas [ioas] [map-path]
 *
 *   ioas      mock devices, any uid
 *   map-path  guest memory mapped by file or by the daemon, seen in /proc
 *             (root: it reads the daemon's)
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
#include <sys/socket.h>
#include <unistd.h>

/* ---- Map, LookupIOVA, GetIOVARanges, Copy, Unmap ----------------------- */

static void test_map_lookup_copy_unmap(void **state) {
        Fixture *f = *state;
        _cleanup_close_ int other = memfd_new("other", BUF_SIZE, 0xa5);
        const uint64_t iova = MOCK_APERTURE_START;
        uint64_t got_iova, length, offset, alignment, start, last, kiova;
        _cleanup_free_ char *ioas2 = NULL;
        sd_bus_message *reply;
        uint32_t flags;
        size_t n = 0;

        assert_int_equal(map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        assert_int_equal(get_u64(f->bus, f->ioas, I_IOAS, "MappedBytes"), BUF_SIZE);
        assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), 1);
        assert_int_equal(get_u64(f->bus, f->session, I_SESSION, "MappedBytes"), BUF_SIZE);
        reply_take(CALL(f->bus, f->ioas, I_IOAS, "LookupIOVA", "t", iova + 5 * PAGE), "tttu",
                   &got_iova, &length, &offset, &flags);
        assert_int_equal(got_iova, iova);
        assert_int_equal(length, BUF_SIZE);
        assert_int_equal(offset, 0);
        assert_int_equal(flags, MAP_FIXED_RW);

        /* On the device's domain, the kernel maps those very pages; the
         * check is real: other memory, or a shifted offset, does not match. */
        attach(f->bus, f->session, f->dev, f->ioas);
        check_mapping(f->bus, f->session, f->dev, iova, BUF_SIZE, f->memfd, 0);
        check_no_mapping(f->bus, f->session, f->dev, iova, PAGE, other, 0);
        check_no_mapping(f->bus, f->session, f->dev, iova, PAGE, f->memfd, PAGE);

        /* With the mock attached only its aperture is usable. */
        reply = CALL(f->bus, f->ioas, I_IOAS, "GetIOVARanges", NULL);
        assert_true(sd_bus_message_enter_container(reply, 'a', "(tt)") > 0);
        while (sd_bus_message_read(reply, "(tt)", &start, &last) > 0)
                n++;
        assert_true(sd_bus_message_exit_container(reply) >= 0);
        reply_take(reply, "t", &alignment);
        assert_int_equal(n, 1);
        assert_int_equal(start, MOCK_APERTURE_START);
        assert_int_equal(last, MOCK_APERTURE_LAST);
        assert_int_equal(alignment, MOCK_PAGE_SIZE);

        /* The kernel picks an IOVA; it does not overlap the first. */
        kiova = map(f->bus, f->ioas, other, PAGE, 4 * PAGE, 0, IOMMU_IOAS_MAP_READABLE);
        assert_true(kiova >= MOCK_APERTURE_START && kiova + 4 * PAGE - 1 <= MOCK_APERTURE_LAST);
        assert_true(kiova >= iova + BUF_SIZE || kiova + 4 * PAGE <= iova);
        check_mapping(f->bus, f->session, f->dev, kiova, 4 * PAGE, other, PAGE);
        assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), 2);

        /* Copy into a second IOAS: the device moved there sees the same pages. */
        ioas2 = create_ioas(f->bus, f->session, NULL);
        reply_take(CALL(f->bus, ioas2, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) BUF_SIZE,
                        iova + 0x100000, (uint32_t) (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE)),
                   "t", &got_iova);
        assert_int_equal(got_iova, iova + 0x100000);
        assert_int_equal(get_u64(f->bus, ioas2, I_IOAS, "MappedBytes"), BUF_SIZE);
        attach(f->bus, f->session, f->dev, ioas2);
        check_mapping(f->bus, f->session, f->dev, iova + 0x100000, BUF_SIZE, f->memfd, 0);
        check_no_mapping(f->bus, f->session, f->dev, iova, PAGE, f->memfd, 0);
        attach(f->bus, f->session, f->dev, f->ioas);

        /* Unmapping really takes the pages out of the domain. */
        assert_int_equal(unmap(f->bus, f->ioas, iova, BUF_SIZE), BUF_SIZE);
        check_no_mapping(f->bus, f->session, f->dev, iova, PAGE, f->memfd, 0);
        check_mapping(f->bus, f->session, f->dev, kiova, 4 * PAGE, other, PAGE);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "Unmap", "tt", iova, (uint64_t) BUF_SIZE);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "LookupIOVA", "t", iova);
        /* 0 and 2^64-1: everything. */
        assert_int_equal(unmap(f->bus, f->ioas, 0, UINT64_MAX), 4 * PAGE);
        check_no_mapping(f->bus, f->session, f->dev, kiova, PAGE, other, PAGE);
        assert_int_equal(get_u64(f->bus, f->ioas, I_IOAS, "MappedBytes"), 0);
        assert_int_equal(get_u64(f->bus, f->session, I_SESSION, "MappedBytes"), BUF_SIZE);
        assert_int_equal(unmap(f->bus, ioas2, 0, UINT64_MAX), BUF_SIZE);
        assert_int_equal(get_u64(f->bus, f->session, I_SESSION, "MappedBytes"), 0);
}

/* Flags, sizes, alignment, ranges, and what lies past the end of a memfd. */
/* MapBatch as a VMM shadowing a guest page by page uses it: 512 pages in
 * one call, each where the guest put it, checked on the mock's domain;
 * a failure part way keeps what came before, all-or-nothing keeps nothing;
 * UnmapBatch takes them all back. */
static void test_map_batch_page_by_page(void **state) {
        Fixture *f = *state;
        const size_t n = 512;
        const uint64_t base = MOCK_APERTURE_START;
        _cleanup_close_ int ram = memfd_new("guest-ram", n * PAGE, 0x3c);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ uint64_t *entries = NULL;
        sd_bus_message *reply;
        const uint64_t *iovas;
        const char *err;
        uint64_t unmapped;
        uint32_t done;
        size_t size;

        if (f->dev)
                attach(f->bus, f->session, f->dev, f->ioas);
        /* Page i of guest memory at the IOVA of page n-1-i: five numbers
         * an entry (memfd index, offset, length, IOVA, flags). */
        entries = calloc(5 * n, sizeof(uint64_t));
        assert_non_null(entries);
        for (size_t i = 0; i < n; i++)
                memcpy(&entries[5 * i], (uint64_t[5]) { 0, i * PAGE, PAGE, base + (n - 1 - i) * PAGE, MAP_FIXED_RW },
                       5 * sizeof(uint64_t));
        m = new_call(f->bus, f->ioas, I_IOAS, "MapBatch");
        assert_true(sd_bus_message_append(m, "ah", 1, ram) >= 0);
        assert_true(sd_bus_message_append_array(m, 't', entries, 5 * n * sizeof(uint64_t)) >= 0);
        assert_true(sd_bus_message_append(m, "u", 0) >= 0);
        reply = SEND(f->bus, m);
        assert_true(sd_bus_message_read(reply, "us", &done, &err) > 0);
        assert_int_equal(done, n);
        assert_string_equal(err, "");
        assert_true(sd_bus_message_read_array(reply, 't', (const void **) &iovas, &size) > 0);
        assert_int_equal(size, n * sizeof(uint64_t));
        assert_int_equal(iovas[0], base + (n - 1) * PAGE);
        sd_bus_message_unref(reply);
        assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), n);
        assert_int_equal(get_u64(f->bus, f->ioas, I_IOAS, "MappedBytes"), n * PAGE);
        if (f->dev)
                for (size_t i = 0; i < n; i += 73)
                        check_mapping(f->bus, f->session, f->dev, base + (n - 1 - i) * PAGE, PAGE, ram, i * PAGE);

        /* The kernel refuses the second (it overlaps): the first stays. */
        reply = CALL(f->bus, f->ioas, I_IOAS, "MapBatch", "ahatu", 1, ram, 10,
                     UINT64_C(0), UINT64_C(0), (uint64_t) PAGE, base + n * PAGE, (uint64_t) MAP_FIXED_RW,
                     UINT64_C(0), UINT64_C(0), (uint64_t) PAGE, base, (uint64_t) MAP_FIXED_RW, 0);
        assert_true(sd_bus_message_read(reply, "us", &done, &err) > 0);
        assert_int_equal(done, 1);
        assert_string_equal(err, "EEXIST");
        sd_bus_message_unref(reply);
        assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), n + 1);
        if (f->dev)
                check_mapping(f->bus, f->session, f->dev, base + n * PAGE, PAGE, ram, 0);

        /* All or nothing: the one before the failure goes again. */
        CALL_FAILS(E_BUSY, f->bus, f->ioas, I_IOAS, "MapBatch", "ahatu", 1, ram, 10,
                   UINT64_C(0), UINT64_C(0), (uint64_t) PAGE, base + (n + 1) * PAGE, (uint64_t) MAP_FIXED_RW,
                   UINT64_C(0), UINT64_C(0), (uint64_t) PAGE, base, (uint64_t) MAP_FIXED_RW, 1);
        assert_error_mentions("Entry 1: ");
        assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), n + 1);
        if (f->dev)
                check_no_mapping(f->bus, f->session, f->dev, base + (n + 1) * PAGE, PAGE, ram, 0);

        reply = CALL(f->bus, f->ioas, I_IOAS, "UnmapBatch", "at", 4, base, (uint64_t) n * PAGE,
                     base + n * PAGE, (uint64_t) PAGE);
        assert_true(sd_bus_message_read(reply, "ust", &done, &err, &unmapped) > 0);
        assert_int_equal(done, 2);
        assert_string_equal(err, "");
        assert_int_equal(unmapped, (n + 1) * PAGE);
        sd_bus_message_unref(reply);
        assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), 0);
}

static void test_map_refuses_bad_flags_and_ranges(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_close_ int small = memfd_new("small", 2 * PAGE, 0);

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW | (1u << 3));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, (uint32_t) IOMMU_IOAS_MAP_FIXED_IOVA);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   UINT64_C(0), iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0x800),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   UINT64_C(0x1800), iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE + 0x800, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   (uint64_t) PAGE, UINT64_MAX - PAGE + 1 + PAGE / 2, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   UINT64_C(2) * PAGE, UINT64_MAX - PAGE + 1, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd,
                   UINT64_MAX - PAGE + 1, UINT64_C(2) * PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        /* past the end of the memfd */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", small, UINT64_C(0),
                   UINT64_C(3) * PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", small, UINT64_C(2) * PAGE,
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        scene_untouched(s);
}

/* An IOVA taken, and one outside the mock's aperture (the kernel answers
 * EINVAL for IOVAs reserved by an attached device). */
static void test_map_refuses_taken_or_reserved_iova(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;
        const uint64_t iova = MOCK_APERTURE_START;

        CALL_FAILS(E_BUSY, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0), (uint64_t) PAGE,
                   iova + PAGE, MAP_FIXED_RW);
        CALL_FAILS(E_KERNEL, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0), (uint64_t) PAGE,
                   UINT64_C(0x1000), MAP_FIXED_RW);
        assert_error_mentions("EINVAL");
        scene_untouched(s);
}

/* Fds that are no guest memory; guest memory opened read-only cannot be
 * mapped writeable, and an O_PATH fd gives no access at all. A read-only fd
 * maps readable memory. */
static void test_map_refuses_non_memory_fds(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_free_ char *ro_path = NULL;
        _cleanup_close_ int pipe_r = -EBADF, pipe_w = -EBADF, devnull = -EBADF, sock = -EBADF, dir = -EBADF,
                            opath = -EBADF, ro = -EBADF;
        int p[2], sp[2];

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pipe_r = p[0];
        pipe_w = p[1];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        sock = sp[0];
        close(sp[1]);
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(asprintf(&ro_path, "/proc/self/fd/%d", f->memfd) > 0);
        ro = open(ro_path, O_RDONLY | O_CLOEXEC);
        opath = open(ro_path, O_PATH | O_CLOEXEC);
        assert_true(devnull >= 0 && dir >= 0 && ro >= 0 && opath >= 0);

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", pipe_r, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", pipe_w, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, (uint32_t) (IOMMU_IOAS_MAP_FIXED_IOVA |
                                                                 IOMMU_IOAS_MAP_READABLE));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", devnull, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", sock, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", dir, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", ro, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", opath, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, (uint32_t) (IOMMU_IOAS_MAP_FIXED_IOVA |
                                                                 IOMMU_IOAS_MAP_READABLE));
        scene_untouched(s);

        assert_int_equal(map(f->bus, f->ioas, ro, 0, PAGE, iova + BUF_SIZE,
                             IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE), iova + BUF_SIZE);
        check_mapping(f->bus, f->session, f->dev, iova + BUF_SIZE, PAGE, f->memfd, 0);
}

/* Guest memory sealed against writing is never mapped writeable: the
 * kernel's IOMMU_IOAS_MAP_FILE does not look at seals, the daemon must. */
static void test_map_refuses_writeable_sealed_memory(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        static const int seals[] = { F_SEAL_WRITE, F_SEAL_FUTURE_WRITE };

        for (size_t i = 0; i < ELEMENTSOF(seals); i++) {
                _cleanup_close_ int fd = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
                uint8_t page[PAGE];

                assert_true(fd >= 0);
                memset(page, 0x77, sizeof(page));
                assert_int_equal(pwrite(fd, page, sizeof(page), 0), PAGE);
                assert_int_equal(fcntl(fd, F_ADD_SEALS, seals[i] | F_SEAL_SHRINK), 0);
                CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", fd, UINT64_C(0),
                           (uint64_t) PAGE, iova, MAP_FIXED_RW);
                assert_error_mentions("sealed");
                assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), 0);
                /* Read-only it may be mapped, and the device sees it. */
                map(f->bus, f->ioas, fd, 0, PAGE, iova, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE);
                if (f->dev) {
                        attach(f->bus, f->session, f->dev, f->ioas);
                        check_mapping(f->bus, f->session, f->dev, iova, PAGE, fd, 0);
                }
                assert_int_equal(unmap(f->bus, f->ioas, iova, PAGE), PAGE);
        }
}

static void test_unmap_refuses_bad_ranges(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;
        const uint64_t iova = MOCK_APERTURE_START;

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Unmap", "tt", iova, UINT64_C(0));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Unmap", "tt", UINT64_MAX - PAGE + 1,
                   UINT64_C(2) * PAGE);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Unmap", "tt", iova + PAGE, (uint64_t) PAGE);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "Unmap", "tt", iova + BUF_SIZE, (uint64_t) PAGE);
        /* a path that is nobody's */
        CALL_FAILS(E_UNKNOWN_OBJECT, f->bus, s->fake, I_IOAS, "Unmap", "tt", iova, (uint64_t) PAGE);
        scene_untouched(s);
}

static void test_copy_refuses_bad_arguments(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;
        const uint64_t iova = MOCK_APERTURE_START;

        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "Copy", "otttu", s->other_ioas, iova, (uint64_t) PAGE,
                   iova, (uint32_t) IOMMU_IOAS_MAP_READABLE);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Copy", "otttu", f->ioas, iova + 0x800,
                   (uint64_t) PAGE, UINT64_C(0), (uint32_t) IOMMU_IOAS_MAP_READABLE);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) PAGE,
                   UINT64_C(0), 1u << 9);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Copy", "otttu", s->parent, iova, (uint64_t) PAGE,
                   UINT64_C(0), (uint32_t) IOMMU_IOAS_MAP_READABLE);
        scene_untouched(s);
}

/* IOAS.Copy checks what Map checks, before the kernel sees it. */
static void test_copy_refuses_unaligned_and_wrapping(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_free_ char *dst = create_ioas(f->bus, f->session, NULL), *before = NULL, *after = NULL;

        map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW);
        before = describe(f->bus);
        /* unaligned source, length, fixed destination; wrapping ranges */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, dst, I_IOAS, "Copy", "otttu", f->ioas, iova + 1, (uint64_t) PAGE,
                   iova, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, dst, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) PAGE + 1,
                   iova, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, dst, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) PAGE,
                   iova + 1, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, dst, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) 2 * PAGE,
                   UINT64_MAX - PAGE + 1, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, dst, I_IOAS, "Copy", "otttu", f->ioas, UINT64_MAX - PAGE + 1,
                   (uint64_t) 2 * PAGE, iova, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, dst, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) PAGE,
                   iova, (uint32_t) IOMMU_IOAS_MAP_FIXED_IOVA);
        after = describe(f->bus);
        assert_string_equal(before, after);
}

static void test_lookup_iova_refuses_unmapped(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "LookupIOVA", "t", MOCK_APERTURE_START + BUF_SIZE);
        scene_untouched(s);
}

/* ---- AllowIOVAs --------------------------------------------------------- */

/* AllowIOVAs steers where the kernel puts a mapping it may choose the IOVA
 * of, and only that: a fixed IOVA outside the allowed ranges is still the
 * caller's to take (IOMMU_IOAS_ALLOW_IOVAS; the kernel checks fixed IOVAs
 * against reserved ranges alone), and ranges that an attached device
 * reserves cannot be allowed. */
static void test_allow_iovas_steers_kernel_choice(void **state) {
        Fixture *f = *state;
        /* A window of BUF_SIZE, aligned to it, well inside the mock's
         * aperture and away from its start. */
        const uint64_t start = MOCK_APERTURE_START + 0x400000, last = start + BUF_SIZE - 1;
        const uint64_t fixed = MOCK_APERTURE_START;
        _cleanup_close_ int other = memfd_new("other", BUF_SIZE, 0xa5);
        uint64_t kiova;

        attach(f->bus, f->session, f->dev, f->ioas);
        CALL_OK(f->bus, f->ioas, I_IOAS, "AllowIOVAs", "a(tt)", 1, start, last);

        /* The kernel chooses inside the window, and maps the pages there. */
        kiova = map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, 0, MAP_RW);
        assert_true(kiova >= start && kiova + BUF_SIZE - 1 <= last);
        check_mapping(f->bus, f->session, f->dev, kiova, BUF_SIZE, f->memfd, 0);
        /* The window is full: no other place, though the aperture has room. */
        CALL_FAILS(E_BUSY, f->bus, f->ioas, I_IOAS, "Map", "htttu", other, UINT64_C(0), (uint64_t) PAGE,
                   UINT64_C(0), (uint32_t) MAP_RW);
        /* A fixed IOVA outside it is the caller's choice. */
        assert_int_equal(map(f->bus, f->ioas, other, 0, PAGE, fixed, MAP_FIXED_RW), fixed);
        check_mapping(f->bus, f->session, f->dev, fixed, PAGE, other, 0);

        /* Below the mock's aperture the attached device reserves every IOVA:
         * refused, and the window stays. */
        CALL_FAILS(E_BUSY, f->bus, f->ioas, I_IOAS, "AllowIOVAs", "a(tt)", 1, UINT64_C(0x1000), UINT64_C(0x1fff));
        assert_int_equal(unmap(f->bus, f->ioas, kiova, BUF_SIZE), BUF_SIZE);
        kiova = map(f->bus, f->ioas, other, PAGE, PAGE, 0, MAP_RW);
        assert_true(kiova >= start && kiova + PAGE - 1 <= last);
        check_mapping(f->bus, f->session, f->dev, kiova, PAGE, other, PAGE);
        /* With a page of the window taken, BUF_SIZE fits nowhere in it; */
        CALL_FAILS(E_BUSY, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0), (uint64_t) BUF_SIZE,
                   UINT64_C(0), (uint32_t) MAP_RW);
        /* with no list the kernel chooses anywhere again. */
        CALL_OK(f->bus, f->ioas, I_IOAS, "AllowIOVAs", "a(tt)", 0);
        kiova = map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, 0, MAP_RW);
        assert_true(kiova + BUF_SIZE - 1 < start || kiova > last);
        check_mapping(f->bus, f->session, f->dev, kiova, BUF_SIZE, f->memfd, 0);
        assert_int_equal(unmap(f->bus, f->ioas, 0, UINT64_MAX), 2 * PAGE + BUF_SIZE);
}

static void test_allow_iovas_refuses_inverted_range(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "AllowIOVAs", "a(tt)", 1, UINT64_C(0x2000),
                   UINT64_C(0x1000));
        scene_untouched(s);
}

/* An array longer than AllowIOVAs takes is refused before it is read. */
static void test_allow_iovas_refuses_oversized_array(void **state) {
        Fixture *f = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        const size_t n_ranges = 100000;

        before = describe(f->bus);
        m = new_call(f->bus, f->ioas, I_IOAS, "AllowIOVAs");
        assert_true(sd_bus_message_open_container(m, 'a', "(tt)") >= 0);
        for (size_t i = 0; i < n_ranges; i++)
                assert_true(sd_bus_message_append(m, "(tt)", (uint64_t) i * 2 * PAGE,
                                                  (uint64_t) i * 2 * PAGE + PAGE - 1) >= 0);
        assert_true(sd_bus_message_close_container(m) >= 0);
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        assert_error_mentions("At most 4096 ranges");
        after = describe(f->bus);
        assert_string_equal(before, after);
}

/* ---- wrong types -------------------------------------------------------- */

static void test_ioas_refuses_wrong_types(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *before = NULL, *after = NULL;
        static const char *const must_see[] = { I_IOAS ".Map", I_IOAS ".Unmap" };
        const char *paths[] = { f->ioas };

        before = describe(f->bus);
        refuse_wrong_types(f->bus, paths, ELEMENTSOF(paths), must_see, ELEMENTSOF(must_see));
        after = describe(f->bus);
        assert_string_equal(before, after);
}

/* ---- map-path: how guest memory reaches the kernel ---------------------- */

static void test_map_path_file_or_shared_mapping(void **state) {
        Fixture *f = *state;
        pid_t daemon = daemon_pid(f->bus);
        _cleanup_free_ char *name = NULL, *maps_path = NULL, *maps = NULL, *needle = NULL;
        _cleanup_close_ int fd = -EBADF;
        const uint64_t iova = MOCK_APERTURE_START, size = 1 << 20;
        bool map_file = false, found = false;
        sd_bus_message *reply;
        uint64_t pinned;

        /* The daemon's probe agrees with the kernel's version. */
        reply = CALL(f->bus, MANAGER_PATH, I_MANAGER, "GetKernelFeatures", NULL);
        assert_true(sd_bus_message_enter_container(reply, 'a', "(sbss)") > 0);
        for (;;) {
                const char *feature, *interface, *since;
                int supported;

                if (sd_bus_message_read(reply, "(sbss)", &feature, &supported, &interface, &since) <= 0)
                        break;
                if (streq(feature, "ioas-map-file")) {
                        found = true;
                        map_file = supported;
                        assert_string_equal(since, "6.13");
                }
        }
        sd_bus_message_unref(reply);
        assert_true(found);
        assert_int_equal(map_file, kernel_at_least(6, 13));

        assert_true(asprintf(&name, "viommu-itest-%d", (int) getpid()) > 0);
        fd = memfd_new(name, size, 0x77);
        attach(f->bus, f->session, f->dev, f->ioas);
        pinned = pinned_kib(daemon);
        map(f->bus, f->ioas, fd, 0, size, iova, MAP_FIXED_RW);
        check_mapping(f->bus, f->session, f->dev, iova, size, fd, 0);
        assert_int_equal(pinned_kib(daemon), pinned + size / 1024);

        /* With IOMMU_IOAS_MAP_FILE the daemon never maps guest memory
         * itself; before it, it maps the memfd shared, for as long as the
         * IOAS holds it. */
        assert_true(asprintf(&maps_path, "/proc/%d/maps", (int) daemon) > 0);
        assert_true(asprintf(&needle, "/memfd:%s ", name) > 0);
        maps = read_file(maps_path);
        assert_non_null(maps);
        assert_int_equal(strstr(maps, needle) != NULL, !map_file);

        assert_int_equal(unmap(f->bus, f->ioas, iova, size), size);
        assert_int_equal(pinned_kib(daemon), pinned);
        free(maps);
        maps = read_file(maps_path);
        assert_null(strstr(maps, needle));
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest ioas[] = {
                T(test_map_lookup_copy_unmap),
                T(test_map_batch_page_by_page),
                R(test_map_refuses_bad_flags_and_ranges),
                R(test_map_refuses_taken_or_reserved_iova),
                R(test_map_refuses_non_memory_fds),
                T(test_map_refuses_writeable_sealed_memory),
                R(test_unmap_refuses_bad_ranges),
                R(test_copy_refuses_bad_arguments),
                T(test_copy_refuses_unaligned_and_wrapping),
                R(test_lookup_iova_refuses_unmapped),
                T(test_allow_iovas_steers_kernel_choice),
                R(test_allow_iovas_refuses_inverted_range),
                T(test_allow_iovas_refuses_oversized_array),
                T(test_ioas_refuses_wrong_types),
        };
        const struct CMUnitTest map_path[] = { T(test_map_path_file_or_shared_mapping) };
        const Group groups[] = { GROUP("ioas", ioas), GROUP("map-path", map_path) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
