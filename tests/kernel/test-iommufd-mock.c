/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libviommu's iommufd wrappers against a real kernel, with the kernel's mock
 * devices (CONFIG_IOMMUFD_TEST) standing in for hardware. Every outcome is
 * checked with the mock driver's own view of its domains (MD_CHECK_MAP,
 * MD_CHECK_IOTLB) or with what the kernel reports back.
 */

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel-test.h"
#include "mock/viommu-mock.h"

#define BUF_SIZE (64 * 4096)
/* Kernels refuse vendor data longer than the struct they know; the mock's
 * grew after 6.12, and only its first field is needed. */
#define MOCK_HWPT_DATA_LEN sizeof(((struct iommu_hwpt_selftest *) NULL)->iotlb)

struct fixture {
        int fd;
        uint32_t ioas;
        struct viommu_mock_device dev;
        uint8_t *buf;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        f->fd = test_iommufd();
        assert_ok(viommu_ioas_alloc(f->fd, &f->ioas));
        assert_ok(viommu_mock_device_new(f->fd, f->ioas, 0, &f->dev));
        f->buf = test_buffer(BUF_SIZE);
        *state = f;
        return 0;
}

/* Closing the iommufd destroys every object in it and unpins every page. */
static int teardown(void **state) {
        struct fixture *f = *state;

        close(f->fd);
        munmap(f->buf, BUF_SIZE);
        free(f);
        return 0;
}

static void test_ioas_alloc_destroy(void **state) {
        struct fixture *f = *state;
        uint32_t id;

        assert_ok(viommu_ioas_alloc(f->fd, &id));
        assert_int_not_equal(id, f->ioas);
        assert_ok(viommu_destroy(f->fd, id));
        assert_errno(viommu_destroy(f->fd, id), ENOENT);
        assert_errno(viommu_destroy(f->fd, UINT32_MAX), ENOENT);
        /* The IOAS with a device attached is busy. */
        assert_errno(viommu_destroy(f->fd, f->ioas), EBUSY);
        assert_errno(viommu_ioas_alloc(-1, &id), EBADF);
        assert_errno(viommu_ioas_alloc(f->fd, NULL), EINVAL);
}

static void test_ioas_map_fixed(void **state) {
        struct fixture *f = *state;
        uint64_t iova = MOCK_APERTURE_START, unmapped = 0;

        assert_ok(viommu_ioas_map(f->fd, f->ioas,
                                  IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
                                  f->buf, BUF_SIZE, &iova));
        assert_int_equal(iova, MOCK_APERTURE_START);
        assert_ok(viommu_mock_check_map(f->fd, f->dev.hwpt_id, iova, BUF_SIZE, f->buf));
        /* The mock really compares pages: a shifted VA does not match. */
        assert_errno(viommu_mock_check_map(f->fd, f->dev.hwpt_id, iova, 4096, f->buf + 4096), EINVAL);
        /* Overlapping a fixed mapping is refused. */
        assert_errno(viommu_ioas_map(f->fd, f->ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
                                     f->buf, 4096, &iova), EEXIST);

        assert_ok(viommu_ioas_unmap(f->fd, f->ioas, MOCK_APERTURE_START, BUF_SIZE, &unmapped));
        assert_int_equal(unmapped, BUF_SIZE);
        assert_errno(viommu_mock_check_map(f->fd, f->dev.hwpt_id, MOCK_APERTURE_START, 4096, f->buf), EINVAL);
        assert_errno(viommu_ioas_unmap(f->fd, f->ioas, MOCK_APERTURE_START, BUF_SIZE, NULL), ENOENT);
}

static void test_ioas_map_kernel_iova(void **state) {
        struct fixture *f = *state;
        uint64_t a = 0, b = 0, all = 0;

        assert_ok(viommu_ioas_map(f->fd, f->ioas, IOMMU_IOAS_MAP_READABLE, f->buf, BUF_SIZE / 2, &a));
        assert_ok(viommu_ioas_map(f->fd, f->ioas, IOMMU_IOAS_MAP_READABLE,
                                  f->buf + BUF_SIZE / 2, BUF_SIZE / 2, &b));
        assert_true(a >= MOCK_APERTURE_START && a + BUF_SIZE / 2 - 1 <= MOCK_APERTURE_LAST);
        assert_true(b >= MOCK_APERTURE_START && b + BUF_SIZE / 2 - 1 <= MOCK_APERTURE_LAST);
        assert_true(a + BUF_SIZE / 2 <= b || b + BUF_SIZE / 2 <= a);
        assert_ok(viommu_mock_check_map(f->fd, f->dev.hwpt_id, a, BUF_SIZE / 2, f->buf));
        assert_ok(viommu_mock_check_map(f->fd, f->dev.hwpt_id, b, BUF_SIZE / 2, f->buf + BUF_SIZE / 2));

        assert_ok(viommu_ioas_unmap(f->fd, f->ioas, 0, UINT64_MAX, &all));
        assert_int_equal(all, BUF_SIZE);

        /* Bad arguments change nothing. */
        assert_errno(viommu_ioas_map(f->fd, f->ioas, IOMMU_IOAS_MAP_READABLE, f->buf, 0, &a), EINVAL);
        assert_errno(viommu_ioas_map(f->fd, UINT32_MAX, IOMMU_IOAS_MAP_READABLE, f->buf, 4096, &a), ENOENT);
        assert_errno(viommu_ioas_map(f->fd, f->ioas, 1u << 31, f->buf, 4096, &a), EOPNOTSUPP);
        assert_errno(viommu_ioas_map(f->fd, f->ioas, IOMMU_IOAS_MAP_READABLE, f->buf, 4096, NULL), EINVAL);
        /* Unmapping everything from an empty IOAS is not an error. */
        assert_ok(viommu_ioas_unmap(f->fd, f->ioas, 0, UINT64_MAX, &all));
        assert_int_equal(all, 0);
}

static void test_ioas_copy(void **state) {
        struct fixture *f = *state;
        struct viommu_mock_device dev2;
        uint64_t src = MOCK_APERTURE_START, dst = MOCK_APERTURE_START + 0x100000;
        uint32_t ioas2;

        assert_ok(viommu_ioas_alloc(f->fd, &ioas2));
        assert_ok(viommu_mock_device_new(f->fd, ioas2, 0, &dev2));
        assert_ok(viommu_ioas_map(f->fd, f->ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
                                  f->buf, BUF_SIZE, &src));
        assert_ok(viommu_ioas_copy(f->fd, ioas2, f->ioas,
                                   IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
                                   src, BUF_SIZE, &dst));
        assert_int_equal(dst, MOCK_APERTURE_START + 0x100000);
        /* The second device's domain now reaches the same pages. */
        assert_ok(viommu_mock_check_map(f->fd, dev2.hwpt_id, dst, BUF_SIZE, f->buf));
        /* Copying a range that is not mapped in the source fails. */
        dst = 0;
        assert_errno(viommu_ioas_copy(f->fd, ioas2, f->ioas, IOMMU_IOAS_MAP_READABLE,
                                      src + 0x1000000, 4096, &dst), ENOENT);
}

static void test_ioas_iova_ranges(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ struct iommu_iova_range *r = NULL;
        size_t n = 0;
        uint64_t align = 0;

        /* With the mock device attached, only its aperture is usable. */
        assert_ok(viommu_ioas_iova_ranges(f->fd, f->ioas, &r, &n, &align));
        assert_int_equal(n, 1);
        assert_int_equal(r[0].start, MOCK_APERTURE_START);
        assert_int_equal(r[0].last, MOCK_APERTURE_LAST);
        assert_int_equal(align, MOCK_PAGE_SIZE);
        free(TAKE_PTR(r));

        assert_errno(viommu_ioas_iova_ranges(f->fd, UINT32_MAX, &r, &n, NULL), ENOENT);
        assert_null(r);
}

static void test_ioas_allow_iovas(void **state) {
        struct fixture *f = *state;
        const struct iommu_iova_range allowed = {
                .start = MOCK_APERTURE_START + 0x400000,
                .last = MOCK_APERTURE_START + 0x7fffff,
        };
        const struct iommu_iova_range bad = { .start = 0x2000, .last = 0x1000 };
        uint64_t iova = 0;

        assert_ok(viommu_ioas_allow_iovas(f->fd, f->ioas, &allowed, 1));
        assert_ok(viommu_ioas_map(f->fd, f->ioas, IOMMU_IOAS_MAP_READABLE, f->buf, BUF_SIZE, &iova));
        assert_true(iova >= allowed.start && iova + BUF_SIZE - 1 <= allowed.last);
        assert_errno(viommu_ioas_allow_iovas(f->fd, f->ioas, &bad, 1), EINVAL);
        /* Outside the attached device's aperture is reserved: not allowed. */
        const struct iommu_iova_range reserved = { .start = 0x1000, .last = 0x1fff };
        assert_errno(viommu_ioas_allow_iovas(f->fd, f->ioas, &reserved, 1), EADDRINUSE);
        assert_ok(viommu_ioas_unmap(f->fd, f->ioas, 0, UINT64_MAX, NULL));
        assert_ok(viommu_ioas_allow_iovas(f->fd, f->ioas, NULL, 0));
}

static void test_options(void **state) {
        struct fixture *f = *state;
        _cleanup_close_ int empty = test_iommufd();
        uint64_t v = 42;

        /* The accounting mode is set on an iommufd that holds no object yet,
         * as a broker does before handing one over. */
        assert_ok(viommu_option_get(empty, IOMMU_OPTION_RLIMIT_MODE, 0, &v));
        assert_int_equal(v, 0);
        assert_ok(viommu_option_set(empty, IOMMU_OPTION_RLIMIT_MODE, 0, 1));
        assert_ok(viommu_option_get(empty, IOMMU_OPTION_RLIMIT_MODE, 0, &v));
        assert_int_equal(v, 1);
        assert_errno(viommu_option_set(empty, IOMMU_OPTION_RLIMIT_MODE, 0, 7), EINVAL);
        assert_errno(viommu_option_set(f->fd, IOMMU_OPTION_RLIMIT_MODE, 0, 1), EBUSY);
        assert_errno(viommu_option_get(f->fd, IOMMU_OPTION_RLIMIT_MODE, f->ioas, &v), EOPNOTSUPP);

        assert_ok(viommu_option_get(f->fd, IOMMU_OPTION_HUGE_PAGES, f->ioas, &v));
        assert_int_equal(v, 1);
        assert_errno(viommu_option_get(f->fd, 0x1234, 0, &v), EOPNOTSUPP);
        assert_errno(viommu_option_get(f->fd, IOMMU_OPTION_HUGE_PAGES, UINT32_MAX, &v), ENOENT);
}

static void test_vfio_ioas(void **state) {
        struct fixture *f = *state;
        uint32_t id = f->ioas;

        assert_errno(viommu_vfio_ioas(f->fd, IOMMU_VFIO_IOAS_GET, &id), ENODEV);
        id = f->ioas;
        assert_ok(viommu_vfio_ioas(f->fd, IOMMU_VFIO_IOAS_SET, &id));
        id = 0;
        assert_ok(viommu_vfio_ioas(f->fd, IOMMU_VFIO_IOAS_GET, &id));
        assert_int_equal(id, f->ioas);
        assert_ok(viommu_vfio_ioas(f->fd, IOMMU_VFIO_IOAS_CLEAR, &id));
        assert_errno(viommu_vfio_ioas(f->fd, 99, &id), EOPNOTSUPP);
}

static void test_hwpt_alloc_paging(void **state) {
        struct fixture *f = *state;
        uint32_t plain, parent, dirty, bogus;
        uint64_t iova = MOCK_APERTURE_START;

        assert_ok(viommu_hwpt_alloc(f->fd, 0, f->dev.idev_id, f->ioas, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &plain));
        assert_ok(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, f->dev.idev_id, f->ioas, 0,
                                    IOMMU_HWPT_DATA_NONE, NULL, 0, &parent));
        assert_ok(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, f->dev.idev_id, f->ioas, 0,
                                    IOMMU_HWPT_DATA_NONE, NULL, 0, &dirty));
        assert_true(plain != parent && parent != dirty);

        /* Move the device onto the new paging domain: the IOAS's mappings
         * are there. */
        assert_ok(viommu_mock_device_replace(f->fd, f->dev.stdev_id, parent, NULL));
        assert_ok(viommu_ioas_map(f->fd, f->ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
                                  f->buf, BUF_SIZE, &iova));
        assert_ok(viommu_mock_check_map(f->fd, parent, iova, BUF_SIZE, f->buf));
        assert_errno(viommu_destroy(f->fd, parent), EBUSY);

        assert_errno(viommu_hwpt_alloc(f->fd, 1u << 30, f->dev.idev_id, f->ioas, 0,
                                       IOMMU_HWPT_DATA_NONE, NULL, 0, &bogus), EOPNOTSUPP);
        assert_errno(viommu_hwpt_alloc(f->fd, 0, UINT32_MAX, f->ioas, 0,
                                       IOMMU_HWPT_DATA_NONE, NULL, 0, &bogus), ENOENT);
        assert_errno(viommu_hwpt_alloc(f->fd, 0, f->dev.idev_id, UINT32_MAX, 0,
                                       IOMMU_HWPT_DATA_NONE, NULL, 0, &bogus), EINVAL);
}

static uint32_t alloc_nested(struct fixture *f, uint32_t parent, uint32_t flags, uint32_t fault_id) {
        struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
        uint32_t id;

        assert_ok(viommu_hwpt_alloc(f->fd, flags, f->dev.idev_id, parent, fault_id,
                                    IOMMU_HWPT_DATA_SELFTEST, &data, MOCK_HWPT_DATA_LEN, &id));
        return id;
}

static void test_hwpt_nested(void **state) {
        struct fixture *f = *state;
        struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
        uint32_t parent, plain, nested, bogus;

        assert_ok(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, f->dev.idev_id, f->ioas, 0,
                                    IOMMU_HWPT_DATA_NONE, NULL, 0, &parent));
        assert_ok(viommu_hwpt_alloc(f->fd, 0, f->dev.idev_id, f->ioas, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &plain));
        nested = alloc_nested(f, parent, 0, 0);
        for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
                assert_ok(viommu_mock_check_iotlb(f->fd, nested, i, IOMMU_TEST_IOTLB_DEFAULT));

        /* Guest stage 1 over host stage 2: the device moves onto it, and its
         * parent can no longer go away. */
        assert_ok(viommu_mock_device_replace(f->fd, f->dev.stdev_id, nested, NULL));
        assert_errno(viommu_destroy(f->fd, parent), EBUSY);

        /* A parent must be a NEST_PARENT paging HWPT; nested on nested fails. */
        assert_errno(viommu_hwpt_alloc(f->fd, 0, f->dev.idev_id, plain, 0, IOMMU_HWPT_DATA_SELFTEST,
                                       &data, MOCK_HWPT_DATA_LEN, &bogus), EINVAL);
        assert_errno(viommu_hwpt_alloc(f->fd, 0, f->dev.idev_id, nested, 0, IOMMU_HWPT_DATA_SELFTEST,
                                       &data, MOCK_HWPT_DATA_LEN, &bogus), EINVAL);
        /* Unknown vendor data and missing data. */
        assert_errno(viommu_hwpt_alloc(f->fd, 0, f->dev.idev_id, parent, 0, 0x7777,
                                       &data, MOCK_HWPT_DATA_LEN, &bogus), EOPNOTSUPP);
        assert_errno(viommu_hwpt_alloc(f->fd, 0, f->dev.idev_id, parent, 0, IOMMU_HWPT_DATA_SELFTEST,
                                       &data, 0, &bogus), EINVAL);

        assert_ok(viommu_mock_device_replace(f->fd, f->dev.stdev_id, f->ioas, NULL));
        assert_ok(viommu_destroy(f->fd, nested));
        assert_ok(viommu_destroy(f->fd, parent));
}

static void test_hwpt_invalidate(void **state) {
        struct fixture *f = *state;
        struct iommu_hwpt_invalidate_selftest inv[4];
        uint32_t parent, nested, n;

        assert_ok(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, f->dev.idev_id, f->ioas, 0,
                                    IOMMU_HWPT_DATA_NONE, NULL, 0, &parent));
        nested = alloc_nested(f, parent, 0, 0);

        /* A batch whose third entry names an IOTLB the mock lacks: the kernel
         * handles two, reports that, and leaves the rest alone. */
        inv[0] = (struct iommu_hwpt_invalidate_selftest) { .iotlb_id = 0 };
        inv[1] = (struct iommu_hwpt_invalidate_selftest) { .iotlb_id = 1 };
        inv[2] = (struct iommu_hwpt_invalidate_selftest) { .iotlb_id = 99 };
        inv[3] = (struct iommu_hwpt_invalidate_selftest) { .iotlb_id = 3 };
        n = 4;
        assert_errno(viommu_hwpt_invalidate(f->fd, nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                                            sizeof(inv[0]), inv, &n), EINVAL);
        assert_int_equal(n, 2);
        assert_ok(viommu_mock_check_iotlb(f->fd, nested, 0, 0));
        assert_ok(viommu_mock_check_iotlb(f->fd, nested, 1, 0));
        assert_ok(viommu_mock_check_iotlb(f->fd, nested, 2, IOMMU_TEST_IOTLB_DEFAULT));
        assert_ok(viommu_mock_check_iotlb(f->fd, nested, 3, IOMMU_TEST_IOTLB_DEFAULT));

        /* One entry with the "all" flag clears every IOTLB. */
        inv[0] = (struct iommu_hwpt_invalidate_selftest) { .flags = IOMMU_TEST_INVALIDATE_FLAG_ALL };
        n = 1;
        assert_ok(viommu_hwpt_invalidate(f->fd, nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                                         sizeof(inv[0]), inv, &n));
        assert_int_equal(n, 1);
        for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
                assert_ok(viommu_mock_check_iotlb(f->fd, nested, i, 0));

        /* Zero entries is a valid no-op; bad types and sizes handle none. */
        n = 0;
        assert_ok(viommu_hwpt_invalidate(f->fd, nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                                         sizeof(inv[0]), inv, &n));
        n = 1;
        assert_errno(viommu_hwpt_invalidate(f->fd, nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
                                            sizeof(inv[0]), inv, &n), EINVAL);
        assert_int_equal(n, 0);
        n = 1;
        assert_errno(viommu_hwpt_invalidate(f->fd, nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                                            0, inv, &n), EINVAL);
        n = 1;
        assert_errno(viommu_hwpt_invalidate(f->fd, UINT32_MAX, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                                            sizeof(inv[0]), inv, &n), ENOENT);
}

static void test_fault_queue(void **state) {
        struct fixture *f = *state;
        struct iommu_hwpt_pgfault fault[2];
        uint32_t fault_id, parent, iopf_hwpt, bogus;
        int fault_fd;

        assert_ok(viommu_fault_queue_alloc(f->fd, &fault_id, &fault_fd));
        assert_true(fault_fd >= 0);
        assert_ok(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, f->dev.idev_id, f->ioas, 0,
                                    IOMMU_HWPT_DATA_NONE, NULL, 0, &parent));
        iopf_hwpt = alloc_nested(f, parent, IOMMU_HWPT_FAULT_ID_VALID, fault_id);
        {
                struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
                assert_errno(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_FAULT_ID_VALID, f->dev.idev_id, parent,
                                               UINT32_MAX, IOMMU_HWPT_DATA_SELFTEST, &data, MOCK_HWPT_DATA_LEN,
                                               &bogus), ENOENT);
        }
        assert_ok(viommu_mock_device_replace(f->fd, f->dev.stdev_id, iopf_hwpt, NULL));

        /* Nothing pending yet: the fd does not block and reports none. */
        assert_int_equal(fcntl(fault_fd, F_SETFL, O_NONBLOCK), 0);
        assert_int_equal(viommu_fault_read(fault_fd, fault, 2), 0);

        assert_ok(viommu_mock_trigger_iopf(f->fd, f->dev.idev_id, 0x1, 0x2,
                                           IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE, 0xdeadb000));
        struct pollfd p = { .fd = fault_fd, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 5000), 1);
        assert_int_equal(viommu_fault_read(fault_fd, fault, 2), 1);
        assert_int_equal(fault[0].dev_id, f->dev.idev_id);
        assert_int_equal(fault[0].pasid, 0x1);
        assert_int_equal(fault[0].grpid, 0x2);
        assert_int_equal(fault[0].addr, 0xdeadb000);
        assert_true(fault[0].flags & IOMMU_PGFAULT_FLAGS_PASID_VALID);
        assert_true(fault[0].perm & IOMMU_PGFAULT_PERM_WRITE);

        /* Answer it; a made-up cookie is refused. */
        assert_errno(viommu_fault_respond(fault_fd, fault[0].cookie + 1000, IOMMUFD_PAGE_RESP_SUCCESS), EINVAL);
        assert_ok(viommu_fault_respond(fault_fd, fault[0].cookie, IOMMUFD_PAGE_RESP_SUCCESS));

        /* Destroy order: the HWPT that uses the queue first, and the queue
         * only once its fd is closed too. */
        assert_errno(viommu_destroy(f->fd, fault_id), EBUSY);
        assert_ok(viommu_mock_device_replace(f->fd, f->dev.stdev_id, f->ioas, NULL));
        assert_ok(viommu_destroy(f->fd, iopf_hwpt));
        assert_errno(viommu_destroy(f->fd, fault_id), EBUSY);
        close(fault_fd);
        assert_ok(viommu_destroy(f->fd, fault_id));
        assert_errno(viommu_fault_read(-1, fault, 1), EBADF);
}

/* Dirty bits are kept per IO page table entry. The 7.x mock maps
 * physically contiguous memory with large entries, so each 4 KiB page is
 * mapped on its own: every entry is then at most 4 KiB, and reads at
 * 4 KiB resolve exactly on every kernel. */
#define DIRTY_PAGE 4096

static void test_dirty_tracking(void **state) {
        struct fixture *f = *state;
        const uint64_t npages = BUF_SIZE / DIRTY_PAGE;
        uint64_t marks[DIV_ROUND_UP(BUF_SIZE / DIRTY_PAGE, 64)] = {};
        uint64_t bitmap[ELEMENTSOF(marks)];
        uint64_t iova = MOCK_APERTURE_START, nr = 0;
        uint32_t hwpt, plain;

        assert_ok(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, f->dev.idev_id, f->ioas, 0,
                                    IOMMU_HWPT_DATA_NONE, NULL, 0, &hwpt));
        assert_ok(viommu_mock_device_replace(f->fd, f->dev.stdev_id, hwpt, NULL));
        for (uint64_t i = 0; i < npages; i++) {
                uint64_t page_iova = iova + i * DIRTY_PAGE;
                assert_ok(viommu_ioas_map(f->fd, f->ioas,
                                          IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
                                          IOMMU_IOAS_MAP_WRITEABLE,
                                          f->buf + i * DIRTY_PAGE, DIRTY_PAGE, &page_iova));
        }
        assert_ok(viommu_hwpt_set_dirty_tracking(f->fd, hwpt, true));

        /* Every third page is written by "the device". The mock takes the
         * marks in its own 2 KiB pages: the first half of each page. */
        uint64_t marks_2k[2 * ELEMENTSOF(marks)] = {}, expected = 0;
        for (uint64_t i = 0; i < npages; i += 3) {
                marks[i / 64] |= UINT64_C(1) << (i % 64);
                marks_2k[2 * i / 64] |= UINT64_C(1) << (2 * i % 64);
                expected++;
        }
        assert_ok(viommu_mock_dirty(f->fd, hwpt, iova, BUF_SIZE, MOCK_PAGE_SIZE, marks_2k, &nr));
        assert_int_equal(nr, expected);

        memset(bitmap, 0, sizeof(bitmap));
        assert_ok(viommu_hwpt_get_dirty_bitmap(f->fd, hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR,
                                               iova, BUF_SIZE, DIRTY_PAGE, bitmap));
        assert_memory_equal(bitmap, marks, sizeof(marks));
        /* NO_CLEAR left the bits; a plain read returns and clears them. */
        memset(bitmap, 0, sizeof(bitmap));
        assert_ok(viommu_hwpt_get_dirty_bitmap(f->fd, hwpt, 0, iova, BUF_SIZE, DIRTY_PAGE, bitmap));
        assert_memory_equal(bitmap, marks, sizeof(marks));
        memset(bitmap, 0, sizeof(bitmap));
        assert_ok(viommu_hwpt_get_dirty_bitmap(f->fd, hwpt, 0, iova, BUF_SIZE, DIRTY_PAGE, bitmap));
        for (size_t i = 0; i < ELEMENTSOF(bitmap); i++)
                assert_int_equal(bitmap[i], 0);

        assert_ok(viommu_hwpt_set_dirty_tracking(f->fd, hwpt, false));
        /* A HWPT allocated without DIRTY_TRACKING cannot track. */
        assert_ok(viommu_hwpt_alloc(f->fd, 0, f->dev.idev_id, f->ioas, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &plain));
        assert_errno(viommu_hwpt_set_dirty_tracking(f->fd, plain, true), EOPNOTSUPP);
        assert_errno(viommu_hwpt_get_dirty_bitmap(f->fd, hwpt, 0, iova + 1, BUF_SIZE, DIRTY_PAGE, bitmap),
                     EINVAL);
        assert_errno(viommu_hwpt_get_dirty_bitmap(f->fd, hwpt, 0, iova, BUF_SIZE, DIRTY_PAGE, NULL), EINVAL);
}

static void test_features(void **state) {
        struct fixture *f = *state;
        viommu_features_t feat;
        static const struct { enum viommu_feature f; int since; } table[] = {
                { VIOMMU_FEATURE_IOAS,                KVER(6, 2) },
                { VIOMMU_FEATURE_HWPT_ALLOC,          KVER(6, 6) },
                { VIOMMU_FEATURE_GET_HW_INFO,         KVER(6, 6) },
                { VIOMMU_FEATURE_NESTING,             KVER(6, 7) },
                { VIOMMU_FEATURE_DIRTY_TRACKING,      KVER(6, 7) },
                { VIOMMU_FEATURE_HWPT_INVALIDATE,     KVER(6, 8) },
                { VIOMMU_FEATURE_FAULT_QUEUE,         KVER(6, 11) },
                { VIOMMU_FEATURE_IOAS_MAP_FILE,       KVER(6, 13) },
                { VIOMMU_FEATURE_IOAS_CHANGE_PROCESS, KVER(6, 13) },
                { VIOMMU_FEATURE_VIOMMU,              KVER(6, 13) },
                { VIOMMU_FEATURE_VDEVICE,             KVER(6, 13) },
                { VIOMMU_FEATURE_VEVENTQ,             KVER(6, 15) },
                { VIOMMU_FEATURE_PASID_ATTACH,        KVER(6, 15) },
                { VIOMMU_FEATURE_HW_QUEUE,            KVER(6, 17) },
        };
        int kv = kernel_version();

        assert_ok(viommu_features_probe(f->fd, &feat));
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                int maj, min;
                bool want = kv >= table[i].since;

                print_message("feature %-20s %s (since %s, %s)\n", viommu_feature_to_string(table[i].f),
                              viommu_features_has(feat, table[i].f) ? "yes" : "no",
                              viommu_feature_since(table[i].f), viommu_feature_interface(table[i].f));
                assert_int_equal(viommu_features_has(feat, table[i].f), want);
                assert_int_equal(sscanf(viommu_feature_since(table[i].f), "%d.%d", &maj, &min), 2);
                assert_int_equal(KVER(maj, min), table[i].since);
        }
        assert_errno(viommu_features_probe(-1, &feat), EBADF);
}

/* Linux 6.13: mapping a memfd directly, no VA in the caller needed. */
static void test_ioas_map_file(void **state) {
        struct fixture *f = *state;
        uint64_t iova = MOCK_APERTURE_START;
        int mfd = memfd_create("guest-ram", MFD_CLOEXEC);

        assert_true(mfd >= 0);
        assert_int_equal(ftruncate(mfd, BUF_SIZE), 0);

        int r = viommu_ioas_map_file(f->fd, f->ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
                                     mfd, 0, BUF_SIZE, &iova);
        if (!kernel_at_least(6, 13)) {
                assert_int_equal(r, -ENOTTY);
                assert_string_equal(viommu_feature_since(VIOMMU_FEATURE_IOAS_MAP_FILE), "6.13");
                close(mfd);
                return;
        }
        assert_ok(r);
        /* The mock domain holds the memfd's pages: compare through a mapping
         * of the same file. */
        void *view = mmap(NULL, BUF_SIZE, PROT_READ, MAP_SHARED, mfd, 0);
        assert_true(view != MAP_FAILED);
        assert_ok(viommu_mock_check_map(f->fd, f->dev.hwpt_id, iova, BUF_SIZE, view));
        munmap(view, BUF_SIZE);

        /* Past the end of the file, and a closed fd. */
        iova = 0;
        assert_errno(viommu_ioas_map_file(f->fd, f->ioas, IOMMU_IOAS_MAP_READABLE, mfd, BUF_SIZE, BUF_SIZE, &iova),
                     EINVAL);
        close(mfd);
        assert_errno(viommu_ioas_map_file(f->fd, f->ioas, IOMMU_IOAS_MAP_READABLE, mfd, 0, BUF_SIZE, &iova),
                     EBADF);
        assert_ok(viommu_ioas_unmap(f->fd, f->ioas, 0, UINT64_MAX, NULL));
}

static void test_ioas_change_process(void **state) {
        struct fixture *f = *state;
        int r = viommu_ioas_change_process(f->fd);

        if (!kernel_at_least(6, 13)) {
                assert_int_equal(r, -ENOTTY);
                return;
        }
        /* Nothing mapped from another process: a no-op that succeeds. */
        assert_ok(r);
        /* With a mapping from a VA (not a file) it is refused. */
        uint64_t iova = MOCK_APERTURE_START;
        assert_ok(viommu_ioas_map(f->fd, f->ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
                                  f->buf, BUF_SIZE, &iova));
        assert_errno(viommu_ioas_change_process(f->fd), EINVAL);
}

/* Linux 6.13/6.15: vIOMMU, vDEVICE and vEVENTQ of the mock. */
static void test_viommu(void **state) {
        struct fixture *f = *state;
        struct iommu_viommu_selftest data = { .in_data = 0xbeef };
        uint32_t parent, viommu, vdev, veventq, bogus;
        int veventq_fd;

        assert_ok(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, f->dev.idev_id, f->ioas, 0,
                                    IOMMU_HWPT_DATA_NONE, NULL, 0, &parent));
        int r = viommu_viommu_alloc(f->fd, IOMMU_VIOMMU_TYPE_SELFTEST, f->dev.idev_id, parent,
                                    &data, sizeof(data), &viommu);
        if (!kernel_at_least(6, 13)) {
                assert_int_equal(r, -ENOTTY);
                assert_errno(viommu_vdevice_alloc(f->fd, 1, f->dev.idev_id, 0x99, &vdev), ENOTTY);
                assert_errno(viommu_veventq_alloc(f->fd, 1, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &veventq, &veventq_fd),
                             ENOTTY);
                return;
        }
        assert_ok(r);
        assert_int_equal(data.out_data, 0xbeef);
        assert_errno(viommu_viommu_alloc(f->fd, 0x1234, f->dev.idev_id, parent, NULL, 0, &bogus), EOPNOTSUPP);
        assert_errno(viommu_destroy(f->fd, parent), EBUSY);

        assert_ok(viommu_vdevice_alloc(f->fd, viommu, f->dev.idev_id, 0x99, &vdev));
        /* One vDEVICE per device and vIOMMU. */
        assert_errno(viommu_vdevice_alloc(f->fd, viommu, f->dev.idev_id, 0x98, &bogus), EEXIST);
        /* A nested HWPT on the vIOMMU: events of a device attached to it
         * go to the vIOMMU's event queue. */
        uint32_t nested = alloc_nested(f, viommu, 0, 0);
        assert_ok(viommu_mock_device_replace(f->fd, f->dev.stdev_id, nested, NULL));

        r = viommu_veventq_alloc(f->fd, viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &veventq, &veventq_fd);
        if (!kernel_at_least(6, 15)) {
                assert_int_equal(r, -ENOTTY);
                return;
        }
        assert_ok(r);
        assert_errno(viommu_veventq_alloc(f->fd, viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &bogus, &veventq_fd),
                     EEXIST);

        /* An event raised for the device arrives with its virtual id. */
        struct {
                struct iommufd_vevent_header hdr;
                struct iommu_viommu_event_selftest ev;
        } ev = {};
        assert_ok(viommu_mock_trigger_vevent(f->fd, f->dev.idev_id));
        struct pollfd p = { .fd = veventq_fd, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 5000), 1);
        assert_int_equal(read(veventq_fd, &ev, sizeof(ev)), sizeof(ev));
        assert_int_equal(ev.ev.virt_id, 0x99);
        assert_false(ev.hdr.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS);

        /* Dependency order: the vDEVICE, vEVENTQ and nested HWPT hold the
         * vIOMMU. */
        assert_errno(viommu_destroy(f->fd, viommu), EBUSY);
        assert_ok(viommu_mock_device_replace(f->fd, f->dev.stdev_id, f->ioas, NULL));
        assert_ok(viommu_destroy(f->fd, nested));
        assert_ok(viommu_destroy(f->fd, vdev));
        close(veventq_fd);
        assert_ok(viommu_destroy(f->fd, veventq));
        assert_ok(viommu_destroy(f->fd, viommu));
}

/* Linux 6.13: invalidation through a vIOMMU, as SMMUv3 nesting does it. */
static void test_viommu_invalidate(void **state) {
        struct fixture *f = *state;
        uint32_t parent, viommu, n = 0;

        if (!kernel_at_least(6, 13)) {
                print_message("vIOMMU objects need Linux 6.13\n");
                skip();
        }
        assert_ok(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, f->dev.idev_id, f->ioas, 0,
                                    IOMMU_HWPT_DATA_NONE, NULL, 0, &parent));
        assert_ok(viommu_viommu_alloc(f->fd, IOMMU_VIOMMU_TYPE_SELFTEST, f->dev.idev_id, parent, NULL, 0, &viommu));
        struct iommu_viommu_invalidate_selftest inv = { .vdev_id = 0x99, .cache_id = 0 };
        n = 1;
        /* No vDEVICE with that virtual id yet: nothing handled. */
        assert_errno(viommu_hwpt_invalidate(f->fd, viommu, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
                                            sizeof(inv), &inv, &n), EINVAL);
        assert_int_equal(n, 0);
        uint32_t vdev;
        assert_ok(viommu_vdevice_alloc(f->fd, viommu, f->dev.idev_id, 0x99, &vdev));
        for (uint32_t i = 0; i < MOCK_DEV_CACHE_NUM; i++)
                assert_ok(viommu_mock_check_dev_cache(f->fd, f->dev.idev_id, i, IOMMU_TEST_DEV_CACHE_DEFAULT));
        n = 1;
        assert_ok(viommu_hwpt_invalidate(f->fd, viommu, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
                                         sizeof(inv), &inv, &n));
        assert_int_equal(n, 1);
        /* Only the device cache entry named was invalidated. */
        assert_ok(viommu_mock_check_dev_cache(f->fd, f->dev.idev_id, 0, 0));
        assert_ok(viommu_mock_check_dev_cache(f->fd, f->dev.idev_id, 1, IOMMU_TEST_DEV_CACHE_DEFAULT));
}

/* Linux 6.15: PASID attach, replace and detach of a PASID-capable mock. */
static void test_pasid(void **state) {
        struct fixture *f = *state;
        struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
        struct viommu_mock_device pdev;
        uint32_t parent, s2, nested[2];
        const uint32_t pasid = 100;

        int r = viommu_mock_device_new(f->fd, f->ioas, MOCK_FLAGS_DEVICE_PASID, &pdev);
        if (!kernel_at_least(6, 15)) {
                /* Older mock drivers do not know the flag. */
                assert_true(r < 0);
                return;
        }
        assert_ok(r);
        assert_ok(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, pdev.idev_id, f->ioas, 0,
                                    IOMMU_HWPT_DATA_NONE, NULL, 0, &parent));
        for (size_t i = 0; i < ELEMENTSOF(nested); i++)
                assert_ok(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_PASID, pdev.idev_id, parent, 0,
                                            IOMMU_HWPT_DATA_SELFTEST, &data, MOCK_HWPT_DATA_LEN, &nested[i]));
        assert_ok(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_PASID, pdev.idev_id, f->ioas, 0,
                                    IOMMU_HWPT_DATA_NONE, NULL, 0, &s2));

        /* PASIDs need the whole device on a PASID-compatible domain. */
        assert_ok(viommu_mock_device_replace(f->fd, pdev.stdev_id, parent, NULL));
        assert_errno(viommu_mock_pasid_attach(f->fd, pdev.stdev_id, pasid, nested[0]), EINVAL);
        assert_ok(viommu_mock_device_replace(f->fd, pdev.stdev_id, s2, NULL));

        assert_ok(viommu_mock_pasid_check(f->fd, pdev.stdev_id, pasid, 0));
        assert_ok(viommu_mock_pasid_attach(f->fd, pdev.stdev_id, pasid, nested[0]));
        assert_ok(viommu_mock_pasid_check(f->fd, pdev.stdev_id, pasid, nested[0]));
        assert_ok(viommu_mock_pasid_replace(f->fd, pdev.stdev_id, pasid, nested[1]));
        assert_ok(viommu_mock_pasid_check(f->fd, pdev.stdev_id, pasid, nested[1]));
        assert_errno(viommu_destroy(f->fd, nested[1]), EBUSY);
        assert_ok(viommu_mock_pasid_detach(f->fd, pdev.stdev_id, pasid));
        assert_ok(viommu_mock_pasid_check(f->fd, pdev.stdev_id, pasid, 0));
        assert_ok(viommu_destroy(f->fd, nested[1]));

        /* Neither a domain made without ALLOC_PASID nor an IOAS goes on a
         * PASID. */
        assert_errno(viommu_mock_pasid_attach(f->fd, pdev.stdev_id, pasid, parent), EINVAL);
        assert_errno(viommu_mock_pasid_attach(f->fd, pdev.stdev_id, pasid, f->ioas), EINVAL);
        assert_ok(viommu_mock_pasid_check(f->fd, pdev.stdev_id, pasid, 0));
}

/* Linux 6.17: a HW queue of the mock vIOMMU, backed by mapped guest memory. */
static void test_hw_queue(void **state) {
        struct fixture *f = *state;
        uint32_t parent, viommu, q0, q1, bogus;
        uint64_t iova = MOCK_APERTURE_START;

        if (!kernel_at_least(6, 17)) {
                assert_errno(viommu_hw_queue_alloc(f->fd, 1, IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, iova, 4096, &q0),
                             ENOTTY);
                return;
        }
        assert_ok(viommu_hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, f->dev.idev_id, f->ioas, 0,
                                    IOMMU_HWPT_DATA_NONE, NULL, 0, &parent));
        assert_ok(viommu_mock_device_replace(f->fd, f->dev.stdev_id, parent, NULL));
        assert_ok(viommu_viommu_alloc(f->fd, IOMMU_VIOMMU_TYPE_SELFTEST, f->dev.idev_id, parent, NULL, 0, &viommu));
        /* The queue's memory must be mapped first. */
        assert_errno(viommu_hw_queue_alloc(f->fd, viommu, IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, iova, 4096, &bogus),
                     ENOENT);
        assert_ok(viommu_ioas_map(f->fd, f->ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
                                  f->buf, BUF_SIZE, &iova));
        assert_ok(viommu_hw_queue_alloc(f->fd, viommu, IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, iova, 4096, &q0));
        assert_ok(viommu_hw_queue_alloc(f->fd, viommu, IOMMU_HW_QUEUE_TYPE_SELFTEST, 1, iova + 4096, 4096, &q1));
        /* Index out of range, and the pinned queue memory cannot be unmapped. */
        assert_errno(viommu_hw_queue_alloc(f->fd, viommu, IOMMU_HW_QUEUE_TYPE_SELFTEST, 2, iova, 4096, &bogus),
                     EINVAL);
        assert_true(viommu_ioas_unmap(f->fd, f->ioas, iova, BUF_SIZE, NULL) < 0);
        assert_ok(viommu_destroy(f->fd, q1));
        assert_ok(viommu_destroy(f->fd, q0));
}

static void test_get_hw_info(void **state) {
        struct fixture *f = *state;
        struct iommu_test_hw_info data = {};
        struct viommu_hw_info info;

        assert_ok(viommu_get_hw_info(f->fd, f->dev.idev_id, 0, &data, sizeof(data), &info));
        assert_int_equal(info.type, IOMMU_HW_INFO_TYPE_SELFTEST);
        assert_int_equal(data.test_reg, IOMMU_HW_INFO_SELFTEST_REGVAL);
        assert_true(info.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING);
        assert_errno(viommu_get_hw_info(f->fd, UINT32_MAX, 0, &data, sizeof(data), &info), ENOENT);
        assert_errno(viommu_get_hw_info(f->fd, f->dev.idev_id, 0, NULL, sizeof(data), &info), EINVAL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_ioas_alloc_destroy),
                T(test_ioas_map_fixed),
                T(test_ioas_map_kernel_iova),
                T(test_ioas_copy),
                T(test_ioas_iova_ranges),
                T(test_ioas_allow_iovas),
                T(test_options),
                T(test_vfio_ioas),
                T(test_hwpt_alloc_paging),
                T(test_hwpt_nested),
                T(test_hwpt_invalidate),
                T(test_fault_queue),
                T(test_dirty_tracking),
                T(test_get_hw_info),
                T(test_features),
                T(test_ioas_map_file),
                T(test_ioas_change_process),
                T(test_viommu),
                T(test_viommu_invalidate),
                T(test_pasid),
                T(test_hw_queue),
        };

        print_message("kernel %d.%d\n", kernel_version() / 1000, kernel_version() % 1000);
        return cmocka_run_group_tests_name("iommufd-mock", tests, NULL, NULL);
}
