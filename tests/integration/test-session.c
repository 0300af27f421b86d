/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.viommu1.Manager and org.viommu1.Session as a VMM meets them: opening a
 * session and what it shows, the devices, destruction, the Testing
 * interface's own refusals, the PropertiesChanged signals a watcher on the
 * bus gets, and sessions whose client dies. Mock devices, any uid.
 *
 *   test-session [session]
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- OpenSession, Close and the session's properties -------------------- */

static void test_open_session_properties(void **state) {
        Fixture *f = *state;
        const char *unique;
        _cleanup_free_ char *owner = NULL, *type = NULL, *in = NULL, *name = NULL, *attached = NULL,
                            *json = NULL;

        assert_true(get_bool(f->bus, MANAGER_PATH, I_MANAGER, "MockDevices"));
        assert_true(session_listed(f->bus, f->session));
        assert_int_equal(sd_bus_get_unique_name(f->bus, &unique), 0);
        owner = get_string(f->bus, f->session, I_SESSION, "Owner", "s");
        assert_string_equal(owner, unique);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "UID"), geteuid());
        assert_false(get_bool(f->bus, f->session, I_SESSION, "Persistent"));
        assert_false(get_bool(f->bus, f->session, I_SESSION, "Delegated"));
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), 2);
        assert_int_equal(get_u64(f->bus, f->session, I_SESSION, "MappedBytes"), 0);

        type = get_string(f->bus, f->ioas, I_OBJECT, "Type", "s");
        assert_string_equal(type, "ioas");
        assert_int_equal(get_u32(f->bus, f->ioas, I_OBJECT, "Id"), f->ioas_id);
        in = get_string(f->bus, f->ioas, I_OBJECT, "Session", "o");
        assert_string_equal(in, f->session);
        name = get_string(f->bus, f->dev, I_DEVICE, "Name", "s");
        assert_non_null(startswith(name, "mock"));
        assert_true(get_bool(f->bus, f->dev, I_DEVICE, "Mock"));
        assert_true(get_bool(f->bus, f->dev, I_DEVICE, "Bound"));
        attached = get_string(f->bus, f->dev, I_DEVICE, "Attached", "o");
        assert_string_equal(attached, "/");

        json = describe(f->bus);
        assert_true(describe_mentions(json, f->session));
        assert_true(describe_mentions(json, f->ioas));
        assert_true(describe_mentions(json, f->dev));
}

static void test_open_session_refuses_bad_options(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 1, "Bogus", "b", 1);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 1,
                   "Persistent", "s", "yes");
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 2,
                   "Persistent", "b", 1, "persistent", "b", 1);
        scene_untouched(s);
}

/* Options are given once, and no more of them than there are. */
static void test_open_session_refuses_repeated_options(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *before = NULL, *after = NULL;

        before = describe(f->bus);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 2,
                   "Persistent", "b", 1, "Persistent", "b", 0);
        assert_error_mentions("twice");
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 3,
                   "Persistent", "b", 1, "Delegated", "b", 0, "Persistent", "b", 0);
        assert_error_mentions("At most 2");
        after = describe(f->bus);
        assert_string_equal(before, after);
}

/* A path that is nobody's is no session. */
static void test_create_ioas_refuses_unknown_session(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_UNKNOWN_OBJECT, f->bus, "/org/viommu1/session/_39_39", I_SESSION, "CreateIOAS", NULL);
        scene_untouched(s);
}

static void test_get_device_refuses_unknown(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, MANAGER_PATH, I_MANAGER, "GetDevice", "s", "0000:ff:1f.7");
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, MANAGER_PATH, I_MANAGER, "GetDevice", "s", "");
        scene_untouched(s);
}

/* ---- devices (claims of real ones: test-claim.c) ------------------------- */

static void test_claim_device_refuses_unknown_or_not_vfio(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;
        _cleanup_free_ char *no_vfio = NULL;
        sd_bus_message *reply;

        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "ClaimDevice", "sb", "0000:ff:1f.7", 0);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "ClaimDevice", "sb", "../../../dev/null", 0);
        /* A host device that vfio-pci does not drive cannot be claimed. */
        reply = CALL(f->bus, MANAGER_PATH, I_MANAGER, "ListDevices", NULL);
        assert_true(sd_bus_message_enter_container(reply, 'a', "(sssso)") > 0);
        for (;;) {
                const char *name, *bus_type, *driver, *cdev, *path;

                if (sd_bus_message_read(reply, "(sssso)", &name, &bus_type, &driver, &cdev, &path) <= 0)
                        break;
                if (streq(bus_type, "pci") && !*cdev && !no_vfio)
                        no_vfio = strdup(name);
        }
        sd_bus_message_unref(reply);
        if (no_vfio) {
                CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "ClaimDevice", "sb", no_vfio, 1);
                assert_error_mentions("vfio-pci");
        }
        scene_untouched(s);
}

static void test_create_mock_device_refuses_unknown_flags(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "CreateMockDevice", "u", 1u << 7);
        scene_untouched(s);
}

static void test_release_device_refuses_non_devices(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "ReleaseDevice", "o", f->ioas);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "ReleaseDevice", "o", s->other_dev);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "ReleaseDevice", "o", "/");
        scene_untouched(s);
}

/* A session that is not delegated hands out no fds (delegated ones:
 * test-delegated.c). */
static void test_export_refuses_plain_session(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "ExportIommufd", NULL);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "ExportDevice", "o", f->dev);
        scene_untouched(s);
}

/* ---- Destroy (in dependency order: test-hwpt.c, test-viommu.c) ---------- */

static void test_destroy_refuses_bad_objects(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Destroy", "o", f->dev);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "Destroy", "o", s->fake);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "Destroy", "o", s->other_ioas);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "Destroy", "o", f->session);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "Destroy", "o", MANAGER_PATH);
        scene_untouched(s);
}

/* ---- Testing ------------------------------------------------------------ */

static void test_testing_refuses_bad_arguments(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;
        const uint64_t iova = MOCK_APERTURE_START;
        uint64_t bitmap[1] = {};
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_close_ int pipe_r = -EBADF, pipe_w = -EBADF;
        int p[2];

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pipe_r = p[0];
        pipe_w = p[1];
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "CheckMapping", "ottht", f->dev, iova,
                   UINT64_C(0), f->memfd, UINT64_C(0));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "CheckMapping", "ottht", s->idle, iova,
                   (uint64_t) PAGE, f->memfd, UINT64_C(0));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "CheckMapping", "ottht", f->ioas, iova,
                   (uint64_t) PAGE, f->memfd, UINT64_C(0));
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_TESTING, "CheckMapping", "ottht", s->other_dev, iova,
                   (uint64_t) PAGE, f->memfd, UINT64_C(0));
        /* memory the daemon cannot map to compare: a pipe, an offset past
         * the end (ENODEV and EOVERFLOW from mmap, named here) */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "CheckMapping", "ottht", f->dev, iova,
                   (uint64_t) PAGE, pipe_r, UINT64_C(0));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "CheckMapping", "ottht", f->dev, iova,
                   (uint64_t) PAGE, f->memfd, UINT64_MAX - PAGE + 1);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "CheckIOTLB", "ouu", f->ioas, 0, 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "TriggerFault", "ouuut", f->ioas, 0, 0, 0,
                   UINT64_C(0));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "TriggerEvent", "o", s->parent);
        /* a bitmap of 64 bits for 128 pages */
        m = new_call(f->bus, f->session, I_TESTING, "MarkDirty");
        assert_true(sd_bus_message_append(m, "ottt", s->parent, iova, (uint64_t) BUF_SIZE,
                                          (uint64_t) MOCK_PAGE_SIZE) >= 0);
        assert_true(sd_bus_message_append_array(m, 't', bitmap, sizeof(bitmap)) >= 0);
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        sd_bus_message_unref(TAKE_PTR(m));
        m = new_call(f->bus, f->session, I_TESTING, "MarkDirty");
        assert_true(sd_bus_message_append(m, "ottt", s->parent, iova, (uint64_t) BUF_SIZE, UINT64_C(0)) >= 0);
        assert_true(sd_bus_message_append_array(m, 't', bitmap, sizeof(bitmap)) >= 0);
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        scene_untouched(s);
}

/* ---- wrong types, read-only properties ---------------------------------- */

/* The Manager, the session (Session, Testing) and a device; the other
 * objects' methods: test-ioas.c, test-hwpt.c, test-viommu.c. */
static void test_session_refuses_wrong_types(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *before = NULL, *after = NULL;
        static const char *const must_see[] = {
                I_MANAGER ".OpenSession", I_MANAGER ".Describe", I_MANAGER ".Subscribe", I_MANAGER ".Unsubscribe",
                I_SESSION ".ClaimDevice", I_SESSION ".AllocHWPT", I_SESSION ".Close", I_TESTING ".CheckMapping",
                I_TESTING ".MarkDirty",
        };
        const char *paths[] = { MANAGER_PATH, f->session, f->dev };

        before = describe(f->bus);
        refuse_wrong_types(f->bus, paths, ELEMENTSOF(paths), must_see, ELEMENTSOF(must_see));

        /* Read-only properties stay so. */
        CALL_FAILS(E_READ_ONLY, f->bus, f->session, "org.freedesktop.DBus.Properties", "Set", "ssv", I_SESSION,
                   "UID", "u", 0);
        CALL_FAILS(E_READ_ONLY, f->bus, f->dev, "org.freedesktop.DBus.Properties", "Set", "ssv", I_DEVICE,
                   "Attached", "o", f->ioas);
        after = describe(f->bus);
        assert_string_equal(before, after);
}

/* ---- PropertiesChanged -------------------------------------------------- */

static void strv_push(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **a = reallocarray(*l, n + 2, sizeof(char *));

        assert_non_null(a);
        a[n] = strdup(s);
        assert_non_null(a[n]);
        a[n + 1] = NULL;
        *l = a;
}

/* Adds "Interface.Property" for each property of interface at path that
 * says it announces its changes: sd-bus writes no EmitsChangedSignal
 * annotation for those, and "invalidates" for changes announced without the
 * value; "const" and "false" are the others. */
static void add_emitting_properties(sd_bus *bus, const char *path, const char *interface, char ***l) {
        sd_bus_message *reply = CALL(bus, path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
        _cleanup_free_ char *xml = NULL, *head = NULL;
        const char *text, *p, *end;

        assert_true(sd_bus_message_read(reply, "s", &text) > 0);
        xml = strdup(text);
        assert_non_null(xml);
        sd_bus_message_unref(reply);
        assert_true(asprintf(&head, "<interface name=\"%s\">", interface) > 0);
        p = strstr(xml, head);
        if (!p)
                fail_msg("%s has no interface %s", path, interface);
        end = strstr(p, "</interface>");
        assert_non_null(end);
        while ((p = strstr(p, "<property name=\"")) && p < end) {
                const char *name = p + strlen("<property name=\""), *q = strchr(name, '"'),
                           *close = strstr(p, "</property>");
                _cleanup_free_ char *element = NULL, *entry = NULL;

                assert_non_null(q);
                assert_non_null(close);
                element = strndup(p, close - p);
                assert_non_null(element);
                if (!strstr(element, "EmitsChangedSignal\" value=\"const\"") &&
                    !strstr(element, "EmitsChangedSignal\" value=\"false\"")) {
                        assert_true(asprintf(&entry, "%s.%.*s", interface, (int) (q - name), name) > 0);
                        strv_push(l, entry);
                }
                p = close;
        }
}

/* The properties test_properties_changed_announce_values() checks: every
 * one the daemon declares as announcing its changes, on every kind of
 * object there is. A property declared so later fails here until the test
 * checks it. */
static void check_emitting_properties_covered(Fixture *f, const char *hwpt, const char *viommu) {
        static const char *const checked[] = {
                I_SESSION ".MappedBytes", I_SESSION ".NObjects", I_SESSION ".GuestMemory",
                I_IOAS ".MappedBytes", I_IOAS ".Mappings",
                I_DEVICE ".Attached",
                I_DEVICE ".Pasids",     /* by test-viommu's test_attach_pasid_flow(), where the kernel has PASIDs */
        };
        _cleanup_strv_free_ char **declared = NULL;
        const char *name, *bus_name, *driver, *cdev, *host;
        sd_bus_message *reply;

        add_emitting_properties(f->bus, MANAGER_PATH, I_MANAGER, &declared);
        add_emitting_properties(f->bus, f->session, I_SESSION, &declared);
        add_emitting_properties(f->bus, f->ioas, I_IOAS, &declared);
        add_emitting_properties(f->bus, f->ioas, I_OBJECT, &declared);
        add_emitting_properties(f->bus, f->dev, I_DEVICE, &declared);
        add_emitting_properties(f->bus, hwpt, I_HWPT, &declared);
        if (viommu)
                add_emitting_properties(f->bus, viommu, I_VIOMMU, &declared);
        /* A host device, if the machine has one the daemon lists. */
        reply = CALL(f->bus, MANAGER_PATH, I_MANAGER, "ListDevices", NULL);
        assert_true(sd_bus_message_enter_container(reply, 'a', "(sssso)") >= 0);
        if (sd_bus_message_read(reply, "(sssso)", &name, &bus_name, &driver, &cdev, &host) > 0)
                add_emitting_properties(f->bus, host, I_HOST_DEVICE, &declared);
        sd_bus_message_unref(reply);

        for (char **i = declared; i && *i; i++) {
                bool known = false;

                for (size_t j = 0; j < ELEMENTSOF(checked); j++)
                        known = known || streq(*i, checked[j]);
                if (!known)
                        fail_msg("%s is declared as announcing its changes, and this test does not check it", *i);
        }
        for (size_t j = 0; j < ELEMENTSOF(checked); j++)
                if (!strv_contains(declared, checked[j]))
                        fail_msg("%s is no longer declared as announcing its changes", checked[j]);
}

/* Each property declared as announcing its changes (EmitsChangedSignal)
 * really does, with its new value, on the system bus, whatever changed it
 * and whichever connection the call came on. */
static void test_properties_changed_announce_values(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_free_ char *hwpt = NULL, *ioas2 = NULL, *fq = NULL, *mock = NULL, *parent = NULL,
                            *viommu = NULL, *vdev = NULL, *veventq = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        struct iommu_viommu_selftest data = {};
        Watcher *w = watcher_new();
        uint64_t copied;
        uint32_t region;
        int fd;
        sd_bus *ch;

        /* Guest memory registered and removed. */
        watcher_reset(w);
        reply_take(CALL(f->bus, f->session, I_SESSION, "AddMemory", "httt", f->memfd, UINT64_C(0), UINT64_C(0),
                        (uint64_t) BUF_SIZE), "u", &region);
        assert_changed(w, f->session, I_SESSION, "GuestMemory", "(a(uttt))");
        watcher_reset(w);
        CALL_OK(f->bus, f->session, I_SESSION, "RemoveMemory", "u", region);
        assert_changed(w, f->session, I_SESSION, "GuestMemory", "(a(uttt))");

        /* Objects made raise NObjects; a device attached says to what. */
        watcher_reset(w);
        hwpt = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        assert_changed(w, f->session, I_SESSION, "NObjects", "3");
        watcher_reset(w);
        attach(f->bus, f->session, f->dev, hwpt);
        assert_changed(w, f->dev, I_DEVICE, "Attached", hwpt);

        /* Mapping, copying and unmapping: the IOAS's and the session's
         * counts. */
        watcher_reset(w);
        assert_int_equal(map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        assert_changed(w, f->ioas, I_IOAS, "MappedBytes", NUM(BUF_SIZE));
        assert_changed(w, f->ioas, I_IOAS, "Mappings", "1");
        assert_changed(w, f->session, I_SESSION, "MappedBytes", NUM(BUF_SIZE));
        watcher_reset(w);
        ioas2 = create_ioas(f->bus, f->session, NULL);
        assert_changed(w, f->session, I_SESSION, "NObjects", "4");
        watcher_reset(w);
        reply_take(CALL(f->bus, ioas2, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) BUF_SIZE, iova,
                        (uint32_t) (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE)), "t", &copied);
        assert_int_equal(copied, iova);
        assert_changed(w, ioas2, I_IOAS, "MappedBytes", NUM(BUF_SIZE));
        assert_changed(w, ioas2, I_IOAS, "Mappings", "1");
        assert_changed(w, f->session, I_SESSION, "MappedBytes", NUM(2 * BUF_SIZE));
        watcher_reset(w);
        assert_int_equal(unmap(f->bus, f->ioas, 0, UINT64_MAX), BUF_SIZE);
        assert_changed(w, f->ioas, I_IOAS, "MappedBytes", "0");
        assert_changed(w, f->ioas, I_IOAS, "Mappings", "0");
        assert_changed(w, f->session, I_SESSION, "MappedBytes", NUM(BUF_SIZE));
        /* Destroying an IOAS lets its mappings go with it. */
        watcher_reset(w);
        destroy(f->bus, f->session, ioas2);
        assert_changed(w, f->session, I_SESSION, "NObjects", "3");
        assert_changed(w, f->session, I_SESSION, "MappedBytes", "0");
        watcher_reset(w);
        CALL_OK(f->bus, f->session, I_SESSION, "Detach", "o", f->dev);
        assert_changed(w, f->dev, I_DEVICE, "Attached", "/");

        /* What the VMM does over its direct channel, the bus hears. */
        ch = channel_open(f->bus, f->session);
        watcher_reset(w);
        attach(ch, f->session, f->dev, hwpt);
        assert_changed(w, f->dev, I_DEVICE, "Attached", hwpt);
        watcher_reset(w);
        CALL_OK(ch, f->session, I_SESSION, "Detach", "o", f->dev);
        assert_changed(w, f->dev, I_DEVICE, "Attached", "/");
        watcher_reset(w);
        destroy(ch, f->session, hwpt);
        assert_changed(w, f->session, I_SESSION, "NObjects", "2");
        assert_signal(w, MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", hwpt);
        sd_bus_flush_close_unref(ch);
        free(TAKE_PTR(hwpt));

        /* Every kind of object counts, made and destroyed. */
        watcher_reset(w);
        fq = reply_object_fd(CALL(f->bus, f->session, I_SESSION, "AllocFaultQueue", NULL), NULL, &fd);
        assert_changed(w, f->session, I_SESSION, "NObjects", "3");
        close(fd);
        watcher_reset(w);
        destroy(f->bus, f->session, fq);
        assert_changed(w, f->session, I_SESSION, "NObjects", "2");
        watcher_reset(w);
        mock = create_mock(f->bus, f->session, 0, NULL);
        assert_changed(w, f->session, I_SESSION, "NObjects", "3");
        watcher_reset(w);
        CALL_OK(f->bus, f->session, I_SESSION, "ReleaseDevice", "o", mock);
        assert_changed(w, f->session, I_SESSION, "NObjects", "2");

        parent = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        if (kernel_at_least(6, 13)) {
                watcher_reset(w);
                m = new_call(f->bus, f->session, I_SESSION, "AllocVIOMMU");
                assert_true(sd_bus_message_append(m, "oou", f->dev, parent,
                                                  (uint32_t) IOMMU_VIOMMU_TYPE_SELFTEST) >= 0);
                assert_true(sd_bus_message_append_array(m, 'y', &data, sizeof(data)) >= 0);
                viommu = reply_object(SEND(f->bus, m), NULL);
                assert_changed(w, f->session, I_SESSION, "NObjects", "4");
                watcher_reset(w);
                vdev = reply_object(CALL(f->bus, f->session, I_SESSION, "AllocVDevice", "oot", viommu, f->dev,
                                         UINT64_C(0x99)), NULL);
                assert_changed(w, f->session, I_SESSION, "NObjects", "5");
                /* Nothing declared as announcing its changes goes unchecked. */
                check_emitting_properties_covered(f, parent, viommu);
                if (kernel_at_least(6, 15)) {
                        watcher_reset(w);
                        veventq = reply_object_fd(CALL(f->bus, f->session, I_SESSION, "AllocVEventQ", "ouu", viommu,
                                                       (uint32_t) IOMMU_VEVENTQ_TYPE_SELFTEST, 2), NULL, &fd);
                        assert_changed(w, f->session, I_SESSION, "NObjects", "6");
                        close(fd);
                        watcher_reset(w);
                        destroy(f->bus, f->session, veventq);
                        assert_changed(w, f->session, I_SESSION, "NObjects", "5");
                }
                destroy(f->bus, f->session, vdev);
                watcher_reset(w);
                destroy(f->bus, f->session, viommu);
                assert_changed(w, f->session, I_SESSION, "NObjects", "3");
        } else
                check_emitting_properties_covered(f, parent, NULL);
        destroy(f->bus, f->session, parent);
        watcher_free(w);
}

/* ---- clients that die --------------------------------------------------- */

typedef struct Closed {
        const char *session;
        char *reason;
} Closed;

static int on_session_closed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Closed *c = userdata;
        const char *path, *reason;

        if (sd_bus_message_read(m, "os", &path, &reason) > 0 && streq(path, c->session) && !c->reason)
                c->reason = strdup(reason);
        return 0;
}

/* What a failed disconnect test leaves, for its teardown. */
static pid_t vmm_pid;
static char *vmm_session;

static const char *vmm_alloc_hwpt(sd_bus *bus, const char *s, const char *dev, const char *parent,
                                  uint32_t flags, uint32_t type, const void *data, size_t size) {
        sd_bus_message *m = NULL, *reply = NULL;
        const char *object;

        VMM_TRY(sd_bus_message_new_method_call(bus, &m, BUS_NAME, s, I_SESSION, "AllocHWPT"));
        VMM_TRY(sd_bus_message_append(m, "ooouu", dev, parent, "/", flags, type));
        VMM_TRY(sd_bus_message_append_array(m, 'y', data, size));
        VMM_TRY(sd_bus_call(bus, m, 0, NULL, &reply));
        VMM_TRY(sd_bus_message_read(reply, "o", &object));
        return object;
}

/* The child side of spawn_vmm(): no cmocka here (VMM_TRY). */
static _Noreturn void vmm_main(bool persistent, int report) {
        const char *s, *dev, *ioas, *parent, *nested;
        sd_bus *bus = NULL;
        int fd;

        VMM_TRY(sd_bus_open_system(&bus));
        if (persistent)
                s = vmm_call(bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 1, "Persistent", "b", 1);
        else
                s = vmm_call(bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 0);
        dev = vmm_call(bus, s, I_SESSION, "CreateMockDevice", "u", 0);
        ioas = vmm_call(bus, s, I_SESSION, "CreateIOAS", NULL);
        fd = memfd_create("dying-vmm", MFD_CLOEXEC);
        VMM_TRY(fd);
        VMM_TRY(ftruncate(fd, 1 << 20));
        vmm_call(bus, ioas, I_IOAS, "Map", "htttu", fd, UINT64_C(0), UINT64_C(1) << 20,
                 (uint64_t) MOCK_APERTURE_START, MAP_FIXED_RW);
        parent = vmm_alloc_hwpt(bus, s, dev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_DATA_NONE, NULL, 0);
        nested = vmm_alloc_hwpt(bus, s, dev, parent, 0, IOMMU_HWPT_DATA_SELFTEST, &mock_s1, MOCK_HWPT_DATA_LEN);
        vmm_call(bus, s, I_SESSION, "Attach", "oo", dev, nested);
        vmm_call(bus, s, I_SESSION, "AllocFaultQueue", NULL);
        if (!s || !dev || !ioas || write(report, s, strlen(s)) < 0)
                _exit(EXIT_FAILURE);
        close(report);
        for (;;)
                pause();
}

/* A child VMM that opens a session, fills it (5 objects, 1 MiB pinned),
 * reports its path and waits to be killed. */
static pid_t spawn_vmm(bool persistent, char **ret_session) {
        char path[256] = {};
        pid_t pid;
        ssize_t l;
        int fd;

        pid = fork_reporter(&fd);
        if (pid == 0)
                vmm_main(persistent, fd);
        l = read(fd, path, sizeof(path) - 1);
        close(fd);
        if (l <= 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                fail_msg("the child VMM could not set up its session");
        }
        vmm_pid = pid;
        vmm_session = strdup(path);
        *ret_session = strdup(path);
        assert_non_null(vmm_session);
        assert_non_null(*ret_session);
        return pid;
}

static void kill_vmm(pid_t pid) {
        int status;

        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        vmm_pid = 0;
}

static int vmm_teardown(void **state) {
        if (vmm_pid > 0) {
                (void) kill(vmm_pid, SIGKILL);
                (void) waitpid(vmm_pid, NULL, 0);
                vmm_pid = 0;
        }
        if (vmm_session) {
                sd_bus *bus = bus_open();

                if (session_listed(bus, vmm_session))
                        sd_bus_message_unref(call_at(__FILE__, __LINE__, NULL, bus, vmm_session, I_SESSION, "Close",
                                                     NULL));
                sd_bus_flush_close_unref(bus);
                vmm_session = mfree(vmm_session);
        }
        return 0;
}

static void test_open_session_closes_when_owner_leaves(void **state) {
        sd_bus *bus = bus_open();
        pid_t daemon = daemon_pid(bus), vmm;
        uint64_t pinned = pinned_kib(daemon), end;
        _cleanup_free_ char *session = NULL, *json = NULL;
        Closed closed = {};

        vmm = spawn_vmm(false, &session);
        closed.session = session;
        assert_true(sd_bus_match_signal(bus, NULL, BUS_NAME, MANAGER_PATH, I_MANAGER, "SessionClosed",
                                        on_session_closed, &closed) >= 0);
        /* Another connection's session: only a subscriber hears of it. */
        sd_bus_message_unref(CALL(bus, MANAGER_PATH, I_MANAGER, "Subscribe", NULL));
        assert_true(session_listed(bus, session));
        assert_int_equal(get_u32(bus, session, I_SESSION, "NObjects"), 5);
        /* The kernel holds the guest's 1 MiB pinned for the daemon. */
        assert_int_equal(pinned_kib(daemon), pinned + 1024);

        kill_vmm(vmm);
        end = now_usec() + TIMEOUT_USEC;
        while (!closed.reason && now_usec() < end)
                if (sd_bus_process(bus, NULL) == 0)
                        (void) sd_bus_wait(bus, 100000);
        assert_non_null(closed.reason);
        assert_non_null(strstr(closed.reason, "left the bus"));
        free(closed.reason);

        assert_false(session_listed(bus, session));
        json = describe(bus);
        assert_false(describe_mentions(json, session));
        CALL_FAILS(E_UNKNOWN_OBJECT, bus, session, I_SESSION, "CreateIOAS", NULL);
        /* Every page unpinned. */
        wait_pinned(daemon, pinned);
        sd_bus_flush_close_unref(bus);
}

/* A persistent session outlives its owner, until the owner closes it. */
static void test_open_session_persistent_outlives_owner(void **state) {
        sd_bus *bus = bus_open();
        pid_t daemon = daemon_pid(bus), vmm;
        uint64_t pinned = pinned_kib(daemon);
        _cleanup_free_ char *session = NULL;

        vmm = spawn_vmm(true, &session);
        assert_true(get_bool(bus, session, I_SESSION, "Persistent"));
        kill_vmm(vmm);
        /* Give the daemon the time in which a non-persistent session goes
         * (test_open_session_closes_when_owner_leaves: well under 200 ms
         * here), then look. */
        usleep(200000);
        assert_true(session_listed(bus, session));
        assert_int_equal(get_u32(bus, session, I_SESSION, "NObjects"), 5);
        assert_int_equal(pinned_kib(daemon), pinned + 1024);

        close_session(bus, session);
        wait_pinned(daemon, pinned);
        sd_bus_flush_close_unref(bus);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest session[] = {
                T(test_open_session_properties),
                R(test_open_session_refuses_bad_options),
                T(test_open_session_refuses_repeated_options),
                R(test_create_ioas_refuses_unknown_session),
                R(test_get_device_refuses_unknown),
                R(test_claim_device_refuses_unknown_or_not_vfio),
                R(test_create_mock_device_refuses_unknown_flags),
                R(test_release_device_refuses_non_devices),
                R(test_export_refuses_plain_session),
                R(test_destroy_refuses_bad_objects),
                R(test_testing_refuses_bad_arguments),
                T(test_session_refuses_wrong_types),
                T(test_properties_changed_announce_values),
                cmocka_unit_test_teardown(test_open_session_closes_when_owner_leaves, vmm_teardown),
                cmocka_unit_test_teardown(test_open_session_persistent_outlives_owner, vmm_teardown),
        };
        const Group groups[] = { GROUP("session", session) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
