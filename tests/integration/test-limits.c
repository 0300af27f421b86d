/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The limits of viommud.conf ($VIOMMU_TEST_LIMIT_*), each refused with
 * LimitExceeded one past the limit, changing nothing.
 *
 *   test-limits [limits] [sessions]
 *
 *   limits    per session: objects, devices and pinned bytes; mock devices,
 *             any uid
 *   sessions  per user: sessions, and persistent sessions; run as a uid
 *             that has no other session meanwhile
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- sessions: per user ------------------------------------------------- */

/* The caller's sessions (all it sees, not being root or an observer): those
 * of earlier tests end when their connections do, a moment after. */
static void wait_own_sessions(sd_bus *bus, size_t n) {
        uint64_t end = now_usec() + TIMEOUT_USEC;
        size_t have;

        for (;;) {
                char **l = sessions(bus);

                have = strv_length(l);
                strv_free(l);
                if (have == n || now_usec() > end)
                        break;
                (void) usleep(50 * 1000);
        }
        if (have != n)
                fail_msg("uid %u has %zu sessions, expected %zu", (unsigned) getuid(), have, n);
}

/* One session past the limit is refused, naming the limit, and changes nothing. */
static void open_session_refused(sd_bus *bus, bool persistent, const char *limit) {
        _cleanup_free_ char *before = describe(bus), *after = NULL;

        if (persistent)
                CALL_FAILS(E_LIMIT_EXCEEDED, bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 1, "Persistent",
                           "b", 1);
        else
                CALL_FAILS(E_LIMIT_EXCEEDED, bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 0);
        assert_error_mentions(limit);
        after = describe(bus);
        assert_string_equal(before, after);
}

static void test_sessions_per_user(void **state) {
        const uint64_t max = env_u64("VIOMMU_TEST_LIMIT_SESSIONS", 0),
                       max_persistent = env_u64("VIOMMU_TEST_LIMIT_PERSISTENT_SESSIONS", 0);
        sd_bus *bus = bus_open();
        char **opened;
        char *extra;

        if (max == 0 || max_persistent == 0)
                fail_msg("run-in-guest.sh sets the limits it configured in $VIOMMU_TEST_LIMIT_*");
        /* Room for a session that is not persistent beside the persistent ones. */
        assert_true(max_persistent < max);
        opened = calloc(max, sizeof(char *));
        assert_non_null(opened);
        wait_own_sessions(bus, 0);

        /* Sessions of any kind, up to the limit. */
        for (uint64_t i = 0; i < max; i++)
                opened[i] = open_session(bus, i == 0);
        open_session_refused(bus, false, "limits.sessions-per-user");
        open_session_refused(bus, true, "limits.sessions-per-user");
        /* Closing one makes room for one. */
        close_session(bus, opened[max - 1]);
        free(opened[max - 1]);
        opened[max - 1] = open_session(bus, false);
        open_session_refused(bus, false, "limits.sessions-per-user");
        for (uint64_t i = 0; i < max; i++) {
                close_session(bus, opened[i]);
                opened[i] = mfree(opened[i]);
        }

        /* Persistent ones have a limit of their own, and leave room for others. */
        for (uint64_t i = 0; i < max_persistent; i++)
                opened[i] = open_session(bus, true);
        open_session_refused(bus, true, "limits.persistent-sessions-per-user");
        extra = open_session(bus, false);
        close_session(bus, extra);
        free(extra);
        close_session(bus, opened[0]);
        free(opened[0]);
        opened[0] = open_session(bus, true);
        open_session_refused(bus, true, "limits.persistent-sessions-per-user");
        for (uint64_t i = 0; i < max_persistent; i++) {
                close_session(bus, opened[i]);
                free(opened[i]);
        }
        free(opened);
        wait_own_sessions(bus, 0);
        sd_bus_flush_close_unref(bus);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest limits[] = { T(test_limits_refuse_beyond_configuration) };
        const struct CMUnitTest sessions[] = { cmocka_unit_test(test_sessions_per_user) };
        const Group groups[] = { GROUP("limits", limits), GROUP("sessions", sessions) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
