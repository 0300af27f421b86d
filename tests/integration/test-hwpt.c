/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * HWPTs, as a VMM with a nested (two-stage) IOMMU uses them: AllocHWPT,
 * Attach and Detach, Invalidate, fault queues, dirty tracking, and each
 * one's refusals, checked in the kernel's mock driver through the Testing
 * interface. Mock devices, any uid.
 *
 *   test-hwpt [hwpt]
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- AllocHWPT, Attach, Detach, Invalidate ------------------------------ */

/* The whole flow of a VMM with a nested (two-stage) IOMMU, then teardown in
 * dependency order. */
static void test_alloc_hwpt_nested_flow(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_free_ char *parent = NULL, *nested = NULL, *s = NULL, *err = NULL, *before = NULL, *after = NULL;
        struct iommu_hwpt_invalidate_selftest inv[4];
        uint32_t parent_id, nested_id;
        char **l;

        assert_int_equal(map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);

        parent = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, &parent_id);
        s = get_string(f->bus, parent, I_HWPT, "Kind", "s");
        assert_string_equal(s, "paging");
        free(TAKE_PTR(s));
        assert_int_equal(get_u32(f->bus, parent, I_HWPT, "Flags"), IOMMU_HWPT_ALLOC_NEST_PARENT);
        s = get_string(f->bus, parent, I_HWPT, "Parent", "o");
        assert_string_equal(s, f->ioas);
        free(TAKE_PTR(s));

        nested = alloc_nested(f->bus, f->session, f->dev, parent, NULL, 0, &nested_id);
        s = get_string(f->bus, nested, I_HWPT, "Kind", "s");
        assert_string_equal(s, "nested");
        free(TAKE_PTR(s));
        assert_int_equal(get_u32(f->bus, nested, I_HWPT, "DataType"), IOMMU_HWPT_DATA_SELFTEST);
        l = get_strv(f->bus, nested, I_OBJECT, "Uses", "ao");
        assert_int_equal(strv_length(l), 2);
        assert_true(strv_contains(l, parent));
        assert_true(strv_contains(l, f->dev));
        strv_free(l);
        assert_int_equal(get_u32(f->bus, parent, I_OBJECT, "Users"), 1);

        assert_int_equal(attach(f->bus, f->session, f->dev, nested), nested_id);
        s = get_string(f->bus, f->dev, I_DEVICE, "Attached", "o");
        assert_string_equal(s, nested);
        free(TAKE_PTR(s));
        /* Stage 2 under the guest's stage 1 holds the IOAS's mappings. */
        check_mapping(f->bus, f->session, f->dev, iova, BUF_SIZE, f->memfd, 0);

        /* The guest's stage 1 as the kernel got it; the check can fail. */
        for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
                check_iotlb(f->bus, f->session, nested, i, IOMMU_TEST_IOTLB_DEFAULT);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "CheckIOTLB", "ouu", nested, 0, 0);

        /* A batch whose third entry names an IOTLB the mock lacks: the
         * kernel handles two, says why it stopped, leaves the rest. */
        inv[0] = (struct iommu_hwpt_invalidate_selftest) { .iotlb_id = 0 };
        inv[1] = (struct iommu_hwpt_invalidate_selftest) { .iotlb_id = 1 };
        inv[2] = (struct iommu_hwpt_invalidate_selftest) { .iotlb_id = 99 };
        inv[3] = (struct iommu_hwpt_invalidate_selftest) { .iotlb_id = 3 };
        assert_int_equal(invalidate(f->bus, nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]),
                                    inv, sizeof(inv), &err), 2);
        assert_string_equal(err, "EINVAL");
        free(TAKE_PTR(err));
        check_iotlb(f->bus, f->session, nested, 0, 0);
        check_iotlb(f->bus, f->session, nested, 1, 0);
        check_iotlb(f->bus, f->session, nested, 2, IOMMU_TEST_IOTLB_DEFAULT);
        check_iotlb(f->bus, f->session, nested, 3, IOMMU_TEST_IOTLB_DEFAULT);
        /* A type the mock does not know: nothing handled. */
        assert_int_equal(invalidate(f->bus, nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
                                    sizeof(inv[0]), inv, sizeof(inv[0]), &err), 0);
        assert_string_equal(err, "EINVAL");
        free(TAKE_PTR(err));
        check_iotlb(f->bus, f->session, nested, 2, IOMMU_TEST_IOTLB_DEFAULT);
        /* No entries: a no-op. */
        assert_int_equal(invalidate(f->bus, nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                                    sizeof(inv[0]), NULL, 0, &err), 0);
        assert_string_equal(err, "");
        free(TAKE_PTR(err));
        /* "All" clears every entry. */
        inv[0] = (struct iommu_hwpt_invalidate_selftest) { .flags = IOMMU_TEST_INVALIDATE_FLAG_ALL };
        assert_int_equal(invalidate(f->bus, nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]),
                                    inv, sizeof(inv[0]), &err), 1);
        assert_string_equal(err, "");
        for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
                check_iotlb(f->bus, f->session, nested, i, 0);

        /* Out of order: each refused with Busy, and nothing changes. */
        before = describe(f->bus);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", parent);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", nested);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", f->ioas);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "ReleaseDevice", "o", f->dev);
        after = describe(f->bus);
        assert_string_equal(before, after);
        check_mapping(f->bus, f->session, f->dev, iova, BUF_SIZE, f->memfd, 0);

        /* In order. */
        CALL_OK(f->bus, f->session, I_SESSION, "Detach", "o", f->dev);
        s = get_string(f->bus, f->dev, I_DEVICE, "Attached", "o");
        assert_string_equal(s, "/");
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Detach", "o", f->dev);
        destroy(f->bus, f->session, nested);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_TESTING, "CheckIOTLB", "ouu", nested, 0, 0);
        destroy(f->bus, f->session, parent);
        assert_int_equal(unmap(f->bus, f->ioas, iova, BUF_SIZE), BUF_SIZE);
        destroy(f->bus, f->session, f->ioas);
        CALL_OK(f->bus, f->session, I_SESSION, "ReleaseDevice", "o", f->dev);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), 0);

        /* The objects are gone from the bus too. */
        CALL_FAILS(E_UNKNOWN_OBJECT, f->bus, f->ioas, I_IOAS, "GetIOVARanges", NULL);
        close_session(f->bus, f->session);
        l = sessions(f->bus);
        assert_false(strv_contains(l, f->session));
        strv_free(l);
        CALL_FAILS(E_UNKNOWN_OBJECT, f->bus, f->session, I_SESSION, "CreateIOAS", NULL);
}

static void test_alloc_hwpt_refuses_bad_arguments(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;
        uint8_t big[4097] = {};

        alloc_hwpt_fails(E_NO_SUCH_OBJECT, f->bus, f->session, s->other_dev, f->ioas, NULL, 0, 0, NULL, 0);
        alloc_hwpt_fails(E_NO_SUCH_OBJECT, f->bus, f->session, f->dev, s->other_ioas, NULL, 0, 0, NULL, 0);
        alloc_hwpt_fails(E_NO_SUCH_OBJECT, f->bus, f->session, f->dev, s->fake, NULL, 0, 0, NULL, 0);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->ioas, f->ioas, NULL, 0, 0, NULL, 0);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, f->dev, NULL, 0, 0, NULL, 0);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, s->fq, NULL, 0, 0, NULL, 0);
        /* nested on nested, and a nested one without the guest's stage 1 */
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, s->nested, NULL, 0, IOMMU_HWPT_DATA_SELFTEST,
                         &mock_s1, MOCK_HWPT_DATA_LEN);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, s->parent, NULL, 0, IOMMU_HWPT_DATA_SELFTEST,
                         NULL, 0);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, f->ioas, NULL, 0, IOMMU_HWPT_DATA_NONE,
                         &mock_s1, MOCK_HWPT_DATA_LEN);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, s->parent, NULL, 0, IOMMU_HWPT_DATA_SELFTEST,
                         big, sizeof(big));
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, f->ioas, NULL, 1u << 30,
                         IOMMU_HWPT_DATA_NONE, NULL, 0);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, s->parent, f->ioas, 0,
                         IOMMU_HWPT_DATA_SELFTEST, &mock_s1, MOCK_HWPT_DATA_LEN);
        alloc_hwpt_fails(E_NO_SUCH_OBJECT, f->bus, f->session, f->dev, s->parent, s->fake, 0, IOMMU_HWPT_DATA_SELFTEST,
                         &mock_s1, MOCK_HWPT_DATA_LEN);
        /* vendor data the kernel does not know */
        alloc_hwpt_fails(E_NOT_SUPPORTED, f->bus, f->session, f->dev, s->parent, NULL, 0, 0x7777, &mock_s1,
                         MOCK_HWPT_DATA_LEN);
        scene_untouched(s);
}

/* A device whose IOMMU cannot track dirty pages: the kernel says no. */
static void test_alloc_hwpt_refuses_untracking_device(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *dev = create_mock(f->bus, f->session, MOCK_FLAGS_DEVICE_NO_DIRTY, NULL);
        _cleanup_free_ char *before = describe(f->bus), *after = NULL;

        alloc_hwpt_fails(E_NOT_SUPPORTED, f->bus, f->session, dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                         IOMMU_HWPT_DATA_NONE, NULL, 0);
        after = describe(f->bus);
        assert_string_equal(before, after);
}

static void test_attach_refuses_bad_objects(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "Attach", "oo", f->dev, s->other_ioas);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "Attach", "oo", s->other_dev, f->ioas);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Attach", "oo", f->dev, s->idle);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Attach", "oo", f->dev, s->fq);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Attach", "oo", f->ioas, f->ioas);
        scene_untouched(s);
}

static void test_detach_refuses_unattached(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Detach", "o", s->idle);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Detach", "o", f->ioas);
        scene_untouched(s);
}

static void test_invalidate_refuses_bad_entries(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;
        uint8_t big[4097] = {};
        struct iommu_hwpt_invalidate_selftest inv[2] = {};
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        m = invalidate_call(f->bus, s->nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0, inv, sizeof(inv));
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        sd_bus_message_unref(TAKE_PTR(m));
        m = invalidate_call(f->bus, s->nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), inv,
                            sizeof(inv) - 1);
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        sd_bus_message_unref(TAKE_PTR(m));
        m = invalidate_call(f->bus, s->nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 4097, big, sizeof(big));
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        sd_bus_message_unref(TAKE_PTR(m));
        m = invalidate_call(f->bus, s->parent, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), inv,
                            sizeof(inv));
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        scene_untouched(s);
}

/* ---- fault queues ------------------------------------------------------- */

static void test_alloc_fault_queue_page_requests(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *parent = NULL, *fq = NULL, *iopf = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct iommu_hwpt_pgfault fault[2];
        struct iommu_hwpt_page_response resp;
        uint32_t fq_id;
        ssize_t l;

        parent = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        fq = reply_object_fd(CALL(f->bus, f->session, I_SESSION, "AllocFaultQueue", NULL), &fq_id, &fd);
        assert_true(fq_id > 0);

        iopf = alloc_nested(f->bus, f->session, f->dev, parent, fq, 0, NULL);
        attach(f->bus, f->session, f->dev, iopf);

        /* Nothing pending: the VMM's fd has nothing to read (0 bytes or
         * EAGAIN, depending on the kernel). */
        assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
        l = read(fd, fault, sizeof(fault));
        assert_true(l == 0 || (l < 0 && errno == EAGAIN));

        /* The device faults; the page request arrives on the VMM's fd. */
        CALL_OK(f->bus, f->session, I_TESTING, "TriggerFault", "ouuut", f->dev, 1, 2,
                (uint32_t) (IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE), UINT64_C(0xdeadb000));
        assert_int_equal(poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, 5000), 1);
        l = read(fd, fault, sizeof(fault));
        assert_int_equal(l, sizeof(fault[0]));
        assert_int_equal(fault[0].dev_id, f->dev_id);
        assert_int_equal(fault[0].pasid, 1);
        assert_int_equal(fault[0].grpid, 2);
        assert_int_equal(fault[0].addr, 0xdeadb000);
        assert_true(fault[0].flags & IOMMU_PGFAULT_FLAGS_PASID_VALID);
        assert_true(fault[0].perm & IOMMU_PGFAULT_PERM_WRITE);

        /* The VMM answers on the same fd; the kernel knows its cookies. */
        resp = (struct iommu_hwpt_page_response) { .cookie = fault[0].cookie + 1000,
                                                   .code = IOMMUFD_PAGE_RESP_SUCCESS };
        assert_int_equal(write(fd, &resp, sizeof(resp)), -1);
        assert_int_equal(errno, EINVAL);
        resp.cookie = fault[0].cookie;
        assert_int_equal(write(fd, &resp, sizeof(resp)), sizeof(resp));

        /* The queue goes after the HWPT using it, and after its fd. */
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", fq);
        CALL_OK(f->bus, f->session, I_SESSION, "Detach", "o", f->dev);
        destroy(f->bus, f->session, iopf);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", fq);
        assert_error_mentions("fd");
        fd = (close(fd), -EBADF);
        destroy(f->bus, f->session, fq);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), 3);
}

/* ---- SetDirtyTracking, ReadDirtyBitmap ---------------------------------- */

/* Dirty bits are kept per IO page table entry. The 7.x mock maps
 * physically contiguous memory with large entries, so each 4 KiB page is
 * mapped on its own: every entry is then at most 4 KiB, and reads at
 * 4 KiB resolve exactly on every kernel. The mock takes marks in its own
 * 2 KiB pages. */
static void test_read_dirty_bitmap_tracks_marks(void **state) {
        Fixture *f = *state;
        const uint64_t npages = BUF_SIZE / PAGE, iova = MOCK_APERTURE_START;
        uint64_t marks[DIV_ROUND_UP(BUF_SIZE / PAGE, 64)] = {}, marks_2k[2 * ELEMENTSOF(marks)] = {};
        uint64_t expected = 0, nr;
        _cleanup_free_ char *hwpt = NULL, *plain = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_message *reply;
        const void *bitmap;
        size_t size;

        hwpt = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                          IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        attach(f->bus, f->session, f->dev, hwpt);
        for (uint64_t i = 0; i < npages; i++)
                assert_int_equal(map(f->bus, f->ioas, f->memfd, i * PAGE, PAGE, iova + i * PAGE, MAP_FIXED_RW),
                                 iova + i * PAGE);
        assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), npages);
        check_mapping(f->bus, f->session, f->dev, iova, BUF_SIZE, f->memfd, 0);
        CALL_OK(f->bus, hwpt, I_HWPT, "SetDirtyTracking", "b", 1);

        /* Every third page is written by "the device". */
        for (uint64_t i = 0; i < npages; i += 3) {
                marks[i / 64] |= UINT64_C(1) << (i % 64);
                marks_2k[2 * i / 64] |= UINT64_C(1) << (2 * i % 64);
                expected++;
        }
        m = new_call(f->bus, f->session, I_TESTING, "MarkDirty");
        assert_true(sd_bus_message_append(m, "ottt", hwpt, iova, (uint64_t) BUF_SIZE,
                                          (uint64_t) MOCK_PAGE_SIZE) >= 0);
        assert_true(sd_bus_message_append_array(m, 't', marks_2k, sizeof(marks_2k)) >= 0);
        reply_take(SEND(f->bus, m), "t", &nr);
        assert_int_equal(nr, expected);

        /* Read without clearing, then read and clear, then nothing is left. */
        for (int pass = 0; pass < 3; pass++) {
                reply = CALL(f->bus, hwpt, I_HWPT, "ReadDirtyBitmap", "tttb", iova, (uint64_t) BUF_SIZE,
                             (uint64_t) PAGE, pass > 0);
                assert_true(sd_bus_message_read_array(reply, 't', &bitmap, &size) >= 0);
                assert_int_equal(size, sizeof(marks));
                if (pass < 2)
                        assert_memory_equal(bitmap, marks, sizeof(marks));
                else
                        for (size_t i = 0; i < ELEMENTSOF(marks); i++)
                                assert_int_equal(((const uint64_t *) bitmap)[i], 0);
                sd_bus_message_unref(reply);
        }
        CALL_OK(f->bus, hwpt, I_HWPT, "SetDirtyTracking", "b", 0);

        /* A HWPT made without DIRTY_TRACKING cannot track. */
        plain = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, plain, I_HWPT, "SetDirtyTracking", "b", 1);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, plain, I_HWPT, "ReadDirtyBitmap", "tttb", iova,
                   (uint64_t) BUF_SIZE, (uint64_t) PAGE, 1);
        assert_int_equal(unmap(f->bus, f->ioas, 0, UINT64_MAX), BUF_SIZE);
}

static void test_set_dirty_tracking_refuses_untracking_hwpt(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, s->parent, I_HWPT, "SetDirtyTracking", "b", 1);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, s->nested, I_HWPT, "SetDirtyTracking", "b", 1);
        scene_untouched(s);
}

static void test_read_dirty_bitmap_refuses_bad_ranges(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;
        const uint64_t iova = MOCK_APERTURE_START;

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, s->parent, I_HWPT, "ReadDirtyBitmap", "tttb", iova,
                   (uint64_t) BUF_SIZE, UINT64_C(3), 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, s->parent, I_HWPT, "ReadDirtyBitmap", "tttb", iova, UINT64_C(0),
                   (uint64_t) PAGE, 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, s->parent, I_HWPT, "ReadDirtyBitmap", "tttb", iova + 1,
                   (uint64_t) BUF_SIZE, (uint64_t) PAGE, 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, s->parent, I_HWPT, "ReadDirtyBitmap", "tttb", UINT64_C(0),
                   UINT64_C(1) << 40, (uint64_t) PAGE, 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, s->parent, I_HWPT, "ReadDirtyBitmap", "tttb", UINT64_MAX - PAGE + 1,
                   UINT64_C(2) * PAGE, (uint64_t) PAGE, 0);
        scene_untouched(s);
}

/* ---- wrong types -------------------------------------------------------- */

/* A nesting parent, a nested HWPT and a fault queue. */
static void test_hwpt_refuses_wrong_types(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *parent = NULL, *nested = NULL, *fq = NULL, *before = NULL, *after = NULL;
        static const char *const must_see[] = { I_HWPT ".Invalidate", I_HWPT ".ReadDirtyBitmap" };
        sd_bus_message *reply;

        parent = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        nested = alloc_nested(f->bus, f->session, f->dev, parent, NULL, 0, NULL);
        reply = CALL(f->bus, f->session, I_SESSION, "AllocFaultQueue", NULL);
        fq = reply_object(reply, NULL);

        before = describe(f->bus);
        const char *paths[] = { parent, nested, fq };
        refuse_wrong_types(f->bus, paths, ELEMENTSOF(paths), must_see, ELEMENTSOF(must_see));
        after = describe(f->bus);
        assert_string_equal(before, after);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest hwpt[] = {
                T(test_alloc_hwpt_nested_flow),
                R(test_alloc_hwpt_refuses_bad_arguments),
                T(test_alloc_hwpt_refuses_untracking_device),
                R(test_attach_refuses_bad_objects),
                R(test_detach_refuses_unattached),
                R(test_invalidate_refuses_bad_entries),
                T(test_alloc_fault_queue_page_requests),
                T(test_read_dirty_bitmap_tracks_marks),
                R(test_set_dirty_tracking_refuses_untracking_hwpt),
                R(test_read_dirty_bitmap_refuses_bad_ranges),
                T(test_hwpt_refuses_wrong_types),
        };
        const Group groups[] = { GROUP("hwpt", hwpt) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
