/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The per-session limits of viommud.conf ($VIOMMU_TEST_LIMIT_*): objects,
 * devices and pinned bytes, each refused with LimitExceeded one past the
 * limit, changing nothing. Mock devices, any uid.
 *
 *   test-limits [limits]
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_limits_refuse_beyond_configuration(void **state) {
        Fixture *f = *state;
        const uint64_t objects = env_u64("VIOMMU_TEST_LIMIT_OBJECTS", 0),
                       devices = env_u64("VIOMMU_TEST_LIMIT_DEVICES", 0),
                       pinned = env_u64("VIOMMU_TEST_LIMIT_PINNED", 0);
        _cleanup_free_ char *before = NULL, *after = NULL;
        _cleanup_close_ int big = -EBADF;
        uint32_t n;

        if (objects == 0 || devices == 0 || pinned == 0)
                fail_msg("run-in-guest.sh sets the limits it configured in $VIOMMU_TEST_LIMIT_*");
        assert_true(devices < objects);

        /* The fixture holds one device and one IOAS. */
        for (n = 1; n < devices; n++)
                free(create_mock(f->bus, f->session, 0, NULL));
        before = describe(f->bus);
        CALL_FAILS(E_LIMIT_EXCEEDED, f->bus, f->session, I_SESSION, "CreateMockDevice", "u", 0);
        assert_error_mentions("devices");
        after = describe(f->bus);
        assert_string_equal(before, after);

        while (get_u32(f->bus, f->session, I_SESSION, "NObjects") < objects)
                free(create_ioas(f->bus, f->session, NULL));
        free(TAKE_PTR(before));
        free(TAKE_PTR(after));
        before = describe(f->bus);
        CALL_FAILS(E_LIMIT_EXCEEDED, f->bus, f->session, I_SESSION, "CreateIOAS", NULL);
        assert_error_mentions("objects");
        CALL_FAILS(E_LIMIT_EXCEEDED, f->bus, f->session, I_SESSION, "AllocFaultQueue", NULL);
        alloc_hwpt_fails(E_LIMIT_EXCEEDED, f->bus, f->session, f->dev, f->ioas, NULL, 0, IOMMU_HWPT_DATA_NONE,
                         NULL, 0);
        after = describe(f->bus);
        assert_string_equal(before, after);

        /* Pinned bytes: exactly the limit fits, a page more does not. */
        big = memfd_new("big", pinned + PAGE, 0);
        free(TAKE_PTR(before));
        free(TAKE_PTR(after));
        before = describe(f->bus);
        CALL_FAILS(E_LIMIT_EXCEEDED, f->bus, f->ioas, I_IOAS, "Map", "htttu", big, UINT64_C(0), pinned + PAGE,
                   UINT64_C(0), (uint32_t) IOMMU_IOAS_MAP_READABLE);
        assert_error_mentions("pinned");
        after = describe(f->bus);
        assert_string_equal(before, after);
        map(f->bus, f->ioas, big, 0, pinned, 0, IOMMU_IOAS_MAP_READABLE);
        CALL_FAILS(E_LIMIT_EXCEEDED, f->bus, f->ioas, I_IOAS, "Map", "htttu", big, pinned, (uint64_t) PAGE,
                   UINT64_C(0), (uint32_t) IOMMU_IOAS_MAP_READABLE);
        assert_int_equal(get_u64(f->bus, f->session, I_SESSION, "MappedBytes"), pinned);
        /* what is given back can be taken again */
        assert_int_equal(unmap(f->bus, f->ioas, 0, UINT64_MAX), pinned);
        map(f->bus, f->ioas, big, PAGE, pinned, 0, IOMMU_IOAS_MAP_READABLE);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest limits[] = { T(test_limits_refuse_beyond_configuration) };
        const Group groups[] = { GROUP("limits", limits) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
