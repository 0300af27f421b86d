/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What outlives the daemon: the session record a restart reads back, and
 * sessions across restarts and crashes.
 *
 *   test-restart [record] [restart] [systemctl]
 *
 *   record     the record of a full session, written, read back and written
 *              again (Testing.RoundTripRecord); mock devices, any uid
 *   restart    sessions across daemon restarts and kill -9 (root; the daemon
 *              runs under fdstore-harness, whose pid is
 *              $VIOMMU_TEST_HARNESS_PID)
 *   systemctl  sessions across `systemctl restart viommud` and `systemctl
 *              kill -s KILL viommud`, in systemd's own fd store (root; the systemd profile of the test VM, with the
 *              installed unit and mock devices)
 *
 * The environment is described in itest.h.
 */

#include "edu-dma.h"
#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- record: what a restart reads back ---------------------------------- */

/* The daemon writes the session's record, reads it back and writes that:
 * the two texts must be the same. Returns the record. */
static struct json_object *record_round_trip(sd_bus *bus, const char *session) {
        sd_bus_message *reply = CALL(bus, session, I_TESTING, "RoundTripRecord", NULL);
        const char *written, *read_back;
        struct json_object *j;

        assert_true(sd_bus_message_read(reply, "ss", &written, &read_back) > 0);
        assert_string_equal(written, read_back);
        j = json_tokener_parse(written);
        assert_non_null(j);
        sd_bus_message_unref(reply);
        return j;
}

static struct json_object *record_object(struct json_object *rec, const char *path) {
        struct json_object *objects = json_array(rec, "objects");

        for (size_t i = 0; i < json_object_array_length(objects); i++)
                if (streq_ptr(json_string(json_object_array_get_idx(objects, i), "path"), path))
                        return json_object_array_get_idx(objects, i);
        fail_msg("the record has no %s", path);
        return NULL;
}

/* A session with mappings (one copied into a second IOAS), a nested HWPT
 * with a fault queue and an attached device comes back whole from its
 * record, and reading it back touches nothing of the kernel's. */
static void test_round_trip_record_whole(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_close_ int other = memfd_new("other", BUF_SIZE, 0x5a), fault_fd = -EBADF;
        _cleanup_free_ char *ioas2 = NULL, *parent = NULL, *fq = NULL, *nested = NULL;
        struct json_object *rec, *o;

        assert_int_equal(map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        assert_int_equal(map(f->bus, f->ioas, other, PAGE, 2 * PAGE, iova + 0x100000,
                             IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE), iova + 0x100000);
        ioas2 = create_ioas(f->bus, f->session, NULL);
        CALL_OK(f->bus, ioas2, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) BUF_SIZE, iova,
                (uint32_t) (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE));
        parent = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        fq = reply_object_fd(CALL(f->bus, f->session, I_SESSION, "AllocFaultQueue", NULL), NULL, &fault_fd);
        nested = alloc_nested(f->bus, f->session, f->dev, parent, fq, 0, NULL);
        attach(f->bus, f->session, f->dev, nested);

        rec = record_round_trip(f->bus, f->session);
        assert_int_equal(json_object_array_length(json_array(rec, "objects")),
                         get_u32(f->bus, f->session, I_SESSION, "NObjects"));
        /* Mappings are in the journal, in a compact form of their own. */
        assert_false(json_object_object_get_ex(record_object(rec, f->ioas), "mappings", NULL));
        o = record_object(rec, f->dev);
        assert_string_equal(json_string(o, "attached"), nested);
        o = record_object(rec, nested);
        assert_int_equal(json_object_array_length(json_array(o, "uses")), 3);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(json_array(o, "uses"), 0)), parent);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(json_array(o, "uses"), 1)), f->dev);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(json_array(o, "uses"), 2)), fq);
        json_object_put(rec);

        /* The copy the daemon read back and dropped let go of nothing. */
        check_mapping(f->bus, f->session, f->dev, iova, BUF_SIZE, f->memfd, 0);
        assert_int_equal(get_u32(f->bus, ioas2, I_IOAS, "Mappings"), 1);
}

/* ---- restart: sessions outlive the daemon -------------------------------- */

/* What the restarted daemon has pinned in its name (VmPin), against what the
 * previous run had: the same where the pins move, else nothing. */
static void check_pins_taken_over(sd_bus *bus, uint64_t before_kib) {
        assert_true(before_kib > 0);
        assert_int_equal(pinned_kib(daemon_pid(bus)), pins_move(bus) ? before_kib : 0);
}

/* The limit pinned-bytes counts a session's mappings taken over: exactly
 * what is left up to the limit can be mapped, a page more cannot. */
static void check_pinned_limit(sd_bus *bus, const char *session, const char *ioas, uint64_t iova) {
        const uint64_t limit = env_u64("VIOMMU_TEST_LIMIT_PINNED", 0),
                       mapped = get_u64(bus, session, I_SESSION, "MappedBytes");
        _cleanup_close_ int big = -EBADF;

        if (limit == 0)
                fail_msg("run-in-guest.sh sets the limit it configured in $VIOMMU_TEST_LIMIT_PINNED");
        assert_true(mapped > 0 && mapped < limit);
        big = memfd_new("big", limit - mapped + PAGE, 0);
        CALL_FAILS(E_LIMIT_EXCEEDED, bus, ioas, I_IOAS, "Map", "htttu", big, UINT64_C(0), limit - mapped + PAGE,
                   iova, (uint32_t) (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE));
        assert_error_mentions("pinned");
        map(bus, ioas, big, 0, limit - mapped, iova, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE);
        assert_int_equal(get_u64(bus, session, I_SESSION, "MappedBytes"), limit);
        assert_int_equal(unmap(bus, ioas, iova, limit - mapped), limit - mapped);
}

/*
 * A VMM's sessions across a daemon restart, or its crash: the owner's
 * session and a persistent one come back with every object, the kernel
 * never stopped translating (the mapping is in the mock domain throughout)
 * and both work afterwards; a session whose owner left meanwhile is gone.
 * The pages the kernel pins for them are charged to the daemon that runs.
 */
static void sessions_survive(bool crash) {
        const uint64_t iova = MOCK_APERTURE_START;
        sd_bus *bus = bus_open(), *leaving = bus_open();
        _cleanup_close_ int memfd = memfd_new("guest-ram", BUF_SIZE, 0x3c), fault_fd = -EBADF;
        _cleanup_free_ char *s = NULL, *p = NULL, *gone = NULL, *dev = NULL, *ioas = NULL, *parent = NULL,
                            *fq = NULL, *nested = NULL, *before = NULL, *after = NULL, *p_before = NULL,
                            *p_after = NULL, *err = NULL, *pdev = NULL, *pioas = NULL, *rdev = NULL, *rioas = NULL;
        struct iommu_hwpt_invalidate_selftest inv = { .iotlb_id = 1 };
        uint64_t pinned;
        VfioDevice d[2];

        s = open_session(bus, false);
        dev = create_mock(bus, s, 0, NULL);
        ioas = create_ioas(bus, s, NULL);
        assert_int_equal(map(bus, ioas, memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        parent = alloc_hwpt(bus, s, dev, ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_DATA_NONE, NULL, 0,
                            NULL);
        fq = reply_object_fd(CALL(bus, s, I_SESSION, "AllocFaultQueue", NULL), NULL, &fault_fd);
        nested = alloc_nested(bus, s, dev, parent, fq, 0, NULL);
        attach(bus, s, dev, nested);
        check_mapping(bus, s, dev, iova, BUF_SIZE, memfd, 0);

        p = open_session(bus, true);
        pdev = create_mock(bus, p, 0, NULL);
        pioas = create_ioas(bus, p, NULL);
        assert_int_equal(map(bus, pioas, memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        attach(bus, p, pdev, pioas);

        /* In the vtd profile, a real device too: its cdev waits in the store. */
        if (getenv("VIOMMU_TEST_VFIO_DEVICES")) {
                vfio_devices(d, 1);
                rdev = claim(bus, p, d[0].bdf, false);
                rioas = create_ioas(bus, p, NULL);
                assert_int_equal(map(bus, rioas, memfd, 0, BUF_SIZE, 0x100000, MAP_FIXED_RW), 0x100000);
                attach(bus, p, rdev, rioas);
        }

        gone = open_session(leaving, false);
        before = describe_session(bus, s);
        p_before = describe_session(bus, p);
        /* Both sessions' memory is pinned, attached as it is to a device. */
        pinned = pinned_kib(daemon_pid(bus));
        assert_true(pinned >= 2 * BUF_SIZE / 1024);

        restart_daemon(bus, crash);
        check_pins_taken_over(bus, pinned);
        /* Its owner leaves while the daemon is away or just back. */
        sd_bus_flush_close_unref(leaving);

        after = describe_session(bus, s);
        p_after = describe_session(bus, p);
        assert_non_null(after);
        assert_string_equal(after, before);
        assert_non_null(p_after);
        assert_string_equal(p_after, p_before);
        for (int i = 0; i < 100 && session_listed(bus, gone); i++)
                (void) usleep(100 * 1000);
        assert_false(session_listed(bus, gone));

        /* The kernel kept translating, and the sessions work on. */
        check_mapping(bus, s, dev, iova, BUF_SIZE, memfd, 0);
        check_mapping(bus, p, pdev, iova, BUF_SIZE, memfd, 0);
        check_iotlb(bus, s, nested, 1, IOMMU_TEST_IOTLB_DEFAULT);
        assert_int_equal(invalidate(bus, nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(inv), &inv,
                                    sizeof(inv), &err), 1);
        check_iotlb(bus, s, nested, 1, 0);
        CALL_FAILS(E_BUSY, bus, s, I_SESSION, "Destroy", "o", parent);
        check_pinned_limit(bus, s, ioas, iova + 0x1000000);
        assert_int_equal(unmap(bus, pioas, 0, UINT64_MAX), BUF_SIZE);
        check_no_mapping(bus, p, pdev, iova, PAGE, memfd, 0);
        /* Unpinning is charged where the pins are. */
        if (pins_move(bus))
                pinned -= BUF_SIZE / 1024;
        check_pins_taken_over(bus, pinned);

        /* A second restart passes over what the first took over. */
        restart_daemon(bus, crash);
        check_pins_taken_over(bus, pinned);
        check_mapping(bus, s, dev, iova, BUF_SIZE, memfd, 0);
        assert_int_equal(get_u32(bus, s, I_SESSION, "NObjects"), 5);

        if (rdev) {
                _cleanup_free_ char *attached = get_string(bus, rdev, I_DEVICE, "Attached", "o"), *again = NULL;

                /* Still attached, and let go for good: with the store's copy
                 * of its cdev gone too, it can be claimed afresh. */
                assert_string_equal(attached, rioas);
                CALL_OK(bus, p, I_SESSION, "Detach", "o", rdev);
                CALL_OK(bus, p, I_SESSION, "ReleaseDevice", "o", rdev);
                again = claim(bus, s, d[0].bdf, false);
                CALL_OK(bus, s, I_SESSION, "ReleaseDevice", "o", again);
        }
        close_session(bus, p);
        /* Teardown as before the restarts: the fault queue goes with its fd. */
        fault_fd = (close(fault_fd), -EBADF);
        CALL_OK(bus, s, I_SESSION, "Detach", "o", dev);
        destroy(bus, s, nested);
        destroy(bus, s, fq);
        close_session(bus, s);
        /* With every session gone, the daemon holds no pin. */
        wait_pinned(daemon_pid(bus), 0);
        sd_bus_flush_close_unref(bus);
}

static void test_restart_sessions_survive(void **state) {
        sessions_survive(false);
}

/* A stop does not wait for the user database: a look-up of a caller's
 * groups that hangs (VIOMMU_TEST_THREAD_HOLD holds it for as long as the
 * file exists, 30 s at most) is left to end with the process, and the next
 * run starts at once. */
static void test_restart_user_database_hangs(void **state) {
        const char *hold = getenv("VIOMMU_TEST_THREAD_HOLD");
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus, *stranger;
        uint64_t start, took;
        int fd;

        if (!hold)
                skip();
        fd = open(hold, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        bus = bus_open();
        stranger = connect_as(env_u64("VIOMMU_TEST_OTHER_UID", 65534));
        assert_true(sd_bus_message_new_method_call(stranger, &m, BUS_NAME, MANAGER_PATH, I_MANAGER,
                                                   "Describe") >= 0);
        assert_true(sd_bus_send(stranger, m, NULL) >= 0);
        assert_true(sd_bus_flush(stranger) >= 0);
        usleep(300 * 1000);

        start = now_usec();
        restart_daemon(bus, false);
        took = now_usec() - start;
        assert_int_equal(unlink(hold), 0);
        assert_true(took < 10 * UINT64_C(1000000));
        CALL_OK(bus, MANAGER_PATH, I_MANAGER, "GetKernelFeatures", NULL);
        sd_bus_flush_close_unref(stranger);
        sd_bus_flush_close_unref(bus);
}

/* Sends m after asking the daemon to die by SIGKILL at the next outcome it
 * would record, between the kernel call and the record: m goes unanswered,
 * and the service manager starts the daemon again, which takes over. */
static void die_during(sd_bus *bus, const char *session, sd_bus_message *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        pid_t before = daemon_pid(bus);

        CALL_OK(bus, session, I_TESTING, "DieBeforeRecording", NULL);
        assert_true(sd_bus_call(bus, m, 0, &error, NULL) < 0);
        sd_bus_message_unref(m);
        wait_next_run(bus, before);
}

static sd_bus_message *map_call(sd_bus *bus, const char *ioas, int fd, uint64_t iova, uint32_t flags) {
        sd_bus_message *m = new_call(bus, ioas, I_IOAS, "Map");

        assert_true(sd_bus_message_append(m, "htttu", fd, UINT64_C(0), (uint64_t) BUF_SIZE, iova, flags) >= 0);
        return m;
}

/*
 * A kill -9 at the worst instant of each kind of call, after the kernel
 * acted and before the daemon recorded it: the next run makes the kernel
 * and the record agree. A map or copy the caller never heard of is undone
 * (the range maps again, an unmap of everything takes off only what the
 * record has), an unmap and a destroy are finished, an attach is put back
 * as recorded (or finished, where the kernel cannot go back), and an object
 * allocated but not recorded is destroyed (the kernel gives its id to the
 * next one).
 */
static void test_crash_settles_each_operation(void **state) {
        const uint64_t iova = MOCK_APERTURE_START, other = MOCK_APERTURE_START + 0x1000000;
        sd_bus *bus = bus_open();
        _cleanup_close_ int memfd = memfd_new("guest-ram", BUF_SIZE, 0x3c);
        _cleanup_free_ char *s = NULL, *dev = NULL, *a = NULL, *b = NULL, *c = NULL, *again = NULL;
        sd_bus_message *m;
        uint32_t objects, id, id_again;

        s = open_session(bus, false);
        dev = create_mock(bus, s, 0, NULL);
        a = create_ioas(bus, s, NULL);
        b = create_ioas(bus, s, NULL);
        attach(bus, s, dev, a);
        assert_int_equal(map(bus, a, memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);

        /* Map at a fixed IOVA: undone. */
        die_during(bus, s, map_call(bus, a, memfd, other, MAP_FIXED_RW));
        assert_int_equal(get_u32(bus, a, I_IOAS, "Mappings"), 1);
        check_no_mapping(bus, s, dev, other, PAGE, memfd, 0);
        assert_int_equal(map(bus, a, memfd, 0, BUF_SIZE, other, MAP_FIXED_RW), other);
        assert_int_equal(unmap(bus, a, other, BUF_SIZE), BUF_SIZE);

        /* Map where the kernel chooses: undone, wherever it went. */
        die_during(bus, s, map_call(bus, a, memfd, 0, MAP_RW));
        assert_int_equal(get_u32(bus, a, I_IOAS, "Mappings"), 1);
        assert_int_equal(unmap(bus, a, 0, UINT64_MAX), BUF_SIZE);
        check_no_mapping(bus, s, dev, iova, PAGE, memfd, 0);
        assert_int_equal(map(bus, a, memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);

        /* Unmap: finished. */
        m = new_call(bus, a, I_IOAS, "Unmap");
        assert_true(sd_bus_message_append(m, "tt", iova, (uint64_t) BUF_SIZE) >= 0);
        die_during(bus, s, m);
        assert_int_equal(get_u32(bus, a, I_IOAS, "Mappings"), 0);
        check_no_mapping(bus, s, dev, iova, PAGE, memfd, 0);
        assert_int_equal(map(bus, a, memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);

        /* Copy into another IOAS: undone. */
        m = new_call(bus, b, I_IOAS, "Copy");
        assert_true(sd_bus_message_append(m, "otttu", a, iova, (uint64_t) BUF_SIZE, iova,
                                          (uint32_t) MAP_FIXED_RW) >= 0);
        die_during(bus, s, m);
        assert_int_equal(get_u32(bus, b, I_IOAS, "Mappings"), 0);
        assert_int_equal(map(bus, b, memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        assert_int_equal(unmap(bus, b, iova, BUF_SIZE), BUF_SIZE);

        /* An IOAS allocated, not recorded: destroyed. The kernel gives the
         * lowest free id, so the next IOAS gets the one it had. */
        c = create_ioas(bus, s, &id);
        destroy(bus, s, c);
        objects = get_u32(bus, s, I_SESSION, "NObjects");
        die_during(bus, s, new_call(bus, s, I_SESSION, "CreateIOAS"));
        assert_int_equal(get_u32(bus, s, I_SESSION, "NObjects"), objects);
        again = create_ioas(bus, s, &id_again);
        assert_int_equal(id_again, id);
        destroy(bus, s, again);

        /* Destroy: finished; its id is free again. */
        free(c);
        c = create_ioas(bus, s, &id);
        m = new_call(bus, s, I_SESSION, "Destroy");
        assert_true(sd_bus_message_append(m, "o", c) >= 0);
        die_during(bus, s, m);
        assert_int_equal(get_u32(bus, s, I_SESSION, "NObjects"), objects);
        free(again);
        again = create_ioas(bus, s, &id_again);
        assert_int_equal(id_again, id);
        destroy(bus, s, again);

        /* Attach to another IOAS: put back as recorded, on the first; before
         * Linux 6.13 the kernel cannot fill a domain again from the memory
         * of a run that is gone (it mapped by address), and the attach is
         * finished instead. Either way the kernel translates as the record
         * says: the first IOAS maps the memory, the second nothing. */
        m = new_call(bus, s, I_SESSION, "Attach");
        assert_true(sd_bus_message_append(m, "oo", dev, b) >= 0);
        die_during(bus, s, m);
        free(again);
        again = get_string(bus, dev, I_DEVICE, "Attached", "o");
        assert_string_equal(again, kernel_at_least(6, 13) ? a : b);
        if (kernel_at_least(6, 13))
                check_mapping(bus, s, dev, iova, BUF_SIZE, memfd, 0);
        else
                check_no_mapping(bus, s, dev, iova, PAGE, memfd, 0);

        close_session(bus, s);
        sd_bus_flush_close_unref(bus);
}

static void test_crash_sessions_survive(void **state) {
        sessions_survive(true);
}

/* A persistent session whose mock device is attached to an IOAS that maps
 * memfd at the aperture's start; its device and IOAS. */
static char *session_mapped(sd_bus *bus, int memfd, char **ret_dev, char **ret_ioas) {
        char *s = open_session(bus, true);

        *ret_dev = create_mock(bus, s, 0, NULL);
        *ret_ioas = create_ioas(bus, s, NULL);
        attach(bus, s, *ret_dev, *ret_ioas);
        assert_int_equal(map(bus, *ret_ioas, memfd, 0, BUF_SIZE, MOCK_APERTURE_START, MAP_FIXED_RW),
                         MOCK_APERTURE_START);
        return s;
}

/*
 * A journal that does not read back (here its header damaged, as a stray
 * write would) ends its session at the take-over, with a log line saying
 * so; closing the iommufd releases what it held in the kernel. The other
 * sessions are taken over as ever.
 */
static void test_restart_damaged_journal_ends_session(void **state) {
        sd_bus *bus = bus_open();
        _cleanup_close_ int memfd = memfd_new("guest-ram", BUF_SIZE, 0x3c);
        _cleanup_free_ char *damaged = NULL, *kept = NULL, *dev = NULL, *ioas = NULL;

        damaged = session_mapped(bus, memfd, &dev, &ioas);
        kept = open_session(bus, true);
        CALL_OK(bus, damaged, I_TESTING, "DamageJournal", NULL);

        restart_daemon(bus, true);
        assert_false(session_listed(bus, damaged));
        assert_true(session_listed(bus, kept));
        close_session(bus, kept);
        sd_bus_flush_close_unref(bus);
}

/*
 * A restart of the bus itself hands its unique names out anew, so the name
 * a session's owner had may be a stranger's by the time the daemon takes
 * the session over (RecordOwner stands in for that restart). A name another
 * user holds is no owner: the session that ends with its owner ends, as
 * does one whose name is gone. A name held by the session's own user is
 * its owner again.
 */
static void test_restart_owner_name_reused(void **state) {
        const uid_t other_uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534);
        sd_bus *bus = bus_open(), *stranger = connect_as(other_uid), *same_user = bus_open();
        _cleanup_free_ char *taken = NULL, *gone = NULL, *kept = NULL, *persistent = NULL;
        const char *stranger_name, *same_user_name;

        assert_true(sd_bus_get_unique_name(stranger, &stranger_name) >= 0);
        assert_true(sd_bus_get_unique_name(same_user, &same_user_name) >= 0);
        taken = open_session(bus, false);
        gone = open_session(bus, false);
        kept = open_session(bus, false);
        persistent = open_session(bus, true);
        CALL_FAILS(E_INVALID_ARGUMENT, bus, taken, I_TESTING, "RecordOwner", "s", "org.viommu1");
        CALL_OK(bus, taken, I_TESTING, "RecordOwner", "s", stranger_name);
        CALL_OK(bus, gone, I_TESTING, "RecordOwner", "s", ":1.999999");
        CALL_OK(bus, kept, I_TESTING, "RecordOwner", "s", same_user_name);
        CALL_OK(bus, persistent, I_TESTING, "RecordOwner", "s", stranger_name);

        restart_daemon(bus, true);
        assert_false(session_listed(bus, taken));
        assert_false(session_listed(bus, gone));
        assert_true(session_listed(bus, kept));
        assert_true(session_listed(bus, persistent));

        /* Its owner name's leaving ends it now. */
        sd_bus_flush_close_unref(same_user);
        assert_true(session_unlisted_soon(bus, kept));
        close_session(bus, persistent);
        sd_bus_flush_close_unref(stranger);
        sd_bus_flush_close_unref(bus);
}

/*
 * A session that a run before this version stored (its iommufd alone as
 * "sN-iommufd", its first journal as "sN-journal-1") is taken over as after
 * an upgrade, and keeps its entry: a crash after that takes it over again,
 * and it ends as any. A session that keeps no journal cannot be stored so.
 */
static void test_restart_from_older_run(void **state) {
        const uint64_t iova = MOCK_APERTURE_START;
        sd_bus *bus = bus_open();
        _cleanup_close_ int memfd = memfd_new("guest-ram", BUF_SIZE, 0x3c);
        _cleanup_free_ char *s = NULL, *dev = NULL, *ioas = NULL, *before = NULL, *after = NULL, *again = NULL,
                            *plain = NULL, *plain_ioas = NULL;

        plain = open_session(bus, true);
        CALL_OK(bus, plain, I_TESTING, "DropJournal", NULL);
        CALL_FAILS(E_INVALID_ARGUMENT, bus, plain, I_TESTING, "StoreAsOlderRun", NULL);
        plain_ioas = create_ioas(bus, plain, NULL);
        assert_non_null(plain_ioas);
        close_session(bus, plain);

        s = session_mapped(bus, memfd, &dev, &ioas);
        before = describe_session(bus, s);
        CALL_OK(bus, s, I_TESTING, "StoreAsOlderRun", NULL);

        restart_daemon(bus, false);
        after = describe_session(bus, s);
        assert_non_null(after);
        assert_string_equal(after, before);
        check_mapping(bus, s, dev, iova, BUF_SIZE, memfd, 0);

        restart_daemon(bus, true);
        again = describe_session(bus, s);
        assert_non_null(again);
        assert_string_equal(again, before);
        check_mapping(bus, s, dev, iova, BUF_SIZE, memfd, 0);
        close_session(bus, s);
        sd_bus_flush_close_unref(bus);
}

/* Describe's count of spare fd store entries (root sees it). */
static int64_t spare_entries(sd_bus *bus) {
        _cleanup_free_ char *text = describe(bus);
        struct json_object *j = json_tokener_parse(text), *n;
        int64_t count;

        assert_non_null(j);
        assert_true(json_object_object_get_ex(j, "spare-entries", &n));
        count = json_object_get_int64(n);
        json_object_put(j);
        return count;
}

/*
 * A session that ends with every object it made destroyed leaves its entry
 * in the fd store as a spare, and the next session opened takes it, with
 * nothing of the one before in its iommufd (the kernel gives its first IOAS
 * the id the old one's had, the lowest free), and a crash takes the new one
 * over as any. A session that bound a device, or a delegated one (its VMM
 * had the iommufd), leaves the store instead. Spares outlive a restart.
 */
static void test_restart_spare_entries(void **state) {
        const uint64_t iova = MOCK_APERTURE_START;
        sd_bus *bus = bus_open();
        _cleanup_close_ int memfd = memfd_new("guest-ram", BUF_SIZE, 0x3c);
        _cleanup_free_ char *s = NULL, *ioas = NULL, *t = NULL, *tioas = NULL, *dev = NULL, *before = NULL,
                            *after = NULL, *delegated = NULL;
        int64_t spares;

        spares = spare_entries(bus);
        assert_in_range(spares, 0, 15);
        s = open_session(bus, false);
        ioas = create_ioas(bus, s, NULL);
        assert_int_equal(map(bus, ioas, memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        close_session(bus, s);
        assert_int_equal(spare_entries(bus), spares + 1);

        t = open_session(bus, true);
        assert_int_equal(spare_entries(bus), spares);
        tioas = create_ioas(bus, t, NULL);
        assert_string_equal(strrchr(tioas, '/'), strrchr(ioas, '/'));
        dev = create_mock(bus, t, 0, NULL);
        attach(bus, t, dev, tioas);
        assert_int_equal(map(bus, tioas, memfd, PAGE, BUF_SIZE - PAGE, iova, MAP_FIXED_RW), iova);
        check_mapping(bus, t, dev, iova, BUF_SIZE - PAGE, memfd, PAGE);
        before = describe_session(bus, t);

        restart_daemon(bus, true);
        after = describe_session(bus, t);
        assert_non_null(after);
        assert_string_equal(after, before);
        check_mapping(bus, t, dev, iova, BUF_SIZE - PAGE, memfd, PAGE);
        assert_int_equal(spare_entries(bus), spares);
        /* It bound a device. */
        close_session(bus, t);
        assert_int_equal(spare_entries(bus), spares);

        delegated = reply_object(CALL(bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 1, "Delegated", "b", 1),
                                 NULL);
        close_session(bus, delegated);
        assert_int_equal(spare_entries(bus), spares);

        s = mfree(s);
        s = open_session(bus, false);
        close_session(bus, s);
        assert_int_equal(spare_entries(bus), spares + 1);
        restart_daemon(bus, false);
        assert_int_equal(spare_entries(bus), spares + 1);
        sd_bus_flush_close_unref(bus);
}

/*
 * A direct channel does not outlive the daemon, nor does a frame channel:
 * the VMM learns it from its own end, which the exit closes, and opens
 * another on the bus once the daemon is back; the session's objects are all
 * there on the new one. The old run lets its channels go before the
 * sessions it hands over.
 */
static void test_restart_channel_reopens(void **state) {
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_close_ int memfd = memfd_new("guest-ram", BUF_SIZE, 0x3c);
        _cleanup_free_ char *s = NULL, *ioas = NULL, *dev = NULL;
        _cleanup_close_ int frame = -EBADF;
        sd_bus *bus = bus_open(), *ch;
        sd_bus_message *reply = NULL;
        FrameReply fr;
        char byte;

        s = open_session(bus, false);
        dev = create_mock(bus, s, 0, NULL);
        ioas = create_ioas(bus, s, NULL);
        attach(bus, s, dev, ioas);
        ch = channel_open(bus, s);
        frame = frame_open(bus, s);
        assert_int_equal(map(ch, ioas, memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);

        restart_daemon(bus, false);

        assert_int_equal(recv(frame, &byte, 1, 0), 0);
        close(frame);
        frame = frame_open(bus, s);
        frame_call(frame, VIOMMU_FRAME_PING, 0, NULL, 0, &fr);

        /* The old channel is closed, and says so at once. */
        assert_true(sd_bus_call_method(ch, NULL, s, I_SESSION, "CreateIOAS", NULL, &reply, NULL) < 0);
        assert_null(reply);
        assert_false(sd_bus_is_open(ch));
        sd_bus_flush_close_unref(ch);

        ch = channel_open(bus, s);
        check_mapping(ch, s, dev, iova, BUF_SIZE, memfd, 0);
        assert_int_equal(unmap(ch, ioas, iova, BUF_SIZE), BUF_SIZE);
        check_no_mapping(bus, s, dev, iova, PAGE, memfd, 0);
        sd_bus_flush_close_unref(ch);
        close_session(bus, s);
        sd_bus_flush_close_unref(bus);
}

/* edu copies fresh bytes from iova to iova + PAGE: what lands in guest
 * memory shows that the device's DMA is translated as mapped (offset 0 at
 * iova). */
static void edu_copy_checked(const Edu *edu, int memfd, uint64_t iova, uint8_t pattern) {
        uint8_t out[EDU_DMA_MAX], in[EDU_DMA_MAX];

        memset(out, pattern, sizeof(out));
        assert_int_equal(pwrite(memfd, out, sizeof(out), 0), sizeof(out));
        assert_int_equal(edu_dma(edu, EDU_FROM_RAM, iova, sizeof(out)), 0);
        assert_int_equal(edu_dma(edu, EDU_TO_RAM, iova + PAGE, sizeof(out)), 0);
        assert_int_equal(pread(memfd, in, sizeof(in), PAGE), sizeof(in));
        assert_memory_equal(in, out, sizeof(in));
}

/*
 * `systemctl restart viommud` (or with crash `systemctl kill -s KILL`, after
 * which systemd starts it again) with systemd's own fd store: an owned
 * session and a persistent one, each with a mock device attached to an IOAS
 * with a mapping, come back as Describe showed them, and the kernel kept
 * their mappings all along. With a vfio-pci edu device
 * ($VIOMMU_TEST_VFIO_DEVICES, run-vm.sh --vtd), the persistent session has
 * it attached to an IOAS of its own: it stays attached, and its DMA lands
 * where the mapping says before and after.
 */
static void systemctl_restart(bool crash) {
        const uint64_t iova = MOCK_APERTURE_START, edu_iova = 0x100000;
        sd_bus *bus = bus_open();
        _cleanup_close_ int memfd = memfd_new("guest-ram", BUF_SIZE, 0x3c), rdev_fd = -EBADF;
        _cleanup_free_ char *rdev = NULL, *rioas = NULL;
        char *session[2], *dev[2], *ioas[2], *before[2];
        pid_t pid = daemon_pid(bus);
        Edu edu;

        for (int i = 0; i < 2; i++) {
                session[i] = open_session(bus, i == 1);
                dev[i] = create_mock(bus, session[i], 0, NULL);
                ioas[i] = create_ioas(bus, session[i], NULL);
                assert_int_equal(map(bus, ioas[i], memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
                attach(bus, session[i], dev[i], ioas[i]);
                check_mapping(bus, session[i], dev[i], iova, BUF_SIZE, memfd, 0);
        }
        if (getenv("VIOMMU_TEST_VFIO_DEVICES")) {
                VfioDevice d[2];
                uint32_t id;

                vfio_devices(d, 1);
                rdev = claim_with_fd(bus, session[1], d[0].bdf, &id, &rdev_fd);
                assert_int_equal(edu_open(rdev_fd, &edu), 0);
                rioas = create_ioas(bus, session[1], NULL);
                assert_int_equal(map(bus, rioas, memfd, 0, BUF_SIZE, edu_iova, MAP_FIXED_RW), edu_iova);
                attach(bus, session[1], rdev, rioas);
                edu_copy_checked(&edu, memfd, edu_iova, 0xa1);
        }
        for (int i = 0; i < 2; i++) {
                before[i] = describe_session(bus, session[i]);
                assert_non_null(before[i]);
        }

        restart_daemon(bus, crash);
        assert_int_not_equal(daemon_pid(bus), pid);
        for (int i = 0; i < 2; i++) {
                _cleanup_free_ char *after = describe_session(bus, session[i]);

                assert_true(session_listed(bus, session[i]));
                assert_non_null(after);
                assert_string_equal(after, before[i]);
                check_mapping(bus, session[i], dev[i], iova, BUF_SIZE, memfd, 0);
                check_no_mapping(bus, session[i], dev[i], iova, BUF_SIZE, memfd, PAGE);
        }
        if (rdev) {
                _cleanup_free_ char *attached = get_string(bus, rdev, I_DEVICE, "Attached", "o");

                assert_string_equal(attached, rioas);
                edu_copy_checked(&edu, memfd, edu_iova, 0xb2);
                CALL_OK(bus, session[1], I_SESSION, "Detach", "o", rdev);
                CALL_OK(bus, session[1], I_SESSION, "ReleaseDevice", "o", rdev);
        }
        for (int i = 0; i < 2; i++) {
                close_session(bus, session[i]);
                free(session[i]);
                free(dev[i]);
                free(ioas[i]);
                free(before[i]);
        }
        sd_bus_flush_close_unref(bus);
}

static void test_systemctl_restart(void **state) {
        systemctl_restart(false);
}

static void test_systemctl_kill(void **state) {
        systemctl_restart(true);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest record[] = { T(test_round_trip_record_whole) };
        const struct CMUnitTest restart[] = {
                cmocka_unit_test(test_restart_sessions_survive),
                cmocka_unit_test(test_crash_sessions_survive),
                cmocka_unit_test(test_crash_settles_each_operation),
                cmocka_unit_test(test_restart_damaged_journal_ends_session),
                cmocka_unit_test(test_restart_from_older_run),
                cmocka_unit_test(test_restart_owner_name_reused),
                cmocka_unit_test(test_restart_channel_reopens),
                cmocka_unit_test(test_restart_spare_entries),
                cmocka_unit_test(test_restart_user_database_hangs),
        };
        const struct CMUnitTest systemctl[] = {
                cmocka_unit_test(test_systemctl_restart),
                cmocka_unit_test(test_systemctl_kill),
        };
        const Group groups[] = { GROUP("record", record), GROUP("restart", restart),
                                 GROUP("systemctl", systemctl) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
