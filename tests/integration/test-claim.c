/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may claim a real device (Session.ClaimDevice): viommud.conf by user,
 * group and systemd unit, polkit's yes, no and challenge, root; and a claim
 * polkit never answers holds up no other client. The vtd
 * profile, as root, which connects as the other uids. Claims refused for
 * devices that do not exist or vfio-pci does not drive: test-session.c.
 *
 *   test-claim [claim]
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- claims, polkit and the user database ------------------------------- */

static void claim_fails(const char *expect, sd_bus *bus, const char *session, const char *bdf) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = claim_call(bus, session, bdf, false);

        SEND_FAILS(expect, bus, m);
}

/* What the stand-in polkit logged: the claims of device bdf it was asked
 * about for this connection, with this result (yes, no or challenge). */
static size_t polkit_queries(const char *unique, uid_t uid, const char *bdf, const char *result) {
        const char *log = getenv("VIOMMU_TEST_POLKIT_LOG");
        _cleanup_free_ char *text = NULL, *a = NULL, *b = NULL, *c = NULL;
        size_t n = 0;

        if (!log)
                fail_msg("$VIOMMU_TEST_POLKIT_LOG is not set");
        text = read_file(log);
        assert_non_null(text);
        assert_true(asprintf(&a, " name=%s uid=%u action=org.viommu1.claim-device ", unique, (unsigned) uid) > 0);
        assert_true(asprintf(&b, " detail.device=%s ", bdf) > 0);
        assert_true(asprintf(&c, " result=%s", result) > 0);
        for (char *line = text, *end; line && *line; line = end ? end + 1 : NULL) {
                end = strchr(line, '\n');
                if (end)
                        *end = 0;
                if (startswith(line, "query ") && strstr(line, a) && strstr(line, b) && strstr(line, c))
                        n++;
        }
        return n;
}

static const char *unique_name(sd_bus *bus) {
        const char *u;

        assert_int_equal(sd_bus_get_unique_name(bus, &u), 0);
        return u;
}

static size_t polkit_asked(sd_bus *bus, uid_t uid, const char *bdf) {
        return polkit_queries(unique_name(bus), uid, bdf, "yes") + polkit_queries(unique_name(bus), uid, bdf, "no") +
               polkit_queries(unique_name(bus), uid, bdf, "challenge");
}

/* Did the stand-in polkit get this connection's query with these flags
 * (0x1: the caller allows interactive authorization)? */
static bool polkit_query_flags(sd_bus *bus, uid_t uid, unsigned flags) {
        _cleanup_free_ char *log = read_file(getenv("VIOMMU_TEST_POLKIT_LOG")), *line = NULL;

        assert_non_null(log);
        assert_true(asprintf(&line, "name=%s uid=%u action=org.viommu1.claim-device flags=0x%x ", unique_name(bus),
                             (unsigned) uid, flags) > 0);
        return strstr(log, line);
}

/* Does the user database put uid in group gid, as the daemon reads it? */
static bool user_in_group(uid_t uid, gid_t gid) {
        struct passwd *pw = getpwuid(uid);
        gid_t groups[256];
        int n = ELEMENTSOF(groups);

        if (!pw)
                return false;
        assert_true(getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) >= 0);
        for (int i = 0; i < n; i++)
                if (groups[i] == gid)
                        return true;
        return false;
}

/* ---- by user, group, polkit --------------------------------------------- */

/* Who may claim a real device: viommud.conf allows the first to
 * VIOMMU_TEST_CONFIG_UID and the second to the members of VIOMMU_TEST_GROUP;
 * the stand-in polkit allows VIOMMU_TEST_POLKIT_UID, VIOMMU_TEST_CHALLENGE_UID
 * once it authenticated, and refuses everyone else; root needs nobody's
 * leave. */
static void test_claim_device_by_config_and_polkit(void **state) {
        const uid_t cfg_uid = env_u64("VIOMMU_TEST_CONFIG_UID", 1), pk_uid = env_u64("VIOMMU_TEST_POLKIT_UID", 2),
                    no_uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534),
                    grp_uid = env_u64("VIOMMU_TEST_GROUP_UID", 5), chl_uid = env_u64("VIOMMU_TEST_CHALLENGE_UID", 3);
        const gid_t nogroup = 65534;
        const struct group *gr = getgrnam(getenv("VIOMMU_TEST_GROUP") ?: "games");
        VfioDevice d[2];
        sd_bus *cfg = connect_as(cfg_uid), *pk = connect_as(pk_uid), *no = connect_as(no_uid), *root = bus_open(),
               *chl = connect_as(chl_uid), *grp;
        _cleanup_free_ char *s_cfg = NULL, *s_pk = NULL, *s_no = NULL, *s_root = NULL, *s_grp = NULL,
                            *s_chl = NULL, *dev = NULL;

        vfio_devices(d, 2);
        /* The group comes from the user database alone: the rule names no
         * user, and the connection's gid and groups are another. */
        assert_non_null(gr);
        assert_true(gr->gr_gid != nogroup);
        assert_true(user_in_group(grp_uid, gr->gr_gid));
        assert_false(user_in_group(no_uid, gr->gr_gid));
        assert_false(user_in_group(cfg_uid, gr->gr_gid));
        grp = connect_as_ids(grp_uid, nogroup);
        s_cfg = open_session(cfg, false);
        s_pk = open_session(pk, false);
        s_no = open_session(no, false);
        s_root = open_session(root, false);
        s_grp = open_session(grp, false);
        s_chl = open_session(chl, false);

        /* Neither the configuration (not in the group) nor polkit allows it. */
        claim_fails(E_PERMISSION_DENIED, no, s_no, d[1].bdf);
        assert_error_mentions("polkit");
        assert_int_equal(polkit_queries(unique_name(no), no_uid, d[1].bdf, "no"), 1);
        claim_fails(E_PERMISSION_DENIED, no, s_no, d[0].bdf);
        assert_int_equal(polkit_queries(unique_name(no), no_uid, d[0].bdf, "no"), 1);
        assert_int_equal(get_u32(no, s_no, I_SESSION, "NObjects"), 0);

        /* polkit allows it; the interactive flag reaches polkit. */
        dev = claim(pk, s_pk, d[1].bdf, true);
        assert_int_equal(polkit_queries(unique_name(pk), pk_uid, d[1].bdf, "yes"), 1);
        assert_true(polkit_query_flags(pk, pk_uid, 0x1));
        /* One device, one session. */
        claim_fails(E_BUSY, root, s_root, d[1].bdf);
        CALL_OK(pk, s_pk, I_SESSION, "ReleaseDevice", "o", dev);
        free(TAKE_PTR(dev));

        /* polkit wants the user to authenticate first: without interaction
         * the claim is refused, saying so; allowing it, the claim goes
         * through. */
        claim_fails(E_PERMISSION_DENIED, chl, s_chl, d[1].bdf);
        assert_error_mentions("only after authenticating");
        assert_int_equal(polkit_queries(unique_name(chl), chl_uid, d[1].bdf, "challenge"), 1);
        assert_true(polkit_query_flags(chl, chl_uid, 0x0));
        assert_int_equal(get_u32(chl, s_chl, I_SESSION, "NObjects"), 0);
        dev = claim(chl, s_chl, d[1].bdf, true);
        assert_int_equal(polkit_queries(unique_name(chl), chl_uid, d[1].bdf, "yes"), 1);
        assert_int_equal(polkit_queries(unique_name(chl), chl_uid, d[1].bdf, "challenge"), 1);
        assert_true(polkit_query_flags(chl, chl_uid, 0x1));
        CALL_OK(chl, s_chl, I_SESSION, "ReleaseDevice", "o", dev);
        free(TAKE_PTR(dev));

        /* The configuration allows it to a group: a member claims it, and
         * polkit is not asked; */
        dev = claim(grp, s_grp, d[1].bdf, false);
        assert_int_equal(polkit_asked(grp, grp_uid, d[1].bdf), 0);
        CALL_OK(grp, s_grp, I_SESSION, "ReleaseDevice", "o", dev);
        free(TAKE_PTR(dev));
        /* but only that device. */
        claim_fails(E_PERMISSION_DENIED, grp, s_grp, d[0].bdf);
        assert_int_equal(polkit_queries(unique_name(grp), grp_uid, d[0].bdf, "no"), 1);

        /* The configuration allows it: polkit is not asked. */
        dev = claim(cfg, s_cfg, d[0].bdf, false);
        assert_int_equal(polkit_asked(cfg, cfg_uid, d[0].bdf), 0);
        claim_fails(E_BUSY, pk, s_pk, d[0].bdf);
        /* That a session has it is not told to one who may not have it. */
        claim_fails(E_PERMISSION_DENIED, no, s_no, d[0].bdf);
        if (strstr(last_error, "claimed"))
                fail_msg("the refusal \"%s\" tells that the device is claimed", last_error);
        CALL_OK(cfg, s_cfg, I_SESSION, "ReleaseDevice", "o", dev);
        free(TAKE_PTR(dev));
        /* but only that device */
        claim_fails(E_PERMISSION_DENIED, cfg, s_cfg, d[1].bdf);
        assert_int_equal(polkit_queries(unique_name(cfg), cfg_uid, d[1].bdf, "no"), 1);

        /* Root asks nobody. */
        dev = claim(root, s_root, d[1].bdf, false);
        assert_int_equal(polkit_asked(root, 0, d[1].bdf), 0);
        /* Over a direct channel, claims are refused. */
        {
                sd_bus *ch = channel_open(root, s_root);

                claim_fails(E_PERMISSION_DENIED, ch, s_root, d[0].bdf);
                sd_bus_flush_close_unref(ch);
        }

        close_session(cfg, s_cfg);
        close_session(pk, s_pk);
        close_session(no, s_no);
        close_session(root, s_root);
        close_session(grp, s_grp);
        close_session(chl, s_chl);
        sd_bus_flush_close_unref(cfg);
        sd_bus_flush_close_unref(pk);
        sd_bus_flush_close_unref(no);
        sd_bus_flush_close_unref(root);
        sd_bus_flush_close_unref(grp);
        sd_bus_flush_close_unref(chl);
}

/* ---- by systemd unit ---------------------------------------------------- */

/* The child side of unit_claim(): joins cgroup (if any), becomes uid for
 * good, claims bdf in a fresh session and reports "UNIQUE RESULT", RESULT
 * being "ok" or the error's name. No cmocka here (VMM_TRY). */
static _Noreturn void unit_claimer_main(const char *cgroup, uid_t uid, const char *bdf, int report) {
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *session, *unique;
        struct passwd *pw = getpwuid(uid);
        gid_t gid = pw ? pw->pw_gid : (gid_t) uid;
        sd_bus *bus = NULL;

        if (cgroup) {
                _cleanup_free_ char *procs = NULL;
                FILE *f;

                VMM_TRY(asprintf(&procs, "%s/cgroup.procs", cgroup));
                f = fopen(procs, "we");
                if (!f || fprintf(f, "%d\n", (int) getpid()) < 0 || fclose(f) != 0)
                        _exit(EXIT_FAILURE);
        }
        VMM_TRY(setgroups(1, &gid));
        VMM_TRY(setresgid(gid, gid, gid));
        VMM_TRY(setresuid(uid, uid, uid));
        VMM_TRY(sd_bus_open_system(&bus));
        VMM_TRY(sd_bus_get_unique_name(bus, &unique));
        session = vmm_call(bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 0);
        VMM_TRY(sd_bus_message_new_method_call(bus, &m, BUS_NAME, session, I_SESSION, "ClaimDevice"));
        VMM_TRY(sd_bus_message_append(m, "sb", bdf, 0));
        if (sd_bus_call(bus, m, 0, &error, &reply) < 0 && !sd_bus_error_is_set(&error))
                _exit(EXIT_FAILURE);
        if (dprintf(report, "%s %s", unique, sd_bus_error_is_set(&error) ? error.name : "ok") < 0)
                _exit(EXIT_FAILURE);
        /* Leaving the bus closes the session and releases the device. */
        sd_bus_flush_close_unref(bus);
        _exit(EXIT_SUCCESS);
}

/* A process of uid, in cgroup (NULL: where the test runs), claims bdf.
 * Returns what it reported, "UNIQUE RESULT". */
static char *unit_claim(const char *cgroup, uid_t uid, const char *bdf) {
        char line[256] = {};
        int fd, status;
        pid_t pid;
        ssize_t l;

        pid = fork_reporter(&fd);
        if (pid == 0)
                unit_claimer_main(cgroup, uid, bdf, fd);
        l = read(fd, line, sizeof(line) - 1);
        close(fd);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (l <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("the claiming child failed before it could report (cgroup %s)", cgroup ?: "-");
        return strdup(line);
}

/* cgroup directory for unit under the cgroup2 root, made afresh. */
static char *unit_cgroup(const char *unit) {
        char *path = NULL;

        assert_true(asprintf(&path, "/sys/fs/cgroup/system.slice/%s", unit) > 0);
        if (mkdir("/sys/fs/cgroup/system.slice", 0755) < 0)
                assert_int_equal(errno, EEXIST);
        if (mkdir(path, 0755) < 0)
                assert_int_equal(errno, EEXIST);
        return path;
}

/* viommud.conf allows the second vfio device to the instances of the
 * template VIOMMU_TEST_UNIT_TEMPLATE (e.g. "viommu-test@.service"): a process
 * of VIOMMU_TEST_UNIT_UID in an instance claims it without polkit; the same
 * user in another unit, or in none, goes to polkit, which refuses it. */
static void test_claim_device_by_unit(void **state) {
        const uid_t uid = env_u64("VIOMMU_TEST_UNIT_UID", 6);
        const char *template = getenv("VIOMMU_TEST_UNIT_TEMPLATE");
        _cleanup_free_ char *instance = NULL, *in_unit = NULL, *in_other = NULL, *in_none = NULL, *other = NULL,
                            *answer = NULL;
        char unique[128], result[128];
        VfioDevice d[2];

        if (!template || !strstr(template, "@."))
                fail_msg("$VIOMMU_TEST_UNIT_TEMPLATE is not a template unit name: %s", template ?: "(unset)");
        vfio_devices(d, 2);
        assert_true(asprintf(&instance, "%.*svm1%s", (int) (strstr(template, "@.") - template + 1), template,
                             strstr(template, "@.") + 1) > 0);
        in_unit = unit_cgroup(instance);
        other = unit_cgroup("viommu-other.service");

        /* In an instance of the allowed template: the configuration decides. */
        answer = unit_claim(in_unit, uid, d[1].bdf);
        assert_int_equal(sscanf(answer, "%127s %127s", unique, result), 2);
        assert_string_equal(result, "ok");
        assert_int_equal(polkit_queries(unique, uid, d[1].bdf, "yes") + polkit_queries(unique, uid, d[1].bdf, "no"),
                         0);
        free(TAKE_PTR(answer));

        /* The same user elsewhere is not the unit. */
        answer = unit_claim(other, uid, d[1].bdf);
        assert_int_equal(sscanf(answer, "%127s %127s", unique, result), 2);
        assert_string_equal(result, E_PERMISSION_DENIED);
        assert_int_equal(polkit_queries(unique, uid, d[1].bdf, "no"), 1);
        free(TAKE_PTR(answer));

        answer = unit_claim(NULL, uid, d[1].bdf);
        assert_int_equal(sscanf(answer, "%127s %127s", unique, result), 2);
        assert_string_equal(result, E_PERMISSION_DENIED);
        assert_int_equal(polkit_queries(unique, uid, d[1].bdf, "no"), 1);

        /* The rule names one device only. */
        free(TAKE_PTR(answer));
        answer = unit_claim(in_unit, uid, d[0].bdf);
        assert_int_equal(sscanf(answer, "%127s %127s", unique, result), 2);
        assert_string_equal(result, E_PERMISSION_DENIED);

        /* The children are gone, so their cgroups are empty. */
        assert_int_equal(rmdir(in_unit), 0);
        assert_int_equal(rmdir(other), 0);
}

/* One client's call that waits on polkit, which never answers it
 * (VIOMMU_TEST_SILENT_UID), holds up nobody else: meanwhile another client's
 * Map and Invalidate are answered at once, and the claim is still waiting. */
static void test_claim_device_waiting_holds_up_nobody(void **state) {
        const uid_t silent_uid = env_u64("VIOMMU_TEST_SILENT_UID", 4);
        const uint64_t iova = MOCK_APERTURE_START;
        const struct iommu_hwpt_invalidate_selftest inv = { .iotlb_id = 0 };
        VfioDevice d[2];
        sd_bus *slow = connect_as(silent_uid), *vmm = bus_open();
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *s_slow = NULL, *s_vmm = NULL, *ioas = NULL, *dev = NULL, *parent = NULL,
                            *nested = NULL, *err = NULL;
        _cleanup_close_ int memfd = memfd_new("guest-ram", BUF_SIZE, 0x5a);
        uint64_t cookie, start, deadline;
        bool answered = false;

        vfio_devices(d, 2);
        s_slow = open_session(slow, false);
        s_vmm = open_session(vmm, false);
        ioas = create_ioas(vmm, s_vmm, NULL);
        if (mock_devices_work()) {
                dev = create_mock(vmm, s_vmm, 0, NULL);
                parent = alloc_hwpt(vmm, s_vmm, dev, ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_DATA_NONE,
                                    NULL, 0, NULL);
                nested = alloc_nested(vmm, s_vmm, dev, parent, NULL, 0, NULL);
        }

        /* The claim goes to polkit, which keeps it. */
        m = claim_call(slow, s_slow, d[1].bdf, false);
        assert_true(sd_bus_send(slow, m, &cookie) >= 0);
        assert_true(sd_bus_flush(slow) >= 0);
        deadline = now_usec() + TIMEOUT_USEC;
        while (polkit_queries(unique_name(slow), silent_uid, d[1].bdf, "silent") == 0) {
                if (now_usec() > deadline)
                        fail_msg("polkit was not asked about the claim of %s", d[1].bdf);
                usleep(10000);
        }

        /* Well within the 25 s the daemon gives polkit. */
        start = now_usec();
        assert_int_equal(map(vmm, ioas, memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        if (nested) {
                assert_int_equal(invalidate(vmm, nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(inv),
                                            &inv, sizeof(inv), &err), 1);
                assert_string_equal(err, "");
        }
        assert_int_equal(unmap(vmm, ioas, 0, UINT64_MAX), BUF_SIZE);
        assert_true(now_usec() - start < 3 * UINT64_C(1000000));

        for (;;) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *got = NULL;
                uint64_t reply_cookie;

                if (sd_bus_process(slow, &got) <= 0)
                        break;
                if (got && sd_bus_message_get_reply_cookie(got, &reply_cookie) >= 0 && reply_cookie == cookie)
                        answered = true;
        }
        assert_false(answered);

        /* Its owner gone, the waiting session closes; the question to
         * polkit times out in the daemon on its own. */
        sd_bus_flush_close_unref(slow);
        close_session(vmm, s_vmm);
        sd_bus_flush_close_unref(vmm);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest claim[] = {
                cmocka_unit_test(test_claim_device_by_config_and_polkit), cmocka_unit_test(test_claim_device_by_unit),
                cmocka_unit_test(test_claim_device_waiting_holds_up_nobody),
        };
        const Group groups[] = { GROUP("claim", claim) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
