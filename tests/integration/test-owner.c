/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sessions of other uids: each method refuses a caller who does not own
 * the session with NotOwner and changes nothing; looking is open to all;
 * root may close anyone's session; only root may own the bus name. As
 * root, which connects as the other uids.
 *
 *   test-owner [owner]
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_owner_refuses_other_uids(void **state) {
        const uid_t owner_uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534),
                    intruder_uid = env_u64("VIOMMU_TEST_CONFIG_UID", 1);
        sd_bus *owner = connect_as(owner_uid), *intruder = connect_as(intruder_uid), *root = bus_open();
        _cleanup_free_ char *s = NULL, *ioas = NULL, *idle_ioas = NULL, *dev = NULL, *before = NULL,
                            *after = NULL, *who = NULL, *json = NULL;
        _cleanup_close_ int memfd = memfd_new("owned", BUF_SIZE, 0x33);
        const uint64_t iova = MOCK_APERTURE_START;

        s = open_session(owner, false);
        assert_int_equal(get_u32(root, s, I_SESSION, "UID"), owner_uid);
        ioas = create_ioas(owner, s, NULL);
        idle_ioas = create_ioas(owner, s, NULL);
        map(owner, ioas, memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW);
        if (mock_devices_work()) {
                dev = create_mock(owner, s, 0, NULL);
                attach(owner, s, dev, ioas);
        }

        before = describe(root);
        assert_true(asprintf(&who, "belongs to uid %u, not to uid %u", (unsigned) owner_uid,
                             (unsigned) intruder_uid) > 0);
        CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "Close", NULL);
        assert_error_mentions(who);
        CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "CreateIOAS", NULL);
        CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "AllocFaultQueue", NULL);
        CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "OpenDirectChannel", NULL);
        CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "Destroy", "o", idle_ioas);
        CALL_FAILS(E_NOT_OWNER, intruder, ioas, I_IOAS, "Map", "htttu", memfd, UINT64_C(0), (uint64_t) PAGE,
                   iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_NOT_OWNER, intruder, ioas, I_IOAS, "Unmap", "tt", UINT64_C(0), UINT64_MAX);
        CALL_FAILS(E_NOT_OWNER, intruder, ioas, I_IOAS, "Copy", "otttu", ioas, iova, (uint64_t) PAGE,
                   UINT64_C(0), (uint32_t) IOMMU_IOAS_MAP_READABLE);
        CALL_FAILS(E_NOT_OWNER, intruder, ioas, I_IOAS, "GetIOVARanges", NULL);
        CALL_FAILS(E_NOT_OWNER, intruder, ioas, I_IOAS, "AllowIOVAs", "a(tt)", 0);
        CALL_FAILS(E_NOT_OWNER, intruder, ioas, I_IOAS, "GetReservedRegions", NULL);
        CALL_FAILS(E_NOT_OWNER, intruder, ioas, I_IOAS, "LookupIOVA", "t", iova);
        if (dev) {
                CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "CreateMockDevice", "u", 0);
                CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "Detach", "o", dev);
                CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "Attach", "oo", dev, ioas);
                CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "ReleaseDevice", "o", dev);
                alloc_hwpt_fails(E_NOT_OWNER, intruder, s, dev, ioas, NULL, 0, IOMMU_HWPT_DATA_NONE, NULL, 0);
                CALL_FAILS(E_NOT_OWNER, intruder, s, I_TESTING, "CheckMapping", "ottht", dev, iova,
                           (uint64_t) PAGE, memfd, UINT64_C(0));
        }
        after = describe(root);
        assert_string_equal(before, after);
        if (dev)
                check_mapping(owner, s, dev, iova, BUF_SIZE, memfd, 0);

        /* Looking is open to everyone. */
        assert_int_equal(get_u32(intruder, s, I_SESSION, "NObjects"), dev ? 3 : 2);
        json = describe(intruder);
        assert_true(describe_mentions(json, s));
        CALL_OK(intruder, MANAGER_PATH, I_MANAGER, "ListDevices", NULL);
        CALL_OK(intruder, MANAGER_PATH, I_MANAGER, "GetKernelFeatures", NULL);

        /* The operator (root) may close anyone's session. */
        close_session(root, s);
        sd_bus_flush_close_unref(owner);
        sd_bus_flush_close_unref(intruder);
        sd_bus_flush_close_unref(root);
}

/* A persistent session belongs to its uid, not to the connection that
 * opened it. */
static void test_owner_persistent_session_belongs_to_uid(void **state) {
        const uid_t owner_uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534),
                    intruder_uid = env_u64("VIOMMU_TEST_CONFIG_UID", 1);
        sd_bus *owner = connect_as(owner_uid), *intruder = connect_as(intruder_uid);
        _cleanup_free_ char *s = open_session(owner, true);

        sd_bus_flush_close_unref(owner);
        assert_true(session_listed(intruder, s));
        CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "Close", NULL);
        owner = connect_as(owner_uid);
        close_session(owner, s);
        sd_bus_flush_close_unref(owner);
        sd_bus_flush_close_unref(intruder);
}

/* The project's bus policy: only root may own org.viommu1. */
static void test_bus_policy_only_root_owns_name(void **state) {
        sd_bus *intruder = connect_as(env_u64("VIOMMU_TEST_CONFIG_UID", 1));

        assert_int_equal(sd_bus_request_name(intruder, BUS_NAME, 0), -EACCES);
        assert_int_equal(sd_bus_request_name(intruder, "org.viommu1.Impostor", 0), -EACCES);
        sd_bus_flush_close_unref(intruder);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest owner[] = {
                cmocka_unit_test(test_owner_refuses_other_uids),
                cmocka_unit_test(test_owner_persistent_session_belongs_to_uid),
                cmocka_unit_test(test_bus_policy_only_root_owns_name),
        };
        const Group groups[] = { GROUP("owner", owner) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
