/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sessions of other uids: to a caller who may not see a session it does not
 * exist, each call on it failing as on a path that names nothing, whatever
 * its arguments, and changing nothing; a session is seen by its owner, root
 * and viommud.conf's observers, who may not act on it (NotOwner); root may
 * close anyone's session; only root may own the bus name; a direct
 * channel's peer cannot pass for another bus name. As root, which connects
 * as the other uids.
 *
 *   test-owner [owner]
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether the object manager at /org/viommu1 lists path to this caller. */
static bool managed_objects_mention(sd_bus *bus, const char *path) {
        sd_bus_message *reply = CALL(bus, MANAGER_PATH, I_OBJECT_MANAGER, "GetManagedObjects", NULL);
        bool found = false;
        const char *p;

        assert_true(sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}") > 0);
        while (sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}") > 0) {
                assert_true(sd_bus_message_read(reply, "o", &p) > 0);
                found = found || streq(p, path);
                assert_true(sd_bus_message_skip(reply, "a{sa{sv}}") >= 0);
                assert_true(sd_bus_message_exit_container(reply) >= 0);
        }
        sd_bus_message_unref(reply);
        return found;
}

/* A call of member on path (arguments of types, zero each) fails for bus
 * exactly as on a path beside it that names nothing, its words but for the
 * path the same. */
static void refusal_like_nothing(sd_bus *bus, const char *path, const char *iface, const char *member,
                                 const char *types) {
        _cleanup_free_ char *nothing = NULL, *refusal = NULL, *expected = NULL;
        char *at;

        assert_true(asprintf(&nothing, "%s/_4000000000", path) > 0);
        for (const char *const *p = (const char *const[]) { path, nothing, NULL }; *p; p++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call(bus, *p, iface, member);

                for (const char *t = types ?: ""; *t; t++)
                        assert_true(*t == 'u' ? sd_bus_message_append(m, "u", UINT32_C(0)) >= 0
                                              : sd_bus_message_append(m, "t", UINT64_C(0)) >= 0);
                SEND_FAILS(E_UNKNOWN_OBJECT, bus, m);
                if (*p == path)
                        refusal = strdup(last_error);
        }
        /* last_error is the refusal of the path that names nothing: put the
         * real path in its place. */
        at = strstr(last_error, nothing);
        assert_non_null(at);
        assert_true(asprintf(&expected, "%.*s%s%s", (int) (at - last_error), last_error, path,
                             at + strlen(nothing)) > 0);
        assert_string_equal(refusal, expected);
}

static void test_owner_refuses_other_uids(void **state) {
        const uid_t owner_uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534),
                    intruder_uid = env_u64("VIOMMU_TEST_CONFIG_UID", 1);
        sd_bus *owner = connect_as(owner_uid), *intruder = connect_as(intruder_uid), *root = bus_open();
        _cleanup_free_ char *s = NULL, *ioas = NULL, *idle_ioas = NULL, *dev = NULL, *before = NULL,
                            *after = NULL, *who = NULL, *json = NULL;
        _cleanup_close_ int memfd = memfd_new("owned", BUF_SIZE, 0x33);
        const uint64_t iova = MOCK_APERTURE_START;
        sd_bus_message *reply;
        const void *data;
        uint32_t region;
        size_t size;

        s = open_session(owner, false);
        assert_int_equal(get_u32(root, s, I_SESSION, "UID"), owner_uid);
        ioas = create_ioas(owner, s, NULL);
        idle_ioas = create_ioas(owner, s, NULL);
        map(owner, ioas, memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW);
        /* Guest memory, and a page of it mapped by guest address: what an
         * emulated device's DMA reads. */
        reply_take(CALL(owner, s, I_SESSION, "AddMemory", "httt", memfd, UINT64_C(0), UINT64_C(0),
                        (uint64_t) BUF_SIZE), "u", &region);
        CALL_OK(owner, ioas, I_IOAS, "MapGuest", "tttu", iova + BUF_SIZE, UINT64_C(0), (uint64_t) PAGE,
                MAP_FIXED_RW);
        if (mock_devices_work()) {
                dev = create_mock(owner, s, 0, NULL);
                attach(owner, s, dev, ioas);
        }

        before = describe(root);
        /* The refusal tells the intruder nothing of the session: not even
         * whose it is. */
        assert_true(asprintf(&who, "%u", (unsigned) owner_uid) > 0);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "Close", NULL);
        if (strstr(last_error, who))
                fail_msg("the refusal \"%s\" names the owner's uid", last_error);
        /* Not even that it exists: the session fails as a path that names
         * nothing does, with the same words, whatever the member, the
         * interface or the arguments. */
        refusal_like_nothing(intruder, s, I_SESSION, "Close", NULL);
        refusal_like_nothing(intruder, s, I_SESSION, "NoSuchMember", NULL);
        refusal_like_nothing(intruder, s, "org.viommu1.NoSuchInterface", "Close", NULL);
        refusal_like_nothing(intruder, s, I_SESSION, "Destroy", "u");
        refusal_like_nothing(intruder, ioas, I_IOAS, "Unmap", "tt");
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "CreateIOAS", NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "AllocFaultQueue", NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "OpenDirectChannel", NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "Destroy", "o", idle_ioas);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "Map", "htttu", memfd, UINT64_C(0), (uint64_t) PAGE,
                   iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "Unmap", "tt", UINT64_C(0), UINT64_MAX);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "Copy", "otttu", ioas, iova, (uint64_t) PAGE,
                   UINT64_C(0), (uint32_t) IOMMU_IOAS_MAP_READABLE);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "GetIOVARanges", NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "AllowIOVAs", "a(tt)", 0);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "GetReservedRegions", NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "LookupIOVA", "t", iova);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "AddMemory", "httt", memfd, UINT64_C(0),
                   (uint64_t) (4 * BUF_SIZE), (uint64_t) BUF_SIZE);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "RemoveMemory", "u", region);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "MapGuest", "tttu", iova + BUF_SIZE + PAGE,
                   (uint64_t) PAGE, (uint64_t) PAGE, MAP_FIXED_RW);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "MapGuestBatch", "atu", 4, iova + BUF_SIZE + PAGE,
                   (uint64_t) PAGE, (uint64_t) PAGE, (uint64_t) MAP_FIXED_RW, 0);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "ReadIOVA", "tu", iova + BUF_SIZE, (uint32_t) 8);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "WriteIOVA", "tay", iova + BUF_SIZE, 1, 0x5a);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "TakeLease", "ttu", iova, (uint64_t) PAGE, 1u);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "ReleaseLease", "u", 1u);
        if (dev) {
                CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "CreateMockDevice", "u", 0);
                CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "Detach", "o", dev);
                CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "Attach", "oo", dev, ioas);
                CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "ReleaseDevice", "o", dev);
                alloc_hwpt_fails(E_UNKNOWN_OBJECT, intruder, s, dev, ioas, NULL, 0, IOMMU_HWPT_DATA_NONE, NULL, 0);
                CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_TESTING, "CheckMapping", "ottht", dev, iova,
                           (uint64_t) PAGE, memfd, UINT64_C(0));
        }
        after = describe(root);
        assert_string_equal(before, after);
        if (dev)
                check_mapping(owner, s, dev, iova, BUF_SIZE, memfd, 0);
        /* The refused WriteIOVA wrote nothing. */
        reply = CALL(owner, ioas, I_IOAS, "ReadIOVA", "tu", iova + BUF_SIZE, (uint32_t) 1);
        assert_true(sd_bus_message_read_array(reply, 'y', &data, &size) > 0);
        assert_int_equal(size, 1);
        assert_int_equal(*(const uint8_t *) data, 0x33);
        sd_bus_message_unref(reply);

        /* A session is seen by its owner and root alone; the host's devices
         * and the kernel's features by everyone. */
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_PROPERTIES, "Get", "ss", I_SESSION, "NObjects");
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_PROPERTIES, "GetAll", "s", I_IOAS);
        json = describe(intruder);
        assert_false(describe_mentions(json, s));
        assert_false(session_listed(intruder, s));
        assert_false(managed_objects_mention(intruder, s));
        assert_false(managed_objects_mention(intruder, ioas));
        assert_int_equal(get_u32(owner, s, I_SESSION, "NObjects"), dev ? 3 : 2);
        assert_int_equal(get_u32(root, s, I_SESSION, "NObjects"), dev ? 3 : 2);
        assert_true(session_listed(owner, s));
        assert_true(managed_objects_mention(owner, ioas));
        assert_true(managed_objects_mention(root, ioas));
        free(json);
        json = describe(root);
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
        assert_false(session_listed(intruder, s));
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "Close", NULL);
        owner = connect_as(owner_uid);
        close_session(owner, s);
        sd_bus_flush_close_unref(owner);
        sd_bus_flush_close_unref(intruder);
}

/* Owner first: whatever the arguments, a stranger's call fails before
 * anything about the session's objects is looked at, so the error cannot
 * tell what the session holds. */
static void test_owner_refuses_before_reading_arguments(void **state) {
        const uid_t owner_uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534),
                    intruder_uid = env_u64("VIOMMU_TEST_CONFIG_UID", 1);
        sd_bus *owner = connect_as(owner_uid), *intruder = connect_as(intruder_uid);
        _cleanup_free_ char *s = NULL, *ioas = NULL, *dev = NULL, *hwpt = NULL, *missing = NULL;

        s = open_session(owner, false);
        ioas = create_ioas(owner, s, NULL);
        assert_true(asprintf(&missing, "%s/ioas/_3999", s) > 0);
        /* Each of these fails for the owner in a way that names the
         * session's state; for the intruder it must not get that far. */
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "ExportIommufd", NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "Destroy", "o", missing);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "ClaimDevice", "sb", "no-such-device", 0);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "Copy", "otttu", missing, UINT64_C(0), (uint64_t) PAGE,
                   UINT64_C(0), (uint32_t) IOMMU_IOAS_MAP_READABLE);
        CALL_FAILS(E_NO_SUCH_OBJECT, owner, s, I_SESSION, "RemoveMemory", "u", (uint32_t) 999);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "RemoveMemory", "u", (uint32_t) 999);
        CALL_FAILS(E_NOT_MAPPED, owner, ioas, I_IOAS, "ReadIOVA", "tu", MOCK_APERTURE_START, (uint32_t) 8);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "ReadIOVA", "tu", MOCK_APERTURE_START, (uint32_t) 8);
        CALL_FAILS(E_NO_SUCH_OBJECT, owner, ioas, I_IOAS, "MapGuest", "tttu", MOCK_APERTURE_START, UINT64_C(0),
                   (uint64_t) PAGE, MAP_FIXED_RW);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, ioas, I_IOAS, "MapGuest", "tttu", MOCK_APERTURE_START, UINT64_C(0),
                   (uint64_t) PAGE, MAP_FIXED_RW);
        if (mock_devices_work()) {
                dev = create_mock(owner, s, 0, NULL);
                attach(owner, s, dev, ioas);
                hwpt = alloc_hwpt(owner, s, dev, ioas, NULL, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
                CALL_FAILS(E_INVALID_ARGUMENT, owner, s, I_SESSION, "ExportDevice", "o", dev);
                CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "ExportDevice", "o", dev);
                CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "DetachPasid", "ou", dev, (uint32_t) 1);
                CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "AttachPasid", "ouo", dev, (uint32_t) 0, hwpt);
                CALL_FAILS(E_INVALID_ARGUMENT, owner, hwpt, I_HWPT, "SetDirtyTracking", "b", 1);
                CALL_FAILS(E_UNKNOWN_OBJECT, intruder, hwpt, I_HWPT, "SetDirtyTracking", "b", 1);
                CALL_FAILS(E_UNKNOWN_OBJECT, intruder, hwpt, I_HWPT, "ReadDirtyBitmap", "tttb", UINT64_C(0),
                           (uint64_t) PAGE, (uint64_t) PAGE, 0);
                CALL_FAILS(E_UNKNOWN_OBJECT, intruder, hwpt, I_HWPT, "Invalidate", "uuay", UINT32_C(0), UINT32_C(0),
                           0);
                CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_TESTING, "CheckPasid", "ouo", missing, (uint32_t) 1, "/");
                if (strstr(last_error, "mock"))
                        fail_msg("the refusal \"%s\" names what the session holds", last_error);
                refusal_like_nothing(intruder, hwpt, I_HWPT, "Invalidate", "uu");
        }
        close_session(owner, s);
        sd_bus_flush_close_unref(owner);
        sd_bus_flush_close_unref(intruder);
}

static int answer_as_root(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        bool *asked = userdata;

        if (!sd_bus_message_is_method_call(m, "org.freedesktop.DBus", "GetConnectionCredentials"))
                return 0;
        *asked = true;
        assert_true(sd_bus_reply_method_return(m, "a{sv}", 1, "UnixUserID", "u", UINT32_C(0)) >= 0);
        return 1;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        *(bool *) userdata = true;
        return 0;
}

/* On a direct channel the peer writes a message's sender field itself. The
 * daemon must neither take it for a bus name nor ask the peer who that name
 * is: here the peer names another connection of its user and would answer
 * that it is root; believed, that connection could act on root's session. */
static void test_owner_channel_sender_not_vouched_for(void **state) {
        const uid_t uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534);
        sd_bus *vmm = connect_as(uid), *accomplice = connect_as(uid), *root = bus_open(), *ch;
        _cleanup_free_ char *s = NULL, *ioas = NULL, *root_session = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        bool asked = false, answered = false;
        const char *name;

        s = open_session(vmm, false);
        ioas = create_ioas(vmm, s, NULL);
        root_session = open_session(root, false);
        ch = channel_open(vmm, s);
        assert_int_equal(sd_bus_add_filter(ch, NULL, answer_as_root, &asked), 0);
        assert_int_equal(sd_bus_get_unique_name(accomplice, &name), 0);

        /* TakeLease wants its holder's pid from the bus. */
        m = new_call(ch, ioas, I_IOAS, "TakeLease");
        assert_true(sd_bus_message_append(m, "ttu", MOCK_APERTURE_START, (uint64_t) PAGE, UINT32_C(1)) >= 0);
        assert_true(sd_bus_message_set_sender(m, name) >= 0);
        assert_true(sd_bus_call_async(ch, NULL, m, on_reply, &answered, 0) >= 0);
        pump(ch, CALL_TIMEOUT_USEC, &answered);
        assert_true(answered);
        assert_false(asked);

        CALL_FAILS(E_UNKNOWN_OBJECT, accomplice, root_session, I_SESSION, "CreateIOAS", NULL);
        assert_int_equal(get_u32(root, root_session, I_SESSION, "NObjects"), 0);

        sd_bus_flush_close_unref(ch);
        close_session(vmm, s);
        close_session(root, root_session);
        sd_bus_flush_close_unref(vmm);
        sd_bus_flush_close_unref(accomplice);
        sd_bus_flush_close_unref(root);
}

/* The project's bus policy: only root may own org.viommu1. */
static void test_bus_policy_only_root_owns_name(void **state) {
        sd_bus *intruder = connect_as(env_u64("VIOMMU_TEST_CONFIG_UID", 1));

        assert_int_equal(sd_bus_request_name(intruder, BUS_NAME, 0), -EACCES);
        assert_int_equal(sd_bus_request_name(intruder, "org.viommu1.Impostor", 0), -EACCES);
        sd_bus_flush_close_unref(intruder);
}

/* viommud.conf's observers see every session, and may act on none. */
static void test_owner_observer_sees_but_cannot_act(void **state) {
        const uid_t owner_uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534),
                    observer_uid = env_u64("VIOMMU_TEST_OBSERVER_UID", 7);
        sd_bus *owner = connect_as(owner_uid), *observer = connect_as(observer_uid);
        _cleanup_free_ char *s = NULL, *ioas = NULL, *json = NULL, *before = NULL, *after = NULL;

        s = open_session(owner, false);
        ioas = create_ioas(owner, s, NULL);

        json = describe(observer);
        assert_true(describe_mentions(json, s));
        assert_true(session_listed(observer, s));
        assert_true(managed_objects_mention(observer, ioas));
        assert_int_equal(get_u32(observer, s, I_SESSION, "NObjects"), 1);
        assert_int_equal(get_u32(observer, s, I_SESSION, "UID"), owner_uid);

        before = describe(owner);
        CALL_FAILS(E_NOT_OWNER, observer, s, I_SESSION, "CreateIOAS", NULL);
        CALL_FAILS(E_NOT_OWNER, observer, s, I_SESSION, "Destroy", "o", ioas);
        CALL_FAILS(E_NOT_OWNER, observer, ioas, I_IOAS, "Unmap", "tt", UINT64_C(0), UINT64_MAX);
        CALL_FAILS(E_NOT_OWNER, observer, s, I_SESSION, "Close", NULL);
        after = describe(owner);
        assert_string_equal(before, after);

        close_session(owner, s);
        sd_bus_flush_close_unref(owner);
        sd_bus_flush_close_unref(observer);
}

/* A group that the user database gives a user, and its processes do not
 * carry, counts: VIOMMU_TEST_WATCH_UID is an observer by the group
 * VIOMMU_TEST_WATCH_GID alone, which run-in-guest.sh adds to /etc/group. */
static void test_owner_observer_by_user_database_group(void **state) {
        const uid_t owner_uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534);
        sd_bus *owner, *watcher;
        _cleanup_free_ char *s = NULL, *json = NULL;

        if (!getenv("VIOMMU_TEST_WATCH_GID"))
                skip();
        owner = connect_as(owner_uid);
        watcher = connect_as(env_u64("VIOMMU_TEST_WATCH_UID", 8));
        s = open_session(owner, false);

        json = describe(watcher);
        assert_true(describe_mentions(json, s));
        assert_true(session_listed(watcher, s));
        CALL_FAILS(E_NOT_OWNER, watcher, s, I_SESSION, "Close", NULL);

        close_session(owner, s);
        sd_bus_flush_close_unref(owner);
        sd_bus_flush_close_unref(watcher);
}

/* The reply to the call cookie on bus, if it came: what has arrived is
 * processed. */
static sd_bus_message *reply_of(sd_bus *bus, uint64_t cookie) {
        sd_bus_message *got = NULL;
        uint64_t reply_cookie;

        for (;;) {
                got = sd_bus_message_unref(got);
                if (sd_bus_process(bus, &got) <= 0)
                        return sd_bus_message_unref(got);
                if (got && sd_bus_message_get_reply_cookie(got, &reply_cookie) >= 0 && reply_cookie == cookie)
                        return got;
        }
}

/* The user database is asked in a thread: while it takes its time over one
 * caller's groups (VIOMMU_TEST_THREAD_HOLD, a test hook, holds the look-up
 * for as long as the file exists), another client is served, and the first
 * calls wait; the user's other connections wait for the same look-up, no
 * thread more. Once it ends, each is answered, with the groups found. */
static void test_owner_user_database_holds_up_nobody(void **state) {
        const char *hold = getenv("VIOMMU_TEST_THREAD_HOLD");
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *s = NULL, *ioas = NULL, *threads_before = NULL, *threads_held = NULL;
        _cleanup_close_ int memfd = memfd_new("guest-ram", BUF_SIZE, 0x5a);
        sd_bus *slow[3], *vmm;
        uint64_t cookie[3], start, deadline;
        unsigned long n_before, n_held;
        pid_t daemon;
        int fd;

        if (!hold || !getenv("VIOMMU_TEST_WATCH_GID"))
                skip();
        fd = open(hold, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        vmm = bus_open();
        s = open_session(vmm, false);
        daemon = daemon_pid(vmm);
        threads_before = proc_status_field(daemon, "Threads");
        n_before = strtoul(threads_before, NULL, 10);

        /* Their first calls: the daemon asks the bus, then the user
         * database, once. */
        for (size_t i = 0; i < ELEMENTSOF(slow); i++) {
                slow[i] = connect_as(env_u64("VIOMMU_TEST_WATCH_UID", 8));
                assert_true(sd_bus_message_new_method_call(slow[i], &m, BUS_NAME, MANAGER_PATH, I_MANAGER,
                                                           "Describe") >= 0);
                assert_true(sd_bus_send(slow[i], m, &cookie[i]) >= 0);
                assert_true(sd_bus_flush(slow[i]) >= 0);
                m = sd_bus_message_unref(m);
        }
        usleep(300 * 1000);
        threads_held = proc_status_field(daemon, "Threads");
        n_held = strtoul(threads_held, NULL, 10);
        assert_int_equal(n_held, n_before + 1);

        start = now_usec();
        ioas = create_ioas(vmm, s, NULL);
        assert_int_equal(map(vmm, ioas, memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        assert_int_equal(unmap(vmm, ioas, 0, UINT64_MAX), BUF_SIZE);
        assert_true(now_usec() - start < 3 * UINT64_C(1000000));
        for (size_t i = 0; i < ELEMENTSOF(slow); i++)
                assert_null(reply_of(slow[i], cookie[i]));

        assert_int_equal(unlink(hold), 0);
        deadline = now_usec() + TIMEOUT_USEC;
        for (size_t i = 0; i < ELEMENTSOF(slow); i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *answer = NULL;
                const char *json;

                while (!(answer = reply_of(slow[i], cookie[i]))) {
                        assert_true(now_usec() < deadline);
                        assert_true(sd_bus_wait(slow[i], 100 * 1000) >= 0);
                }
                assert_false(sd_bus_message_is_method_error(answer, NULL));
                assert_true(sd_bus_message_read(answer, "s", &json) > 0);
                /* An observer by the group the look-up found. */
                assert_true(describe_mentions(json, s));
                sd_bus_flush_close_unref(slow[i]);
        }

        close_session(vmm, s);
        sd_bus_flush_close_unref(vmm);
}

/* Owner first for signals too: a session's signals go to the subscribers
 * who may see the session (its uid, root, an observer). A stranger who
 * subscribed and listens for all the daemon sends hears nothing of it, nor
 * does a connection that did not subscribe, the owner's own included. */
static void test_owner_signals_reach_only_who_may_see(void **state) {
        const uid_t owner_uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534),
                    intruder_uid = env_u64("VIOMMU_TEST_CONFIG_UID", 1),
                    observer_uid = env_u64("VIOMMU_TEST_OBSERVER_UID", 7);
        Watcher *owner = watcher_on(connect_as(owner_uid), false), *root = watcher_on(bus_open(), true);
        Watcher *hear[] = {
                watcher_on(connect_as(owner_uid), true),
                watcher_on(connect_as(observer_uid), true),
                root,
        };
        Watcher *deaf[] = {
                watcher_on(connect_as(intruder_uid), true),
                watcher_on(bus_open(), false),
                owner,
        };
        _cleanup_close_ int memfd = memfd_new("signals", BUF_SIZE, 0x5a);
        _cleanup_free_ char *s = NULL, *ioas = NULL;

        s = open_session(owner->bus, false);
        ioas = create_ioas(owner->bus, s, NULL);
        map(owner->bus, ioas, memfd, 0, BUF_SIZE, MOCK_APERTURE_START, MAP_FIXED_RW);
        /* A read of state has the changes announced first. */
        watcher_sync(root);
        destroy(owner->bus, s, ioas);
        watcher_sync(root);
        close_session(owner->bus, s);

        for (size_t i = 0; i < ELEMENTSOF(hear); i++) {
                /* Built from the vtables: every interface, every property. */
                assert_interfaces(hear[i], "InterfacesAdded", s, I_SESSION, "UID", NUM(owner_uid));
                assert_interfaces(hear[i], "InterfacesAdded", s, I_SESSION, "Persistent", "false");
                assert_interfaces(hear[i], "InterfacesAdded", ioas, I_OBJECT, "Type", "ioas");
                assert_interfaces(hear[i], "InterfacesAdded", ioas, I_OBJECT, "Session", s);
                assert_interfaces(hear[i], "InterfacesAdded", ioas, I_IOAS, "MappedBytes", "0");
                assert_interfaces(hear[i], "InterfacesAdded", ioas, I_PROPERTIES, NULL, NULL);
                assert_interfaces(hear[i], "InterfacesRemoved", ioas, I_IOAS, NULL, NULL);
                assert_interfaces(hear[i], "InterfacesRemoved", ioas, I_OBJECT, NULL, NULL);
                assert_interfaces(hear[i], "InterfacesRemoved", s, I_SESSION, NULL, NULL);
                assert_changed(hear[i], ioas, I_IOAS, "MappedBytes", NUM(BUF_SIZE));
                assert_changed(hear[i], s, I_SESSION, "NObjects", "0");
                assert_signal(hear[i], MANAGER_PATH, I_OBJECT_MANAGER, "InterfacesRemoved", ioas);
                assert_signal(hear[i], MANAGER_PATH, I_MANAGER, "SessionClosed", s);
                assert_signal(hear[i], MANAGER_PATH, I_OBJECT_MANAGER, "InterfacesRemoved", s);
        }
        for (size_t i = 0; i < ELEMENTSOF(deaf); i++)
                assert_nothing_about(deaf[i], s);

        /* Subscribed, the owner hears of its next session; unsubscribed,
         * root does not. */
        sd_bus_message_unref(CALL(owner->bus, MANAGER_PATH, I_MANAGER, "Subscribe", NULL));
        sd_bus_message_unref(CALL(root->bus, MANAGER_PATH, I_MANAGER, "Unsubscribe", NULL));
        /* Twice is no error: there is nothing to end. */
        sd_bus_message_unref(CALL(root->bus, MANAGER_PATH, I_MANAGER, "Unsubscribe", NULL));
        watcher_reset(owner);
        watcher_reset(root);
        free(s);
        s = open_session(owner->bus, false);
        close_session(owner->bus, s);
        assert_signal(owner, MANAGER_PATH, I_MANAGER, "SessionClosed", s);
        assert_nothing_about(root, s);

        for (size_t i = 0; i < ELEMENTSOF(hear); i++)
                watcher_free(hear[i]);
        for (size_t i = 0; i < ELEMENTSOF(deaf); i++)
                watcher_free(deaf[i]);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest owner[] = {
                cmocka_unit_test(test_owner_refuses_other_uids),
                cmocka_unit_test(test_owner_persistent_session_belongs_to_uid),
                cmocka_unit_test(test_owner_refuses_before_reading_arguments),
                cmocka_unit_test(test_owner_observer_sees_but_cannot_act),
                cmocka_unit_test(test_owner_observer_by_user_database_group),
                cmocka_unit_test(test_owner_user_database_holds_up_nobody),
                cmocka_unit_test(test_owner_signals_reach_only_who_may_see),
                cmocka_unit_test(test_bus_policy_only_root_owns_name),
                cmocka_unit_test(test_owner_channel_sender_not_vouched_for),
        };
        const Group groups[] = { GROUP("owner", owner) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
