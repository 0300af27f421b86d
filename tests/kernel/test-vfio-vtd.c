/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libviommu's VFIO cdev wrappers against a real kernel and a real (emulated)
 * IOMMU: QEMU's VT-d with emulated PCI devices bound to vfio-pci by the test
 * VM (tests/vm/, profile vtd). The devices are named in
 * $VIOMMU_TEST_VFIO_DEVICES as "BDF=/dev/vfio/devices/vfioN ...".
 */

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kernel-test.h"

#define MAX_DEVICES 8

static struct {
        char bdf[32];
        char path[64];
} devices[MAX_DEVICES];
static size_t n_devices;

static void parse_devices(void) {
        const char *e = getenv("VIOMMU_TEST_VFIO_DEVICES");
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;

        if (!e)
                return;
        copy = strdup(e);
        assert_non_null(copy);
        for (char *w = strtok_r(copy, " ", &save); w && n_devices < MAX_DEVICES; w = strtok_r(NULL, " ", &save)) {
                char *eq = strchr(w, '=');
                if (!eq)
                        continue;
                *eq = 0;
                snprintf(devices[n_devices].bdf, sizeof(devices[0].bdf), "%s", w);
                snprintf(devices[n_devices].path, sizeof(devices[0].path), "%s", eq + 1);
                n_devices++;
        }
}

struct fixture {
        int iommufd;
        int devfd;
        uint32_t dev_id;
        uint32_t ioas;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_true(n_devices > 0);
        f->iommufd = test_iommufd();
        f->devfd = viommu_vfio_open(devices[0].path);
        if (f->devfd < 0)
                fail_msg("cannot open %s: %s", devices[0].path, strerror(-f->devfd));
        assert_ok(viommu_vfio_bind(f->devfd, f->iommufd, &f->dev_id));
        assert_ok(viommu_ioas_alloc(f->iommufd, &f->ioas));
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        close(f->devfd);
        close(f->iommufd);
        free(f);
        return 0;
}

static void test_open(void **state) {
        struct stat st;
        int fd;

        for (size_t i = 0; i < n_devices; i++) {
                print_message("device %s at %s\n", devices[i].bdf, devices[i].path);
                assert_int_equal(stat(devices[i].path, &st), 0);
                fd = viommu_vfio_open_devnum(st.st_rdev);
                assert_true(fd >= 0);
                close(fd);
        }
        assert_errno(viommu_vfio_open("/dev/vfio/devices/vfio999"), ENOENT);
        assert_errno(viommu_vfio_open_devnum(makedev(1, 3)), ENODEV);   /* /dev/null */
        assert_errno(viommu_vfio_open_devnum(makedev(4095, 4095)), ENODEV);
        assert_errno(viommu_vfio_open(NULL), EINVAL);
}

static void test_bind(void **state) {
        struct fixture *f = *state;
        uint32_t id;
        int fd2 = test_iommufd();

        /* A device binds once; another iommufd cannot take it over. */
        assert_errno(viommu_vfio_bind(f->devfd, fd2, &id), EINVAL);
        assert_errno(viommu_vfio_bind(f->devfd, -1, &id), EINVAL);
        close(fd2);
        if (n_devices > 1) {
                _cleanup_close_ int d2 = viommu_vfio_open(devices[1].path);
                uint32_t id2;
                assert_true(d2 >= 0);
                assert_ok(viommu_vfio_bind(d2, f->iommufd, &id2));
                assert_int_not_equal(id2, f->dev_id);
        }
}

static void test_hw_info(void **state) {
        struct fixture *f = *state;
        struct iommu_hw_info_vtd vtd = {};
        struct viommu_hw_info info;

        assert_ok(viommu_get_hw_info(f->iommufd, f->dev_id, 0, &vtd, sizeof(vtd), &info));
        assert_int_equal(info.type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
        assert_int_equal(info.data_len, sizeof(vtd));
        assert_int_not_equal(vtd.cap_reg, 0);
        assert_int_not_equal(vtd.ecap_reg, 0);
        print_message("VT-d cap 0x%llx ecap 0x%llx capabilities 0x%llx max_pasid_log2 %u\n",
                      (unsigned long long) vtd.cap_reg, (unsigned long long) vtd.ecap_reg,
                      (unsigned long long) info.capabilities, info.max_pasid_log2);
}

static void test_attach_map_replace_detach(void **state) {
        struct fixture *f = *state;
        uint32_t hwpt = 0, hwpt2 = 0, ioas2, paging;
        uint64_t iova = 0x100000, unmapped;
        void *buf = test_buffer(16 * 4096);

        assert_ok(viommu_vfio_attach(f->devfd, f->ioas, &hwpt));
        assert_int_not_equal(hwpt, f->ioas);    /* the kernel made a HWPT */
        assert_ok(viommu_ioas_map(f->iommufd, f->ioas,
                                  IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
                                  buf, 16 * 4096, &iova));
        /* The automatic HWPT belongs to the IOAS: it is busy while used. */
        assert_errno(viommu_destroy(f->iommufd, f->ioas), EBUSY);

        /* Replace: attach again, onto a second IOAS and then an explicit
         * paging HWPT, without detaching in between. */
        assert_ok(viommu_ioas_alloc(f->iommufd, &ioas2));
        assert_ok(viommu_vfio_attach(f->devfd, ioas2, &hwpt2));
        assert_ok(viommu_hwpt_alloc(f->iommufd, 0, f->dev_id, f->ioas, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &paging));
        assert_ok(viommu_vfio_attach(f->devfd, paging, &hwpt));
        assert_int_equal(hwpt, paging);
        assert_errno(viommu_destroy(f->iommufd, paging), EBUSY);

        assert_ok(viommu_vfio_detach(f->devfd));
        assert_ok(viommu_destroy(f->iommufd, paging));
        assert_ok(viommu_ioas_unmap(f->iommufd, f->ioas, iova, 16 * 4096, &unmapped));
        assert_int_equal(unmapped, 16 * 4096);
        assert_ok(viommu_destroy(f->iommufd, f->ioas));
        munmap(buf, 16 * 4096);

        assert_errno(viommu_vfio_attach(f->devfd, UINT32_MAX, NULL), ENOENT);
        assert_errno(viommu_vfio_attach(-1, ioas2, NULL), EBADF);
}

static void test_nest_parent_unsupported(void **state) {
        struct fixture *f = *state;
        uint32_t hwpt;

        /* QEMU's emulated VT-d offers no nesting: the kernel says so. */
        assert_errno(viommu_hwpt_alloc(f->iommufd, IOMMU_HWPT_ALLOC_NEST_PARENT, f->dev_id, f->ioas, 0,
                                       IOMMU_HWPT_DATA_NONE, NULL, 0, &hwpt), EOPNOTSUPP);
}

static void test_pasid_attach(void **state) {
        struct fixture *f = *state;
        uint32_t hwpt;
        int r = viommu_vfio_attach_pasid(f->devfd, 1, f->ioas, &hwpt);

        /* Before 6.15 the flag is unknown. From 6.15 on the emulated devices,
         * which have no PASID capability, get a domain that is not PASID
         * capable, and attaching it to a PASID is refused: EINVAL either way.
         * Detaching a PASID that is not attached does nothing from 6.15 on. */
        print_message("PASID attach: %s\n", strerror(-r));
        assert_errno(r, EINVAL);
        if (kernel_at_least(6, 15))
                assert_ok(viommu_vfio_detach_pasid(f->devfd, 1));
        else
                assert_errno(viommu_vfio_detach_pasid(f->devfd, 1), EINVAL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_open),
                T(test_bind),
                T(test_hw_info),
                T(test_attach_map_replace_detach),
                T(test_nest_parent_unsupported),
                T(test_pasid_attach),
        };

        parse_devices();
        if (n_devices == 0) {
                print_error("VIOMMU_TEST_VFIO_DEVICES is empty: run in the vtd profile of tests/vm\n");
                return 1;
        }
        print_message("kernel %d.%d, %zu VFIO devices\n", kernel_version() / 1000, kernel_version() % 1000,
                      n_devices);
        return cmocka_run_group_tests_name("vfio-vtd", tests, NULL, NULL);
}
