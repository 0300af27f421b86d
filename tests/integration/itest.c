/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The integration tests' shared fixture and call helpers (itest.h).
 */

#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* ---- the environment ---------------------------------------------------- */

int kernel_version(void) {
        struct utsname u;
        int major = 0, minor = 0;

        assert_int_equal(uname(&u), 0);
        assert_int_equal(sscanf(u.release, "%d.%d", &major, &minor), 2);
        return major * 1000 + minor;
}

bool kernel_at_least(int major, int minor) {
        return kernel_version() >= major * 1000 + minor;
}

const char *profile(void) {
        return getenv("VIOMMU_TEST_PROFILE") ?: "mock";
}

bool mock_devices_work(void) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (kernel_at_least(7, 0))
                return true;
        d = opendir("/sys/class/iommu");
        while (d && (de = readdir(d)))
                if (startswith(de->d_name, "dmar"))
                        return false;
        return true;
}

uint64_t env_u64(const char *name, uint64_t fallback) {
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

uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *read_file(const char *path) {
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

const char *call_destination;

static const char *destination(sd_bus *bus) {
        /* A direct channel has no bus daemon and no names. */
        return sd_bus_is_bus_client(bus) > 0 ? call_destination ?: BUS_NAME : NULL;
}

sd_bus *bus_open(void) {
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

sd_bus *connect_as_ids(uid_t uid, gid_t gid) {
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

sd_bus *connect_as(uid_t uid) {
        struct passwd *pw;

        if (uid == geteuid())
                return bus_open();
        pw = getpwuid(uid);
        return connect_as_ids(uid, pw ? pw->pw_gid : (gid_t) uid);
}

char last_error[2048];

sd_bus_message *call_msg(const char *file, int line, sd_bus *bus, sd_bus_message *m, const char *expect) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *member, *path;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call(bus, m, 0, &error, &reply);
        /* Sealing the message for sending may move its header fields. */
        member = sd_bus_message_get_member(m);
        path = sd_bus_message_get_path(m);
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

sd_bus_message *new_call(sd_bus *bus, const char *path, const char *iface, const char *member) {
        sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_method_call(bus, &m, destination(bus), path, iface, member), 0);
        return m;
}

sd_bus_message *call_at(const char *file, int line, const char *expect, sd_bus *bus, const char *path,
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

void reply_take(sd_bus_message *reply, const char *types, ...) {
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

char *reply_object(sd_bus_message *reply, uint32_t *ret_id) {
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

int read_fd(sd_bus_message *reply) {
        int fd, copy;

        assert_true(sd_bus_message_read(reply, "h", &fd) > 0);
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        assert_true(copy >= 0);
        return copy;
}

char *reply_object_fd(sd_bus_message *reply, uint32_t *ret_id, int *ret_fd) {
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

sd_bus_message *get_property(sd_bus *bus, const char *path, const char *iface, const char *name,
                             const char *type) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_get_property(bus, destination(bus), path, iface, name, &error, &reply, type);
        if (r < 0)
                fail_msg("cannot read %s.%s of %s: %s", iface, name, path, error.message ?: strerror(-r));
        return reply;
}

uint32_t get_u32(sd_bus *bus, const char *path, const char *iface, const char *name) {
        uint32_t v;

        reply_take(get_property(bus, path, iface, name, "u"), "u", &v);
        return v;
}

uint64_t get_u64(sd_bus *bus, const char *path, const char *iface, const char *name) {
        uint64_t v;

        reply_take(get_property(bus, path, iface, name, "t"), "t", &v);
        return v;
}

bool get_bool(sd_bus *bus, const char *path, const char *iface, const char *name) {
        int v;

        reply_take(get_property(bus, path, iface, name, "b"), "b", &v);
        return v;
}

char *get_string(sd_bus *bus, const char *path, const char *iface, const char *name, const char *type) {
        sd_bus_message *reply = get_property(bus, path, iface, name, type);
        const char *v;
        char *s;

        assert_true(sd_bus_message_read_basic(reply, type[0], &v) > 0);
        s = strdup(v);
        assert_non_null(s);
        sd_bus_message_unref(reply);
        return s;
}

size_t strv_length(char **l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

int32_t get_i32(sd_bus *bus, const char *path, const char *iface, const char *name) {
        int32_t v;

        reply_take(get_property(bus, path, iface, name, "i"), "i", &v);
        return v;
}

char **get_strv(sd_bus *bus, const char *path, const char *iface, const char *name, const char *type) {
        sd_bus_message *reply = get_property(bus, path, iface, name, type);
        char **l = NULL;

        assert_true(sd_bus_message_read_strv(reply, &l) >= 0);
        sd_bus_message_unref(reply);
        return l;
}

char **sessions(sd_bus *bus) {
        return get_strv(bus, MANAGER_PATH, I_MANAGER, "Sessions", "ao");
}

bool session_listed(sd_bus *bus, const char *session) {
        char **l = sessions(bus);
        bool found = strv_contains(l, session);

        strv_free(l);
        return found;
}

bool session_unlisted_soon(sd_bus *bus, const char *session) {
        for (int i = 0; i < 100; i++) {
                if (!session_listed(bus, session))
                        return true;
                (void) usleep(100 * 1000);
        }
        return false;
}

/* ---- Describe ----------------------------------------------------------- */

char *describe(sd_bus *bus) {
        const char *json;
        char *s;
        sd_bus_message *reply = CALL(bus, MANAGER_PATH, I_MANAGER, "Describe", NULL);

        assert_true(sd_bus_message_read(reply, "s", &json) > 0);
        s = strdup(json);
        assert_non_null(s);
        sd_bus_message_unref(reply);
        return s;
}

bool describe_mentions(const char *json, const char *path) {
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

struct json_object *json_array(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
                fail_msg("Describe has no \"%s\" array where expected", key);
        return v;
}

const char *json_string(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

char *describe_session(sd_bus *bus, const char *session) {
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

/* ---- the API, one helper per common call -------------------------------- */

char *open_session(sd_bus *bus, bool persistent) {
        if (persistent)
                return reply_object(CALL(bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 1,
                                         "Persistent", "b", 1), NULL);
        return reply_object(CALL(bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 0), NULL);
}

void close_session(sd_bus *bus, const char *session) {
        CALL_OK(bus, session, I_SESSION, "Close", NULL);
        assert_false(session_listed(bus, session));
}

char *create_ioas(sd_bus *bus, const char *session, uint32_t *ret_id) {
        return reply_object(CALL(bus, session, I_SESSION, "CreateIOAS", NULL), ret_id);
}

char *create_mock(sd_bus *bus, const char *session, uint32_t flags, uint32_t *ret_id) {
        return reply_object(CALL(bus, session, I_SESSION, "CreateMockDevice", "u", flags), ret_id);
}

uint64_t map(sd_bus *bus, const char *ioas, int fd, uint64_t offset, uint64_t length, uint64_t iova,
             uint32_t flags) {
        uint64_t ret;

        reply_take(CALL(bus, ioas, I_IOAS, "Map", "htttu", fd, offset, length, iova, flags), "t", &ret);
        return ret;
}

uint64_t unmap(sd_bus *bus, const char *ioas, uint64_t iova, uint64_t length) {
        uint64_t ret;

        reply_take(CALL(bus, ioas, I_IOAS, "Unmap", "tt", iova, length), "t", &ret);
        return ret;
}

uint32_t attach(sd_bus *bus, const char *session, const char *dev, const char *pt) {
        uint32_t id;

        reply_take(CALL(bus, session, I_SESSION, "Attach", "oo", dev, pt), "u", &id);
        return id;
}

sd_bus_message *alloc_hwpt_call(sd_bus *bus, const char *session, const char *dev, const char *parent,
                                const char *fault_queue, uint32_t flags, uint32_t data_type,
                                const void *data, size_t size) {
        sd_bus_message *m = new_call(bus, session, I_SESSION, "AllocHWPT");

        assert_true(sd_bus_message_append(m, "ooouu", dev, parent, fault_queue ?: "/", flags, data_type) >= 0);
        assert_true(sd_bus_message_append_array(m, 'y', data, size) >= 0);
        return m;
}

char *alloc_hwpt(sd_bus *bus, const char *session, const char *dev, const char *parent,
                 const char *fault_queue, uint32_t flags, uint32_t data_type, const void *data, size_t size,
                 uint32_t *ret_id) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                alloc_hwpt_call(bus, session, dev, parent, fault_queue, flags, data_type, data, size);

        return reply_object(SEND(bus, m), ret_id);
}

void alloc_hwpt_fails(const char *expect, sd_bus *bus, const char *session, const char *dev,
                      const char *parent, const char *fault_queue, uint32_t flags, uint32_t data_type,
                      const void *data, size_t size) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                alloc_hwpt_call(bus, session, dev, parent, fault_queue, flags, data_type, data, size);

        SEND_FAILS(expect, bus, m);
}

const struct iommu_hwpt_selftest mock_s1 = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };

char *alloc_nested(sd_bus *bus, const char *session, const char *dev, const char *parent,
                   const char *fault_queue, uint32_t flags, uint32_t *ret_id) {
        return alloc_hwpt(bus, session, dev, parent, fault_queue, flags, IOMMU_HWPT_DATA_SELFTEST,
                          &mock_s1, MOCK_HWPT_DATA_LEN, ret_id);
}

void destroy(sd_bus *bus, const char *session, const char *object) {
        CALL_OK(bus, session, I_SESSION, "Destroy", "o", object);
}

sd_bus_message *invalidate_call(sd_bus *bus, const char *path, const char *iface, uint32_t data_type,
                                uint32_t entry_len, const void *entries, size_t size) {
        sd_bus_message *m = new_call(bus, path, iface, "Invalidate");

        assert_true(sd_bus_message_append(m, "uu", data_type, entry_len) >= 0);
        assert_true(sd_bus_message_append_array(m, 'y', entries, size) >= 0);
        return m;
}

uint32_t invalidate(sd_bus *bus, const char *path, const char *iface, uint32_t data_type,
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

void pump(sd_bus *bus, uint64_t usec, const bool *flag) {
        uint64_t end = now_usec() + usec;

        while (!(flag && *flag) && now_usec() < end) {
                int r = sd_bus_process(bus, NULL);

                assert_true(r >= 0);
                if (r == 0)
                        assert_true(sd_bus_wait(bus, end - now_usec()) >= 0);
        }
}

sd_bus *channel_open(sd_bus *bus, const char *session) {
        int fd = channel_fd(bus, session, "OpenDirectChannel");
        sd_bus *ch = NULL;

        assert_int_equal(sd_bus_new(&ch), 0);
        assert_int_equal(sd_bus_set_fd(ch, fd, fd), 0);
        assert_int_equal(sd_bus_set_anonymous(ch, true), 0);
        assert_int_equal(sd_bus_negotiate_fds(ch, true), 0);
        assert_int_equal(sd_bus_set_method_call_timeout(ch, CALL_TIMEOUT_USEC), 0);
        assert_int_equal(sd_bus_start(ch), 0);
        return ch;
}

int channel_fd(sd_bus *bus, const char *session, const char *method) {
        sd_bus_message *reply = CALL(bus, session, I_SESSION, method, NULL);
        int fd = read_fd(reply);

        sd_bus_message_unref(reply);
        return fd;
}

int frame_open(sd_bus *bus, const char *session) {
        return channel_fd(bus, session, "OpenFrameChannel");
}

void frame_send_fds(int fd, uint32_t op, uint32_t object, uint64_t cookie, const void *args, size_t size,
                    const int *fds, size_t n_fds) {
        struct viommu_frame_request req = { .cookie = cookie, .op = op, .object = object };
        struct iovec iov[] = { { &req, sizeof(req) }, { (void *) args, size } };
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 16)];
        } control = {};
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size > 0 ? 2 : 1 };

        assert_true(n_fds <= 16);
        if (n_fds > 0) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                control.h.cmsg_level = SOL_SOCKET;
                control.h.cmsg_type = SCM_RIGHTS;
                control.h.cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(&control.h), fds, sizeof(int) * n_fds);
        }
        assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t) (sizeof(req) + size));
}

void frame_send(int fd, uint32_t op, uint32_t object, uint64_t cookie, const void *args, size_t size) {
        frame_send_fds(fd, op, object, cookie, args, size, NULL, 0);
}

void frame_recv(int fd, FrameReply *ret) {
        uint8_t buf[sizeof(ret->h) + sizeof(ret->payload)];
        size_t n_payload;
        ssize_t n;

        *ret = (FrameReply) {};
        n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
        assert_true(n >= (ssize_t) sizeof(ret->h));
        assert_true(n <= (ssize_t) sizeof(buf));
        memcpy(&ret->h, buf, sizeof(ret->h));
        ret->size = n;
        n_payload = n - sizeof(ret->h);
        memcpy(ret->payload, buf + sizeof(ret->h), n_payload);
        if (ret->h.error) {
                assert_true(n_payload > 0 && ret->payload[n_payload - 1] == 0);
                ret->message = (const char *) ret->payload + strlen((const char *) ret->payload) + 1;
                assert_true(ret->message < (const char *) ret->payload + n_payload);
        }
}

void frame_call_fds(int fd, uint32_t op, uint32_t object, const void *args, size_t size, const int *fds,
                    size_t n_fds, FrameReply *ret) {
        static uint64_t cookie = 0x1000;

        frame_send_fds(fd, op, object, ++cookie, args, size, fds, n_fds);
        frame_recv(fd, ret);
        assert_true(ret->h.cookie == cookie);
        assert_int_equal(ret->h.op, op);
}

void frame_call(int fd, uint32_t op, uint32_t object, const void *args, size_t size, FrameReply *ret) {
        frame_call_fds(fd, op, object, args, size, NULL, 0, ret);
}

sd_bus_message *claim_call(sd_bus *bus, const char *session, const char *bdf, bool interactive) {
        sd_bus_message *m = new_call(bus, session, I_SESSION, "ClaimDevice");

        assert_true(sd_bus_message_append(m, "sb", bdf, 0) >= 0);
        assert_true(sd_bus_message_set_allow_interactive_authorization(m, interactive) >= 0);
        return m;
}

char *claim(sd_bus *bus, const char *session, const char *bdf, bool interactive) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = claim_call(bus, session, bdf, interactive);

        return reply_object(SEND(bus, m), NULL);
}

char *claim_with_fd(sd_bus *bus, const char *session, const char *bdf, uint32_t *ret_id, int *ret_fd) {
        sd_bus_message *reply = CALL(bus, session, I_SESSION, "ClaimDevice", "sb", bdf, 1);
        const char *p;
        char *dev;

        assert_true(sd_bus_message_read(reply, "ou", &p, ret_id) > 0);
        dev = strdup(p);
        assert_non_null(dev);
        assert_true(sd_bus_message_enter_container(reply, 'a', "(h)") > 0);
        assert_true(sd_bus_message_enter_container(reply, 'r', "h") > 0);
        *ret_fd = read_fd(reply);
        sd_bus_message_unref(reply);
        return dev;
}

size_t vfio_devices(VfioDevice ret[static 2], size_t wanted) {
        const char *env = getenv("VIOMMU_TEST_VFIO_DEVICES");
        size_t n = 0;
        int used;

        if (!env)
                fail_msg("$VIOMMU_TEST_VFIO_DEVICES is not set: not the vtd profile?");
        while (n < 2 && sscanf(env, " %31[^=]=%63s%n", ret[n].bdf, ret[n].node, &used) == 2) {
                env += used;
                n++;
        }
        if (n < wanted)
                fail_msg("$VIOMMU_TEST_VFIO_DEVICES names %zu device(s), not %zu: '%s'", n, wanted,
                         getenv("VIOMMU_TEST_VFIO_DEVICES"));
        return n;
}

/* ---- Testing: what the kernel holds ------------------------------------- */

void check_mapping(sd_bus *bus, const char *session, const char *dev, uint64_t iova, uint64_t length,
                   int fd, uint64_t offset) {
        CALL_OK(bus, session, I_TESTING, "CheckMapping", "ottht", dev, iova, length, fd, offset);
}

void check_no_mapping(sd_bus *bus, const char *session, const char *dev, uint64_t iova,
                      uint64_t length, int fd, uint64_t offset) {
        CALL_FAILS(E_INVALID_ARGUMENT, bus, session, I_TESTING, "CheckMapping", "ottht", dev, iova, length, fd,
                   offset);
}

void check_iotlb(sd_bus *bus, const char *session, const char *hwpt, uint32_t index, uint32_t expected) {
        CALL_OK(bus, session, I_TESTING, "CheckIOTLB", "ouu", hwpt, index, expected);
}

int memfd_new(const char *name, size_t size, uint8_t pattern) {
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

pid_t daemon_pid(sd_bus *bus) {
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

char *proc_status_field(pid_t pid, const char *field) {
        _cleanup_free_ char *path = NULL, *status = NULL, *key = NULL;
        const char *line;
        char *value;

        assert_true(asprintf(&path, "/proc/%d/status", (int) pid) > 0);
        assert_true(asprintf(&key, "\n%s:", field) > 0);
        status = read_file(path);
        assert_non_null(status);
        line = strstr(status, key);
        if (!line)
                fail_msg("%s has no %s", path, field);
        line += strlen(key);
        value = strndup(line, strcspn(line, "\n"));
        assert_non_null(value);
        return value;
}

uint64_t pinned_kib(pid_t pid) {
        _cleanup_free_ char *value = proc_status_field(pid, "VmPin");
        unsigned long long kib;

        assert_int_equal(sscanf(value, "%llu kB", &kib), 1);
        return kib;
}

void wait_pinned(pid_t pid, uint64_t kib) {
        uint64_t end = now_usec() + TIMEOUT_USEC, v;

        while ((v = pinned_kib(pid)) != kib && now_usec() < end)
                usleep(20000);
        if (v != kib)
                fail_msg("viommud (pid %d) holds %" PRIu64 " KiB pinned, expected %" PRIu64 " KiB",
                         (int) pid, v, kib);
}

/* ---- restarts ------------------------------------------------------------ */

void wait_next_run(sd_bus *bus, pid_t before) {
        uint64_t end = now_usec() + 30 * 1000000ULL;
        pid_t after = before;

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

void restart_daemon(sd_bus *bus, bool crash) {
        pid_t harness = env_u64("VIOMMU_TEST_HARNESS_PID", 0), before = daemon_pid(bus);

        if (streq_ptr(getenv("VIOMMU_TEST_PROFILE"), "systemd"))
                assert_int_equal(system(crash ? "systemctl kill -s KILL viommud" : "systemctl restart viommud"), 0);
        else if (harness <= 0)
                fail_msg("$VIOMMU_TEST_HARNESS_PID is not set: run the restarts under fdstore-harness");
        else
                assert_int_equal(kill(harness, crash ? SIGUSR2 : SIGUSR1), 0);
        wait_next_run(bus, before);
}

/* Whether the daemon may lock memory beyond its limit (CapEff). */
static bool daemon_has_ipc_lock(pid_t pid) {
        _cleanup_free_ char *value = proc_status_field(pid, "CapEff");
        unsigned long long caps;

        assert_int_equal(sscanf(value, "%llx", &caps), 1);
        return caps & (1ULL << CAP_IPC_LOCK);
}

bool pins_move(sd_bus *bus) {
        return kernel_at_least(6, 13) && !daemon_has_ipc_lock(daemon_pid(bus));
}

/* ---- children: other processes as other uids ---------------------------- */

const char *vmm_call(sd_bus *bus, const char *path, const char *iface, const char *member,
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

pid_t fork_reporter(int *ret_fd) {
        int p[2];
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        close(p[pid == 0 ? 0 : 1]);
        *ret_fd = p[pid == 0 ? 1 : 0];
        return pid;
}


/* ---- the fixture -------------------------------------------------------- */

int fixture_setup(void **state) {
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

int fixture_teardown(void **state) {
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

/* ---- main --------------------------------------------------------------- */

static int run_group(const Group *g) {
        _cleanup_free_ char *title = NULL;

        assert_true(asprintf(&title, "%s %s (uid %u, Linux %d.%d, %s)", program_invocation_short_name, g->name,
                             (unsigned) geteuid(), kernel_version() / 1000, kernel_version() % 1000, profile()) > 0);
        /* cmocka's own summary does not name the group. */
        printf("-- %s\n", title);
        fflush(stdout);
        return _cmocka_run_group_tests(title, g->tests, g->n_tests, NULL, NULL);
}

int itest_main(int argc, char *argv[], const Group *groups, size_t n_groups) {
        int failed = 0;

        /* A VMM that goes away mid-call must not take the test with it. */
        signal(SIGPIPE, SIG_IGN);
        if (argc < 2)
                for (size_t i = 0; i < n_groups; i++)
                        failed += run_group(&groups[i]);
        for (int a = 1; a < argc; a++) {
                size_t i = 0;

                while (i < n_groups && !streq(groups[i].name, argv[a]))
                        i++;
                if (i < n_groups)
                        failed += run_group(&groups[i]);
                else {
                        fprintf(stderr, "%s: unknown group '%s'\n", program_invocation_short_name, argv[a]);
                        failed++;
                }
        }
        return failed > 0;
}
