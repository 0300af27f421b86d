/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * viommud end to end, used as a virtual machine monitor uses it: a client on
 * the private system bus that tests/integration/run-in-guest.sh starts inside
 * the test VM. Outcomes are checked where they happen: in the kernel's mock
 * driver through the daemon's test-only org.viommu1.Testing interface
 * (MD_CHECK_MAP, MD_CHECK_IOTLB, raised faults and events), on the fds the
 * daemon hands out, in /proc, and in the daemon's Describe record, which a
 * refused call must leave exactly as it was.
 *
 *   test-daemon GROUP...
 *
 *   mock        the nested flow with a mock device, as any uid; AllowIOVAs;
 *               the PropertiesChanged signals a watcher on the bus gets;
 *               the session record, round-tripped
 *   viommu      vIOMMU, vDEVICE, vEVENTQ (and its overflow) and PASIDs
 *               (NotSupported before 6.13/6.15)
 *   channel     the direct channel: the same calls, and what it cannot reach
 *   disconnect  clients killed with their sessions open
 *   bad-input   wrong types, out-of-range values, foreign objects, bad fds
 *   delegated   a delegated session's iommufd, handed to the VMM
 *   limits      the per-session limits of the configuration
 *   owner       sessions of other uids (as root: connects as other uids)
 *   map-path    guest memory mapped by file or by the daemon, seen in /proc (root)
 *   claim       who may claim a real device: configuration by user, group
 *               and systemd unit, polkit's yes, no and challenge; a claim
 *               polkit never answers holds up no other client (vtd, root)
 *   restart     sessions across daemon restarts (root; the daemon runs under
 *               fdstore-harness, whose pid is $VIOMMU_TEST_HARNESS_PID)
 *   vtd         the paging flow with a real vfio-pci device (vtd)
 *
 * What is expected follows the running kernel's version and
 * $VIOMMU_TEST_PROFILE, never what the daemon says the kernel supports.
 * run-in-guest.sh passes the configuration it started the daemon with:
 * VIOMMU_TEST_CONFIG_UID (may claim the first vfio device by viommud.conf),
 * VIOMMU_TEST_GROUP (may claim the second by viommud.conf) and
 * VIOMMU_TEST_GROUP_UID (a member by the user database),
 * VIOMMU_TEST_POLKIT_UID (allowed by the stand-in polkit),
 * VIOMMU_TEST_CHALLENGE_UID (allowed by it after authenticating),
 * VIOMMU_TEST_OTHER_UID (allowed nothing), VIOMMU_TEST_SILENT_UID (whose
 * questions it never answers), VIOMMU_TEST_POLKIT_LOG, and
 * VIOMMU_TEST_LIMIT_{OBJECTS,DEVICES,PINNED}.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "viommu-abi.h"
#include "mock/iommufd-test-abi.h"

/* The client stands alone: the API is what it talks to; of the project's
 * code it uses only the small helpers of lib/util. */
#include "util.h"

#define BUS_NAME      "org.viommu1"
#define MANAGER_PATH  "/org/viommu1"
#define I_MANAGER     "org.viommu1.Manager"
#define I_SESSION     "org.viommu1.Session"
#define I_OBJECT      "org.viommu1.Object"
#define I_IOAS        "org.viommu1.IOAS"
#define I_HWPT        "org.viommu1.HWPT"
#define I_VIOMMU      "org.viommu1.VIOMMU"
#define I_DEVICE      "org.viommu1.ClaimedDevice"
#define I_HOST_DEVICE "org.viommu1.Device"
#define I_TESTING     "org.viommu1.Testing"
#define I_PROPERTIES  "org.freedesktop.DBus.Properties"
#define I_OBJECT_MANAGER "org.freedesktop.DBus.ObjectManager"

/* The API's errors, spelled out here rather than taken from the daemon. */
#define E_INVALID_ARGUMENT  "org.viommu1.Error.InvalidArgument"
#define E_NO_SUCH_OBJECT    "org.viommu1.Error.NoSuchObject"
#define E_NOT_OWNER         "org.viommu1.Error.NotOwner"
#define E_PERMISSION_DENIED "org.viommu1.Error.PermissionDenied"
#define E_NOT_SUPPORTED     "org.viommu1.Error.NotSupported"
#define E_BUSY              "org.viommu1.Error.Busy"
#define E_LIMIT_EXCEEDED    "org.viommu1.Error.LimitExceeded"
#define E_KERNEL            "org.viommu1.Error.Kernel"
#define E_INVALID_ARGS      "org.freedesktop.DBus.Error.InvalidArgs"
#define E_UNKNOWN_OBJECT    "org.freedesktop.DBus.Error.UnknownObject"
#define E_READ_ONLY         "org.freedesktop.DBus.Error.PropertyReadOnly"

#define MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define MAP_FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW)

#define BUF_SIZE (64 * 4096)
#define PAGE 4096
/* Kernels refuse vendor data longer than the struct they know; the mock's
 * grew after 6.12, and only its first field is needed. */
#define MOCK_HWPT_DATA_LEN sizeof(((struct iommu_hwpt_selftest *) NULL)->iotlb)
#define TIMEOUT_USEC (10 * UINT64_C(1000000))

/* ---- the environment ---------------------------------------------------- */

static int kernel_version(void) {
        struct utsname u;
        int major = 0, minor = 0;

        assert_int_equal(uname(&u), 0);
        assert_int_equal(sscanf(u.release, "%d.%d", &major, &minor), 2);
        return major * 1000 + minor;
}

static bool kernel_at_least(int major, int minor) {
        return kernel_version() >= major * 1000 + minor;
}

static const char *profile(void) {
        return getenv("VIOMMU_TEST_PROFILE") ?: "mock";
}

/* With an emulated VT-d present, Linux before 7 refuses mock devices. */
static bool mock_devices_work(void) {
        return streq(profile(), "mock") || kernel_at_least(7, 0);
}

static uint64_t env_u64(const char *name, uint64_t fallback) {
        const char *v = getenv(name);
        char *end;
        unsigned long long n;

        if (!v || !*v)
                return fallback;
        errno = 0;
        n = strtoull(v, &end, 0);
        if (errno != 0 || *end)
                fail_msg("$%s is not a number: %s", name, v);
        return n;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static char *read_file(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *text = NULL;
        size_t size = 0;
        FILE *out;
        int c;

        if (!f)
                return NULL;
        out = open_memstream(&text, &size);
        assert_non_null(out);
        while ((c = fgetc(f)) != EOF)
                fputc(c, out);
        assert_int_equal(fclose(out), 0);
        return text;
}

/* ---- calls -------------------------------------------------------------- */

static const char *destination(sd_bus *bus) {
        /* A direct channel has no bus daemon and no names. */
        return sd_bus_is_bus_client(bus) > 0 ? BUS_NAME : NULL;
}

/* A daemon that hangs fails the call in this time, not sd-bus's 25 s. */
#define CALL_TIMEOUT_USEC (10 * UINT64_C(1000000))

static sd_bus *bus_open(void) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_set_method_call_timeout(bus, CALL_TIMEOUT_USEC);
        if (r < 0)
                fail_msg("cannot connect to %s: %s", getenv("DBUS_SYSTEM_BUS_ADDRESS") ?: "the system bus",
                         strerror(-r));
        return bus;
}

/*
 * A connection that the bus knows as uid and gid, with no other groups (the
 * caller is root): the bus takes the peer's credentials when it connects and
 * authenticates, so the effective ids are switched for exactly that long.
 */
static sd_bus *connect_as_ids(uid_t uid, gid_t gid) {
        gid_t saved_groups[256];
        sd_bus *bus = NULL;
        const char *unique;
        int n, r;

        assert_int_equal(geteuid(), 0);
        n = getgroups(ELEMENTSOF(saved_groups), saved_groups);
        assert_true(n >= 0);
        assert_int_equal(setgroups(1, &gid), 0);
        assert_int_equal(setresgid(-1, gid, -1), 0);
        assert_int_equal(setresuid(-1, uid, -1), 0);
        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_set_method_call_timeout(bus, CALL_TIMEOUT_USEC);
        if (r >= 0)
                r = sd_bus_get_unique_name(bus, &unique);  /* waits for Hello */
        assert_int_equal(setresuid(-1, 0, -1), 0);
        assert_int_equal(setresgid(-1, 0, -1), 0);
        assert_int_equal(setgroups(n, saved_groups), 0);
        if (r < 0)
                fail_msg("cannot connect as uid %u: %s", (unsigned) uid, strerror(-r));
        return bus;
}

/* As uid, with its primary group only. */
static sd_bus *connect_as(uid_t uid) {
        struct passwd *pw;

        if (uid == geteuid())
                return bus_open();
        pw = getpwuid(uid);
        return connect_as_ids(uid, pw ? pw->pw_gid : (gid_t) uid);
}

/* The message of the last call that failed, for checks of its wording. */
static char last_error[2048];

static sd_bus_message *call_msg(const char *file, int line, sd_bus *bus, sd_bus_message *m, const char *expect) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *member = sd_bus_message_get_member(m), *path = sd_bus_message_get_path(m);
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call(bus, m, 0, &error, &reply);
        snprintf(last_error, sizeof(last_error), "%s", r >= 0 ? "" : error.message ?: strerror(-r));
        if (!expect) {
                if (r < 0)
                        fail_msg("%s:%d: %s on %s failed: %s: %s", file, line, member, path,
                                 error.name ?: "-", last_error);
                return reply;
        }
        sd_bus_message_unref(reply);
        if (r >= 0)
                fail_msg("%s:%d: %s on %s succeeded, expected %s", file, line, member, path, expect);
        if (!sd_bus_error_has_name(&error, expect))
                fail_msg("%s:%d: %s on %s failed with %s (%s), expected %s", file, line, member, path,
                         error.name ?: "-", last_error, expect);
        return NULL;
}

static sd_bus_message *new_call(sd_bus *bus, const char *path, const char *iface, const char *member) {
        sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_method_call(bus, &m, destination(bus), path, iface, member), 0);
        return m;
}

static sd_bus_message *call_at(const char *file, int line, const char *expect, sd_bus *bus, const char *path,
                               const char *iface, const char *member, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call(bus, path, iface, member);
        va_list ap;
        int r = 0;

        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r < 0)
                fail_msg("%s:%d: cannot build %s: %s", file, line, member, strerror(-r));
        return call_msg(file, line, bus, m, expect);
}

/* CALL returns the reply (unref it); CALL_OK drops it; CALL_FAILS wants the
 * named error. Types NULL: no arguments. */
#define CALL(bus, path, iface, member, ...) \
        call_at(__FILE__, __LINE__, NULL, bus, path, iface, member, __VA_ARGS__)
#define CALL_OK(bus, path, iface, member, ...) \
        sd_bus_message_unref(call_at(__FILE__, __LINE__, NULL, bus, path, iface, member, __VA_ARGS__))
#define CALL_FAILS(expect, bus, path, iface, member, ...) \
        assert_null(call_at(__FILE__, __LINE__, expect, bus, path, iface, member, __VA_ARGS__))
#define SEND(bus, m) call_msg(__FILE__, __LINE__, bus, m, NULL)
#define SEND_FAILS(expect, bus, m) assert_null(call_msg(__FILE__, __LINE__, bus, m, expect))

#define assert_error_mentions(text) do {                                                        \
                if (!strstr(last_error, (text)))                                                \
                        fail_msg("the error \"%s\" does not mention \"%s\"", last_error, (text)); \
        } while (0)

/* Reads a reply and drops it. */
static void reply_take(sd_bus_message *reply, const char *types, ...) {
        va_list ap;
        int r;

        assert_non_null(reply);
        va_start(ap, types);
        r = sd_bus_message_readv(reply, types, ap);
        va_end(ap);
        if (r < 0)
                fail_msg("cannot read '%s' from the reply to %s: %s", types, sd_bus_message_get_member(reply) ?: "?",
                         strerror(-r));
        sd_bus_message_unref(reply);
}

/* "o" or "ou" replies: the object's path (and the kernel's id). */
static char *reply_object(sd_bus_message *reply, uint32_t *ret_id) {
        const char *path;
        uint32_t id = 0;
        char *p;

        assert_non_null(reply);
        if (ret_id)
                assert_true(sd_bus_message_read(reply, "ou", &path, &id) > 0);
        else
                assert_true(sd_bus_message_read(reply, "o", &path) > 0);
        p = strdup(path);
        assert_non_null(p);
        sd_bus_message_unref(reply);
        if (ret_id)
                *ret_id = id;
        return p;
}

/* Takes an fd out of a message being read, as the caller's own. */
static int read_fd(sd_bus_message *reply) {
        int fd, copy;

        assert_true(sd_bus_message_read(reply, "h", &fd) > 0);
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        assert_true(copy >= 0);
        return copy;
}

/* "ouh" replies (fault queues, vEVENTQs): the object's path, the kernel's id
 * and the fd, the caller's own. */
static char *reply_object_fd(sd_bus_message *reply, uint32_t *ret_id, int *ret_fd) {
        const char *path;
        uint32_t id;
        char *p;

        assert_non_null(reply);
        assert_true(sd_bus_message_read(reply, "ou", &path, &id) > 0);
        p = strdup(path);
        assert_non_null(p);
        *ret_fd = read_fd(reply);
        sd_bus_message_unref(reply);
        if (ret_id)
                *ret_id = id;
        return p;
}

static sd_bus_message *get_property(sd_bus *bus, const char *path, const char *iface, const char *name,
                                    const char *type) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_get_property(bus, destination(bus), path, iface, name, &error, &reply, type);
        if (r < 0)
                fail_msg("cannot read %s.%s of %s: %s", iface, name, path, error.message ?: strerror(-r));
        return reply;
}

static uint32_t get_u32(sd_bus *bus, const char *path, const char *iface, const char *name) {
        uint32_t v;

        reply_take(get_property(bus, path, iface, name, "u"), "u", &v);
        return v;
}

static uint64_t get_u64(sd_bus *bus, const char *path, const char *iface, const char *name) {
        uint64_t v;

        reply_take(get_property(bus, path, iface, name, "t"), "t", &v);
        return v;
}

static bool get_bool(sd_bus *bus, const char *path, const char *iface, const char *name) {
        int v;

        reply_take(get_property(bus, path, iface, name, "b"), "b", &v);
        return v;
}

/* Type "s" or "o". */
static char *get_string(sd_bus *bus, const char *path, const char *iface, const char *name, const char *type) {
        sd_bus_message *reply = get_property(bus, path, iface, name, type);
        const char *v;
        char *s;

        assert_true(sd_bus_message_read_basic(reply, type[0], &v) > 0);
        s = strdup(v);
        assert_non_null(s);
        sd_bus_message_unref(reply);
        return s;
}

static bool strv_contains(char **l, const char *s) {
        for (char **i = l; i && *i; i++)
                if (streq(*i, s))
                        return true;
        return false;
}

static size_t strv_length(char **l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

static int32_t get_i32(sd_bus *bus, const char *path, const char *iface, const char *name) {
        int32_t v;

        reply_take(get_property(bus, path, iface, name, "i"), "i", &v);
        return v;
}

/* Type "as" or "ao". */
static char **get_strv(sd_bus *bus, const char *path, const char *iface, const char *name, const char *type) {
        sd_bus_message *reply = get_property(bus, path, iface, name, type);
        char **l = NULL;

        assert_true(sd_bus_message_read_strv(reply, &l) >= 0);
        sd_bus_message_unref(reply);
        return l;
}

static char **sessions(sd_bus *bus) {
        return get_strv(bus, MANAGER_PATH, I_MANAGER, "Sessions", "ao");
}

static bool session_listed(sd_bus *bus, const char *session) {
        char **l = sessions(bus);
        bool found = strv_contains(l, session);

        strv_free(l);
        return found;
}

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

static char *describe(sd_bus *bus) {
        const char *json;
        char *s;
        sd_bus_message *reply = CALL(bus, MANAGER_PATH, I_MANAGER, "Describe", NULL);

        assert_true(sd_bus_message_read(reply, "s", &json) > 0);
        s = strdup(json);
        assert_non_null(s);
        sd_bus_message_unref(reply);
        return s;
}

/* Does the Describe document name this path? json-c may escape '/'. */
static bool describe_mentions(const char *json, const char *path) {
        _cleanup_free_ char *quoted = NULL, *escaped = malloc(2 * strlen(path) + 3);
        char *p = escaped;

        assert_non_null(escaped);
        assert_true(asprintf(&quoted, "\"%s\"", path) > 0);
        *p++ = '"';
        for (const char *c = path; *c; c++) {
                if (*c == '/')
                        *p++ = '\\';
                *p++ = *c;
        }
        *p++ = '"';
        *p = 0;
        return strstr(json, quoted) || strstr(json, escaped);
}

/* ---- the API, one helper per common call -------------------------------- */

static char *open_session(sd_bus *bus, bool persistent) {
        if (persistent)
                return reply_object(CALL(bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 1,
                                         "Persistent", "b", 1), NULL);
        return reply_object(CALL(bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 0), NULL);
}

static void close_session(sd_bus *bus, const char *session) {
        CALL_OK(bus, session, I_SESSION, "Close", NULL);
        assert_false(session_listed(bus, session));
}

static char *create_ioas(sd_bus *bus, const char *session, uint32_t *ret_id) {
        return reply_object(CALL(bus, session, I_SESSION, "CreateIOAS", NULL), ret_id);
}

static char *create_mock(sd_bus *bus, const char *session, uint32_t flags, uint32_t *ret_id) {
        return reply_object(CALL(bus, session, I_SESSION, "CreateMockDevice", "u", flags), ret_id);
}

static uint64_t map(sd_bus *bus, const char *ioas, int fd, uint64_t offset, uint64_t length, uint64_t iova,
                    uint32_t flags) {
        uint64_t ret;

        reply_take(CALL(bus, ioas, I_IOAS, "Map", "htttu", fd, offset, length, iova, flags), "t", &ret);
        return ret;
}

static uint64_t unmap(sd_bus *bus, const char *ioas, uint64_t iova, uint64_t length) {
        uint64_t ret;

        reply_take(CALL(bus, ioas, I_IOAS, "Unmap", "tt", iova, length), "t", &ret);
        return ret;
}

static uint32_t attach(sd_bus *bus, const char *session, const char *dev, const char *pt) {
        uint32_t id;

        reply_take(CALL(bus, session, I_SESSION, "Attach", "oo", dev, pt), "u", &id);
        return id;
}

static sd_bus_message *alloc_hwpt_call(sd_bus *bus, const char *session, const char *dev, const char *parent,
                                       const char *fault_queue, uint32_t flags, uint32_t data_type,
                                       const void *data, size_t size) {
        sd_bus_message *m = new_call(bus, session, I_SESSION, "AllocHWPT");

        assert_true(sd_bus_message_append(m, "ooouu", dev, parent, fault_queue ?: "/", flags, data_type) >= 0);
        assert_true(sd_bus_message_append_array(m, 'y', data, size) >= 0);
        return m;
}

static char *alloc_hwpt(sd_bus *bus, const char *session, const char *dev, const char *parent,
                        const char *fault_queue, uint32_t flags, uint32_t data_type, const void *data, size_t size,
                        uint32_t *ret_id) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                alloc_hwpt_call(bus, session, dev, parent, fault_queue, flags, data_type, data, size);

        return reply_object(SEND(bus, m), ret_id);
}

static void alloc_hwpt_fails(const char *expect, sd_bus *bus, const char *session, const char *dev,
                             const char *parent, const char *fault_queue, uint32_t flags, uint32_t data_type,
                             const void *data, size_t size) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                alloc_hwpt_call(bus, session, dev, parent, fault_queue, flags, data_type, data, size);

        SEND_FAILS(expect, bus, m);
}

static const struct iommu_hwpt_selftest mock_s1 = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };

/* A nested HWPT with the mock's stage-1 data. */
static char *alloc_nested(sd_bus *bus, const char *session, const char *dev, const char *parent,
                          const char *fault_queue, uint32_t flags, uint32_t *ret_id) {
        return alloc_hwpt(bus, session, dev, parent, fault_queue, flags, IOMMU_HWPT_DATA_SELFTEST,
                          &mock_s1, MOCK_HWPT_DATA_LEN, ret_id);
}

static void destroy(sd_bus *bus, const char *session, const char *object) {
        CALL_OK(bus, session, I_SESSION, "Destroy", "o", object);
}

static sd_bus_message *invalidate_call(sd_bus *bus, const char *path, const char *iface, uint32_t data_type,
                                       uint32_t entry_len, const void *entries, size_t size) {
        sd_bus_message *m = new_call(bus, path, iface, "Invalidate");

        assert_true(sd_bus_message_append(m, "uu", data_type, entry_len) >= 0);
        assert_true(sd_bus_message_append_array(m, 'y', entries, size) >= 0);
        return m;
}

/* The number of entries the kernel handled; *ret_error the errno name of
 * the first it did not, "" if none. */
static uint32_t invalidate(sd_bus *bus, const char *path, const char *iface, uint32_t data_type,
                           uint32_t entry_len, const void *entries, size_t size, char **ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                invalidate_call(bus, path, iface, data_type, entry_len, entries, size);
        const char *error;
        uint32_t handled;
        sd_bus_message *reply = SEND(bus, m);

        assert_true(sd_bus_message_read(reply, "us", &handled, &error) > 0);
        *ret_error = strdup(error);
        assert_non_null(*ret_error);
        sd_bus_message_unref(reply);
        return handled;
}

static void check_mapping(sd_bus *bus, const char *session, const char *dev, uint64_t iova, uint64_t length,
                          int fd, uint64_t offset) {
        CALL_OK(bus, session, I_TESTING, "CheckMapping", "ottht", dev, iova, length, fd, offset);
}

static void check_no_mapping(sd_bus *bus, const char *session, const char *dev, uint64_t iova,
                             uint64_t length, int fd, uint64_t offset) {
        CALL_FAILS(E_INVALID_ARGUMENT, bus, session, I_TESTING, "CheckMapping", "ottht", dev, iova, length, fd,
                   offset);
}

static void check_iotlb(sd_bus *bus, const char *session, const char *hwpt, uint32_t index, uint32_t expected) {
        CALL_OK(bus, session, I_TESTING, "CheckIOTLB", "ouu", hwpt, index, expected);
}

static int memfd_new(const char *name, size_t size, uint8_t pattern) {
        _cleanup_free_ uint8_t *buf = malloc(PAGE);
        int fd;

        assert_non_null(buf);
        fd = memfd_create(name, MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, size), 0);
        memset(buf, pattern, PAGE);
        for (size_t off = 0; pattern && off < size; off += PAGE)
                assert_int_equal(pwrite(fd, buf, PAGE, off), PAGE);
        return fd;
}

/* The daemon's pid, from the bus. */
static pid_t daemon_pid(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        uint32_t pid;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionUnixProcessID", &error, &reply, "s", BUS_NAME);
        if (r < 0)
                fail_msg("cannot find viommud's pid: %s", error.message ?: strerror(-r));
        reply_take(reply, "u", &pid);
        return (pid_t) pid;
}

/* The memory the kernel holds pinned for a process (mm->pinned_vm): iommufd
 * accounts every page it pins for a mapping there. */
static uint64_t pinned_kib(pid_t pid) {
        _cleanup_free_ char *path = NULL, *status = NULL;
        unsigned long long kib;
        const char *line;

        assert_true(asprintf(&path, "/proc/%d/status", (int) pid) > 0);
        status = read_file(path);
        assert_non_null(status);
        line = strstr(status, "\nVmPin:");
        assert_non_null(line);
        assert_int_equal(sscanf(line, "\nVmPin: %llu kB", &kib), 1);
        return kib;
}

/* Waits for the daemon's pinned memory to reach kib. */
static void wait_pinned(pid_t pid, uint64_t kib) {
        uint64_t end = now_usec() + TIMEOUT_USEC, v;

        while ((v = pinned_kib(pid)) != kib && now_usec() < end)
                usleep(20000);
        if (v != kib)
                fail_msg("viommud (pid %d) holds %" PRIu64 " KiB pinned, expected %" PRIu64 " KiB",
                         (int) pid, v, kib);
}

/* ---- signals, as a program watching the bus gets them --------------------- */

/* Every signal of the daemon, recorded on a connection of its own. */
typedef struct Watcher {
        sd_bus *bus;
        sd_bus_message **signals;
        size_t n;
} Watcher;

static int on_daemon_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watcher *w = userdata;
        sd_bus_message **a = reallocarray(w->signals, w->n + 1, sizeof(*a));

        assert_non_null(a);
        w->signals = a;
        w->signals[w->n++] = sd_bus_message_ref(m);
        return 0;
}

static Watcher *watcher_new(void) {
        Watcher *w = calloc(1, sizeof(*w));

        assert_non_null(w);
        w->bus = bus_open();
        /* Synchronous: the bus has the match when this returns. */
        assert_true(sd_bus_match_signal(w->bus, NULL, BUS_NAME, NULL, NULL, NULL, on_daemon_signal, w) >= 0);
        return w;
}

static void watcher_clear(Watcher *w) {
        for (size_t i = 0; i < w->n; i++)
                sd_bus_message_unref(w->signals[i]);
        w->n = 0;
}

static void watcher_free(Watcher *w) {
        watcher_clear(w);
        free(w->signals);
        sd_bus_flush_close_unref(w->bus);
        free(w);
}

/* Takes in every signal the daemon sent before now: the bus keeps one
 * sender's messages in order, so the answer to a call of the watcher's own
 * comes after them. */
static void watcher_sync(Watcher *w) {
        free(get_string(w->bus, MANAGER_PATH, I_MANAGER, "Version", "s"));
        while (sd_bus_process(w->bus, NULL) > 0)
                ;
}

/* Forgets what came so far: what is checked next is what the next call does. */
static void watcher_reset(Watcher *w) {
        watcher_sync(w);
        watcher_clear(w);
}

/* A property's value in a PropertiesChanged signal as text: numbers in
 * decimal, strings and paths as they are. */
static char *variant_text(sd_bus_message *m) {
        const char *contents, *str;
        char type, *text = NULL;
        uint64_t u64;
        uint32_t u32;
        int32_t i32;
        int b;

        assert_true(sd_bus_message_peek_type(m, &type, &contents) > 0);
        assert_int_equal(type, 'v');
        assert_true(sd_bus_message_enter_container(m, 'v', contents) > 0);
        switch (contents[0]) {
        case 'u':
                assert_true(sd_bus_message_read_basic(m, 'u', &u32) > 0);
                assert_true(asprintf(&text, "%" PRIu32, u32) > 0);
                break;
        case 't':
                assert_true(sd_bus_message_read_basic(m, 't', &u64) > 0);
                assert_true(asprintf(&text, "%" PRIu64, u64) > 0);
                break;
        case 'i':
                assert_true(sd_bus_message_read_basic(m, 'i', &i32) > 0);
                assert_true(asprintf(&text, "%" PRIi32, i32) > 0);
                break;
        case 'b':
                assert_true(sd_bus_message_read_basic(m, 'b', &b) > 0);
                text = strdup(b ? "true" : "false");
                break;
        case 's':
        case 'o':
                assert_true(sd_bus_message_read_basic(m, contents[0], &str) > 0);
                text = strdup(str);
                break;
        default:
                assert_true(sd_bus_message_skip(m, contents) >= 0);
                assert_true(asprintf(&text, "(%s)", contents) > 0);
        }
        assert_non_null(text);
        assert_true(sd_bus_message_exit_container(m) >= 0);
        return text;
}

/* Since the last reset, did the daemon announce that this property of path
 * changed to value? Fails naming what it announced instead. */
static void assert_changed_at(const char *file, int line, Watcher *w, const char *path, const char *interface,
                              const char *property, const char *value) {
        _cleanup_free_ char *seen = NULL;
        size_t seen_size = 0;
        FILE *f = open_memstream(&seen, &seen_size);
        bool found = false;

        assert_non_null(f);
        watcher_sync(w);
        for (size_t i = 0; i < w->n && !found; i++) {
                sd_bus_message *m = w->signals[i];
                const char *iface, *name;
                char **invalidated = NULL;

                if (!sd_bus_message_is_signal(m, "org.freedesktop.DBus.Properties", "PropertiesChanged") ||
                    !streq_ptr(sd_bus_message_get_path(m), path))
                        continue;
                assert_true(sd_bus_message_rewind(m, true) >= 0);
                assert_true(sd_bus_message_read(m, "s", &iface) > 0);
                if (!streq(iface, interface))
                        continue;
                assert_true(sd_bus_message_enter_container(m, 'a', "{sv}") > 0);
                while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                        assert_true(sd_bus_message_read(m, "s", &name) > 0);
                        if (streq(name, property)) {
                                _cleanup_free_ char *text = variant_text(m);

                                found = found || streq(text, value);
                                fprintf(f, " %s", text);
                        } else
                                assert_true(sd_bus_message_skip(m, "v") >= 0);
                        assert_true(sd_bus_message_exit_container(m) >= 0);
                }
                assert_true(sd_bus_message_exit_container(m) >= 0);
                assert_true(sd_bus_message_read_strv(m, &invalidated) >= 0);
                if (strv_contains(invalidated, property))
                        fputs(" (invalidated, without its value)", f);
                strv_free(invalidated);
        }
        assert_int_equal(fclose(f), 0);
        if (!found)
                fail_msg("%s:%d: no PropertiesChanged of %s.%s on %s to %s; announced:%s", file, line, interface,
                         property, path, value, seen_size > 0 ? seen : " nothing");
}
#define assert_changed(w, path, interface, property, value) \
        assert_changed_at(__FILE__, __LINE__, w, path, interface, property, value)

/* A number as assert_changed() wants it. */
#define NUM(n) num_text((char[24]) { 0 }, (n))
static const char *num_text(char *buf, uint64_t n) {
        snprintf(buf, 24, "%" PRIu64, n);
        return buf;
}

/* Since the last reset, did the daemon send this signal with this first
 * argument (a string or a path)? */
static void assert_signal_at(const char *file, int line, Watcher *w, const char *path, const char *interface,
                             const char *member, const char *arg) {
        watcher_sync(w);
        for (size_t i = 0; i < w->n; i++) {
                sd_bus_message *m = w->signals[i];
                const char *contents, *v;
                char type;

                if (!sd_bus_message_is_signal(m, interface, member) || !streq_ptr(sd_bus_message_get_path(m), path))
                        continue;
                assert_true(sd_bus_message_rewind(m, true) >= 0);
                if (sd_bus_message_peek_type(m, &type, &contents) > 0 && IN_SET(type, 's', 'o') &&
                    sd_bus_message_read_basic(m, type, &v) > 0 && streq(v, arg))
                        return;
        }
        fail_msg("%s:%d: no %s.%s on %s about %s", file, line, interface, member, path, arg);
}
#define assert_signal(w, path, interface, member, arg) \
        assert_signal_at(__FILE__, __LINE__, w, path, interface, member, arg)

/* ---- mock: the nested flow ---------------------------------------------- */

typedef struct Fixture {
        sd_bus *bus;
        char *session;
        char *dev;              /* a mock device */
        uint32_t dev_id;
        char *ioas;
        uint32_t ioas_id;
        int memfd;              /* BUF_SIZE bytes of guest memory */
} Fixture;

static int fixture_setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        f->bus = bus_open();
        f->session = open_session(f->bus, false);
        if (mock_devices_work())
                f->dev = create_mock(f->bus, f->session, 0, &f->dev_id);
        f->ioas = create_ioas(f->bus, f->session, &f->ioas_id);
        f->memfd = memfd_new("guest-ram", BUF_SIZE, 0x5a);
        *state = f;
        return 0;
}

/* Closing the session takes whatever a test left in it. */
static int fixture_teardown(void **state) {
        Fixture *f = *state;

        if (session_listed(f->bus, f->session))
                close_session(f->bus, f->session);
        close(f->memfd);
        free(f->session);
        free(f->dev);
        free(f->ioas);
        sd_bus_flush_close_unref(f->bus);
        free(f);
        return 0;
}

static void test_session(void **state) {
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

static void test_map(void **state) {
        Fixture *f = *state;
        _cleanup_close_ int other = memfd_new("other", BUF_SIZE, 0xa5);
        const uint64_t iova = MOCK_APERTURE_START;
        uint64_t got_iova, length, offset, alignment, start, last, kiova;
        _cleanup_free_ char *ioas2 = NULL;
        sd_bus_message *reply;
        uint32_t flags;
        size_t n = 0;

        assert_int_equal(map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        assert_int_equal(get_u64(f->bus, f->ioas, I_IOAS, "MappedBytes"), BUF_SIZE);
        assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), 1);
        assert_int_equal(get_u64(f->bus, f->session, I_SESSION, "MappedBytes"), BUF_SIZE);
        reply_take(CALL(f->bus, f->ioas, I_IOAS, "LookupIOVA", "t", iova + 5 * PAGE), "tttu",
                   &got_iova, &length, &offset, &flags);
        assert_int_equal(got_iova, iova);
        assert_int_equal(length, BUF_SIZE);
        assert_int_equal(offset, 0);
        assert_int_equal(flags, MAP_FIXED_RW);

        /* On the device's domain, the kernel maps those very pages; the
         * check is real: other memory, or a shifted offset, does not match. */
        attach(f->bus, f->session, f->dev, f->ioas);
        check_mapping(f->bus, f->session, f->dev, iova, BUF_SIZE, f->memfd, 0);
        check_no_mapping(f->bus, f->session, f->dev, iova, PAGE, other, 0);
        check_no_mapping(f->bus, f->session, f->dev, iova, PAGE, f->memfd, PAGE);

        /* With the mock attached only its aperture is usable. */
        reply = CALL(f->bus, f->ioas, I_IOAS, "GetIOVARanges", NULL);
        assert_true(sd_bus_message_enter_container(reply, 'a', "(tt)") > 0);
        while (sd_bus_message_read(reply, "(tt)", &start, &last) > 0)
                n++;
        assert_true(sd_bus_message_exit_container(reply) >= 0);
        reply_take(reply, "t", &alignment);
        assert_int_equal(n, 1);
        assert_int_equal(start, MOCK_APERTURE_START);
        assert_int_equal(last, MOCK_APERTURE_LAST);
        assert_int_equal(alignment, MOCK_PAGE_SIZE);

        /* The kernel picks an IOVA; it does not overlap the first. */
        kiova = map(f->bus, f->ioas, other, PAGE, 4 * PAGE, 0, IOMMU_IOAS_MAP_READABLE);
        assert_true(kiova >= MOCK_APERTURE_START && kiova + 4 * PAGE - 1 <= MOCK_APERTURE_LAST);
        assert_true(kiova >= iova + BUF_SIZE || kiova + 4 * PAGE <= iova);
        check_mapping(f->bus, f->session, f->dev, kiova, 4 * PAGE, other, PAGE);
        assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), 2);

        /* Copy into a second IOAS: the device moved there sees the same pages. */
        ioas2 = create_ioas(f->bus, f->session, NULL);
        reply_take(CALL(f->bus, ioas2, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) BUF_SIZE,
                        iova + 0x100000, (uint32_t) (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE)),
                   "t", &got_iova);
        assert_int_equal(got_iova, iova + 0x100000);
        assert_int_equal(get_u64(f->bus, ioas2, I_IOAS, "MappedBytes"), BUF_SIZE);
        attach(f->bus, f->session, f->dev, ioas2);
        check_mapping(f->bus, f->session, f->dev, iova + 0x100000, BUF_SIZE, f->memfd, 0);
        check_no_mapping(f->bus, f->session, f->dev, iova, PAGE, f->memfd, 0);
        attach(f->bus, f->session, f->dev, f->ioas);

        /* Unmapping really takes the pages out of the domain. */
        assert_int_equal(unmap(f->bus, f->ioas, iova, BUF_SIZE), BUF_SIZE);
        check_no_mapping(f->bus, f->session, f->dev, iova, PAGE, f->memfd, 0);
        check_mapping(f->bus, f->session, f->dev, kiova, 4 * PAGE, other, PAGE);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "Unmap", "tt", iova, (uint64_t) BUF_SIZE);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "LookupIOVA", "t", iova);
        /* 0 and 2^64-1: everything. */
        assert_int_equal(unmap(f->bus, f->ioas, 0, UINT64_MAX), 4 * PAGE);
        check_no_mapping(f->bus, f->session, f->dev, kiova, PAGE, other, PAGE);
        assert_int_equal(get_u64(f->bus, f->ioas, I_IOAS, "MappedBytes"), 0);
        assert_int_equal(get_u64(f->bus, f->session, I_SESSION, "MappedBytes"), BUF_SIZE);
        assert_int_equal(unmap(f->bus, ioas2, 0, UINT64_MAX), BUF_SIZE);
        assert_int_equal(get_u64(f->bus, f->session, I_SESSION, "MappedBytes"), 0);
}

/* The whole flow of a VMM with a nested (two-stage) IOMMU, then teardown in
 * dependency order. */
static void test_nested(void **state) {
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

static void test_fault_queue(void **state) {
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

/* Dirty bits are kept per IO page table entry. The 7.x mock maps
 * physically contiguous memory with large entries, so each 4 KiB page is
 * mapped on its own: every entry is then at most 4 KiB, and reads at
 * 4 KiB resolve exactly on every kernel. The mock takes marks in its own
 * 2 KiB pages. */
static void test_dirty_tracking(void **state) {
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

/* A device whose IOMMU cannot track dirty pages: the kernel says no. */
static void test_no_dirty_device(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *dev = create_mock(f->bus, f->session, MOCK_FLAGS_DEVICE_NO_DIRTY, NULL);
        _cleanup_free_ char *before = describe(f->bus), *after = NULL;

        alloc_hwpt_fails(E_NOT_SUPPORTED, f->bus, f->session, dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                         IOMMU_HWPT_DATA_NONE, NULL, 0);
        after = describe(f->bus);
        assert_string_equal(before, after);
}

static sd_bus *channel_open(sd_bus *bus, const char *session);

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

/* The properties test_properties_changed() checks: every one the daemon
 * declares as announcing its changes, on every kind of object there is. A
 * property declared so later fails here until the test checks it. */
static void check_emitting_properties_covered(Fixture *f, const char *hwpt, const char *viommu) {
        static const char *const checked[] = {
                I_SESSION ".MappedBytes", I_SESSION ".NObjects",
                I_IOAS ".MappedBytes", I_IOAS ".Mappings",
                I_DEVICE ".Attached",
                I_DEVICE ".Pasids",     /* by test_pasid(), where the kernel has PASIDs */
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
static void test_properties_changed(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_free_ char *hwpt = NULL, *ioas2 = NULL, *fq = NULL, *mock = NULL, *parent = NULL,
                            *viommu = NULL, *vdev = NULL, *veventq = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        struct iommu_viommu_selftest data = {};
        Watcher *w = watcher_new();
        uint64_t copied;
        int fd;
        sd_bus *ch;

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

/* AllowIOVAs steers where the kernel puts a mapping it may choose the IOVA
 * of, and only that: a fixed IOVA outside the allowed ranges is still the
 * caller's to take (IOMMU_IOAS_ALLOW_IOVAS; the kernel checks fixed IOVAs
 * against reserved ranges alone), and ranges that an attached device
 * reserves cannot be allowed. */
static void test_allow_iovas(void **state) {
        Fixture *f = *state;
        /* A window of BUF_SIZE, aligned to it, well inside the mock's
         * aperture and away from its start. */
        const uint64_t start = MOCK_APERTURE_START + 0x400000, last = start + BUF_SIZE - 1;
        const uint64_t fixed = MOCK_APERTURE_START;
        _cleanup_close_ int other = memfd_new("other", BUF_SIZE, 0xa5);
        uint64_t kiova;

        attach(f->bus, f->session, f->dev, f->ioas);
        CALL_OK(f->bus, f->ioas, I_IOAS, "AllowIOVAs", "a(tt)", 1, start, last);

        /* The kernel chooses inside the window, and maps the pages there. */
        kiova = map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, 0, MAP_RW);
        assert_true(kiova >= start && kiova + BUF_SIZE - 1 <= last);
        check_mapping(f->bus, f->session, f->dev, kiova, BUF_SIZE, f->memfd, 0);
        /* The window is full: no other place, though the aperture has room. */
        CALL_FAILS(E_BUSY, f->bus, f->ioas, I_IOAS, "Map", "htttu", other, UINT64_C(0), (uint64_t) PAGE,
                   UINT64_C(0), (uint32_t) MAP_RW);
        /* A fixed IOVA outside it is the caller's choice. */
        assert_int_equal(map(f->bus, f->ioas, other, 0, PAGE, fixed, MAP_FIXED_RW), fixed);
        check_mapping(f->bus, f->session, f->dev, fixed, PAGE, other, 0);

        /* Below the mock's aperture the attached device reserves every IOVA:
         * refused, and the window stays. */
        CALL_FAILS(E_BUSY, f->bus, f->ioas, I_IOAS, "AllowIOVAs", "a(tt)", 1, UINT64_C(0x1000), UINT64_C(0x1fff));
        assert_int_equal(unmap(f->bus, f->ioas, kiova, BUF_SIZE), BUF_SIZE);
        kiova = map(f->bus, f->ioas, other, PAGE, PAGE, 0, MAP_RW);
        assert_true(kiova >= start && kiova + PAGE - 1 <= last);
        check_mapping(f->bus, f->session, f->dev, kiova, PAGE, other, PAGE);
        /* With a page of the window taken, BUF_SIZE fits nowhere in it; */
        CALL_FAILS(E_BUSY, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0), (uint64_t) BUF_SIZE,
                   UINT64_C(0), (uint32_t) MAP_RW);
        /* with no list the kernel chooses anywhere again. */
        CALL_OK(f->bus, f->ioas, I_IOAS, "AllowIOVAs", "a(tt)", 0);
        kiova = map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, 0, MAP_RW);
        assert_true(kiova + BUF_SIZE - 1 < start || kiova > last);
        check_mapping(f->bus, f->session, f->dev, kiova, BUF_SIZE, f->memfd, 0);
        assert_int_equal(unmap(f->bus, f->ioas, 0, UINT64_MAX), 2 * PAGE + BUF_SIZE);
}

/* ---- viommu: vIOMMU, vDEVICE, vEVENTQ, PASIDs ---------------------------- */

static void test_viommu(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        const uint32_t depth = 2, burst = 5;     /* vEVENTQ depth, and events raised at once */
        struct iommu_viommu_selftest data = { .in_data = 0xbeef };
        _cleanup_free_ char *parent = NULL, *viommu = NULL, *vdev = NULL, *nested = NULL, *q = NULL,
                            *err = NULL, *s = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct iommu_viommu_invalidate_selftest inv[3];
        struct {
                struct iommufd_vevent_header hdr;
                struct iommu_viommu_event_selftest ev;
        } ev = {};
        sd_bus_message *reply;
        const void *out;
        const char *p;
        uint32_t id;
        size_t size;

        assert_int_equal(map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        parent = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);

        m = new_call(f->bus, f->session, I_SESSION, "AllocVIOMMU");
        assert_true(sd_bus_message_append(m, "oou", f->dev, parent, (uint32_t) IOMMU_VIOMMU_TYPE_SELFTEST) >= 0);
        assert_true(sd_bus_message_append_array(m, 'y', &data, sizeof(data)) >= 0);
        if (!kernel_at_least(6, 13)) {
                _cleanup_free_ char *before = describe(f->bus), *after = NULL;

                SEND_FAILS(E_NOT_SUPPORTED, f->bus, m);
                assert_error_mentions("Linux 6.13");
                alloc_hwpt_fails(E_NOT_SUPPORTED, f->bus, f->session, f->dev, f->ioas, NULL,
                                 IOMMU_HWPT_ALLOC_PASID, IOMMU_HWPT_DATA_NONE, NULL, 0);
                assert_error_mentions("Linux 6.15");
                CALL_FAILS(E_NOT_SUPPORTED, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", f->dev, 100,
                           parent);
                assert_error_mentions("Linux 6.15");
                CALL_FAILS(E_NOT_SUPPORTED, f->bus, f->session, I_SESSION, "DetachPasid", "ou", f->dev, 100);
                assert_error_mentions("Linux 6.15");
                /* vDEVICEs and vEVENTQs hang off a vIOMMU, which cannot exist
                 * here: the answer names the kernel, not the argument. */
                CALL_FAILS(E_NOT_SUPPORTED, f->bus, f->session, I_SESSION, "AllocVEventQ", "ouu", parent,
                           (uint32_t) IOMMU_VEVENTQ_TYPE_SELFTEST, 2);
                assert_error_mentions("Linux 6.15");
                CALL_FAILS(E_NOT_SUPPORTED, f->bus, f->session, I_SESSION, "AllocVDevice", "oot", parent,
                           f->dev, UINT64_C(0x99));
                assert_error_mentions("Linux 6.13");
                after = describe(f->bus);
                assert_string_equal(before, after);
                return;
        }
        reply = SEND(f->bus, m);
        assert_true(sd_bus_message_read(reply, "ou", &p, &id) > 0);
        viommu = strdup(p);
        assert_non_null(viommu);
        assert_true(sd_bus_message_read_array(reply, 'y', &out, &size) >= 0);
        assert_int_equal(size, sizeof(data));
        /* The mock writes its output into the same data. */
        assert_int_equal(((const struct iommu_viommu_selftest *) out)->out_data, 0xbeef);
        sd_bus_message_unref(reply);
        assert_int_equal(get_u32(f->bus, viommu, I_VIOMMU, "Type"), IOMMU_VIOMMU_TYPE_SELFTEST);

        /* The kernel knows no vIOMMU of type 0x1234 for the mock. */
        sd_bus_message_unref(TAKE_PTR(m));
        m = new_call(f->bus, f->session, I_SESSION, "AllocVIOMMU");
        assert_true(sd_bus_message_append(m, "oouay", f->dev, parent, 0x1234, 0) >= 0);
        SEND_FAILS(E_NOT_SUPPORTED, f->bus, m);

        vdev = reply_object(CALL(f->bus, f->session, I_SESSION, "AllocVDevice", "oot", viommu, f->dev,
                                 UINT64_C(0x99)), NULL);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "AllocVDevice", "oot", viommu, f->dev, UINT64_C(0x98));

        /* A nested HWPT on the vIOMMU: the device's events go to its queue. */
        nested = alloc_nested(f->bus, f->session, f->dev, viommu, NULL, 0, NULL);
        s = get_string(f->bus, nested, I_HWPT, "Parent", "o");
        assert_string_equal(s, viommu);
        attach(f->bus, f->session, f->dev, nested);
        check_mapping(f->bus, f->session, f->dev, iova, BUF_SIZE, f->memfd, 0);

        q = reply_object_fd(CALL(f->bus, f->session, I_SESSION, "AllocVEventQ", "ouu", viommu,
                                 (uint32_t) IOMMU_VEVENTQ_TYPE_SELFTEST, depth), &id, &fd);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "AllocVEventQ", "ouu", viommu,
                   (uint32_t) IOMMU_VEVENTQ_TYPE_SELFTEST, 2);

        /* An event raised in the kernel arrives on the VMM's fd. */
        CALL_OK(f->bus, f->session, I_TESTING, "TriggerEvent", "o", f->dev);
        assert_int_equal(poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, 5000), 1);
        assert_int_equal(read(fd, &ev, sizeof(ev)), sizeof(ev));
        assert_int_equal(ev.ev.virt_id, 0x99);
        assert_false(ev.hdr.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS);

        /* Overflow: more events than the depth. The queue keeps the first
         * depth; the kernel drops the rest and says so in the queue itself,
         * with a header flagged LOST_EVENTS after the events kept. The VMM's
         * fd is the only place that tells: the daemon never reads it. */
        for (uint32_t i = 0; i < burst; i++)
                CALL_OK(f->bus, f->session, I_TESTING, "TriggerEvent", "o", f->dev);
        assert_int_equal(poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, 5000), 1);
        {
                uint8_t buf[256];
                struct iommufd_vevent_header hdr;
                struct iommu_viommu_event_selftest one;
                uint32_t kept = 0, lost = 0, lost_sequence = 0, last = ev.hdr.sequence;
                ssize_t l = read(fd, buf, sizeof(buf));

                assert_true(l > 0);
                for (size_t off = 0; off < (size_t) l;) {
                        assert_true((size_t) l - off >= sizeof(hdr));
                        memcpy(&hdr, buf + off, sizeof(hdr));
                        off += sizeof(hdr);
                        if (hdr.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS) {
                                /* A header without an event. */
                                lost++;
                                lost_sequence = hdr.sequence;
                                continue;
                        }
                        assert_int_equal(lost, 0);      /* the events kept come first */
                        assert_true((size_t) l - off >= sizeof(one));
                        memcpy(&one, buf + off, sizeof(one));
                        off += sizeof(one);
                        assert_int_equal(one.virt_id, 0x99);
                        /* One sequence number per event. */
                        assert_int_equal(hdr.sequence, last + 1);
                        last = hdr.sequence;
                        kept++;
                }
                assert_int_equal(kept, depth);
                assert_int_equal(lost, 1);
                /* It carries the sequence of a dropped event. */
                assert_true(lost_sequence > last && lost_sequence <= ev.hdr.sequence + burst);

                /* Drained: nothing more to read, and the queue takes events
                 * again. The gap in the sequence counts the events dropped. */
                assert_int_equal(poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, 0), 0);
                CALL_OK(f->bus, f->session, I_TESTING, "TriggerEvent", "o", f->dev);
                assert_int_equal(poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, 5000), 1);
                assert_int_equal(read(fd, buf, sizeof(buf)), sizeof(hdr) + sizeof(one));
                memcpy(&hdr, buf, sizeof(hdr));
                memcpy(&one, buf + sizeof(hdr), sizeof(one));
                assert_false(hdr.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS);
                assert_int_equal(one.virt_id, 0x99);
                assert_int_equal(hdr.sequence - last - 1, burst - depth);
        }

        /* Invalidation through the vIOMMU: the kernel stops at the entry
         * with a cache index the mock lacks, then at an unknown vDEVICE. */
        inv[0] = (struct iommu_viommu_invalidate_selftest) { .vdev_id = 0x99, .cache_id = 0 };
        inv[1] = (struct iommu_viommu_invalidate_selftest) { .vdev_id = 0x99, .cache_id = MOCK_DEV_CACHE_NUM };
        inv[2] = (struct iommu_viommu_invalidate_selftest) { .vdev_id = 0x99, .cache_id = 1 };
        assert_int_equal(invalidate(f->bus, viommu, I_VIOMMU, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
                                    sizeof(inv[0]), inv, sizeof(inv), &err), 1);
        assert_string_equal(err, "EINVAL");
        free(TAKE_PTR(err));
        inv[0] = (struct iommu_viommu_invalidate_selftest) { .vdev_id = 0x77, .cache_id = 0 };
        assert_int_equal(invalidate(f->bus, viommu, I_VIOMMU, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
                                    sizeof(inv[0]), inv, sizeof(inv[0]), &err), 0);
        assert_string_equal(err, "EINVAL");
        free(TAKE_PTR(err));
        assert_int_equal(invalidate(f->bus, viommu, I_VIOMMU, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
                                    sizeof(inv[0]), &inv[2], sizeof(inv[2]), &err), 1);
        assert_string_equal(err, "");

        /* Dependency order. */
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", viommu);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", parent);
        CALL_OK(f->bus, f->session, I_SESSION, "Detach", "o", f->dev);
        destroy(f->bus, f->session, nested);
        destroy(f->bus, f->session, vdev);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", q);  /* its fd is open */
        fd = (close(fd), -EBADF);
        destroy(f->bus, f->session, q);
        destroy(f->bus, f->session, viommu);
        destroy(f->bus, f->session, parent);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), 2);
}

/* An array in Describe's document, which must be there. */
static struct json_object *json_array(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
                fail_msg("Describe has no \"%s\" array where expected", key);
        return v;
}

static const char *json_string(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* The HWPT that Describe records a PASID of dev attached to; NULL if none. */
static char *describe_pasid(sd_bus *bus, const char *dev, uint32_t pasid) {
        _cleanup_free_ char *text = describe(bus);
        struct json_object *j = json_tokener_parse(text), *sessions, *device = NULL, *pasids;
        char *hwpt = NULL;

        assert_non_null(j);
        sessions = json_array(j, "sessions");
        for (size_t i = 0; !device && i < json_object_array_length(sessions); i++) {
                struct json_object *objects = json_array(json_object_array_get_idx(sessions, i), "objects");

                for (size_t k = 0; !device && k < json_object_array_length(objects); k++)
                        if (streq_ptr(json_string(json_object_array_get_idx(objects, k), "path"), dev))
                                device = json_object_array_get_idx(objects, k);
        }
        if (!device)
                fail_msg("Describe has no device %s", dev);
        pasids = json_array(device, "pasids");
        for (size_t i = 0; i < json_object_array_length(pasids); i++) {
                struct json_object *a = json_object_array_get_idx(pasids, i), *v = NULL;

                assert_true(json_object_object_get_ex(a, "pasid", &v));
                if (json_object_get_int64(v) != pasid)
                        continue;
                assert_null(hwpt);      /* one entry per PASID */
                assert_non_null(json_string(a, "hwpt"));
                hwpt = strdup(json_string(a, "hwpt"));
                assert_non_null(hwpt);
        }
        json_object_put(j);
        return hwpt;
}

/* The same from the device's Pasids property. */
static char *property_pasid(sd_bus *bus, const char *dev, uint32_t pasid) {
        sd_bus_message *reply = get_property(bus, dev, I_DEVICE, "Pasids", "a(uo)");
        const char *path;
        char *hwpt = NULL;
        uint32_t p;
        int r;

        assert_true(sd_bus_message_enter_container(reply, 'a', "(uo)") > 0);
        while ((r = sd_bus_message_read(reply, "(uo)", &p, &path)) > 0)
                if (p == pasid) {
                        assert_null(hwpt);
                        hwpt = strdup(path);
                        assert_non_null(hwpt);
                }
        assert_int_equal(r, 0);
        sd_bus_message_unref(reply);
        return hwpt;
}

/* A PASID of dev is attached to hwpt (NULL: to nothing) in the daemon's
 * record, in the device's property and in the mock driver. */
static void check_pasid(sd_bus *bus, const char *session, const char *dev, uint32_t pasid, const char *hwpt) {
        _cleanup_free_ char *recorded = describe_pasid(bus, dev, pasid), *property = property_pasid(bus, dev, pasid);

        if (!streq_ptr(recorded, hwpt) || !streq_ptr(property, hwpt))
                fail_msg("PASID %u of %s: expected %s, Describe has %s, Pasids has %s", pasid, dev, hwpt ?: "none",
                         recorded ?: "none", property ?: "none");
        CALL_OK(bus, session, I_TESTING, "CheckPasid", "ouo", dev, pasid, hwpt ?: "/");
}

static int on_pasids_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        unsigned *n = userdata;
        const char *name;

        if (sd_bus_message_skip(m, "s") < 0 || sd_bus_message_enter_container(m, 'a', "{sv}") <= 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                if (sd_bus_message_read(m, "s", &name) > 0 && streq(name, "Pasids"))
                        (*n)++;
                if (sd_bus_message_skip(m, "v") < 0 || sd_bus_message_exit_container(m) < 0)
                        break;
        }
        return 0;
}

static void wait_pasids_changed(sd_bus *bus, unsigned *n, unsigned want) {
        uint64_t end = now_usec() + TIMEOUT_USEC;

        while (*n < want && now_usec() < end)
                if (sd_bus_process(bus, NULL) == 0)
                        (void) sd_bus_wait(bus, 100000);
        assert_int_equal(*n, want);
}

static void test_pasid(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *pdev = NULL, *qdev = NULL, *parent = NULL, *s2 = NULL, *nested = NULL,
                            *nested2 = NULL, *nested3 = NULL, *nested4 = NULL, *before = NULL, *after = NULL,
                            *json = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        uint32_t id, nested_id, nested2_id;
        unsigned changed = 0;

        if (!kernel_at_least(6, 15)) {
                /* Older mock drivers do not know the flag. */
                CALL_FAILS(E_KERNEL, f->bus, f->session, I_SESSION, "CreateMockDevice", "u",
                           (uint32_t) MOCK_FLAGS_DEVICE_PASID);
                return;
        }
        pdev = create_mock(f->bus, f->session, MOCK_FLAGS_DEVICE_PASID, NULL);
        parent = alloc_hwpt(f->bus, f->session, pdev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        s2 = alloc_hwpt(f->bus, f->session, pdev, f->ioas, NULL, IOMMU_HWPT_ALLOC_PASID, IOMMU_HWPT_DATA_NONE,
                        NULL, 0, NULL);
        nested = alloc_nested(f->bus, f->session, pdev, parent, NULL, IOMMU_HWPT_ALLOC_PASID, &nested_id);
        assert_true(sd_bus_match_signal(f->bus, &slot, BUS_NAME, pdev, "org.freedesktop.DBus.Properties",
                                        "PropertiesChanged", on_pasids_changed, &changed) >= 0);

        before = describe(f->bus);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 0, nested);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 1u << 20,
                   nested);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 100, f->ioas);
        after = describe(f->bus);
        assert_string_equal(before, after);
        check_pasid(f->bus, f->session, pdev, 100, NULL);

        /* The kernel wants the whole device on a PASID-capable domain first. */
        attach(f->bus, f->session, pdev, parent);
        CALL_FAILS(E_KERNEL, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 100, nested);
        check_pasid(f->bus, f->session, pdev, 100, NULL);
        attach(f->bus, f->session, pdev, s2);
        /* Neither can a domain made without ALLOC_PASID go on a PASID. */
        CALL_FAILS(E_KERNEL, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 100, parent);
        check_pasid(f->bus, f->session, pdev, 100, NULL);
        reply_take(CALL(f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 100, nested), "u", &id);
        assert_int_equal(id, nested_id);
        check_pasid(f->bus, f->session, pdev, 100, nested);
        wait_pasids_changed(f->bus, &changed, 1);
        /* The mock driver's check tells HWPTs apart. */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "CheckPasid", "ouo", pdev, 100, s2);

        /* The record answers Busy before the kernel is asked (the kernel's
         * Busy says "The kernel still uses"), and nothing changes. */
        free(before);
        before = describe(f->bus);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", nested);
        assert_error_mentions("still used by 1 object(s), device(s) or PASID(s)");
        free(after);
        after = describe(f->bus);
        assert_string_equal(before, after);
        check_pasid(f->bus, f->session, pdev, 100, nested);

        /* Attaching an attached PASID replaces its HWPT, which lets the old one go. */
        nested2 = alloc_nested(f->bus, f->session, pdev, parent, NULL, IOMMU_HWPT_ALLOC_PASID, &nested2_id);
        reply_take(CALL(f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 100, nested2), "u", &id);
        assert_int_equal(id, nested2_id);
        check_pasid(f->bus, f->session, pdev, 100, nested2);
        wait_pasids_changed(f->bus, &changed, 2);
        destroy(f->bus, f->session, nested);
        /* Again onto the same HWPT: nothing moves. */
        CALL_OK(f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 100, nested2);
        check_pasid(f->bus, f->session, pdev, 100, nested2);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", nested2);

        /* A PASID that is not attached cannot be detached. */
        free(before);
        before = describe(f->bus);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "DetachPasid", "ou", pdev, 200);
        free(after);
        after = describe(f->bus);
        assert_string_equal(before, after);
        CALL_OK(f->bus, f->session, I_SESSION, "DetachPasid", "ou", pdev, 100);
        check_pasid(f->bus, f->session, pdev, 100, NULL);
        wait_pasids_changed(f->bus, &changed, 4);
        destroy(f->bus, f->session, nested2);

        /* Releasing a device detaches its PASIDs first. Its PASID sits on a
         * HWPT made through pdev, which outlives it. */
        qdev = create_mock(f->bus, f->session, MOCK_FLAGS_DEVICE_PASID, NULL);
        nested3 = alloc_nested(f->bus, f->session, pdev, parent, NULL, IOMMU_HWPT_ALLOC_PASID, NULL);
        attach(f->bus, f->session, qdev, s2);
        CALL_OK(f->bus, f->session, I_SESSION, "AttachPasid", "ouo", qdev, 200, nested3);
        check_pasid(f->bus, f->session, qdev, 200, nested3);
        check_pasid(f->bus, f->session, pdev, 200, NULL);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", nested3);
        CALL_OK(f->bus, f->session, I_SESSION, "ReleaseDevice", "o", qdev);
        json = describe(f->bus);
        assert_false(describe_mentions(json, qdev));
        /* The kernel let go too: it would answer Busy otherwise. */
        destroy(f->bus, f->session, nested3);

        /* A PASID still attached when the session closes (in the teardown)
         * goes before its device and its HWPT. */
        nested4 = alloc_nested(f->bus, f->session, pdev, parent, NULL, IOMMU_HWPT_ALLOC_PASID, NULL);
        CALL_OK(f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 300, nested4);
        check_pasid(f->bus, f->session, pdev, 300, nested4);
}

/* ---- channel: the direct peer-to-peer connection ------------------------ */

static sd_bus *channel_open(sd_bus *bus, const char *session) {
        sd_bus_message *reply = CALL(bus, session, I_SESSION, "OpenDirectChannel", NULL);
        sd_bus *ch = NULL;
        int fd = read_fd(reply);

        sd_bus_message_unref(reply);
        assert_int_equal(sd_bus_new(&ch), 0);
        assert_int_equal(sd_bus_set_fd(ch, fd, fd), 0);
        assert_int_equal(sd_bus_set_anonymous(ch, true), 0);
        assert_int_equal(sd_bus_negotiate_fds(ch, true), 0);
        assert_int_equal(sd_bus_set_method_call_timeout(ch, CALL_TIMEOUT_USEC), 0);
        assert_int_equal(sd_bus_start(ch), 0);
        return ch;
}

static void test_channel(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_free_ char *other = NULL, *other_ioas = NULL, *parent = NULL, *nested = NULL, *err = NULL,
                            *xml = NULL, *json = NULL, *id_node = NULL;
        struct iommu_hwpt_invalidate_selftest inv[3] = {
                { .iotlb_id = 2 }, { .iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_NUM }, { .iotlb_id = 0 },
        };
        sd_bus_message *reply;
        const char *text;
        sd_bus *ch;

        ch = channel_open(f->bus, f->session);
        assert_int_equal(sd_bus_is_bus_client(ch), 0);
        assert_int_equal(get_u32(ch, f->session, I_SESSION, "NObjects"), 2);

        /* The hot paths, without the bus daemon. */
        assert_int_equal(map(ch, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        parent = alloc_hwpt(ch, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        nested = alloc_nested(ch, f->session, f->dev, parent, NULL, 0, NULL);
        attach(ch, f->session, f->dev, nested);
        check_mapping(ch, f->session, f->dev, iova, BUF_SIZE, f->memfd, 0);
        assert_int_equal(invalidate(ch, nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]),
                                    inv, sizeof(inv), &err), 1);
        assert_string_equal(err, "EINVAL");
        check_iotlb(ch, f->session, nested, 2, 0);
        check_iotlb(ch, f->session, nested, 0, IOMMU_TEST_IOTLB_DEFAULT);
        /* The bus sees what was done over the channel. */
        check_iotlb(f->bus, f->session, nested, 2, 0);
        json = describe(f->bus);
        assert_true(describe_mentions(json, nested));

        /* Another session of the same client is out of the channel's reach. */
        other = open_session(f->bus, false);
        other_ioas = create_ioas(f->bus, other, NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, ch, other, I_SESSION, "CreateIOAS", NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, ch, other, I_SESSION, "Close", NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, ch, other_ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   (uint64_t) PAGE, iova, MAP_FIXED_RW);
        /* and objects of another session are not arguments in this one */
        CALL_FAILS(E_NO_SUCH_OBJECT, ch, f->session, I_SESSION, "Attach", "oo", f->dev, other_ioas);
        reply = CALL(ch, "/org/viommu1/session", "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
        assert_true(sd_bus_message_read(reply, "s", &text) > 0);
        xml = strdup(text);
        sd_bus_message_unref(reply);
        assert_true(asprintf(&id_node, "<node name=\"%s\"", strrchr(f->session, '/') + 1) > 0);
        assert_non_null(strstr(xml, id_node));
        free(TAKE_PTR(id_node));
        assert_true(asprintf(&id_node, "<node name=\"%s\"", strrchr(other, '/') + 1) > 0);
        assert_null(strstr(xml, id_node));
        assert_int_equal(get_u32(f->bus, other, I_SESSION, "NObjects"), 1);
        close_session(f->bus, other);

        /* Closing the channel leaves the session; a second channel works. */
        sd_bus_flush_close_unref(ch);
        ch = channel_open(f->bus, f->session);
        check_iotlb(ch, f->session, nested, 2, 0);
        assert_true(session_listed(f->bus, f->session));

        /* Closing the session closes its channels. */
        close_session(f->bus, f->session);
        reply = NULL;
        assert_true(sd_bus_call_method(ch, NULL, f->session, I_SESSION, "CreateIOAS", NULL, &reply, NULL) < 0);
        sd_bus_flush_close_unref(ch);
}

/* ---- disconnect: clients that die --------------------------------------- */

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

/* The child side of spawn_vmm(). No cmocka here (its failure handling
 * belongs to the parent): any failure is a missing report. */
#define VMM_TRY(x) do { if ((x) < 0) _exit(EXIT_FAILURE); } while (0)

static const char *vmm_call(sd_bus *bus, const char *path, const char *iface, const char *member,
                            const char *types, ...) {
        sd_bus_message *m = NULL, *reply = NULL;
        const char *object = NULL;
        va_list ap;

        VMM_TRY(sd_bus_message_new_method_call(bus, &m, BUS_NAME, path, iface, member));
        if (types) {
                va_start(ap, types);
                VMM_TRY(sd_bus_message_appendv(m, types, ap));
                va_end(ap);
        }
        VMM_TRY(sd_bus_call(bus, m, 0, NULL, &reply));
        /* Replies stay for the child's life: the strings in them are used. */
        if (startswith(sd_bus_message_get_signature(reply, true) ?: "", "o"))
                VMM_TRY(sd_bus_message_read(reply, "o", &object));
        return object;
}

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

/* Forks a child that reports to the parent through a pipe: the child gets
 * *ret_fd as the pipe's write end, the parent its read end. */
static pid_t fork_reporter(int *ret_fd) {
        int p[2];
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        close(p[pid == 0 ? 0 : 1]);
        *ret_fd = p[pid == 0 ? 1 : 0];
        return pid;
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

static void test_disconnect(void **state) {
        sd_bus *bus = bus_open();
        pid_t daemon = daemon_pid(bus), vmm;
        uint64_t pinned = pinned_kib(daemon), end;
        _cleanup_free_ char *session = NULL, *json = NULL;
        Closed closed = {};

        vmm = spawn_vmm(false, &session);
        closed.session = session;
        assert_true(sd_bus_match_signal(bus, NULL, BUS_NAME, MANAGER_PATH, I_MANAGER, "SessionClosed",
                                        on_session_closed, &closed) >= 0);
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
static void test_disconnect_persistent(void **state) {
        sd_bus *bus = bus_open();
        pid_t daemon = daemon_pid(bus), vmm;
        uint64_t pinned = pinned_kib(daemon);
        _cleanup_free_ char *session = NULL;

        vmm = spawn_vmm(true, &session);
        assert_true(get_bool(bus, session, I_SESSION, "Persistent"));
        kill_vmm(vmm);
        /* Give the daemon the time in which test_disconnect sees a
         * non-persistent session go (well under 200 ms here), then look. */
        usleep(200000);
        assert_true(session_listed(bus, session));
        assert_int_equal(get_u32(bus, session, I_SESSION, "NObjects"), 5);
        assert_int_equal(pinned_kib(daemon), pinned + 1024);

        close_session(bus, session);
        wait_pinned(daemon, pinned);
        sd_bus_flush_close_unref(bus);
}

/* ---- bad input ---------------------------------------------------------- */

/* Every method of every org.viommu1 interface at path, called with
 * arguments of the wrong types (and, when it takes any, with none): each
 * refused with InvalidArgs. Returns how many methods there were. */
static size_t call_every_method_wrongly(sd_bus *bus, const char *path, char ***seen) {
        sd_bus_message *reply = CALL(bus, path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
        const char *xml, *iface, *p;
        size_t n = 0;

        assert_true(sd_bus_message_read(reply, "s", &xml) > 0);
        for (iface = strstr(xml, "<interface name=\"org.viommu1."); iface;
             iface = strstr(iface + 1, "<interface name=\"org.viommu1.")) {
                const char *iface_end = strstr(iface, "</interface>");
                char iface_name[128];

                assert_non_null(iface_end);
                assert_int_equal(sscanf(iface, "<interface name=\"%127[^\"]\"", iface_name), 1);
                for (p = strstr(iface, "<method name=\""); p && p < iface_end; p = strstr(p + 1, "<method name=\"")) {
                        const char *tag_end = strchr(p, '>'), *method_end, *a;
                        char member[128], signature[256] = "", *key = NULL;
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                        assert_int_equal(sscanf(p, "<method name=\"%127[^\"]\"", member), 1);
                        assert_non_null(tag_end);
                        /* <method name="X"/> takes and returns nothing */
                        method_end = tag_end[-1] == '/' ? tag_end : strstr(p, "</method>");
                        assert_non_null(method_end);
                        for (a = strstr(p, "<arg "); a && a < method_end; a = strstr(a + 1, "<arg ")) {
                                const char *arg_end = strstr(a, "/>"), *t = strstr(a, "type=\""),
                                           *d = strstr(a, "direction=\"");
                                char type[64];

                                assert_true(arg_end && t && t < arg_end);
                                assert_int_equal(sscanf(t, "type=\"%63[^\"]\"", type), 1);
                                if (d && d < arg_end && startswith(d, "direction=\"out\""))
                                        continue;
                                assert_true(strlen(signature) + strlen(type) < sizeof(signature));
                                strcat(signature, type);
                        }

                        m = new_call(bus, path, iface_name, member);
                        assert_true(sd_bus_message_append(m, "ds", 2.5, "not what it takes") >= 0);
                        SEND_FAILS(E_INVALID_ARGS, bus, m);
                        if (signature[0]) {
                                sd_bus_message_unref(TAKE_PTR(m));
                                m = new_call(bus, path, iface_name, member);
                                SEND_FAILS(E_INVALID_ARGS, bus, m);
                        }
                        assert_true(asprintf(&key, "%s.%s", iface_name, member) > 0);
                        if (!strv_contains(*seen, key)) {
                                size_t k = strv_length(*seen);

                                *seen = realloc(*seen, (k + 2) * sizeof(char *));
                                assert_non_null(*seen);
                                (*seen)[k] = TAKE_PTR(key);
                                (*seen)[k + 1] = NULL;
                        }
                        free(key);
                        n++;
                }
        }
        sd_bus_message_unref(reply);
        return n;
}

static void test_wrong_types(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *parent = NULL, *nested = NULL, *fq = NULL, *viommu = NULL, *before = NULL,
                            *after = NULL;
        char **seen = NULL;
        sd_bus_message *reply;
        static const char *const must_see[] = {
                I_MANAGER ".OpenSession", I_MANAGER ".Describe", I_SESSION ".ClaimDevice",
                I_SESSION ".AllocHWPT", I_SESSION ".Close", I_IOAS ".Map", I_IOAS ".Unmap", I_HWPT ".Invalidate",
                I_HWPT ".ReadDirtyBitmap", I_TESTING ".CheckMapping", I_TESTING ".MarkDirty",
        };

        parent = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        nested = alloc_nested(f->bus, f->session, f->dev, parent, NULL, 0, NULL);
        reply = CALL(f->bus, f->session, I_SESSION, "AllocFaultQueue", NULL);
        fq = reply_object(reply, NULL);
        if (kernel_at_least(6, 13))
                viommu = reply_object(CALL(f->bus, f->session, I_SESSION, "AllocVIOMMU", "oouay", f->dev, parent,
                                           (uint32_t) IOMMU_VIOMMU_TYPE_SELFTEST, 0), NULL);

        before = describe(f->bus);
        const char *paths[] = { MANAGER_PATH, f->session, f->ioas, f->dev, parent, nested, fq, viommu };
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (paths[i])
                        n += call_every_method_wrongly(f->bus, paths[i], &seen);
        for (size_t i = 0; i < ELEMENTSOF(must_see); i++)
                if (!strv_contains(seen, must_see[i]))
                        fail_msg("%s was not among the methods introspected", must_see[i]);
        if (viommu)
                assert_true(strv_contains(seen, I_VIOMMU ".Invalidate"));
        print_message("%zu methods (%zu calls on objects) refused wrong arguments\n", strv_length(seen), n);
        strv_free(seen);

        /* Read-only properties stay so. */
        CALL_FAILS(E_READ_ONLY, f->bus, f->session, "org.freedesktop.DBus.Properties", "Set", "ssv", I_SESSION,
                   "UID", "u", 0);
        CALL_FAILS(E_READ_ONLY, f->bus, f->dev, "org.freedesktop.DBus.Properties", "Set", "ssv", I_DEVICE,
                   "Attached", "o", f->ioas);
        after = describe(f->bus);
        assert_string_equal(before, after);
}

/* Refusals that must name the right error and change nothing, neither in
 * the daemon's record nor in the kernel. */
static void test_bad_values(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_free_ char *other = NULL, *other_ioas = NULL, *other_dev = NULL, *parent = NULL, *nested = NULL,
                            *plain = NULL, *idle = NULL, *fq = NULL, *before = NULL, *after = NULL,
                            *fake = NULL, *ro_path = NULL, *no_vfio = NULL;
        _cleanup_close_ int pipe_r = -EBADF, pipe_w = -EBADF, devnull = -EBADF, sock = -EBADF, dir = -EBADF,
                            opath = -EBADF, ro = -EBADF, small = -EBADF;
        uint8_t big[4097] = {};
        struct iommu_hwpt_invalidate_selftest inv[2] = {};
        uint64_t bitmap[1] = {};
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_message *reply;
        int p[2], s[2];

        /* The state the refusals must leave alone. */
        map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW);
        attach(f->bus, f->session, f->dev, f->ioas);
        parent = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        nested = alloc_nested(f->bus, f->session, f->dev, parent, NULL, 0, NULL);
        plain = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        idle = create_mock(f->bus, f->session, 0, NULL);
        reply = CALL(f->bus, f->session, I_SESSION, "AllocFaultQueue", NULL);
        fq = reply_object(reply, NULL);
        /* and another session of the same uid, whose objects are foreign here */
        other = open_session(f->bus, false);
        other_ioas = create_ioas(f->bus, other, NULL);
        other_dev = create_mock(f->bus, other, 0, NULL);
        assert_true(asprintf(&fake, "%s/ioas/_3999", f->session) > 0);

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pipe_r = p[0];
        pipe_w = p[1];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
        sock = s[0];
        close(s[1]);
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(asprintf(&ro_path, "/proc/self/fd/%d", f->memfd) > 0);
        ro = open(ro_path, O_RDONLY | O_CLOEXEC);
        opath = open(ro_path, O_PATH | O_CLOEXEC);
        small = memfd_new("small", 2 * PAGE, 0);
        assert_true(devnull >= 0 && dir >= 0 && ro >= 0 && opath >= 0);

        before = describe(f->bus);

        /* Manager */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 1, "Bogus", "b", 1);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 1,
                   "Persistent", "s", "yes");
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 2,
                   "Persistent", "b", 1, "persistent", "b", 1);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, MANAGER_PATH, I_MANAGER, "GetDevice", "s", "0000:ff:1f.7");
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, MANAGER_PATH, I_MANAGER, "GetDevice", "s", "");

        /* Session: devices */
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
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "CreateMockDevice", "u", 1u << 7);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "ReleaseDevice", "o", f->ioas);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "ReleaseDevice", "o", other_dev);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "ReleaseDevice", "o", "/");
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "ExportIommufd", NULL);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "ExportDevice", "o", f->dev);

        /* Session: HWPTs */
        alloc_hwpt_fails(E_NO_SUCH_OBJECT, f->bus, f->session, other_dev, f->ioas, NULL, 0, 0, NULL, 0);
        alloc_hwpt_fails(E_NO_SUCH_OBJECT, f->bus, f->session, f->dev, other_ioas, NULL, 0, 0, NULL, 0);
        alloc_hwpt_fails(E_NO_SUCH_OBJECT, f->bus, f->session, f->dev, fake, NULL, 0, 0, NULL, 0);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->ioas, f->ioas, NULL, 0, 0, NULL, 0);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, f->dev, NULL, 0, 0, NULL, 0);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, fq, NULL, 0, 0, NULL, 0);
        /* nested on nested, and a nested one without the guest's stage 1 */
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, nested, NULL, 0, IOMMU_HWPT_DATA_SELFTEST,
                         &mock_s1, MOCK_HWPT_DATA_LEN);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, parent, NULL, 0, IOMMU_HWPT_DATA_SELFTEST,
                         NULL, 0);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, f->ioas, NULL, 0, IOMMU_HWPT_DATA_NONE,
                         &mock_s1, MOCK_HWPT_DATA_LEN);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, parent, NULL, 0, IOMMU_HWPT_DATA_SELFTEST,
                         big, sizeof(big));
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, f->ioas, NULL, 1u << 30,
                         IOMMU_HWPT_DATA_NONE, NULL, 0);
        alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, parent, f->ioas, 0,
                         IOMMU_HWPT_DATA_SELFTEST, &mock_s1, MOCK_HWPT_DATA_LEN);
        alloc_hwpt_fails(E_NO_SUCH_OBJECT, f->bus, f->session, f->dev, parent, fake, 0, IOMMU_HWPT_DATA_SELFTEST,
                         &mock_s1, MOCK_HWPT_DATA_LEN);
        /* vendor data the kernel does not know */
        alloc_hwpt_fails(E_NOT_SUPPORTED, f->bus, f->session, f->dev, parent, NULL, 0, 0x7777, &mock_s1,
                         MOCK_HWPT_DATA_LEN);

        /* Session: attachment */
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "Attach", "oo", f->dev, other_ioas);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "Attach", "oo", other_dev, f->ioas);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Attach", "oo", f->dev, idle);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Attach", "oo", f->dev, fq);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Attach", "oo", f->ioas, f->ioas);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Detach", "o", idle);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Detach", "o", f->ioas);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", f->dev, 0, nested);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", f->dev, UINT32_MAX,
                   nested);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", f->dev, 5, f->ioas);

        /* Session: vIOMMU family, given what is not a vIOMMU (before 6.13
         * and 6.15 the kernel's lack is the answer) */
        CALL_FAILS(kernel_at_least(6, 13) ? E_INVALID_ARGUMENT : E_NOT_SUPPORTED, f->bus, f->session, I_SESSION,
                   "AllocVDevice", "oot", parent, f->dev, UINT64_C(1));
        CALL_FAILS(kernel_at_least(6, 15) ? E_INVALID_ARGUMENT : E_NOT_SUPPORTED, f->bus, f->session, I_SESSION,
                   "AllocVEventQ", "ouu", f->ioas, 0, 2);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AllocVIOMMU", "oouay", f->dev, plain,
                   (uint32_t) IOMMU_VIOMMU_TYPE_SELFTEST, 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AllocVIOMMU", "oouay", f->dev, f->ioas,
                   (uint32_t) IOMMU_VIOMMU_TYPE_SELFTEST, 0);

        /* Session: destruction */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "Destroy", "o", f->dev);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "Destroy", "o", fake);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "Destroy", "o", other_ioas);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "Destroy", "o", f->session);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "Destroy", "o", MANAGER_PATH);

        /* IOAS.Map: flags, sizes, alignment, ranges */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW | (1u << 3));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, (uint32_t) IOMMU_IOAS_MAP_FIXED_IOVA);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   UINT64_C(0), iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0x800),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   UINT64_C(0x1800), iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE + 0x800, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   (uint64_t) PAGE, UINT64_MAX - PAGE + 1 + PAGE / 2, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   UINT64_C(2) * PAGE, UINT64_MAX - PAGE + 1, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd,
                   UINT64_MAX - PAGE + 1, UINT64_C(2) * PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        /* past the end of the memfd */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", small, UINT64_C(0),
                   UINT64_C(3) * PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", small, UINT64_C(2) * PAGE,
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        /* an IOVA taken, and one outside the mock's aperture (the kernel
         * answers EINVAL for IOVAs reserved by an attached device) */
        CALL_FAILS(E_BUSY, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0), (uint64_t) PAGE,
                   iova + PAGE, MAP_FIXED_RW);
        CALL_FAILS(E_KERNEL, f->bus, f->ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0), (uint64_t) PAGE,
                   UINT64_C(0x1000), MAP_FIXED_RW);
        assert_error_mentions("EINVAL");
        /* IOAS.Map: fds that are no guest memory */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", pipe_r, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", pipe_w, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, (uint32_t) (IOMMU_IOAS_MAP_FIXED_IOVA |
                                                                 IOMMU_IOAS_MAP_READABLE));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", devnull, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", sock, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", dir, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        /* guest memory opened read-only cannot be mapped writeable, and an
         * O_PATH fd gives no access at all */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", ro, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", opath, UINT64_C(0),
                   (uint64_t) PAGE, iova + BUF_SIZE, (uint32_t) (IOMMU_IOAS_MAP_FIXED_IOVA |
                                                                 IOMMU_IOAS_MAP_READABLE));

        /* IOAS: the other methods */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Unmap", "tt", iova, UINT64_C(0));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Unmap", "tt", UINT64_MAX - PAGE + 1,
                   UINT64_C(2) * PAGE);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Unmap", "tt", iova + PAGE, (uint64_t) PAGE);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "Unmap", "tt", iova + BUF_SIZE, (uint64_t) PAGE);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "Copy", "otttu", other_ioas, iova, (uint64_t) PAGE,
                   iova, (uint32_t) IOMMU_IOAS_MAP_READABLE);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Copy", "otttu", f->ioas, iova + 0x800,
                   (uint64_t) PAGE, UINT64_C(0), (uint32_t) IOMMU_IOAS_MAP_READABLE);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) PAGE,
                   UINT64_C(0), 1u << 9);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Copy", "otttu", parent, iova, (uint64_t) PAGE,
                   UINT64_C(0), (uint32_t) IOMMU_IOAS_MAP_READABLE);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "AllowIOVAs", "a(tt)", 1, UINT64_C(0x2000),
                   UINT64_C(0x1000));
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "LookupIOVA", "t", iova + BUF_SIZE);

        /* HWPT */
        m = invalidate_call(f->bus, nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0, inv, sizeof(inv));
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        sd_bus_message_unref(TAKE_PTR(m));
        m = invalidate_call(f->bus, nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), inv,
                            sizeof(inv) - 1);
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        sd_bus_message_unref(TAKE_PTR(m));
        m = invalidate_call(f->bus, nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 4097, big, sizeof(big));
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        sd_bus_message_unref(TAKE_PTR(m));
        m = invalidate_call(f->bus, parent, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), inv,
                            sizeof(inv));
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        sd_bus_message_unref(TAKE_PTR(m));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, parent, I_HWPT, "SetDirtyTracking", "b", 1);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, nested, I_HWPT, "SetDirtyTracking", "b", 1);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, parent, I_HWPT, "ReadDirtyBitmap", "tttb", iova,
                   (uint64_t) BUF_SIZE, UINT64_C(3), 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, parent, I_HWPT, "ReadDirtyBitmap", "tttb", iova, UINT64_C(0),
                   (uint64_t) PAGE, 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, parent, I_HWPT, "ReadDirtyBitmap", "tttb", iova + 1,
                   (uint64_t) BUF_SIZE, (uint64_t) PAGE, 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, parent, I_HWPT, "ReadDirtyBitmap", "tttb", UINT64_C(0),
                   UINT64_C(1) << 40, (uint64_t) PAGE, 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, parent, I_HWPT, "ReadDirtyBitmap", "tttb", UINT64_MAX - PAGE + 1,
                   UINT64_C(2) * PAGE, (uint64_t) PAGE, 0);

        /* Testing */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "CheckMapping", "ottht", f->dev, iova,
                   UINT64_C(0), f->memfd, UINT64_C(0));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "CheckMapping", "ottht", idle, iova,
                   (uint64_t) PAGE, f->memfd, UINT64_C(0));
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "CheckMapping", "ottht", f->ioas, iova,
                   (uint64_t) PAGE, f->memfd, UINT64_C(0));
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_TESTING, "CheckMapping", "ottht", other_dev, iova,
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
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "TriggerEvent", "o", parent);
        sd_bus_message_unref(TAKE_PTR(m));
        /* a bitmap of 64 bits for 128 pages */
        m = new_call(f->bus, f->session, I_TESTING, "MarkDirty");
        assert_true(sd_bus_message_append(m, "ottt", parent, iova, (uint64_t) BUF_SIZE,
                                          (uint64_t) MOCK_PAGE_SIZE) >= 0);
        assert_true(sd_bus_message_append_array(m, 't', bitmap, sizeof(bitmap)) >= 0);
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        sd_bus_message_unref(TAKE_PTR(m));
        m = new_call(f->bus, f->session, I_TESTING, "MarkDirty");
        assert_true(sd_bus_message_append(m, "ottt", parent, iova, (uint64_t) BUF_SIZE, UINT64_C(0)) >= 0);
        assert_true(sd_bus_message_append_array(m, 't', bitmap, sizeof(bitmap)) >= 0);
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);

        /* Paths that are nobody's */
        CALL_FAILS(E_UNKNOWN_OBJECT, f->bus, fake, I_IOAS, "Unmap", "tt", iova, (uint64_t) PAGE);
        CALL_FAILS(E_UNKNOWN_OBJECT, f->bus, "/org/viommu1/session/_39_39", I_SESSION, "CreateIOAS", NULL);

        after = describe(f->bus);
        assert_string_equal(before, after);
        assert_int_equal(get_u32(f->bus, other, I_SESSION, "NObjects"), 2);
        /* The kernel's side is untouched too. */
        check_mapping(f->bus, f->session, f->dev, iova, BUF_SIZE, f->memfd, 0);
        for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
                check_iotlb(f->bus, f->session, nested, i, IOMMU_TEST_IOTLB_DEFAULT);

        /* A read-only fd maps readable memory. */
        assert_int_equal(map(f->bus, f->ioas, ro, 0, PAGE, iova + BUF_SIZE,
                             IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE), iova + BUF_SIZE);
        check_mapping(f->bus, f->session, f->dev, iova + BUF_SIZE, PAGE, f->memfd, 0);
        close_session(f->bus, other);
}

/* ---- limits ------------------------------------------------------------- */

static void test_limits(void **state) {
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

/* ---- owner: sessions of other uids -------------------------------------- */

static void test_owner(void **state) {
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
        /* The refusal tells the intruder nothing of the session: not even
         * whose it is. */
        assert_true(asprintf(&who, "%u", (unsigned) owner_uid) > 0);
        CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "Close", NULL);
        if (strstr(last_error, who))
                fail_msg("the refusal \"%s\" names the owner's uid", last_error);
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
static void test_owner_persistent(void **state) {
        const uid_t owner_uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534),
                    intruder_uid = env_u64("VIOMMU_TEST_CONFIG_UID", 1);
        sd_bus *owner = connect_as(owner_uid), *intruder = connect_as(intruder_uid);
        _cleanup_free_ char *s = open_session(owner, true);

        sd_bus_flush_close_unref(owner);
        assert_false(session_listed(intruder, s));
        CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "Close", NULL);
        owner = connect_as(owner_uid);
        close_session(owner, s);
        sd_bus_flush_close_unref(owner);
        sd_bus_flush_close_unref(intruder);
}

/* The project's bus policy: only root may own org.viommu1. */
static void test_bus_policy(void **state) {
        sd_bus *intruder = connect_as(env_u64("VIOMMU_TEST_CONFIG_UID", 1));

        assert_int_equal(sd_bus_request_name(intruder, BUS_NAME, 0), -EACCES);
        assert_int_equal(sd_bus_request_name(intruder, "org.viommu1.Impostor", 0), -EACCES);
        sd_bus_flush_close_unref(intruder);
}

/* ---- map-path: how guest memory reaches the kernel ---------------------- */

static void test_map_path(void **state) {
        Fixture *f = *state;
        pid_t daemon = daemon_pid(f->bus);
        _cleanup_free_ char *name = NULL, *maps_path = NULL, *maps = NULL, *needle = NULL;
        _cleanup_close_ int fd = -EBADF;
        const uint64_t iova = MOCK_APERTURE_START, size = 1 << 20;
        bool map_file = false, found = false;
        sd_bus_message *reply;
        uint64_t pinned;

        /* The daemon's probe agrees with the kernel's version. */
        reply = CALL(f->bus, MANAGER_PATH, I_MANAGER, "GetKernelFeatures", NULL);
        assert_true(sd_bus_message_enter_container(reply, 'a', "(sbss)") > 0);
        for (;;) {
                const char *feature, *interface, *since;
                int supported;

                if (sd_bus_message_read(reply, "(sbss)", &feature, &supported, &interface, &since) <= 0)
                        break;
                if (streq(feature, "ioas-map-file")) {
                        found = true;
                        map_file = supported;
                        assert_string_equal(since, "6.13");
                }
        }
        sd_bus_message_unref(reply);
        assert_true(found);
        assert_int_equal(map_file, kernel_at_least(6, 13));

        assert_true(asprintf(&name, "viommu-itest-%d", (int) getpid()) > 0);
        fd = memfd_new(name, size, 0x77);
        attach(f->bus, f->session, f->dev, f->ioas);
        pinned = pinned_kib(daemon);
        map(f->bus, f->ioas, fd, 0, size, iova, MAP_FIXED_RW);
        check_mapping(f->bus, f->session, f->dev, iova, size, fd, 0);
        assert_int_equal(pinned_kib(daemon), pinned + size / 1024);

        /* With IOMMU_IOAS_MAP_FILE the daemon never maps guest memory
         * itself; before it, it maps the memfd shared, for as long as the
         * IOAS holds it. */
        assert_true(asprintf(&maps_path, "/proc/%d/maps", (int) daemon) > 0);
        assert_true(asprintf(&needle, "/memfd:%s ", name) > 0);
        maps = read_file(maps_path);
        assert_non_null(maps);
        assert_int_equal(strstr(maps, needle) != NULL, !map_file);

        assert_int_equal(unmap(f->bus, f->ioas, iova, size), size);
        assert_int_equal(pinned_kib(daemon), pinned);
        free(maps);
        maps = read_file(maps_path);
        assert_null(strstr(maps, needle));
}

/* ---- vtd: a real device ------------------------------------------------- */

typedef struct VfioDevice {
        char bdf[32];
        char node[64];
} VfioDevice;

/* $VIOMMU_TEST_VFIO_DEVICES: "BDF=NODE BDF=NODE". */
static size_t vfio_devices(VfioDevice ret[static 2]) {
        const char *env = getenv("VIOMMU_TEST_VFIO_DEVICES");
        size_t n = 0;
        int used;

        if (!env)
                fail_msg("$VIOMMU_TEST_VFIO_DEVICES is not set: not the vtd profile?");
        while (n < 2 && sscanf(env, " %31[^=]=%63s%n", ret[n].bdf, ret[n].node, &used) == 2) {
                env += used;
                n++;
        }
        assert_int_equal(n, 2);
        return n;
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

static sd_bus_message *claim_call(sd_bus *bus, const char *session, const char *bdf, bool interactive) {
        sd_bus_message *m = new_call(bus, session, I_SESSION, "ClaimDevice");

        assert_true(sd_bus_message_append(m, "sb", bdf, 0) >= 0);
        assert_true(sd_bus_message_set_allow_interactive_authorization(m, interactive) >= 0);
        return m;
}

static char *claim(sd_bus *bus, const char *session, const char *bdf, bool interactive) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = claim_call(bus, session, bdf, interactive);

        return reply_object(SEND(bus, m), NULL);
}

static void claim_fails(const char *expect, sd_bus *bus, const char *session, const char *bdf) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = claim_call(bus, session, bdf, false);

        SEND_FAILS(expect, bus, m);
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

/* Who may claim a real device: viommud.conf allows the first to
 * VIOMMU_TEST_CONFIG_UID and the second to the members of VIOMMU_TEST_GROUP;
 * the stand-in polkit allows VIOMMU_TEST_POLKIT_UID, VIOMMU_TEST_CHALLENGE_UID
 * once it authenticated, and refuses everyone else; root needs nobody's
 * leave. */
static void test_claim(void **state) {
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

        vfio_devices(d);
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

static bool ranges_cover(sd_bus *bus, const char *ioas, uint64_t iova) {
        sd_bus_message *reply = CALL(bus, ioas, I_IOAS, "GetIOVARanges", NULL);
        uint64_t start, last;
        bool covered = false;

        assert_true(sd_bus_message_enter_container(reply, 'a', "(tt)") > 0);
        while (sd_bus_message_read(reply, "(tt)", &start, &last) > 0)
                if (start <= iova && iova <= last)
                        covered = true;
        sd_bus_message_unref(reply);
        return covered;
}

static bool reserved_region_listed(sd_bus *bus, const char *ioas, uint64_t start, uint64_t end, const char *type,
                                   const char *name) {
        sd_bus_message *reply = CALL(bus, ioas, I_IOAS, "GetReservedRegions", NULL);
        const char *t, *n;
        uint64_t s, e;
        bool found = false;

        assert_true(sd_bus_message_enter_container(reply, 'a', "(ttss)") > 0);
        while (sd_bus_message_read(reply, "(ttss)", &s, &e, &t, &n) > 0)
                if (s == start && e == end && streq(t, type) && streq(n, name))
                        found = true;
        sd_bus_message_unref(reply);
        return found;
}

/* The paging flow of a VMM with a real vfio-pci device behind an emulated
 * VT-d, as the uid viommud.conf allows the device to. */
static void test_vtd_paging(void **state) {
        VfioDevice d[2];
        sd_bus *bus = bus_open();
        Watcher *w = watcher_new();
        _cleanup_free_ char *s = NULL, *dev = NULL, *ioas = NULL, *hwpt = NULL, *str = NULL, *host = NULL;
        _cleanup_close_ int dev_fd = -EBADF, memfd = memfd_new("vtd-ram", 1 << 20, 0x42);
        const uint64_t iova = 0x100000, msi = 0xfee00000;
        struct vfio_device_info info = { .argsz = sizeof(info) };
        struct vfio_region_info config = { .argsz = sizeof(config), .index = VFIO_PCI_CONFIG_REGION_INDEX };
        struct stat st, node_st;
        uint32_t hwpt_id, type, dev_id;
        uint64_t caps, start, length, offset;
        uint8_t max_pasid;
        uint16_t vendor;
        const void *data;
        const char *p;
        size_t size;
        sd_bus_message *reply;

        vfio_devices(d);
        s = open_session(bus, false);
        host = reply_object(CALL(bus, MANAGER_PATH, I_MANAGER, "GetDevice", "s", d[0].bdf), NULL);
        str = get_string(bus, host, I_HOST_DEVICE, "Driver", "s");
        assert_string_equal(str, "vfio-pci");
        free(TAKE_PTR(str));

        /* Claimed and bound by the daemon; the VMM gets the device fd; a
         * watcher on the bus sees the session grow. */
        watcher_reset(w);
        reply = CALL(bus, s, I_SESSION, "ClaimDevice", "sb", d[0].bdf, 1);
        assert_true(sd_bus_message_read(reply, "ou", &p, &dev_id) > 0);
        dev = strdup(p);
        assert_non_null(dev);
        assert_true(sd_bus_message_enter_container(reply, 'a', "(h)") > 0);
        assert_true(sd_bus_message_enter_container(reply, 'r', "h") > 0);
        dev_fd = read_fd(reply);
        sd_bus_message_unref(reply);
        assert_changed(w, s, I_SESSION, "NObjects", "1");
        assert_true(dev_id > 0);
        str = get_string(bus, dev, I_DEVICE, "Name", "s");
        assert_string_equal(str, d[0].bdf);
        free(TAKE_PTR(str));
        assert_false(get_bool(bus, dev, I_DEVICE, "Mock"));
        assert_true(get_bool(bus, dev, I_DEVICE, "Bound"));
        CALL_FAILS(E_BUSY, bus, s, I_SESSION, "ClaimDevice", "sb", d[0].bdf, 0);

        /* It is that device's cdev, and it works for the VMM: the kernel
         * answers VFIO ioctls on it and reads its config space. */
        assert_int_equal(fstat(dev_fd, &st), 0);
        assert_int_equal(stat(d[0].node, &node_st), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, node_st.st_rdev);
        assert_int_equal(ioctl(dev_fd, VFIO_DEVICE_GET_INFO, &info), 0);
        assert_true(info.flags & VFIO_DEVICE_FLAGS_PCI);
        assert_true(info.num_regions > VFIO_PCI_CONFIG_REGION_INDEX);
        assert_int_equal(ioctl(dev_fd, VFIO_DEVICE_GET_REGION_INFO, &config), 0);
        assert_int_equal(pread(dev_fd, &vendor, sizeof(vendor), config.offset), sizeof(vendor));
        assert_int_equal(vendor, get_i32(bus, host, I_HOST_DEVICE, "VendorId"));

        /* Attached to an IOAS, the device's reserved regions leave it. */
        ioas = create_ioas(bus, s, NULL);
        assert_true(ranges_cover(bus, ioas, msi));
        attach(bus, s, dev, ioas);
        assert_false(ranges_cover(bus, ioas, msi));
        assert_true(reserved_region_listed(bus, ioas, msi, 0xfeefffff, "msi", d[0].bdf));

        assert_int_equal(map(bus, ioas, memfd, 0, 1 << 20, iova, MAP_FIXED_RW), iova);
        reply_take(CALL(bus, ioas, I_IOAS, "LookupIOVA", "t", iova + PAGE), "tttu", &start, &length, &offset,
                   &type);
        assert_int_equal(start, iova);
        assert_int_equal(length, 1 << 20);
        /* The kernel refuses IOVAs the device reserves with EINVAL. */
        CALL_FAILS(E_KERNEL, bus, ioas, I_IOAS, "Map", "htttu", memfd, UINT64_C(0), (uint64_t) PAGE, msi,
                   MAP_FIXED_RW);
        assert_error_mentions("EINVAL");

        /* A paging HWPT of its own: VT-d's hardware information. */
        hwpt = alloc_hwpt(bus, s, dev, ioas, NULL, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &hwpt_id);
        reply = CALL(bus, hwpt, I_HWPT, "GetHWInfo", NULL);
        assert_true(sd_bus_message_read(reply, "uty", &type, &caps, &max_pasid) > 0);
        assert_true(sd_bus_message_read_array(reply, 'y', &data, &size) >= 0);
        assert_int_equal(type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
        assert_true(size >= sizeof(struct iommu_hw_info_vtd));
        assert_true(((const struct iommu_hw_info_vtd *) data)->cap_reg != 0);
        sd_bus_message_unref(reply);
        assert_int_equal(attach(bus, s, dev, hwpt), hwpt_id);
        str = get_string(bus, dev, I_DEVICE, "Attached", "o");
        assert_string_equal(str, hwpt);
        free(TAKE_PTR(str));
        assert_true(reserved_region_listed(bus, ioas, msi, 0xfeefffff, "msi", d[0].bdf));

        /* QEMU's VT-d offers no nesting. */
        alloc_hwpt_fails(E_NOT_SUPPORTED, bus, s, dev, ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                         IOMMU_HWPT_DATA_NONE, NULL, 0);
        CALL_FAILS(E_INVALID_ARGUMENT, bus, s, I_SESSION, "CreateMockDevice", "u", 1u << 7);

        /* Teardown in order. */
        CALL_FAILS(E_BUSY, bus, s, I_SESSION, "Destroy", "o", hwpt);
        CALL_FAILS(E_BUSY, bus, s, I_SESSION, "ReleaseDevice", "o", dev);
        CALL_OK(bus, s, I_SESSION, "Detach", "o", dev);
        destroy(bus, s, hwpt);
        assert_int_equal(unmap(bus, ioas, 0, UINT64_MAX), 1 << 20);
        destroy(bus, s, ioas);
        watcher_reset(w);
        CALL_OK(bus, s, I_SESSION, "ReleaseDevice", "o", dev);
        assert_changed(w, s, I_SESSION, "NObjects", "0");
        assert_int_equal(get_u32(bus, s, I_SESSION, "NObjects"), 0);
        close_session(bus, s);
        free(TAKE_PTR(s));

        /* The VMM still holds the device open: nobody else can bind it until
         * it lets go. */
        s = open_session(bus, false);
        CALL_FAILS(E_BUSY, bus, s, I_SESSION, "ClaimDevice", "sb", d[0].bdf, 0);
        dev_fd = (close(dev_fd), -EBADF);
        free(TAKE_PTR(dev));
        dev = reply_object(CALL(bus, s, I_SESSION, "ClaimDevice", "sb", d[0].bdf, 0), NULL);
        close_session(bus, s);
        sd_bus_flush_close_unref(bus);
        watcher_free(w);
}

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
static void test_record(void **state) {
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
        assert_int_equal(json_object_array_length(json_array(record_object(rec, f->ioas), "mappings")), 2);
        assert_int_equal(json_object_array_length(json_array(record_object(rec, ioas2), "mappings")), 1);
        o = record_object(rec, f->dev);
        assert_string_equal(json_string(o, "attached"), nested);
        o = record_object(rec, nested);
        assert_int_equal(json_object_array_length(json_array(o, "uses")), 3);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(json_array(o, "uses"), 0)), parent);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(json_array(o, "uses"), 1)), f->dev);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(json_array(o, "uses"), 2)), fq);
        /* Without IOAS_MAP_FILE the daemon maps the memfds itself; the two
         * IOASes share the first one's. */
        assert_int_equal(json_object_array_length(json_array(rec, "backings")), kernel_at_least(6, 13) ? 0 : 2);
        json_object_put(rec);

        /* The copy the daemon read back and dropped let go of nothing. */
        check_mapping(f->bus, f->session, f->dev, iova, BUF_SIZE, f->memfd, 0);
        assert_int_equal(get_u32(f->bus, ioas2, I_IOAS, "Mappings"), 1);
}

/* ---- restart: sessions outlive the daemon -------------------------------- */

/* A session as Describe shows it, as text; NULL when Describe has none. */
static char *describe_session(sd_bus *bus, const char *session) {
        _cleanup_free_ char *text = describe(bus);
        struct json_object *j = json_tokener_parse(text), *sessions;
        char *found = NULL;

        assert_non_null(j);
        sessions = json_array(j, "sessions");
        for (size_t i = 0; i < json_object_array_length(sessions); i++)
                if (streq_ptr(json_string(json_object_array_get_idx(sessions, i), "path"), session)) {
                        found = strdup(json_object_to_json_string_ext(json_object_array_get_idx(sessions, i),
                                                                      JSON_C_TO_STRING_PLAIN));
                        assert_non_null(found);
                }
        json_object_put(j);
        return found;
}

/* Restarts viommud the way systemctl restart does, through the stand-in
 * fd store (fdstore-harness, pid in $VIOMMU_TEST_HARNESS_PID), and waits
 * for the new run to own the name. */
static void restart_daemon(sd_bus *bus) {
        pid_t harness = env_u64("VIOMMU_TEST_HARNESS_PID", 0), before = daemon_pid(bus), after = before;
        uint64_t end = now_usec() + 30 * 1000000ULL;

        if (harness <= 0)
                fail_msg("$VIOMMU_TEST_HARNESS_PID is not set: run the restart group under fdstore-harness");
        assert_int_equal(kill(harness, SIGUSR1), 0);
        while (after == before || after <= 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                uint32_t pid;

                if (now_usec() > end)
                        fail_msg("viommud did not come back within 30 s of the restart");
                (void) usleep(100 * 1000);
                if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixProcessID", &error, &reply, "s",
                                       BUS_NAME) < 0)
                        continue;
                if (sd_bus_message_read(reply, "u", &pid) > 0)
                        after = pid;
                sd_bus_message_unref(reply);
        }
}

/*
 * A VMM's sessions across a daemon restart: the owner's session and a
 * persistent one come back with every object, the kernel never stopped
 * translating (the mapping is in the mock domain throughout) and both work
 * afterwards; a session whose owner left meanwhile is gone.
 */
static void test_restart(void **state) {
        const uint64_t iova = MOCK_APERTURE_START;
        sd_bus *bus = bus_open(), *leaving = bus_open();
        _cleanup_close_ int memfd = memfd_new("guest-ram", BUF_SIZE, 0x3c), fault_fd = -EBADF;
        _cleanup_free_ char *s = NULL, *p = NULL, *gone = NULL, *dev = NULL, *ioas = NULL, *parent = NULL,
                            *fq = NULL, *nested = NULL, *before = NULL, *after = NULL, *p_before = NULL,
                            *p_after = NULL, *err = NULL, *pdev = NULL, *pioas = NULL, *rdev = NULL, *rioas = NULL;
        struct iommu_hwpt_invalidate_selftest inv = { .iotlb_id = 1 };
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
                vfio_devices(d);
                rdev = claim(bus, p, d[0].bdf, false);
                rioas = create_ioas(bus, p, NULL);
                assert_int_equal(map(bus, rioas, memfd, 0, BUF_SIZE, 0x100000, MAP_FIXED_RW), 0x100000);
                attach(bus, p, rdev, rioas);
        }

        gone = open_session(leaving, false);
        before = describe_session(bus, s);
        p_before = describe_session(bus, p);

        restart_daemon(bus);
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
        assert_int_equal(unmap(bus, pioas, 0, UINT64_MAX), BUF_SIZE);
        check_no_mapping(bus, p, pdev, iova, PAGE, memfd, 0);

        /* A second restart passes over what the first took over. */
        restart_daemon(bus);
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
        sd_bus_flush_close_unref(bus);
}

/* ---- claim-unit: viommud.conf's "units" rules ---------------------------- */

/* The child side of unit_claim(): joins cgroup (if any), becomes uid for
 * good, claims bdf in a fresh session and reports "UNIQUE RESULT", RESULT
 * being "ok" or the error's name. No cmocka here, as in vmm_main(). */
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
static void test_claim_unit(void **state) {
        const uid_t uid = env_u64("VIOMMU_TEST_UNIT_UID", 6);
        const char *template = getenv("VIOMMU_TEST_UNIT_TEMPLATE");
        _cleanup_free_ char *instance = NULL, *in_unit = NULL, *in_other = NULL, *in_none = NULL, *other = NULL,
                            *answer = NULL;
        char unique[128], result[128];
        VfioDevice d[2];

        if (!template || !strstr(template, "@."))
                fail_msg("$VIOMMU_TEST_UNIT_TEMPLATE is not a template unit name: %s", template ?: "(unset)");
        vfio_devices(d);
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

/* ---- delegated: the VMM drives the iommufd itself ----------------------- */

static void test_delegated(void **state) {
        sd_bus *bus = bus_open();
        _cleanup_free_ char *s = NULL, *ioas = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct iommu_option option = {
                .size = sizeof(option),
                .option_id = IOMMU_OPTION_RLIMIT_MODE,
                .op = IOMMU_OPTION_OP_GET,
        };
        struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
        struct stat st, dev;
        sd_bus_message *reply;

        s = reply_object(CALL(bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 1, "Delegated", "b", 1), NULL);
        assert_true(get_bool(bus, s, I_SESSION, "Delegated"));
        reply = CALL(bus, s, I_SESSION, "ExportIommufd", NULL);
        fd = read_fd(reply);
        sd_bus_message_unref(reply);

        /* It is an iommufd, accounting pinned pages to the process that
         * pins them (the VMM), as the daemon set it before handing it out. */
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(stat("/dev/iommu", &dev), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, dev.st_rdev);
        assert_int_equal(ioctl(fd, IOMMU_OPTION, &option), 0);
        assert_int_equal(option.val64, 1);
        /* and the VMM, unprivileged as it may be, drives it. */
        assert_int_equal(ioctl(fd, IOMMU_IOAS_ALLOC, &alloc), 0);
        assert_true(alloc.out_ioas_id > 0);

        /* The daemon's own objects live in the same iommufd. */
        ioas = create_ioas(bus, s, NULL);
        assert_int_equal(get_u32(bus, ioas, I_OBJECT, "Id"), alloc.out_ioas_id + 1);
        /* A plain session hands out nothing. */
        {
                _cleanup_free_ char *plain = open_session(bus, false);

                CALL_FAILS(E_INVALID_ARGUMENT, bus, plain, I_SESSION, "ExportIommufd", NULL);
                close_session(bus, plain);
        }
        CALL_FAILS(E_INVALID_ARGUMENT, bus, s, I_SESSION, "ExportDevice", "o", ioas);
        close_session(bus, s);
        sd_bus_flush_close_unref(bus);
}

/* Owner first: whatever the arguments, a stranger's call fails NotOwner
 * before anything about the session's objects is looked at, so the error
 * cannot tell what the session holds. */
static void test_owner_first(void **state) {
        const uid_t owner_uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534),
                    intruder_uid = env_u64("VIOMMU_TEST_CONFIG_UID", 1);
        sd_bus *owner = connect_as(owner_uid), *intruder = connect_as(intruder_uid);
        _cleanup_free_ char *s = NULL, *ioas = NULL, *dev = NULL, *hwpt = NULL, *missing = NULL;

        s = open_session(owner, false);
        ioas = create_ioas(owner, s, NULL);
        assert_true(asprintf(&missing, "%s/ioas/_3999", s) > 0);
        /* Each of these fails for the owner in a way that names the
         * session's state; for the intruder it must not get that far. */
        CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "ExportIommufd", NULL);
        CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "Destroy", "o", missing);
        CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "ClaimDevice", "sb", "no-such-device", 0);
        CALL_FAILS(E_NOT_OWNER, intruder, ioas, I_IOAS, "Copy", "otttu", missing, UINT64_C(0), (uint64_t) PAGE,
                   UINT64_C(0), (uint32_t) IOMMU_IOAS_MAP_READABLE);
        if (mock_devices_work()) {
                dev = create_mock(owner, s, 0, NULL);
                attach(owner, s, dev, ioas);
                hwpt = alloc_hwpt(owner, s, dev, ioas, NULL, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
                CALL_FAILS(E_INVALID_ARGUMENT, owner, s, I_SESSION, "ExportDevice", "o", dev);
                CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "ExportDevice", "o", dev);
                CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "DetachPasid", "ou", dev, (uint32_t) 1);
                CALL_FAILS(E_NOT_OWNER, intruder, s, I_SESSION, "AttachPasid", "ouo", dev, (uint32_t) 0, hwpt);
                CALL_FAILS(E_INVALID_ARGUMENT, owner, hwpt, I_HWPT, "SetDirtyTracking", "b", 1);
                CALL_FAILS(E_NOT_OWNER, intruder, hwpt, I_HWPT, "SetDirtyTracking", "b", 1);
                CALL_FAILS(E_NOT_OWNER, intruder, hwpt, I_HWPT, "ReadDirtyBitmap", "tttb", UINT64_C(0),
                           (uint64_t) PAGE, (uint64_t) PAGE, 0);
                CALL_FAILS(E_NOT_OWNER, intruder, hwpt, I_HWPT, "Invalidate", "uuay", UINT32_C(0), UINT32_C(0),
                           0);
                CALL_FAILS(E_NOT_OWNER, intruder, s, I_TESTING, "CheckPasid", "ouo", missing, (uint32_t) 1, "/");
                if (strstr(last_error, "mock") || strstr(last_error, s))
                        fail_msg("the refusal \"%s\" names what the session holds", last_error);
        }
        close_session(owner, s);
        sd_bus_flush_close_unref(owner);
        sd_bus_flush_close_unref(intruder);
}

/* Guest memory sealed against writing is never mapped writeable: the
 * kernel's IOMMU_IOAS_MAP_FILE does not look at seals, the daemon must. */
static void test_map_sealed(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        static const int seals[] = { F_SEAL_WRITE, F_SEAL_FUTURE_WRITE };

        for (size_t i = 0; i < ELEMENTSOF(seals); i++) {
                _cleanup_close_ int fd = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
                uint8_t page[PAGE];

                assert_true(fd >= 0);
                memset(page, 0x77, sizeof(page));
                assert_int_equal(pwrite(fd, page, sizeof(page), 0), PAGE);
                assert_int_equal(fcntl(fd, F_ADD_SEALS, seals[i] | F_SEAL_SHRINK), 0);
                CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Map", "htttu", fd, UINT64_C(0),
                           (uint64_t) PAGE, iova, MAP_FIXED_RW);
                assert_error_mentions("sealed");
                assert_int_equal(get_u32(f->bus, f->ioas, I_IOAS, "Mappings"), 0);
                /* Read-only it may be mapped, and the device sees it. */
                map(f->bus, f->ioas, fd, 0, PAGE, iova, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE);
                if (f->dev) {
                        attach(f->bus, f->session, f->dev, f->ioas);
                        check_mapping(f->bus, f->session, f->dev, iova, PAGE, fd, 0);
                }
                assert_int_equal(unmap(f->bus, f->ioas, iova, PAGE), PAGE);
        }
}

/* Arrays longer than a method takes are refused before they are read, and
 * options are given once. */
static void test_oversized_and_repeated(void **state) {
        Fixture *f = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        const size_t n_ranges = 100000;

        before = describe(f->bus);
        m = new_call(f->bus, f->ioas, I_IOAS, "AllowIOVAs");
        assert_true(sd_bus_message_open_container(m, 'a', "(tt)") >= 0);
        for (size_t i = 0; i < n_ranges; i++)
                assert_true(sd_bus_message_append(m, "(tt)", (uint64_t) i * 2 * PAGE,
                                                  (uint64_t) i * 2 * PAGE + PAGE - 1) >= 0);
        assert_true(sd_bus_message_close_container(m) >= 0);
        SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        assert_error_mentions("At most 4096 ranges");

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 2,
                   "Persistent", "b", 1, "Persistent", "b", 0);
        assert_error_mentions("twice");
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 3,
                   "Persistent", "b", 1, "Delegated", "b", 0, "Persistent", "b", 0);
        assert_error_mentions("At most 2");
        after = describe(f->bus);
        assert_string_equal(before, after);
}

/* IOAS.Copy checks what Map checks, before the kernel sees it. */
static void test_copy_refuses(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_free_ char *dst = create_ioas(f->bus, f->session, NULL), *before = NULL, *after = NULL;

        map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW);
        before = describe(f->bus);
        /* unaligned source, length, fixed destination; wrapping ranges */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, dst, I_IOAS, "Copy", "otttu", f->ioas, iova + 1, (uint64_t) PAGE,
                   iova, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, dst, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) PAGE + 1,
                   iova, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, dst, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) PAGE,
                   iova + 1, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, dst, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) 2 * PAGE,
                   UINT64_MAX - PAGE + 1, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, dst, I_IOAS, "Copy", "otttu", f->ioas, UINT64_MAX - PAGE + 1,
                   (uint64_t) 2 * PAGE, iova, MAP_FIXED_RW);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, dst, I_IOAS, "Copy", "otttu", f->ioas, iova, (uint64_t) PAGE,
                   iova, (uint32_t) IOMMU_IOAS_MAP_FIXED_IOVA);
        after = describe(f->bus);
        assert_string_equal(before, after);
}

/* One client's call that waits on polkit, which never answers it
 * (VIOMMU_TEST_SILENT_UID), holds up nobody else: meanwhile another client's
 * Map and Invalidate are answered at once, and the claim is still waiting. */
static void test_slow_caller(void **state) {
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

        vfio_devices(d);
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

/* ---- main --------------------------------------------------------------- */

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

static int run_group(const char *group) {
        _cleanup_free_ char *title = NULL;
        int r;

        assert_true(asprintf(&title, "daemon-%s (uid %u, Linux %d.%d, %s)", group, (unsigned) geteuid(),
                             kernel_version() / 1000, kernel_version() % 1000, profile()) > 0);
        /* cmocka's own summary does not name the group. */
        printf("-- %s\n", title);
        fflush(stdout);
        if (streq(group, "mock")) {
                const struct CMUnitTest tests[] = {
                        T(test_session), T(test_map), T(test_allow_iovas), T(test_nested), T(test_fault_queue),
                        T(test_dirty_tracking), T(test_no_dirty_device), T(test_properties_changed), T(test_record),
                };
                r = _cmocka_run_group_tests(title, tests, ELEMENTSOF(tests), NULL, NULL);
        } else if (streq(group, "viommu")) {
                const struct CMUnitTest tests[] = { T(test_viommu), T(test_pasid) };
                r = _cmocka_run_group_tests(title, tests, ELEMENTSOF(tests), NULL, NULL);
        } else if (streq(group, "channel")) {
                const struct CMUnitTest tests[] = { T(test_channel) };
                r = _cmocka_run_group_tests(title, tests, ELEMENTSOF(tests), NULL, NULL);
        } else if (streq(group, "disconnect")) {
                const struct CMUnitTest tests[] = {
                        cmocka_unit_test_teardown(test_disconnect, vmm_teardown),
                        cmocka_unit_test_teardown(test_disconnect_persistent, vmm_teardown),
                };
                r = _cmocka_run_group_tests(title, tests, ELEMENTSOF(tests), NULL, NULL);
        } else if (streq(group, "bad-input")) {
                const struct CMUnitTest tests[] = {
                        T(test_wrong_types), T(test_bad_values), T(test_map_sealed), T(test_oversized_and_repeated),
                        T(test_copy_refuses),
                };
                r = _cmocka_run_group_tests(title, tests, ELEMENTSOF(tests), NULL, NULL);
        } else if (streq(group, "delegated")) {
                const struct CMUnitTest tests[] = { cmocka_unit_test(test_delegated) };
                r = _cmocka_run_group_tests(title, tests, ELEMENTSOF(tests), NULL, NULL);
        } else if (streq(group, "limits")) {
                const struct CMUnitTest tests[] = { T(test_limits) };
                r = _cmocka_run_group_tests(title, tests, ELEMENTSOF(tests), NULL, NULL);
        } else if (streq(group, "owner")) {
                const struct CMUnitTest tests[] = {
                        cmocka_unit_test(test_owner), cmocka_unit_test(test_owner_persistent),
                        cmocka_unit_test(test_owner_first), cmocka_unit_test(test_bus_policy),
                };
                r = _cmocka_run_group_tests(title, tests, ELEMENTSOF(tests), NULL, NULL);
        } else if (streq(group, "map-path")) {
                const struct CMUnitTest tests[] = { T(test_map_path) };
                r = _cmocka_run_group_tests(title, tests, ELEMENTSOF(tests), NULL, NULL);
        } else if (streq(group, "claim")) {
                const struct CMUnitTest tests[] = {
                        cmocka_unit_test(test_claim), cmocka_unit_test(test_claim_unit),
                        cmocka_unit_test(test_slow_caller),
                };
                r = _cmocka_run_group_tests(title, tests, ELEMENTSOF(tests), NULL, NULL);
        } else if (streq(group, "restart")) {
                const struct CMUnitTest tests[] = { cmocka_unit_test(test_restart) };
                r = _cmocka_run_group_tests(title, tests, ELEMENTSOF(tests), NULL, NULL);
        } else if (streq(group, "vtd")) {
                const struct CMUnitTest tests[] = { cmocka_unit_test(test_vtd_paging) };
                r = _cmocka_run_group_tests(title, tests, ELEMENTSOF(tests), NULL, NULL);
        } else {
                fprintf(stderr, "test-daemon: unknown group '%s'\n", group);
                return 1;
        }
        return r;
}

int main(int argc, char *argv[]) {
        int failed = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: test-daemon GROUP... (see the top of test-daemon.c)\n");
                return 2;
        }
        /* A VMM that goes away mid-call must not take the test with it. */
        signal(SIGPIPE, SIG_IGN);
        for (int i = 1; i < argc; i++)
                failed += run_group(argv[i]);
        return failed > 0;
}
