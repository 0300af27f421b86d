/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What viommud's integration tests share: the connection to the private
 * system bus (as root, or as another uid), call wrappers that fail the test
 * with the file and line of the call, readers of properties and of Describe,
 * the checks of the test-only org.viommu1.Testing interface, a watcher of
 * signals, and the fixture most tests start from. The programs using it
 * (tests/integration/test-*.c) are clients of the API as a virtual machine
 * monitor is; tests/integration/run-in-guest.sh runs them inside the test VM.
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
 * questions it never answers), VIOMMU_TEST_OBSERVER_UID (viommud.conf's
 * observer: sees every session), VIOMMU_TEST_POLKIT_LOG,
 * VIOMMU_TEST_LIMIT_{OBJECTS,DEVICES,PINNED,SESSIONS,PERSISTENT_SESSIONS},
 * VIOMMU_TEST_UNIT_UID and
 * VIOMMU_TEST_UNIT_TEMPLATE, VIOMMU_TEST_VFIO_DEVICES (vtd profile) and
 * VIOMMU_TEST_HARNESS_PID (restarts).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "viommu-abi.h"
#include "viommu-frame.h"
#include "mock/iommufd-test-abi.h"

/* The clients stand alone: the API is what they talk to; of the project's
 * code they use only the generic helpers. */
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
#define E_NOT_MAPPED        "org.viommu1.Error.NotMapped"
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
/* A daemon that hangs fails the call in this time, not sd-bus's 25 s. */
#define CALL_TIMEOUT_USEC (10 * UINT64_C(1000000))

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

/* Every signal of the daemon, recorded on a connection of its own. */
typedef struct Watcher {
        sd_bus *bus;
        sd_bus_message **signals;
        size_t n;
} Watcher;

#define assert_changed(w, path, interface, property, value) \
        assert_changed_at(__FILE__, __LINE__, w, path, interface, property, value)
/* A number as assert_changed() wants it. */
#define NUM(n) num_text((char[24]) { 0 }, (n))
#define assert_signal(w, path, interface, member, arg) \
        assert_signal_at(__FILE__, __LINE__, w, path, interface, member, arg)
#define assert_nothing_about(w, path) assert_nothing_about_at(__FILE__, __LINE__, w, path)
#define assert_interfaces(w, member, path, interface, property, value) \
        assert_interfaces_at(__FILE__, __LINE__, w, member, path, interface, property, value)

typedef struct VfioDevice {
        char bdf[32];
        char node[64];
} VfioDevice;

/* A child process, which runs no cmocka (its failure handling belongs to
 * the parent): any failure is a missing report. */
#define VMM_TRY(x) do { if ((x) < 0) _exit(EXIT_FAILURE); } while (0)

/* ---- the environment ---------------------------------------------------- */

int kernel_version(void);
bool kernel_at_least(int major, int minor);
const char *profile(void);
/* Whether the kernel lets mock devices in: before 7.0, not beside a VT-d. */
bool mock_devices_work(void);
uint64_t env_u64(const char *name, uint64_t fallback);
uint64_t now_usec(void);
char *read_file(const char *path);

/* ---- calls -------------------------------------------------------------- */

sd_bus *bus_open(void);
/*
 * A connection that the bus knows as uid and gid, with no other groups (the
 * caller is root): the bus takes the peer's credentials when it connects and
 * authenticates, so the effective ids are switched for exactly that long.
 */
sd_bus *connect_as_ids(uid_t uid, gid_t gid);
/* As uid, with its primary group only. */
sd_bus *connect_as(uid_t uid);
/* The message of the last call that failed, for checks of its wording. */
extern char last_error[2048];
/* Where calls on the bus go: NULL, the daemon's well-known name; or one
 * run's unique name, so that a call made after that run died fails instead
 * of waiting, through bus activation, for the next run (test-crash). */
extern const char *call_destination;
sd_bus_message *call_msg(const char *file, int line, sd_bus *bus, sd_bus_message *m, const char *expect);
sd_bus_message *new_call(sd_bus *bus, const char *path, const char *iface, const char *member);
sd_bus_message *call_at(const char *file, int line, const char *expect, sd_bus *bus, const char *path,
                        const char *iface, const char *member, const char *types, ...);
/* Reads a reply and drops it. */
void reply_take(sd_bus_message *reply, const char *types, ...);
/* "o" or "ou" replies: the object's path (and the kernel's id). */
char *reply_object(sd_bus_message *reply, uint32_t *ret_id);
/* Takes an fd out of a message being read, as the caller's own. */
int read_fd(sd_bus_message *reply);
/* "ouh" replies (fault queues, vEVENTQs): the object's path, the kernel's id
 * and the fd, the caller's own. */
char *reply_object_fd(sd_bus_message *reply, uint32_t *ret_id, int *ret_fd);
sd_bus_message *get_property(sd_bus *bus, const char *path, const char *iface, const char *name,
                             const char *type);
uint32_t get_u32(sd_bus *bus, const char *path, const char *iface, const char *name);
uint64_t get_u64(sd_bus *bus, const char *path, const char *iface, const char *name);
bool get_bool(sd_bus *bus, const char *path, const char *iface, const char *name);
/* Type "s" or "o". */
char *get_string(sd_bus *bus, const char *path, const char *iface, const char *name, const char *type);
size_t strv_length(char **l);
int32_t get_i32(sd_bus *bus, const char *path, const char *iface, const char *name);
/* Type "as" or "ao". */
char **get_strv(sd_bus *bus, const char *path, const char *iface, const char *name, const char *type);
char **sessions(sd_bus *bus);
bool session_listed(sd_bus *bus, const char *session);
/* Whether session leaves the list within 10 s (the daemon ends a session
 * when it hears of its owner's leaving, after the leaver's last call). */
bool session_unlisted_soon(sd_bus *bus, const char *session);

/* ---- Describe ----------------------------------------------------------- */

char *describe(sd_bus *bus);
/* A session as Describe shows it, as text; NULL when Describe has none. */
char *describe_session(sd_bus *bus, const char *session);
/* Does the Describe document name this path? json-c may escape '/'. */
bool describe_mentions(const char *json, const char *path);
/* An array in Describe's document, which must be there. */
struct json_object *json_array(struct json_object *o, const char *key);
const char *json_string(struct json_object *o, const char *key);

/* ---- the API, one helper per common call -------------------------------- */

char *open_session(sd_bus *bus, bool persistent);
void close_session(sd_bus *bus, const char *session);
char *create_ioas(sd_bus *bus, const char *session, uint32_t *ret_id);
char *create_mock(sd_bus *bus, const char *session, uint32_t flags, uint32_t *ret_id);
uint64_t map(sd_bus *bus, const char *ioas, int fd, uint64_t offset, uint64_t length, uint64_t iova,
             uint32_t flags);
uint64_t unmap(sd_bus *bus, const char *ioas, uint64_t iova, uint64_t length);
uint32_t attach(sd_bus *bus, const char *session, const char *dev, const char *pt);
sd_bus_message *alloc_hwpt_call(sd_bus *bus, const char *session, const char *dev, const char *parent,
                                const char *fault_queue, uint32_t flags, uint32_t data_type,
                                const void *data, size_t size);
char *alloc_hwpt(sd_bus *bus, const char *session, const char *dev, const char *parent,
                 const char *fault_queue, uint32_t flags, uint32_t data_type, const void *data, size_t size,
                 uint32_t *ret_id);
void alloc_hwpt_fails(const char *expect, sd_bus *bus, const char *session, const char *dev,
                      const char *parent, const char *fault_queue, uint32_t flags, uint32_t data_type,
                      const void *data, size_t size);
extern const struct iommu_hwpt_selftest mock_s1;
/* A nested HWPT with the mock's stage-1 data. */
char *alloc_nested(sd_bus *bus, const char *session, const char *dev, const char *parent,
                   const char *fault_queue, uint32_t flags, uint32_t *ret_id);
void destroy(sd_bus *bus, const char *session, const char *object);
sd_bus_message *invalidate_call(sd_bus *bus, const char *path, const char *iface, uint32_t data_type,
                                uint32_t entry_len, const void *entries, size_t size);
/* The number of entries the kernel handled; *ret_error the errno name of
 * the first it did not, "" if none. */
uint32_t invalidate(sd_bus *bus, const char *path, const char *iface, uint32_t data_type,
                    uint32_t entry_len, const void *entries, size_t size, char **ret_error);
sd_bus *channel_open(sd_bus *bus, const char *session);
/* The fd that Session.METHOD (OpenDirectChannel, OpenFrameChannel) gives. */
int channel_fd(sd_bus *bus, const char *session, const char *method);

/* Frame channels (Session.OpenFrameChannel, viommu-frame.h): a reply's
 * header, the whole packet's size and its payload; an error's name is the
 * payload and its message follows. */
typedef struct FrameReply {
        struct viommu_frame_reply h;
        size_t size;
        uint8_t payload[2048];
        const char *message;
} FrameReply;
int frame_open(sd_bus *bus, const char *session);
void frame_send(int fd, uint32_t op, uint32_t object, uint64_t cookie, const void *args, size_t size);
/* The same with n_fds descriptors as SCM_RIGHTS. */
void frame_send_fds(int fd, uint32_t op, uint32_t object, uint64_t cookie, const void *args, size_t size,
                    const int *fds, size_t n_fds);
/* The next reply; the payload of an error (two strings) is checked. */
void frame_recv(int fd, FrameReply *ret);
/* One request and its reply, which must answer it. */
void frame_call(int fd, uint32_t op, uint32_t object, const void *args, size_t size, FrameReply *ret);
void frame_call_fds(int fd, uint32_t op, uint32_t object, const void *args, size_t size, const int *fds,
                    size_t n_fds, FrameReply *ret);
/* Serves bus (its matches, its async replies) for usec, or until *flag. */
void pump(sd_bus *bus, uint64_t usec, const bool *flag);
sd_bus_message *claim_call(sd_bus *bus, const char *session, const char *bdf, bool interactive);
char *claim(sd_bus *bus, const char *session, const char *bdf, bool interactive);
/* Session.ClaimDevice, asking for the device fd: the device's path, its
 * kernel id and the fd, the caller's own. */
char *claim_with_fd(sd_bus *bus, const char *session, const char *bdf, uint32_t *ret_id, int *ret_fd);
/* $VIOMMU_TEST_VFIO_DEVICES: "BDF=NODE BDF=NODE", of which the test needs
 * at least wanted. */
size_t vfio_devices(VfioDevice ret[static 2], size_t wanted);

/* ---- Testing: what the kernel holds ------------------------------------- */

void check_mapping(sd_bus *bus, const char *session, const char *dev, uint64_t iova, uint64_t length,
                   int fd, uint64_t offset);
void check_no_mapping(sd_bus *bus, const char *session, const char *dev, uint64_t iova,
                      uint64_t length, int fd, uint64_t offset);
void check_iotlb(sd_bus *bus, const char *session, const char *hwpt, uint32_t index, uint32_t expected);
int memfd_new(const char *name, size_t size, uint8_t pattern);
/* The daemon's pid, from the bus. */
pid_t daemon_pid(sd_bus *bus);
/* A field of /proc/PID/status, its value as written ("   512 kB"). */
char *proc_status_field(pid_t pid, const char *field);
/* The memory the kernel holds pinned for a process (mm->pinned_vm): iommufd
 * accounts every page it pins for a mapping there. */
uint64_t pinned_kib(pid_t pid);
/* Waits for the daemon's pinned memory to reach kib. */
void wait_pinned(pid_t pid, uint64_t kib);

/* ---- restarts, under a service manager that keeps the daemon's fds -------- */

/* Waits for a run other than pid before to own the name. */
void wait_next_run(sd_bus *bus, pid_t before);
/* Restarts viommud, or with crash kills it with SIGKILL for its service
 * manager to start it again: under systemd with systemctl, else as systemd
 * does, through the stand-in fd store (fdstore-harness, pid in
 * $VIOMMU_TEST_HARNESS_PID); then waits for the new run to own the name. */
void restart_daemon(sd_bus *bus, bool crash);
/* Whether a restart charges the sessions' pins to the new run (viommud(8)):
 * from Linux 6.13 on, when the daemon runs without CAP_IPC_LOCK. Else they
 * stay charged to the previous run. */
bool pins_move(sd_bus *bus);

/* ---- signals, as a program watching the bus gets them ------------------- */

/* Records what the daemon sends to bus (the watcher's then), after calling
 * Manager.Subscribe() on it if subscribe: a session's signals go to the
 * subscribers who may see the session alone. */
Watcher *watcher_on(sd_bus *bus, bool subscribe);
/* On a connection of root's own, subscribed: every session's signals. */
Watcher *watcher_new(void);
void watcher_free(Watcher *w);
/* Takes in every signal the daemon sent before now: the bus keeps one
 * sender's messages in order, so the answer to a call of the watcher's own
 * comes after them. */
void watcher_sync(Watcher *w);
/* Forgets what came so far: what is checked next is what the next call does. */
void watcher_reset(Watcher *w);
/* Since the last reset, did the daemon announce that this property of path
 * changed to value? Fails naming what it announced instead. */
void assert_changed_at(const char *file, int line, Watcher *w, const char *path, const char *interface,
                       const char *property, const char *value);
const char *num_text(char *buf, uint64_t n);
/* Since the last reset, did the daemon send this signal with this first
 * argument (a string or a path)? */
void assert_signal_at(const char *file, int line, Watcher *w, const char *path, const char *interface,
                      const char *member, const char *arg);
/* Since the last reset, did the daemon send member (InterfacesAdded or
 * InterfacesRemoved) for path naming interface, and for InterfacesAdded
 * with property set to value unless property is NULL? */
void assert_interfaces_at(const char *file, int line, Watcher *w, const char *member, const char *path,
                          const char *interface, const char *property, const char *value);
/* Did no signal since the last reset come from path or an object below
 * it, or name one of them first? */
void assert_nothing_about_at(const char *file, int line, Watcher *w, const char *path);

/* ---- children: other processes as other uids ---------------------------- */

const char *vmm_call(sd_bus *bus, const char *path, const char *iface, const char *member,
                     const char *types, ...);
/* Forks a child that reports to the parent through a pipe: the child gets
 * *ret_fd as the pipe's write end, the parent its read end. */
pid_t fork_reporter(int *ret_fd);

/* ---- the fixture -------------------------------------------------------- */

/* A session with a mock device (where mock devices work), an IOAS and guest
 * memory; the teardown closes the session, with whatever a test left in it. */
typedef struct Fixture {
        sd_bus *bus;
        char *session;
        char *dev;              /* a mock device */
        uint32_t dev_id;
        char *ioas;
        uint32_t ioas_id;
        int memfd;              /* BUF_SIZE bytes of guest memory */
} Fixture;

int fixture_setup(void **state);
int fixture_teardown(void **state);
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

/* ---- refusals ------------------------------------------------------------ */

/* The fixture grown into the state that refused calls must leave alone, in
 * the daemon's record and in the kernel: guest memory mapped at
 * MOCK_APERTURE_START with the device attached to the IOAS, a nesting parent
 * with a nested HWPT on it, a plain HWPT, an idle mock device, a fault
 * queue, a path in the session that names nothing, and a second session of
 * the same uid whose objects are foreign here. */
typedef struct Scene {
        Fixture *f;
        char *parent, *nested, *plain, *idle, *fq, *fake;
        char *other, *other_ioas, *other_dev;
        char *before;           /* Describe, once all is set up */
} Scene;

int scene_setup(void **state);
int scene_teardown(void **state);
#define R(name) cmocka_unit_test_setup_teardown(name, scene_setup, scene_teardown)
/* Nothing changed since the setup: neither Describe, nor the other
 * session, nor the mapping and the nested HWPT's IOTLB in the kernel. */
void scene_untouched(Scene *s);

/* Every method of every org.viommu1 interface at each of paths, called with
 * arguments of the wrong types (and, when it takes any, with none): each
 * refused with InvalidArgs. Methods are found by introspecting the running
 * daemon; each of must_see has to be among them. */
void refuse_wrong_types(sd_bus *bus, const char *const *paths, size_t n_paths, const char *const *must_see,
                        size_t n_must_see);

/* ---- main ---------------------------------------------------------------- */

typedef struct Group {
        const char *name;
        const struct CMUnitTest *tests;
        size_t n_tests;
} Group;
#define GROUP(name, tests) { name, tests, ELEMENTSOF(tests) }

/* Runs the groups named in argv (all of them without arguments), each
 * under a title that names the program, the group, the uid, the kernel and
 * the profile, with cmocka's summary lines. */
int itest_main(int argc, char *argv[], const Group *groups, size_t n_groups);
