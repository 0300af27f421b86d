/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sessions through kill -9 at random instants (issue 9, item 7):
 *
 *   test-crash [crash]
 *
 *   crash  two sessions map, unmap, copy, create and destroy IOASes and
 *          HWPTs, attach, detach and invalidate on mock devices in a loop
 *          while a child process kills the daemon with SIGKILL after a
 *          random delay, $VIOMMU_TEST_CRASH_KILLS times (50); each time its
 *          fd store starts it again (systemd with Restart=on-failure, or
 *          the stand-in fdstore-harness, which does the same), and the new
 *          run must
 *          hold what the sessions' log says: every call answered before the
 *          kill in effect, in the record and in the kernel; the one whose
 *          answer never came either in both or in neither; no kernel object
 *          the session does not know; the pinned pages those of the live
 *          mappings; a session whose owner left ended. Root, mock devices.
 *          $VIOMMU_TEST_CRASH_SEED repeats a run.
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Each IOAS has SLOTS places for a mapping; slot k is always the same
 * pages of the one memfd, so the kernel's view of a slot is checkable. */
#define SLOTS 6
#define SLOT_SIZE (4 * PAGE)
#define SLOT_IOVA(k) (MOCK_APERTURE_START + (uint64_t) (k) * 0x100000)
#define SLOT_OFFSET(k) ((uint64_t) (k) * SLOT_SIZE)
#define N_IOAS 3                /* two that stay, each with a device on it; one created and destroyed */
#define N_WORK 2                /* sessions: one owned, one persistent */
#define KILL_DELAY_MAX_USEC (400 * 1000)

#define E_NO_REPLY        "org.freedesktop.DBus.Error.NoReply"
#define E_SERVICE_UNKNOWN "org.freedesktop.DBus.Error.ServiceUnknown"
#define E_NAME_HAS_NO_OWNER "org.freedesktop.DBus.Error.NameHasNoOwner"

typedef struct Ioas {
        char *path;                     /* NULL: not there */
        unsigned origin[SLOTS];         /* the Map call whose pages are there (a Copy shares them); 0: none */
} Ioas;

/* A session as its log says it is. */
typedef struct Work {
        char *path;
        char *anchor[2];                /* mock devices attached to ioas[0] and ioas[1] for good */
        char *worker;                   /* a mock device attached to and detached from the HWPTs */
        char *checker;                  /* a mock device attached to ioas[2] for its checks only */
        Ioas ioas[N_IOAS];
        char *parent;                   /* a nesting parent on ioas[0] */
        char *paging;                   /* a paging HWPT on ioas[1] */
        char *nested;                   /* on parent */
        uint32_t iotlb[MOCK_NESTED_DOMAIN_IOTLB_NUM];
        char **attached;                /* where worker is: &parent, &paging, &nested, &ioas[1].path or NULL */
} Work;

typedef enum Op {
        OP_NONE,
        OP_MAP,
        OP_UNMAP,
        OP_COPY,
        OP_CREATE,                      /* of *object */
        OP_DESTROY,                     /* of *object */
        OP_ATTACH,
        OP_DETACH,
        OP_INVALIDATE,
} Op;

/* The call whose answer never came. */
typedef struct Pending {
        Op op;
        Work *w;
        unsigned ioas, slot, src, index;
        char **object;                  /* OP_CREATE, OP_DESTROY, OP_ATTACH */
} Pending;

typedef struct Crash {
        sd_bus *bus;
        int memfd;
        Work work[N_WORK];
        /* Mappings made from the memfd itself (IOMMU_IOAS_MAP_FILE, Linux
         * 6.13), which any run can pin; before, from the daemon's address
         * space, which only the run that made them can: pages no domain
         * pinned are out of reach once it died (EFAULT). */
        bool map_file;
        unsigned next_origin;
        Pending pending;
        unsigned answered;              /* calls answered since the last check */
        unsigned checked, kills;
        unsigned mid_call, in_effect;   /* of the calls a kill cut off: in the daemon's hands; in effect */
} Crash;

static unsigned pick(unsigned n) {
        return (unsigned) random() % n;
}

/* ---- calls that a kill may cut off ------------------------------------- */

/* The reply, or NULL when the daemon died before it answered (or before the
 * call reached it); any other failure fails the test. */
static sd_bus_message *send_call(Crash *c, sd_bus_message *m, const Pending *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call(c->bus, m, 0, &error, &reply);
        if (r >= 0) {
                c->answered++;
                return reply;
        }
        if (!sd_bus_error_has_names(&error, E_NO_REPLY, E_SERVICE_UNKNOWN, E_NAME_HAS_NO_OWNER))
                fail_msg("%s on %s failed: %s: %s", sd_bus_message_get_member(m), sd_bus_message_get_path(m),
                         error.name ?: "-", error.message ?: strerror(-r));
        c->pending = *what;
        if (sd_bus_error_has_name(&error, E_NO_REPLY))
                c->mid_call++;
        return NULL;
}

static sd_bus_message *try_call(Crash *c, const Pending *what, const char *path, const char *iface,
                                const char *member, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call(c->bus, path, iface, member);
        va_list ap;

        if (types) {
                va_start(ap, types);
                assert_true(sd_bus_message_appendv(m, types, ap) >= 0);
                va_end(ap);
        }
        return send_call(c, m, what);
}

/* ---- the operations, each one call, logged once answered ----------------- */

static bool slot_free(const Work *w, unsigned i, unsigned k) {
        return w->ioas[i].path && w->ioas[i].origin[k] == 0;
}

static bool op_map(Crash *c, Work *w) {
        unsigned i = pick(N_IOAS), k = pick(SLOTS);
        const Pending what = { OP_MAP, w, .ioas = i, .slot = k };
        sd_bus_message *reply;
        uint64_t iova;

        if (!slot_free(w, i, k))
                return true;
        reply = try_call(c, &what, w->ioas[i].path, I_IOAS, "Map", "htttu", c->memfd, SLOT_OFFSET(k),
                         (uint64_t) SLOT_SIZE, SLOT_IOVA(k), (uint32_t) MAP_FIXED_RW);
        if (!reply)
                return false;
        reply_take(reply, "t", &iova);
        assert_int_equal(iova, SLOT_IOVA(k));
        w->ioas[i].origin[k] = ++c->next_origin;
        return true;
}

static bool op_unmap(Crash *c, Work *w) {
        unsigned i = pick(N_IOAS), k = pick(SLOTS);
        const Pending what = { OP_UNMAP, w, .ioas = i, .slot = k };
        sd_bus_message *reply;
        uint64_t unmapped;

        if (!w->ioas[i].path || w->ioas[i].origin[k] == 0)
                return true;
        reply = try_call(c, &what, w->ioas[i].path, I_IOAS, "Unmap", "tt", SLOT_IOVA(k), (uint64_t) SLOT_SIZE);
        if (!reply)
                return false;
        reply_take(reply, "t", &unmapped);
        assert_int_equal(unmapped, SLOT_SIZE);
        w->ioas[i].origin[k] = 0;
        return true;
}

static bool op_copy(Crash *c, Work *w) {
        unsigned src = pick(N_IOAS), i = pick(N_IOAS), k = pick(SLOTS);
        const Pending what = { OP_COPY, w, .ioas = i, .slot = k, .src = src };
        sd_bus_message *reply;
        uint64_t iova;

        if (src == i || !w->ioas[src].path || w->ioas[src].origin[k] == 0 || !slot_free(w, i, k) ||
            (src == 2 && !c->map_file))
                return true;
        reply = try_call(c, &what, w->ioas[i].path, I_IOAS, "Copy", "otttu", w->ioas[src].path, SLOT_IOVA(k),
                         (uint64_t) SLOT_SIZE, SLOT_IOVA(k), (uint32_t) MAP_FIXED_RW);
        if (!reply)
                return false;
        reply_take(reply, "t", &iova);
        assert_int_equal(iova, SLOT_IOVA(k));
        w->ioas[i].origin[k] = w->ioas[src].origin[k];
        return true;
}

/* Creates what *object names: the third IOAS or one of the HWPTs. */
static bool op_create(Crash *c, Work *w, char **object) {
        const Pending what = { OP_CREATE, w, .object = object };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_message *reply;

        if (object == &w->ioas[2].path)
                reply = try_call(c, &what, w->path, I_SESSION, "CreateIOAS", NULL);
        else {
                if (object == &w->parent)
                        m = alloc_hwpt_call(c->bus, w->path, w->worker, w->ioas[0].path, NULL,
                                            IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_DATA_NONE, NULL, 0);
                else if (object == &w->paging)
                        m = alloc_hwpt_call(c->bus, w->path, w->worker, w->ioas[1].path, NULL, 0,
                                            IOMMU_HWPT_DATA_NONE, NULL, 0);
                else
                        m = alloc_hwpt_call(c->bus, w->path, w->worker, w->parent, NULL, 0,
                                            IOMMU_HWPT_DATA_SELFTEST, &mock_s1, MOCK_HWPT_DATA_LEN);
                reply = send_call(c, m, &what);
        }
        if (!reply)
                return false;
        *object = reply_object(reply, NULL);
        if (object == &w->nested)
                for (size_t j = 0; j < ELEMENTSOF(w->iotlb); j++)
                        w->iotlb[j] = IOMMU_TEST_IOTLB_DEFAULT;
        return true;
}

static void forget(Work *w, char **object) {
        *object = mfree(*object);
        if (object == &w->ioas[2].path)
                memset(w->ioas[2].origin, 0, sizeof(w->ioas[2].origin));
}

static bool op_destroy(Crash *c, Work *w, char **object) {
        const Pending what = { OP_DESTROY, w, .object = object };
        sd_bus_message *reply;

        reply = try_call(c, &what, w->path, I_SESSION, "Destroy", "o", *object);
        if (!reply)
                return false;
        sd_bus_message_unref(reply);
        forget(w, object);
        return true;
}

/* The third IOAS, or a HWPT: made when missing, else destroyed when
 * nothing uses it. */
static bool op_create_or_destroy(Crash *c, Work *w) {
        char **objects[] = { &w->ioas[2].path, &w->parent, &w->paging, &w->nested }, **o = objects[pick(4)];

        if (!*o)
                return o == &w->nested && !w->parent ? true : op_create(c, w, o);
        if (w->attached == o || (o == &w->parent && w->nested))
                return true;
        return op_destroy(c, w, o);
}

static bool op_attach_or_detach(Crash *c, Work *w) {
        char **targets[] = { &w->parent, &w->paging, &w->nested, &w->ioas[1].path, NULL }, **t = targets[pick(5)];
        Pending what = { OP_ATTACH, w, .object = t };
        sd_bus_message *reply;

        if (t && !*t)
                return true;
        if (t)
                reply = try_call(c, &what, w->path, I_SESSION, "Attach", "oo", w->worker, *t);
        else {
                if (!w->attached)
                        return true;
                what.op = OP_DETACH;
                reply = try_call(c, &what, w->path, I_SESSION, "Detach", "o", w->worker);
        }
        if (!reply)
                return false;
        sd_bus_message_unref(reply);
        w->attached = t;
        return true;
}

static bool op_invalidate(Crash *c, Work *w) {
        unsigned j = pick(MOCK_NESTED_DOMAIN_IOTLB_NUM);
        struct iommu_hwpt_invalidate_selftest inv = { .iotlb_id = j };
        const Pending what = { OP_INVALIDATE, w, .index = j };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_message *reply;
        const char *error;
        uint32_t handled;

        if (!w->nested)
                return true;
        m = invalidate_call(c->bus, w->nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(inv), &inv,
                            sizeof(inv));
        reply = send_call(c, m, &what);
        if (!reply)
                return false;
        reply_take(reply, "us", &handled, &error);
        assert_int_equal(handled, 1);
        w->iotlb[j] = 0;
        return true;
}

/* One random operation on a random session; false when the daemon died
 * in it. */
static bool step(Crash *c) {
        Work *w = &c->work[pick(N_WORK)];

        switch (pick(7)) {
        case 0:
        case 1:
                return op_map(c, w);
        case 2:
                return op_unmap(c, w);
        case 3:
                return op_copy(c, w);
        case 4:
                return op_create_or_destroy(c, w);
        case 5:
                return op_attach_or_detach(c, w);
        default:
                return op_invalidate(c, w);
        }
}

/* ---- what the daemon and the kernel hold --------------------------------- */

/* The paths of the session's objects, as Describe lists them. */
static char **described_objects(sd_bus *bus, const char *session) {
        _cleanup_free_ char *text = describe(bus);
        struct json_object *j = json_tokener_parse(text), *sessions, *objects = NULL;
        char **paths;
        size_t n;

        assert_non_null(j);
        sessions = json_array(j, "sessions");
        for (size_t i = 0; i < json_object_array_length(sessions); i++)
                if (streq_ptr(json_string(json_object_array_get_idx(sessions, i), "path"), session))
                        objects = json_array(json_object_array_get_idx(sessions, i), "objects");
        if (!objects)
                fail_msg("Describe does not list %s", session);
        n = json_object_array_length(objects);
        paths = calloc(n + 1, sizeof(char *));
        assert_non_null(paths);
        for (size_t i = 0; i < n; i++) {
                paths[i] = strdup(json_string(json_object_array_get_idx(objects, i), "path"));
                assert_non_null(paths[i]);
        }
        json_object_put(j);
        return paths;
}

/* The paths the log knows for the session, in a NULL-terminated array of
 * pointers into the Work. */
static size_t logged_objects(Work *w, char **ret[static 12]) {
        char **all[] = { &w->anchor[0], &w->anchor[1], &w->worker, &w->checker, &w->ioas[0].path,
                         &w->ioas[1].path, &w->ioas[2].path, &w->parent, &w->paging, &w->nested };
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                if (*all[i])
                        ret[n++] = all[i];
        ret[n] = NULL;
        return n;
}

static bool logged(Work *w, const char *path) {
        char **objects[12];

        logged_objects(w, objects);
        for (size_t i = 0; objects[i]; i++)
                if (streq(*objects[i], path))
                        return true;
        return false;
}

/* Whether the daemon's record has slot k of IOAS i mapped, whole. */
static bool recorded(Crash *c, Work *w, unsigned i, unsigned k) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        uint64_t iova, length, offset;
        uint32_t flags;

        if (sd_bus_call_method(c->bus, BUS_NAME, w->ioas[i].path, I_IOAS, "LookupIOVA", &error, &reply, "t",
                               SLOT_IOVA(k)) < 0) {
                if (!sd_bus_error_has_name(&error, E_NO_SUCH_OBJECT))
                        fail_msg("LookupIOVA on %s: %s", w->ioas[i].path, error.message);
                return false;
        }
        reply_take(reply, "tttu", &iova, &length, &offset, &flags);
        assert_int_equal(iova, SLOT_IOVA(k));
        assert_int_equal(length, SLOT_SIZE);
        return true;
}

/* What the call whose answer never came did, by the daemon's word; the
 * checks then hold the kernel to it. */
static void settle_pending(Crash *c) {
        Pending *p = &c->pending;
        Work *w = p->w;
        bool done = false;

        switch (p->op) {
        case OP_NONE:
                return;
        case OP_MAP:
        case OP_COPY:
                done = recorded(c, w, p->ioas, p->slot);
                if (done)
                        w->ioas[p->ioas].origin[p->slot] = p->op == OP_MAP ? ++c->next_origin :
                                                                             w->ioas[p->src].origin[p->slot];
                break;
        case OP_UNMAP:
                done = !recorded(c, w, p->ioas, p->slot);
                if (done)
                        w->ioas[p->ioas].origin[p->slot] = 0;
                break;
        case OP_CREATE: {
                _cleanup_strv_free_ char **paths = described_objects(c->bus, w->path);

                for (size_t i = 0; paths[i]; i++)
                        if (!logged(w, paths[i])) {
                                assert_null(*p->object);
                                *p->object = strdup(paths[i]);
                                assert_non_null(*p->object);
                                done = true;
                        }
                if (done && p->object == &w->nested)
                        for (size_t j = 0; j < ELEMENTSOF(w->iotlb); j++)
                                w->iotlb[j] = IOMMU_TEST_IOTLB_DEFAULT;
                break;
        }
        case OP_DESTROY: {
                _cleanup_strv_free_ char **paths = described_objects(c->bus, w->path);

                done = !strv_contains(paths, *p->object);
                if (done)
                        forget(w, p->object);
                break;
        }
        case OP_ATTACH:
        case OP_DETACH: {
                _cleanup_free_ char *attached = get_string(c->bus, w->worker, I_DEVICE, "Attached", "o");

                done = p->op == OP_ATTACH ? streq(attached, *p->object) : streq(attached, "/");
                if (done)
                        w->attached = p->object;
                break;
        }
        case OP_INVALIDATE: {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                done = sd_bus_call_method(c->bus, BUS_NAME, w->path, I_TESTING, "CheckIOTLB", &error, NULL, "ouu",
                                          w->nested, p->index, 0) >= 0;
                if (done)
                        w->iotlb[p->index] = 0;
                break;
        }
        }
        c->in_effect += done;
        c->checked++;
        *p = (Pending) {};
}

/* The record holds IOAS i's slots as the log says, and so does the kernel
 * (through dev, a mock device on it; NULL: none). */
static void check_slots(Crash *c, Work *w, unsigned i, const char *dev) {
        unsigned n = 0;

        for (unsigned k = 0; k < SLOTS; k++) {
                bool mapped = w->ioas[i].origin[k] != 0;

                if (recorded(c, w, i, k) != mapped)
                        fail_msg("%s: slot %u is %s in the log but not in the record", w->ioas[i].path, k,
                                 mapped ? "mapped" : "free");
                if (!dev)
                        ;
                else if (mapped)
                        check_mapping(c->bus, w->path, dev, SLOT_IOVA(k), SLOT_SIZE, c->memfd, SLOT_OFFSET(k));
                else
                        check_no_mapping(c->bus, w->path, dev, SLOT_IOVA(k), PAGE, c->memfd, SLOT_OFFSET(k));
                n += mapped;
        }
        assert_int_equal(get_u32(c->bus, w->ioas[i].path, I_IOAS, "Mappings"), n);
}

static void check_work(Crash *c, Work *w) {
        _cleanup_strv_free_ char **paths = described_objects(c->bus, w->path);
        _cleanup_free_ char *attached = NULL;
        char **objects[12];
        size_t n = logged_objects(w, objects);
        uint32_t destroyed;

        /* The record has the objects the log has, and no other. */
        for (size_t i = 0; objects[i]; i++)
                if (!strv_contains(paths, *objects[i]))
                        fail_msg("%s is in the log but not in the record", *objects[i]);
        assert_int_equal(strv_length(paths), n);
        assert_int_equal(get_u32(c->bus, w->path, I_SESSION, "NObjects"), n);

        check_slots(c, w, 0, w->anchor[0]);
        check_slots(c, w, 1, w->anchor[1]);
        if (w->ioas[2].path && c->map_file) {
                attach(c->bus, w->path, w->checker, w->ioas[2].path);
                check_slots(c, w, 2, w->checker);
                CALL_OK(c->bus, w->path, I_SESSION, "Detach", "o", w->checker);
        } else if (w->ioas[2].path)
                check_slots(c, w, 2, NULL);
        attached = get_string(c->bus, w->worker, I_DEVICE, "Attached", "o");
        assert_string_equal(attached, w->attached ? *w->attached : "/");
        if (w->nested)
                for (unsigned j = 0; j < ELEMENTSOF(w->iotlb); j++)
                        check_iotlb(c->bus, w->path, w->nested, j, w->iotlb[j]);

        /* No kernel object the session does not know. */
        reply_take(CALL(c->bus, w->path, I_TESTING, "SweepOrphans", NULL), "u", &destroyed);
        if (destroyed > 0)
                fail_msg("%s: %u kernel object(s) the session does not know (the daemon's log names them)",
                         w->path, destroyed);
}

/* The pages the kernel pins: those of each Map (a Copy shares its pages)
 * still mapped in an IOAS with a mock domain, the first two. */
static uint64_t pinned_expected_kib(Crash *c) {
        _cleanup_free_ bool *seen = calloc(c->next_origin + 1, sizeof(bool));
        uint64_t kib = 0;

        assert_non_null(seen);
        for (unsigned s = 0; s < N_WORK; s++)
                for (unsigned i = 0; i < 2; i++)
                        for (unsigned k = 0; k < SLOTS; k++) {
                                unsigned o = c->work[s].ioas[i].origin[k];

                                if (o != 0 && !seen[o]) {
                                        seen[o] = true;
                                        kib += SLOT_SIZE / 1024;
                                }
                        }
        return kib;
}

static void check_all(Crash *c) {
        settle_pending(c);
        for (unsigned s = 0; s < N_WORK; s++)
                check_work(c, &c->work[s]);
        if (pins_move(c->bus))
                wait_pinned(daemon_pid(c->bus), pinned_expected_kib(c));
        c->checked += c->answered;
        c->answered = 0;
}

/* ---- the test ------------------------------------------------------------ */

static void work_open(Crash *c, Work *w, bool persistent) {
        w->path = open_session(c->bus, persistent);
        for (unsigned i = 0; i < 2; i++) {
                w->ioas[i].path = create_ioas(c->bus, w->path, NULL);
                w->anchor[i] = create_mock(c->bus, w->path, 0, NULL);
                attach(c->bus, w->path, w->anchor[i], w->ioas[i].path);
        }
        w->worker = create_mock(c->bus, w->path, 0, NULL);
        w->checker = create_mock(c->bus, w->path, 0, NULL);
}

/* A session with a mapping on a device, whose owner leaves at some point. */
static sd_bus *leaver_open(Crash *c, char **ret_session) {
        sd_bus *bus = bus_open();
        _cleanup_free_ char *ioas = NULL, *dev = NULL;

        *ret_session = open_session(bus, false);
        ioas = create_ioas(bus, *ret_session, NULL);
        dev = create_mock(bus, *ret_session, 0, NULL);
        attach(bus, *ret_session, dev, ioas);
        map(bus, ioas, c->memfd, 0, SLOT_SIZE, SLOT_IOVA(0), MAP_FIXED_RW);
        return bus;
}

/* The unique bus name of the daemon's current run. */
static char *daemon_unique_name(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name;
        char *copy;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetNameOwner", &error, &reply, "s", BUS_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "s", &name);
        if (r < 0)
                fail_msg("cannot find viommud's unique name: %s", error.message ?: strerror(-r));
        copy = strdup(name);
        assert_non_null(copy);
        return copy;
}

/* A child that kills the daemon after a random delay, as an outside event
 * would: wherever the daemon is then. */
static pid_t killer_start(pid_t daemon) {
        useconds_t delay = pick(KILL_DELAY_MAX_USEC);
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                /* Holding no copy of the clients' connections, which must
                 * close when they do. */
                (void) close_range(3, ~0U, 0);
                (void) usleep(delay);
                _exit(kill(daemon, SIGKILL) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
        }
        return pid;
}

static void test_crash_loop(void **state) {
        unsigned kills = env_u64("VIOMMU_TEST_CRASH_KILLS", 50), seed = env_u64("VIOMMU_TEST_CRASH_SEED", time(NULL));
        uint64_t start = now_usec();
        Crash c = { .bus = bus_open(), .memfd = memfd_new("guest-ram", SLOTS * SLOT_SIZE, 0x3c),
                    .map_file = kernel_at_least(6, 13) };

        printf("crash: seed %u\n", seed);
        srandom(seed);
        for (unsigned s = 0; s < N_WORK; s++)
                work_open(&c, &c.work[s], s == 1);
        check_all(&c);

        while (c.kills < kills) {
                _cleanup_free_ char *gone = NULL, *run = NULL;
                sd_bus *leaving = leaver_open(&c, &gone);
                pid_t before = daemon_pid(c.bus), killer;
                uint64_t deadline = now_usec() + 20 * 1000000ULL;
                /* After so many calls answered; 0: once the daemon is dead. */
                unsigned leave_at = pick(16);
                int status;

                /* The calls go to this run: one made after the kill must
                 * fail, not wait for the next run. */
                call_destination = run = daemon_unique_name(c.bus);
                killer = killer_start(before);
                while (step(&c)) {
                        if (leaving && c.answered == leave_at)
                                leaving = sd_bus_flush_close_unref(leaving);
                        if (now_usec() > deadline)
                                fail_msg("viommud (pid %d) was not killed within 20 s", (int) before);
                }
                c.kills++;
                call_destination = NULL;
                leaving = sd_bus_flush_close_unref(leaving);
                assert_int_equal(waitpid(killer, &status, 0), killer);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                wait_next_run(c.bus, before);

                if (!session_unlisted_soon(c.bus, gone))
                        fail_msg("after kill %u: %s is still there, its owner gone", c.kills, gone);
                check_all(&c);
        }

        /* The sessions work on after the last kill, and end whole. */
        for (unsigned i = 0; i < 20; i++)
                assert_true(step(&c));
        check_all(&c);
        printf("crash: %u kills, %u calls checked in %" PRIu64 " s (of the %u calls cut off by a kill, %u were in "
               "the daemon's hands and %u took effect)\n", c.kills, c.checked, (now_usec() - start) / 1000000,
               c.kills, c.mid_call, c.in_effect);
        for (unsigned s = 0; s < N_WORK; s++) {
                Work *w = &c.work[s];
                char **objects[12];

                close_session(c.bus, w->path);
                logged_objects(w, objects);
                for (size_t i = 0; objects[i]; i++)
                        free(*objects[i]);
                free(w->path);
        }
        if (pins_move(c.bus))
                wait_pinned(daemon_pid(c.bus), 0);
        close(c.memfd);
        sd_bus_flush_close_unref(c.bus);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest crash[] = { cmocka_unit_test(test_crash_loop) };
        const Group groups[] = { GROUP("crash", crash) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
