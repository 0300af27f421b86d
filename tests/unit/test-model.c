/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's handlers and model on the build host: viommud's own code
 * (libviommud-core) serves a session over a direct channel in this process,
 * and the kernel is a small fake, linked in place of libviommu's ioctl
 * wrappers with -Wl,--wrap. What it checks is the daemon's logic: what a
 * call records, what it undoes when a later step fails, in which order a
 * session is torn down, and what refusals leave behind. That the ioctls
 * themselves work is for the tests in the VM, on real kernels.
 */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <systemd/sd-id128.h>
#include <unistd.h>
#include <cmocka.h>

#include "bus-errors.h"
#include "bus-signals.h"
#include "channel.h"
#include "daemon.h"
#include "frame-channel.h"
#include "daemon/config.h"
#include "device.h"
#include "guest-memory.h"
#include "ioas.h"
#include "lease.h"
#include "mapping-index.h"
#include "session.h"
#include "session-dbus.h"
#include "subscribers.h"
#include "util.h"
#include "viommu-frame.h"
#include "viommu-iommufd.h"

#define PAGE 4096
#define MAX_OBJECTS 64
#define MAX_MAPPINGS 64

/* ---- the fake kernel ----------------------------------------------------- */

static struct {
        bool alive[MAX_OBJECTS];
        uint32_t next_id;
        struct { uint32_t ioas; uint64_t iova, length; } mappings[MAX_MAPPINGS];
        size_t n_mappings;
        uint32_t destroyed[MAX_OBJECTS];        /* in the order destroy came */
        size_t n_destroyed;
        int fail_next_alloc;                    /* an errno the next allocation fails with */
        unsigned n_invalidate_calls;
        uint64_t invalidated[MAX_MAPPINGS];     /* word 0 of each entry the kernel handled */
        size_t n_invalidated;
} kernel;

static void kernel_reset(void) {
        memset(&kernel, 0, sizeof(kernel));
        kernel.next_id = 1;
}

static int kernel_alloc(uint32_t *ret) {
        if (kernel.fail_next_alloc) {
                int r = -kernel.fail_next_alloc;

                kernel.fail_next_alloc = 0;
                return r;
        }
        assert_true(kernel.next_id < MAX_OBJECTS);
        kernel.alive[kernel.next_id] = true;
        *ret = kernel.next_id++;
        return 0;
}

static size_t kernel_count_alive(void) {
        size_t n = 0;

        for (size_t i = 0; i < MAX_OBJECTS; i++)
                n += kernel.alive[i];
        return n;
}

int __wrap_viommu_ioas_alloc(int iommufd, uint32_t *ret);
int __wrap_viommu_ioas_alloc(int iommufd, uint32_t *ret) {
        return kernel_alloc(ret);
}

int __wrap_viommu_hwpt_alloc(int iommufd, uint32_t flags, uint32_t dev_id, uint32_t pt_id, uint32_t fault_id,
                             uint32_t data_type, const void *data, uint32_t data_len, uint32_t *ret);
int __wrap_viommu_hwpt_alloc(int iommufd, uint32_t flags, uint32_t dev_id, uint32_t pt_id, uint32_t fault_id,
                             uint32_t data_type, const void *data, uint32_t data_len, uint32_t *ret) {
        if (!kernel.alive[dev_id] || !kernel.alive[pt_id])
                return -ENOENT;
        return kernel_alloc(ret);
}

int __wrap_viommu_destroy(int iommufd, uint32_t id);
int __wrap_viommu_destroy(int iommufd, uint32_t id) {
        if (id >= MAX_OBJECTS || !kernel.alive[id])
                return -ENOENT;
        kernel.alive[id] = false;
        kernel.destroyed[kernel.n_destroyed++] = id;
        return 0;
}

static bool kernel_overlaps(uint32_t ioas, uint64_t iova, uint64_t length) {
        for (size_t i = 0; i < kernel.n_mappings; i++)
                if (kernel.mappings[i].ioas == ioas && iova < kernel.mappings[i].iova + kernel.mappings[i].length &&
                    kernel.mappings[i].iova < iova + length)
                        return true;
        return false;
}

static int kernel_map(uint32_t ioas, uint32_t flags, uint64_t length, uint64_t *iova) {
        if (!kernel.alive[ioas])
                return -ENOENT;
        if (!(flags & IOMMU_IOAS_MAP_FIXED_IOVA))
                for (*iova = 0x100000; kernel_overlaps(ioas, *iova, length); *iova += 0x100000)
                        ;
        if (kernel_overlaps(ioas, *iova, length))
                return -EEXIST;
        assert_true(kernel.n_mappings < MAX_MAPPINGS);
        kernel.mappings[kernel.n_mappings++] = (typeof(kernel.mappings[0])) { ioas, *iova, length };
        return 0;
}

int __wrap_viommu_ioas_map_file(int iommufd, uint32_t ioas, uint32_t flags, int fd, uint64_t start,
                                uint64_t length, uint64_t *iova);
int __wrap_viommu_ioas_map_file(int iommufd, uint32_t ioas, uint32_t flags, int fd, uint64_t start,
                                uint64_t length, uint64_t *iova) {
        return kernel_map(ioas, flags, length, iova);
}

int __wrap_viommu_ioas_copy(int iommufd, uint32_t dst, uint32_t src, uint32_t flags, uint64_t src_iova,
                            uint64_t length, uint64_t *dst_iova);
int __wrap_viommu_ioas_copy(int iommufd, uint32_t dst, uint32_t src, uint32_t flags, uint64_t src_iova,
                            uint64_t length, uint64_t *dst_iova) {
        return kernel_map(dst, flags, length, dst_iova);
}

/* Whole mappings only, as the kernel: ENOENT for nothing there and for a
 * range that cuts one. */
int __wrap_viommu_ioas_unmap(int iommufd, uint32_t ioas, uint64_t iova, uint64_t length, uint64_t *ret);
int __wrap_viommu_ioas_unmap(int iommufd, uint32_t ioas, uint64_t iova, uint64_t length, uint64_t *ret) {
        uint64_t last = iova + length - 1, n = 0;

        for (size_t i = 0; i < kernel.n_mappings; i++) {
                typeof(kernel.mappings[0]) *m = &kernel.mappings[i];

                if (m->ioas == ioas && m->iova <= last && iova <= m->iova + m->length - 1 &&
                    (m->iova < iova || m->iova + m->length - 1 > last))
                        return -ENOENT;
        }
        for (size_t i = 0; i < kernel.n_mappings;) {
                typeof(kernel.mappings[0]) *m = &kernel.mappings[i];

                if (m->ioas == ioas && m->iova >= iova && m->iova + m->length - 1 <= last) {
                        n += m->length;
                        *m = kernel.mappings[--kernel.n_mappings];
                } else
                        i++;
        }
        if (ret)
                *ret = n;
        return n > 0 ? 0 : -ENOENT;
}

/* Handles entries in order; stops with EIO at an SMMUv3 CMD_TLBI_NH_VA of
 * ASID 0xffff, which stands for whatever a real kernel refuses. */
#define KERNEL_REFUSES (UINT64_C(0xffff) << 48 | 0x12)
int __wrap_viommu_hwpt_invalidate(int iommufd, uint32_t id, uint32_t data_type, uint32_t entry_len,
                                  const void *entries, uint32_t *entry_num);
int __wrap_viommu_hwpt_invalidate(int iommufd, uint32_t id, uint32_t data_type, uint32_t entry_len,
                                  const void *entries, uint32_t *entry_num) {
        kernel.n_invalidate_calls++;
        if (!kernel.alive[id])
                return -ENOENT;
        for (uint32_t i = 0; i < *entry_num; i++) {
                uint64_t w;

                memcpy(&w, (const uint8_t *) entries + (size_t) i * entry_len, sizeof(w));
                if (le64toh(w) == KERNEL_REFUSES) {
                        *entry_num = i;
                        return -EIO;
                }
                assert_true(kernel.n_invalidated < MAX_MAPPINGS);
                kernel.invalidated[kernel.n_invalidated++] = le64toh(w);
        }
        return 0;
}

/* fstat() from the daemon's code: how often it asked about one file. */
static struct stat fstat_watched;
static unsigned fstat_watched_calls;

int __real_fstat(int fd, struct stat *st);
int __wrap_fstat(int fd, struct stat *st);
int __wrap_fstat(int fd, struct stat *st) {
        int r = __real_fstat(fd, st);

        if (r >= 0 && st->st_dev == fstat_watched.st_dev && st->st_ino == fstat_watched.st_ino)
                fstat_watched_calls++;
        return r;
}

static void watch_fstat(int fd) {
        assert_int_equal(__real_fstat(fd, &fstat_watched), 0);
        fstat_watched_calls = 0;
}

/* ---- a fake device, through the DeviceOps table ------------------------- */

static uint32_t fake_attached_pt;

static int fake_attach(Object *dev, uint32_t pt_id, uint32_t *ret_kernel_pt) {
        if (!kernel.alive[pt_id])
                return -ENOENT;
        fake_attached_pt = pt_id;
        return 0;
}

static int fake_detach(Object *dev) {
        fake_attached_pt = 0;
        return 0;
}

static int fake_attach_pasid(Object *dev, uint32_t pasid, uint32_t pt_id, bool replace, uint32_t *ret) {
        return kernel.alive[pt_id] ? 0 : -ENOENT;
}

static int fake_detach_pasid(Object *dev, uint32_t pasid) {
        return 0;
}

static int fake_release(Object *dev) {
        kernel.alive[dev->id] = false;
        return 0;
}

static const DeviceOps fake_device_ops = {
        .attach = fake_attach,
        .detach = fake_detach,
        .attach_pasid = fake_attach_pasid,
        .detach_pasid = fake_detach_pasid,
        .release = fake_release,
};

static Object *fake_device(Session *s) {
        Object *o;
        uint32_t id;

        assert_int_equal(kernel_alloc(&id), 0);
        assert_int_equal(object_new(s, OBJECT_DEVICE, id, &o), 0);
        o->device.name = strdup("fake0");
        assert_non_null(o->device.name);
        o->device.ops = &fake_device_ops;
        o->device.bound = true;
        return o;
}

/* ---- the daemon, and a VMM on a direct channel to it ---------------------- */

typedef struct Fixture {
        Daemon d;
        Session *s;
        sd_bus *vmm;
        int memfd;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        int fd;

        assert_non_null(f);
        kernel_reset();
        fake_attached_pt = 0;
        assert_int_equal(sd_event_new(&f->d.event), 0);
        assert_int_equal(config_new(&f->d.config), 0);
        f->d.features = UINT64_C(1) << VIOMMU_FEATURE_IOAS | UINT64_C(1) << VIOMMU_FEATURE_IOAS_MAP_FILE |
                        UINT64_C(1) << VIOMMU_FEATURE_HWPT_ALLOC | UINT64_C(1) << VIOMMU_FEATURE_NESTING |
                        UINT64_C(1) << VIOMMU_FEATURE_HWPT_INVALIDATE;
        /* A session around no iommufd: the fake kernel needs none. */
        assert_int_equal(session_adopt(&f->d, 1, -EBADF, getuid(), ":1.1", true, false, 0, &f->s), 0);

        assert_int_equal(channel_new(f->s, &fd), 0);
        assert_int_equal(sd_bus_new(&f->vmm), 0);
        assert_int_equal(sd_bus_set_fd(f->vmm, fd, fd), 0);
        assert_int_equal(sd_bus_set_anonymous(f->vmm, true), 0);
        assert_int_equal(sd_bus_negotiate_fds(f->vmm, true), 0);
        assert_int_equal(sd_bus_start(f->vmm), 0);
        assert_int_equal(sd_bus_attach_event(f->vmm, f->d.event, 0), 0);

        f->memfd = memfd_create("guest", MFD_CLOEXEC);
        assert_true(f->memfd >= 0);
        assert_int_equal(ftruncate(f->memfd, 16 * PAGE), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        sd_bus_flush_close_unref(f->vmm);
        frame_channels_free(&f->d);
        while (f->d.sessions)
                session_free(f->d.sessions);
        channels_free(&f->d);
        config_free(f->d.config);
        sd_event_unref(f->d.event);
        close(f->memfd);
        free(f);
        return 0;
}

typedef struct Call {
        sd_bus_message *reply;
        bool done;
} Call;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Call *c = userdata;

        c->reply = sd_bus_message_ref(m);
        c->done = true;
        return 0;
}

/* Calls a method from the VMM's end and runs the daemon until it answers;
 * returns the reply, an error reply included. */
static sd_bus_message *call(Fixture *f, const char *path, const char *iface, const char *member,
                            const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Call c = {};
        va_list ap;

        assert_int_equal(sd_bus_message_new_method_call(f->vmm, &m, NULL, path, iface, member), 0);
        if (types) {
                va_start(ap, types);
                assert_true(sd_bus_message_appendv(m, types, ap) >= 0);
                va_end(ap);
        }
        assert_true(sd_bus_call_async(f->vmm, NULL, m, on_reply, &c, 0) >= 0);
        while (!c.done)
                assert_true(sd_event_run(f->d.event, UINT64_MAX) >= 0);
        return c.reply;
}

static const char *error_name(sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        return e ? e->name : NULL;
}

#define assert_fails(expect, reply) do {                                        \
                sd_bus_message *_r = (reply);                                   \
                assert_string_equal(error_name(_r) ?: "(success)", (expect));   \
                sd_bus_message_unref(_r);                                       \
        } while (0)

static Object *create_ioas(Fixture *f) {
        sd_bus_message *reply = call(f, f->s->path, "org.viommu1.Session", "CreateIOAS", NULL);
        const char *path;
        Object *o;

        assert_null(error_name(reply));
        assert_true(sd_bus_message_read(reply, "o", &path) > 0);
        o = object_find(f->s, path);
        assert_non_null(o);
        sd_bus_message_unref(reply);
        return o;
}

static uint64_t map(Fixture *f, Object *ioas, uint64_t offset, uint64_t length, uint64_t iova, uint32_t flags) {
        sd_bus_message *reply = call(f, ioas->path, "org.viommu1.IOAS", "Map", "htttu", f->memfd, offset, length,
                                     iova, flags);
        uint64_t got;

        assert_null(error_name(reply));
        assert_true(sd_bus_message_read(reply, "t", &got) > 0);
        sd_bus_message_unref(reply);
        return got;
}

static sd_bus_message *call_message(Fixture *f, sd_bus_message *m) {
        Call c = {};

        assert_true(sd_bus_call_async(f->vmm, NULL, m, on_reply, &c, 0) >= 0);
        while (!c.done)
                assert_true(sd_event_run(f->d.event, UINT64_MAX) >= 0);
        return c.reply;
}

/* Session.AllocHWPT of a nested HWPT from an SMMUv3 STE; the reply. */
static sd_bus_message *alloc_hwpt_smmuv3(Fixture *f, Object *dev, Object *viommu, const uint64_t ste[2]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_method_call(f->vmm, &m, NULL, f->s->path, "org.viommu1.Session",
                                                        "AllocHWPT"), 0);
        assert_true(sd_bus_message_append(m, "ooouu", dev->path, viommu->path, "/", 0,
                                          (uint32_t) IOMMU_HWPT_DATA_ARM_SMMUV3) >= 0);
        assert_true(sd_bus_message_append_array(m, 'y', ste, 2 * sizeof(uint64_t)) >= 0);
        return call_message(f, m);
}

/* VIOMMU.Invalidate with n SMMUv3 commands of these first words; the
 * reply's error string into text. */
static uint32_t invalidate_smmuv3(Fixture *f, Object *viommu, const uint64_t *w0, size_t n, char text[static 256]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *error;
        struct iommu_viommu_arm_smmuv3_invalidate cmds[8] = {};
        uint32_t handled;

        assert_true(n <= ELEMENTSOF(cmds));
        for (size_t i = 0; i < n; i++)
                cmds[i].cmd[0] = htole64(w0[i]);
        assert_int_equal(sd_bus_message_new_method_call(f->vmm, &m, NULL, viommu->path, "org.viommu1.VIOMMU",
                                                        "Invalidate"), 0);
        assert_true(sd_bus_message_append(m, "uu", (uint32_t) IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
                                          (uint32_t) sizeof(cmds[0])) >= 0);
        assert_true(sd_bus_message_append_array(m, 'y', cmds, n * sizeof(cmds[0])) >= 0);
        reply = call_message(f, m);
        assert_null(error_name(reply));
        assert_true(sd_bus_message_read(reply, "us", &handled, &error) > 0);
        snprintf(text, 256, "%s", error);
        return handled;
}

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | RW)

/* ---- tests ---------------------------------------------------------------- */

/* What Map, Copy and Unmap record is what the kernel holds. */
static void test_map_copy_unmap(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f), *b = create_ioas(f);
        sd_bus_message *reply;
        uint64_t iova, n;

        map(f, a, 0, 4 * PAGE, 0x10000, FIXED_RW);
        iova = map(f, a, 4 * PAGE, PAGE, 0, RW);
        assert_int_equal(iova, 0x100000);
        assert_int_equal(viommu_mapping_index_count(a->ioas.mappings), 2);
        assert_int_equal(f->s->mapped_bytes, 5 * PAGE);

        reply = call(f, b->path, "org.viommu1.IOAS", "Copy", "otttu", a->path, UINT64_C(0x10000),
                     (uint64_t) 4 * PAGE, UINT64_C(0x40000), (uint32_t) FIXED_RW);
        assert_null(error_name(reply));
        sd_bus_message_unref(reply);
        assert_int_equal(viommu_mapping_index_bytes(b->ioas.mappings), 4 * PAGE);
        assert_int_equal(viommu_mapping_index_lookup(b->ioas.mappings, 0x41000)->iova, 0x40000);
        assert_int_equal(viommu_mapping_index_lookup(b->ioas.mappings, 0x41000)->offset, 0);
        assert_int_equal(f->s->mapped_bytes, 9 * PAGE);

        /* A range that cuts a mapping is refused, and named so. */
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT,
                     call(f, a->path, "org.viommu1.IOAS", "Unmap", "tt", UINT64_C(0x11000), (uint64_t) PAGE));
        assert_fails(VIOMMU_ERROR_NO_SUCH_OBJECT,
                     call(f, a->path, "org.viommu1.IOAS", "Unmap", "tt", UINT64_C(0x800000), (uint64_t) PAGE));
        assert_int_equal(kernel.n_mappings, 3);

        reply = call(f, a->path, "org.viommu1.IOAS", "Unmap", "tt", UINT64_C(0), UINT64_MAX);
        assert_null(error_name(reply));
        assert_true(sd_bus_message_read(reply, "t", &n) > 0);
        sd_bus_message_unref(reply);
        assert_int_equal(n, 5 * PAGE);
        assert_int_equal(viommu_mapping_index_count(a->ioas.mappings), 0);
        assert_int_equal(f->s->mapped_bytes, 4 * PAGE);
        assert_int_equal(kernel.n_mappings, 1);
}

/* A channel answers what is not its session's, or not the method's, as the
 * vtables do: nothing of another session is found, a method of another
 * interface or with other arguments is refused, and the session's own
 * objects answer. */
static void test_channel_reach(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f), *other_ioas;
        Session *other;
        sd_bus_message *reply;

        assert_int_equal(session_adopt(&f->d, 2, -EBADF, getuid(), ":1.2", true, false, 0, &other), 0);
        assert_int_equal(ioas_new(other, &other_ioas), 0);

        assert_fails("org.freedesktop.DBus.Error.UnknownObject",
                     call(f, other_ioas->path, "org.viommu1.IOAS", "Unmap", "tt", UINT64_C(0), UINT64_MAX));
        assert_fails("org.freedesktop.DBus.Error.UnknownObject",
                     call(f, other->path, "org.viommu1.Session", "CreateIOAS", NULL));
        assert_fails("org.freedesktop.DBus.Error.InvalidArgs",
                     call(f, a->path, "org.viommu1.IOAS", "Unmap", "t", UINT64_C(0)));
        assert_fails("org.freedesktop.DBus.Error.UnknownMethod",
                     call(f, a->path, "org.viommu1.IOAS", "NoSuchMethod", NULL));
        assert_fails("org.freedesktop.DBus.Error.UnknownMethod",
                     call(f, a->path, "org.viommu1.HWPT", "Invalidate", "uuay", 0, 8, 0));
        assert_fails(VIOMMU_ERROR_NO_SUCH_OBJECT,
                     call(f, a->path, "org.viommu1.IOAS", "Unmap", "tt", UINT64_C(0x1000), (uint64_t) PAGE));
        assert_int_equal(viommu_mapping_index_count(other_ioas->ioas.mappings), 0);

        map(f, a, 0, PAGE, 0x10000, FIXED_RW);
        reply = call(f, a->path, "org.viommu1.IOAS", "Unmap", "tt", UINT64_C(0), UINT64_MAX);
        assert_null(error_name(reply));
        sd_bus_message_unref(reply);
        assert_int_equal(viommu_mapping_index_count(a->ioas.mappings), 0);
}

/* What a watcher on the bus heard of an IOAS. */
typedef struct Heard {
        unsigned n;             /* PropertiesChanged of org.viommu1.IOAS */
        uint64_t mapped_bytes;  /* in the last of them */
} Heard;

static int on_ioas_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Heard *h = userdata;
        const char *interface, *name;

        assert_true(sd_bus_message_read(m, "s", &interface) > 0);
        if (!streq(interface, "org.viommu1.IOAS"))
                return 0;
        h->n++;
        assert_true(sd_bus_message_enter_container(m, 'a', "{sv}") > 0);
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                assert_true(sd_bus_message_read(m, "s", &name) > 0);
                if (streq(name, "MappedBytes"))
                        assert_true(sd_bus_message_read(m, "v", "t", &h->mapped_bytes) > 0);
                else
                        assert_true(sd_bus_message_skip(m, "v") >= 0);
                assert_true(sd_bus_message_exit_container(m) >= 0);
        }
        return 0;
}

static int on_map_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        unsigned *n = userdata;

        assert_null(error_name(m));
        (*n)++;
        return 0;
}

/* The daemon's bus, as a socketpair to one peer here: the peer's end. */
static sd_bus *daemon_bus_start(Fixture *f) {
        sd_bus *peer;
        sd_id128_t id;
        int fds[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
        assert_int_equal(sd_bus_new(&f->d.bus), 0);
        assert_int_equal(sd_bus_set_fd(f->d.bus, fds[0], fds[0]), 0);
        assert_int_equal(sd_id128_randomize(&id), 0);
        assert_int_equal(sd_bus_set_server(f->d.bus, true, id), 0);
        assert_int_equal(sd_bus_set_anonymous(f->d.bus, true), 0);
        assert_int_equal(sd_bus_negotiate_fds(f->d.bus, true), 0);
        assert_int_equal(bus_register_session_objects(&f->d, f->d.bus), 0);
        assert_int_equal(sd_bus_attach_event(f->d.bus, f->d.event, 0), 0);
        assert_int_equal(sd_bus_start(f->d.bus), 0);
        assert_int_equal(signals_start(&f->d), 0);
        assert_int_equal(sd_bus_new(&peer), 0);
        assert_int_equal(sd_bus_set_fd(peer, fds[1], fds[1]), 0);
        assert_int_equal(sd_bus_set_anonymous(peer, true), 0);
        assert_int_equal(sd_bus_negotiate_fds(peer, true), 0);
        assert_int_equal(sd_bus_start(peer), 0);
        assert_int_equal(sd_bus_attach_event(peer, f->d.event, 0), 0);
        return peer;
}

static void daemon_bus_stop(Fixture *f, sd_bus *peer) {
        sd_bus_flush_close_unref(peer);
        signals_stop(&f->d);
        f->d.bus = sd_bus_flush_close_unref(f->d.bus);
}

/* Many maps in a row make one or a few PropertiesChanged, not one each, and
 * the last carries the final value. The daemon's bus is a socketpair to a
 * watcher here. */
static void test_changes_coalesced(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);
        const unsigned n = 16;
        unsigned replies = 0;
        Heard heard = {};
        sd_bus *watcher = daemon_bus_start(f);

        assert_true(sd_bus_match_signal(watcher, NULL, NULL, a->path, "org.freedesktop.DBus.Properties",
                                        "PropertiesChanged", on_ioas_changed, &heard) >= 0);
        /* The watcher follows the session as a subscriber of its uid. */
        assert_int_equal(subscriber_add(&f->d, ":1.9", &(CallerCreds) { .uid = getuid() }), 1);

        /* A VMM shadowing a guest's page table, one page per call. */
        for (unsigned i = 0; i < n; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                assert_int_equal(sd_bus_message_new_method_call(f->vmm, &m, NULL, a->path, "org.viommu1.IOAS",
                                                                "Map"), 0);
                assert_true(sd_bus_message_append(m, "htttu", f->memfd, (uint64_t) i * PAGE, (uint64_t) PAGE,
                                                  UINT64_C(0x10000) + i * PAGE, (uint32_t) FIXED_RW) >= 0);
                assert_true(sd_bus_call_async(f->vmm, NULL, m, on_map_reply, &replies, 0) >= 0);
        }
        while (replies < n || f->d.dirty_objects || f->d.dirty_sessions)
                assert_true(sd_event_run(f->d.event, UINT64_MAX) >= 0);
        for (unsigned i = 0; i < 100 && heard.mapped_bytes != n * PAGE; i++)
                assert_true(sd_event_run(f->d.event, 10000) >= 0);

        assert_int_equal(heard.mapped_bytes, n * PAGE);
        assert_true(heard.n >= 1);
        assert_true(heard.n <= n / 4);

        subscribers_free(&f->d);
        daemon_bus_stop(f, watcher);
}

/* Who hears of a session: root, its uid, an observer named by uid or by a
 * group it is in; no one else, whatever their other groups. */
static void test_subscriber_sees(void **state) {
        static const char conf[] = "{ \"observers\": { \"users\": [ 4000 ], \"groups\": [ 5000 ] } }";
        Fixture *f = *state;
        _cleanup_free_ char *error = NULL;
        Config *c = NULL, *saved = f->d.config;
        gid_t observers[] = { 100, 5000 }, others[] = { 100, 5001 };
        Session *s;

        assert_int_equal(config_parse(conf, strlen(conf), "test", &c, &error), 0);
        f->d.config = c;
        assert_int_equal(session_adopt(&f->d, 2, -EBADF, 1234, ":1.2", true, false, 0, &s), 0);

        assert_true(subscriber_sees(&f->d, &(Subscriber) { .creds.uid = 0 }, s));
        assert_true(subscriber_sees(&f->d, &(Subscriber) { .creds.uid = 1234 }, s));
        assert_true(subscriber_sees(&f->d, &(Subscriber) { .creds = { .uid = 4000 } }, s));
        assert_true(subscriber_sees(&f->d, &(Subscriber) { .creds = { .uid = 4001, .gids = observers,
                                                                       .n_gids = 2 } }, s));
        assert_false(subscriber_sees(&f->d, &(Subscriber) { .creds = { .uid = 4001, .gids = others,
                                                                        .n_gids = 2 } }, s));
        assert_false(subscriber_sees(&f->d, &(Subscriber) { .creds = { .uid = 1235 } }, s));

        f->d.config = saved;
        config_free(c);
}

/* A refused call changes neither the record nor the kernel. */
static void test_refusals_change_nothing(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);
        size_t objects = f->s->n_objects, alive = kernel_count_alive();

        map(f, a, 0, PAGE, 0x10000, FIXED_RW);
        /* taken by the kernel: Busy */
        assert_fails(VIOMMU_ERROR_BUSY, call(f, a->path, "org.viommu1.IOAS", "Map", "htttu", f->memfd,
                                             UINT64_C(0), (uint64_t) PAGE, UINT64_C(0x10000), (uint32_t) FIXED_RW));
        /* unaligned, past the memfd, no access: refused before the kernel */
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, call(f, a->path, "org.viommu1.IOAS", "Map", "htttu", f->memfd,
                                                         UINT64_C(1), (uint64_t) PAGE, UINT64_C(0x20000),
                                                         (uint32_t) FIXED_RW));
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, call(f, a->path, "org.viommu1.IOAS", "Map", "htttu", f->memfd,
                                                         UINT64_C(0), (uint64_t) 32 * PAGE, UINT64_C(0x20000),
                                                         (uint32_t) FIXED_RW));
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, call(f, a->path, "org.viommu1.IOAS", "Map", "htttu", f->memfd,
                                                         UINT64_C(0), (uint64_t) PAGE, UINT64_C(0x20000),
                                                         (uint32_t) IOMMU_IOAS_MAP_FIXED_IOVA));
        /* the kernel failing an allocation leaves no object */
        kernel.fail_next_alloc = ENOSPC;
        assert_fails(VIOMMU_ERROR_KERNEL, call(f, f->s->path, "org.viommu1.Session", "CreateIOAS", NULL));
        /* an object of the wrong type, and one that does not exist */
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT,
                     call(f, f->s->path, "org.viommu1.Session", "Detach", "o", a->path));
        assert_fails(VIOMMU_ERROR_NO_SUCH_OBJECT,
                     call(f, f->s->path, "org.viommu1.Session", "Destroy", "o", "/org/viommu1/session/_31/ioas/_39"));
        assert_int_equal(f->s->n_objects, objects + 0);
        assert_int_equal(kernel_count_alive(), alive);
        assert_int_equal(kernel.n_mappings, 1);
        assert_int_equal(f->s->mapped_bytes, PAGE);
}

/* Objects in use are refused Destroy; a session goes leaves first. */
static void test_destroy_order(void **state) {
        Fixture *f = *state;
        Object *ioas = create_ioas(f), *dev = fake_device(f->s), *parent, *nested;
        uint32_t ioas_id = ioas->id, parent_id, nested_id;

        assert_int_equal(device_attach(dev, ioas, NULL), 0);
        assert_int_equal(fake_attached_pt, ioas->id);
        assert_int_equal(viommu_hwpt_alloc(-1, IOMMU_HWPT_ALLOC_NEST_PARENT, dev->id, ioas->id, 0, 0, NULL, 0,
                                           &parent_id), 0);
        assert_int_equal(object_adopt(f->s, OBJECT_HWPT, parent_id, NULL, &parent), 0);
        object_use(parent, ioas);
        object_use(parent, dev);
        assert_int_equal(viommu_hwpt_alloc(-1, 0, dev->id, parent_id, 0, 1, "x", 1, &nested_id), 0);
        assert_int_equal(object_adopt(f->s, OBJECT_HWPT, nested_id, NULL, &nested), 0);
        nested->hwpt.nested = true;
        object_use(nested, parent);
        object_use(nested, dev);
        assert_int_equal(device_attach_pasid(dev, 5, nested, NULL), 0);

        assert_fails(VIOMMU_ERROR_BUSY, call(f, f->s->path, "org.viommu1.Session", "Destroy", "o", parent->path));
        assert_fails(VIOMMU_ERROR_BUSY, call(f, f->s->path, "org.viommu1.Session", "Destroy", "o", nested->path));
        assert_fails(VIOMMU_ERROR_BUSY, call(f, f->s->path, "org.viommu1.Session", "ReleaseDevice", "o",
                                             dev->path));

        session_free(f->s);
        f->s = NULL;
        /* The device let go of its PASID and IOAS first; then the nested
         * HWPT before its parent, and the parent before the IOAS. */
        assert_int_equal(kernel.n_destroyed, 3);
        assert_int_equal(kernel.destroyed[0], nested_id);
        assert_int_equal(kernel.destroyed[1], parent_id);
        assert_int_equal(kernel.destroyed[2], ioas_id);
        assert_int_equal(fake_attached_pt, 0);
        assert_int_equal(kernel_count_alive(), 0);
}

/* A failed allocation after the ioctl leaves nothing in the kernel. */
static void test_adopt_destroys_on_failure(void **state) {
        Fixture *f = *state;
        Object *o;
        uint32_t id;

        assert_int_equal(kernel_alloc(&id), 0);
        /* A type the record refuses stands for any failure after the ioctl. */
        assert_true(object_adopt(f->s, _OBJECT_TYPE_MAX, id, NULL, &o) < 0);
        assert_false(kernel.alive[id]);
        assert_int_equal(kernel.n_destroyed, 1);
        assert_int_equal(kernel.destroyed[0], id);
}

/* MapBatch stops at the first failure and keeps what came before, or with
 * all-or-nothing keeps nothing; entries are checked before any is mapped.
 * UnmapBatch stops likewise. */
static void test_map_batch(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);
        sd_bus_message *reply;
        const uint64_t *iovas;
        const char *err;
        uint64_t unmapped;
        uint32_t done;
        size_t size;

        /* The third overlaps the first: the kernel refuses it. */
        reply = call(f, a->path, "org.viommu1.IOAS", "MapBatch", "ahatu", 1, f->memfd, 15,
                     UINT64_C(0), UINT64_C(0), (uint64_t) PAGE, UINT64_C(0x10000), (uint64_t) FIXED_RW,
                     UINT64_C(0), (uint64_t) PAGE, (uint64_t) PAGE, UINT64_C(0x11000), (uint64_t) FIXED_RW,
                     UINT64_C(0), (uint64_t) 2 * PAGE, (uint64_t) PAGE, UINT64_C(0x10000), (uint64_t) FIXED_RW, 0);
        assert_null(error_name(reply));
        assert_true(sd_bus_message_read(reply, "us", &done, &err) > 0);
        assert_int_equal(done, 2);
        assert_string_equal(err, "EEXIST");
        assert_true(sd_bus_message_read_array(reply, 't', (const void **) &iovas, &size) > 0);
        assert_int_equal(size, 2 * sizeof(uint64_t));
        assert_int_equal(iovas[0], 0x10000);
        assert_int_equal(iovas[1], 0x11000);
        sd_bus_message_unref(reply);
        assert_int_equal(kernel.n_mappings, 2);
        assert_int_equal(viommu_mapping_index_count(a->ioas.mappings), 2);
        assert_int_equal(f->s->mapped_bytes, 2 * PAGE);

        /* All or nothing: the same failure takes back the two before it. */
        reply = call(f, a->path, "org.viommu1.IOAS", "MapBatch", "ahatu", 1, f->memfd, 15,
                     UINT64_C(0), UINT64_C(0), (uint64_t) PAGE, UINT64_C(0x20000), (uint64_t) FIXED_RW,
                     UINT64_C(0), (uint64_t) PAGE, (uint64_t) PAGE, UINT64_C(0x21000), (uint64_t) FIXED_RW,
                     UINT64_C(0), (uint64_t) 2 * PAGE, (uint64_t) PAGE, UINT64_C(0x20000), (uint64_t) FIXED_RW, 1);
        assert_string_equal(error_name(reply), VIOMMU_ERROR_BUSY);
        assert_non_null(strstr(sd_bus_message_get_error(reply)->message, "Entry 2: "));
        sd_bus_message_unref(reply);
        assert_int_equal(kernel.n_mappings, 2);
        assert_int_equal(viommu_mapping_index_count(a->ioas.mappings), 2);
        assert_int_equal(f->s->mapped_bytes, 2 * PAGE);

        /* A bad entry anywhere maps nothing: checked first. */
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT,
                     call(f, a->path, "org.viommu1.IOAS", "MapBatch", "ahatu", 1, f->memfd, 10,
                          UINT64_C(0), UINT64_C(0), (uint64_t) PAGE, UINT64_C(0x30000), (uint64_t) FIXED_RW,
                          UINT64_C(1), UINT64_C(0), (uint64_t) PAGE, UINT64_C(0x31000), (uint64_t) FIXED_RW, 0));
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT,
                     call(f, a->path, "org.viommu1.IOAS", "MapBatch", "ahatu", 1, f->memfd, 10,
                          UINT64_C(0), UINT64_C(0), (uint64_t) PAGE, UINT64_C(0x30000), (uint64_t) FIXED_RW,
                          UINT64_C(0), UINT64_C(1), (uint64_t) PAGE, UINT64_C(0x31000), (uint64_t) FIXED_RW, 0));
        /* So is an entry that is not five numbers. */
        reply = call(f, a->path, "org.viommu1.IOAS", "MapBatch", "ahatu", 1, f->memfd, 4,
                     UINT64_C(0), UINT64_C(0), (uint64_t) PAGE, UINT64_C(0x30000), 0);
        assert_string_equal(error_name(reply), VIOMMU_ERROR_INVALID_ARGUMENT);
        assert_non_null(strstr(sd_bus_message_get_error(reply)->message, "five numbers"));
        sd_bus_message_unref(reply);
        /* So is a memory fd that is no memory, even one no entry uses. */
        {
                _cleanup_close_ int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                assert_true(dir >= 0);
                reply = call(f, a->path, "org.viommu1.IOAS", "MapBatch", "ahatu", 2, f->memfd, dir, 5,
                             UINT64_C(0), UINT64_C(0), (uint64_t) PAGE, UINT64_C(0x30000), (uint64_t) FIXED_RW, 0);
                assert_string_equal(error_name(reply), VIOMMU_ERROR_INVALID_ARGUMENT);
                assert_non_null(strstr(sd_bus_message_get_error(reply)->message, "Memory fd 1: "));
                sd_bus_message_unref(reply);
        }
        assert_int_equal(kernel.n_mappings, 2);

        /* The second range has nothing: UnmapBatch stops there. */
        reply = call(f, a->path, "org.viommu1.IOAS", "UnmapBatch", "at", 4, UINT64_C(0x10000), (uint64_t) PAGE,
                     UINT64_C(0x50000), (uint64_t) PAGE);
        assert_null(error_name(reply));
        assert_true(sd_bus_message_read(reply, "ust", &done, &err, &unmapped) > 0);
        assert_int_equal(done, 1);
        assert_string_equal(err, "ENOENT");
        assert_int_equal(unmapped, PAGE);
        sd_bus_message_unref(reply);
        assert_int_equal(kernel.n_mappings, 1);
        assert_int_equal(f->s->mapped_bytes, PAGE);
}

/* ---- guest memory and DMA ------------------------------------------------- */

#define GPA UINT64_C(0x80000000)

static uint32_t add_memory(Fixture *f, int fd, uint64_t offset, uint64_t gpa, uint64_t size) {
        sd_bus_message *reply = call(f, f->s->path, "org.viommu1.Session", "AddMemory", "httt", fd, offset, gpa,
                                     size);
        uint32_t id;

        assert_null(error_name(reply));
        assert_true(sd_bus_message_read(reply, "u", &id) > 0);
        sd_bus_message_unref(reply);
        return id;
}

static sd_bus_message *map_guest(Fixture *f, Object *ioas, uint64_t iova, uint64_t gpa, uint64_t length,
                                 uint32_t flags) {
        return call(f, ioas->path, "org.viommu1.IOAS", "MapGuest", "tttu", iova, gpa, length, flags);
}

/* Regions are added, refused when they overlap or are not guest memory,
 * mapped by guest-physical address, and kept while mappings use them. */
static void test_guest_memory(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f), *b = create_ioas(f);
        _cleanup_close_ int sealed = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        _cleanup_close_ int ro = -EBADF;
        char path[64];
        sd_bus_message *reply;
        uint32_t r1, r2;
        GuestRegion *g;

        /* Pages 0..7 of the memfd at GPA, pages 8..15 at 4 GiB. */
        r1 = add_memory(f, f->memfd, 0, GPA, 8 * PAGE);
        r2 = add_memory(f, f->memfd, 8 * PAGE, UINT64_C(0x100000000), 8 * PAGE);
        assert_int_not_equal(r1, r2);
        assert_int_equal(f->s->n_regions, 2);

        /* Refusals, each naming its reason, change nothing. */
        assert_fails(VIOMMU_ERROR_BUSY, call(f, f->s->path, "org.viommu1.Session", "AddMemory", "httt", f->memfd,
                                             UINT64_C(0), GPA + 7 * PAGE, (uint64_t) 2 * PAGE));
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, call(f, f->s->path, "org.viommu1.Session", "AddMemory", "httt",
                                                         f->memfd, UINT64_C(0), UINT64_C(0), UINT64_C(0)));
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, call(f, f->s->path, "org.viommu1.Session", "AddMemory", "httt",
                                                         f->memfd, UINT64_C(0), UINT64_C(0x800), (uint64_t) PAGE));
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, call(f, f->s->path, "org.viommu1.Session", "AddMemory", "httt",
                                                         f->memfd, UINT64_C(0), UINT64_C(0) - PAGE,
                                                         (uint64_t) 2 * PAGE));
        /* past the memfd's end */
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, call(f, f->s->path, "org.viommu1.Session", "AddMemory", "httt",
                                                         f->memfd, UINT64_C(0), UINT64_C(0), (uint64_t) 17 * PAGE));
        /* sealed against writing */
        assert_true(sealed >= 0);
        assert_int_equal(ftruncate(sealed, PAGE), 0);
        assert_int_equal(fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE), 0);
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, call(f, f->s->path, "org.viommu1.Session", "AddMemory", "httt",
                                                         sealed, UINT64_C(0), UINT64_C(0), (uint64_t) PAGE));
        /* read-only */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", f->memfd);
        ro = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(ro >= 0);
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, call(f, f->s->path, "org.viommu1.Session", "AddMemory", "httt",
                                                         ro, UINT64_C(0), UINT64_C(0), (uint64_t) PAGE));
        /* a regular file, not a memfd */
        {
                _cleanup_close_ int file = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

                if (file >= 0) {
                        assert_int_equal(ftruncate(file, PAGE), 0);
                        reply = call(f, f->s->path, "org.viommu1.Session", "AddMemory", "httt", file,
                                     UINT64_C(0), UINT64_C(0), (uint64_t) PAGE);
                        assert_string_equal(error_name(reply), VIOMMU_ERROR_INVALID_ARGUMENT);
                        assert_non_null(strstr(sd_bus_message_get_error(reply)->message, "memfd"));
                        sd_bus_message_unref(reply);
                }
        }
        assert_int_equal(f->s->n_regions, 2);

        /* Mapped by guest address: the memfd offset is the region's. */
        reply = map_guest(f, a, 0x10000, GPA + 2 * PAGE, 2 * PAGE, FIXED_RW);
        assert_null(error_name(reply));
        sd_bus_message_unref(reply);
        assert_int_equal(ioas_lookup(a, 0x10000)->offset, 2 * PAGE);
        reply = map_guest(f, a, 0x20000, UINT64_C(0x100000000) + PAGE, PAGE, FIXED_RW);
        assert_null(error_name(reply));
        sd_bus_message_unref(reply);
        assert_int_equal(ioas_lookup(a, 0x20000)->offset, 9 * PAGE);
        assert_int_equal(f->s->mapped_bytes, 3 * PAGE);

        /* Outside every region, across a region's end, misaligned. */
        assert_fails(VIOMMU_ERROR_NO_SUCH_OBJECT, map_guest(f, a, 0x30000, UINT64_C(0x40000000), PAGE, FIXED_RW));
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, map_guest(f, a, 0x30000, GPA + 7 * PAGE, 2 * PAGE, FIXED_RW));
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, map_guest(f, a, 0x30000, GPA + 1, PAGE, FIXED_RW));
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, map_guest(f, a, 0x30000, GPA, 0, FIXED_RW));
        assert_int_equal(kernel.n_mappings, 2);

        /* Removing a region in use is Busy, also while only a copy uses it. */
        g = guest_memory_find(f->s, r1);
        assert_int_equal(guest_memory_users(f->s, g), 1);
        reply = call(f, b->path, "org.viommu1.IOAS", "Copy", "otttu", a->path, UINT64_C(0x10000),
                     (uint64_t) 2 * PAGE, UINT64_C(0x40000), (uint32_t) FIXED_RW);
        assert_null(error_name(reply));
        sd_bus_message_unref(reply);
        assert_int_equal(guest_memory_users(f->s, g), 2);
        reply = call(f, a->path, "org.viommu1.IOAS", "Unmap", "tt", UINT64_C(0x10000), (uint64_t) 2 * PAGE);
        assert_null(error_name(reply));
        sd_bus_message_unref(reply);
        assert_fails(VIOMMU_ERROR_BUSY, call(f, f->s->path, "org.viommu1.Session", "RemoveMemory", "u", r1));
        assert_int_equal(f->s->n_regions, 2);
        reply = call(f, b->path, "org.viommu1.IOAS", "Unmap", "tt", UINT64_C(0), UINT64_MAX);
        assert_null(error_name(reply));
        sd_bus_message_unref(reply);
        reply = call(f, f->s->path, "org.viommu1.Session", "RemoveMemory", "u", r1);
        assert_null(error_name(reply));
        sd_bus_message_unref(reply);
        assert_int_equal(f->s->n_regions, 1);
        assert_fails(VIOMMU_ERROR_NO_SUCH_OBJECT, call(f, f->s->path, "org.viommu1.Session", "RemoveMemory", "u", r1));
        /* Its addresses are gone with it; the other region's mapping stays. */
        assert_fails(VIOMMU_ERROR_NO_SUCH_OBJECT, map_guest(f, a, 0x30000, GPA, PAGE, FIXED_RW));
        assert_non_null(ioas_lookup(a, 0x20000));
}

/* The number of regions is bounded. */
static void test_guest_memory_limit(void **state) {
        Fixture *f = *state;

        create_ioas(f);         /* fds pass once the channel is up */
        for (unsigned i = 0; i < GUEST_MEMORY_REGIONS_MAX; i++)
                add_memory(f, f->memfd, 0, (uint64_t) i * PAGE, PAGE);
        assert_fails(VIOMMU_ERROR_LIMIT_EXCEEDED,
                     call(f, f->s->path, "org.viommu1.Session", "AddMemory", "httt", f->memfd, UINT64_C(0),
                          (uint64_t) GUEST_MEMORY_REGIONS_MAX * PAGE, (uint64_t) PAGE));
        assert_int_equal(f->s->n_regions, GUEST_MEMORY_REGIONS_MAX);
}

/* MapGuestBatch checks every entry first, and maps through the same path. */
static void test_guest_memory_batch(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);
        sd_bus_message *reply;
        const uint64_t *iovas;
        const char *err;
        uint32_t done;
        size_t size;

        add_memory(f, f->memfd, 0, GPA, 16 * PAGE);
        reply = call(f, a->path, "org.viommu1.IOAS", "MapGuestBatch", "atu", 8,
                     UINT64_C(0x10000), GPA, (uint64_t) PAGE, (uint64_t) FIXED_RW,
                     UINT64_C(0), GPA + 3 * PAGE, (uint64_t) 2 * PAGE, (uint64_t) RW, 1);
        assert_null(error_name(reply));
        assert_true(sd_bus_message_read(reply, "us", &done, &err) > 0);
        assert_int_equal(done, 2);
        assert_string_equal(err, "");
        assert_true(sd_bus_message_read_array(reply, 't', (const void **) &iovas, &size) > 0);
        assert_int_equal(iovas[0], 0x10000);
        assert_int_equal(ioas_lookup(a, iovas[1])->offset, 3 * PAGE);
        sd_bus_message_unref(reply);
        assert_int_equal(guest_memory_users(f->s, &f->s->regions[0]), 2);

        /* A bad second entry maps nothing. */
        reply = call(f, a->path, "org.viommu1.IOAS", "MapGuestBatch", "atu", 8,
                     UINT64_C(0x40000), GPA, (uint64_t) PAGE, (uint64_t) FIXED_RW,
                     UINT64_C(0x41000), GPA + 16 * PAGE, (uint64_t) PAGE, (uint64_t) FIXED_RW, 0);
        assert_string_equal(error_name(reply), VIOMMU_ERROR_NO_SUCH_OBJECT);
        assert_non_null(strstr(sd_bus_message_get_error(reply)->message, "Entry 1: "));
        sd_bus_message_unref(reply);
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, call(f, a->path, "org.viommu1.IOAS", "MapGuestBatch", "atu", 3,
                                                         UINT64_C(0x40000), GPA, (uint64_t) PAGE, 0));
        assert_int_equal(kernel.n_mappings, 2);
        assert_int_equal(viommu_mapping_index_count(a->ioas.mappings), 2);
}

static void write_iova(Fixture *f, Object *ioas, uint64_t iova, const void *data, size_t n, const char *expect) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Call c = {};

        assert_int_equal(sd_bus_message_new_method_call(f->vmm, &m, NULL, ioas->path, "org.viommu1.IOAS",
                                                        "WriteIOVA"), 0);
        assert_true(sd_bus_message_append(m, "t", iova) >= 0);
        assert_true(sd_bus_message_append_array(m, 'y', data, n) >= 0);
        assert_true(sd_bus_call_async(f->vmm, NULL, m, on_reply, &c, 0) >= 0);
        while (!c.done)
                assert_true(sd_event_run(f->d.event, UINT64_MAX) >= 0);
        assert_string_equal(error_name(c.reply) ?: "(success)", expect);
        sd_bus_message_unref(c.reply);
}

/* DMA through the mapping index reaches the memfd at the mapping's offset,
 * across mappings, and a range not wholly mapped or permitted moves
 * nothing. */
static void test_dma(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);
        static uint8_t data[2 * PAGE], back[2 * PAGE], big[1024 * 1024 + 1];
        sd_bus_message *reply;
        const void *got;
        size_t n;

        add_memory(f, f->memfd, 4 * PAGE, GPA, 8 * PAGE);
        /* IOVA 0x10000 is page 5 of the memfd, 0x11000 page 4; 0x12000 is read-only page 7. */
        sd_bus_message_unref(map_guest(f, a, 0x10000, GPA + PAGE, PAGE, FIXED_RW));
        sd_bus_message_unref(map_guest(f, a, 0x11000, GPA, PAGE, FIXED_RW));
        sd_bus_message_unref(map_guest(f, a, 0x12000, GPA + 3 * PAGE, PAGE,
                                       IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE));
        assert_int_equal(viommu_mapping_index_count(a->ioas.mappings), 3);

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) (i * 7 + 1);
        write_iova(f, a, 0x10800, data, 2 * PAGE - 0x800, "(success)");
        assert_int_equal(pread(f->memfd, back, PAGE - 0x800, 5 * PAGE + 0x800), PAGE - 0x800);
        assert_memory_equal(back, data, PAGE - 0x800);
        assert_int_equal(pread(f->memfd, back, PAGE, 4 * PAGE), PAGE);
        assert_memory_equal(back, data + PAGE - 0x800, PAGE);

        reply = call(f, a->path, "org.viommu1.IOAS", "ReadIOVA", "tu", UINT64_C(0x10800), (uint32_t) (2 * PAGE - 0x800));
        assert_null(error_name(reply));
        assert_true(sd_bus_message_read_array(reply, 'y', &got, &n) > 0);
        assert_int_equal(n, 2 * PAGE - 0x800);
        assert_memory_equal(got, data, n);
        sd_bus_message_unref(reply);

        /* Into the read-only page: refused, and the writeable part before it
         * is left as it was. */
        memset(back, 0xee, sizeof(back));
        write_iova(f, a, 0x11000, back, 2 * PAGE, VIOMMU_ERROR_PERMISSION_DENIED);
        assert_int_equal(pread(f->memfd, back, PAGE, 4 * PAGE), PAGE);
        assert_memory_equal(back, data + PAGE - 0x800, PAGE);
        /* Read it is fine. */
        reply = call(f, a->path, "org.viommu1.IOAS", "ReadIOVA", "tu", UINT64_C(0x12000), (uint32_t) PAGE);
        assert_null(error_name(reply));
        sd_bus_message_unref(reply);

        /* Past the last mapping: NotMapped, naming the first IOVA not mapped. */
        reply = call(f, a->path, "org.viommu1.IOAS", "ReadIOVA", "tu", UINT64_C(0x12800), (uint32_t) PAGE);
        assert_string_equal(error_name(reply), VIOMMU_ERROR_NOT_MAPPED);
        assert_non_null(strstr(sd_bus_message_get_error(reply)->message, "0x13000"));
        sd_bus_message_unref(reply);
        memset(back, 0xdd, sizeof(back));
        write_iova(f, a, 0xf000, back, 2 * PAGE, VIOMMU_ERROR_NOT_MAPPED);
        assert_int_equal(pread(f->memfd, back, PAGE, 5 * PAGE), PAGE);
        assert_memory_equal(back + 0x800, data, PAGE - 0x800);

        /* Bounds: empty, more than 1 MiB, wrapping. */
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT,
                     call(f, a->path, "org.viommu1.IOAS", "ReadIOVA", "tu", UINT64_C(0x10000), (uint32_t) 0));
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, call(f, a->path, "org.viommu1.IOAS", "ReadIOVA", "tu",
                                                         UINT64_C(0x10000), (uint32_t) sizeof(big)));
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT, call(f, a->path, "org.viommu1.IOAS", "ReadIOVA", "tu",
                                                         UINT64_MAX, (uint32_t) 2));
        write_iova(f, a, 0x10000, big, sizeof(big), VIOMMU_ERROR_INVALID_ARGUMENT);

        /* A mapping of a memfd passed with Map: the daemon keeps no fd. */
        map(f, a, 0, PAGE, 0x50000, FIXED_RW);
        assert_fails(VIOMMU_ERROR_NOT_SUPPORTED,
                     call(f, a->path, "org.viommu1.IOAS", "ReadIOVA", "tu", UINT64_C(0x50000), (uint32_t) 16));

        /* After Unmap, nothing is reached there. */
        sd_bus_message_unref(call(f, a->path, "org.viommu1.IOAS", "Unmap", "tt", UINT64_C(0x10000), (uint64_t) PAGE));
        assert_fails(VIOMMU_ERROR_NOT_MAPPED,
                     call(f, a->path, "org.viommu1.IOAS", "ReadIOVA", "tu", UINT64_C(0x10000), (uint32_t) 16));
}

/* SMMUv3 vendor data is checked before the kernel sees it: a bad STE is
 * refused and nothing allocated; of a batch of commands the kernel gets
 * those before the first bad one, and the reply names that one. */
static void test_smmuv3_checked(void **state) {
        Fixture *f = *state;
        Object *ioas = create_ioas(f), *dev = fake_device(f->s), *parent, *viommu, *vdev;
        const uint64_t ste_s2[2] = { htole64(1 | 6 << 1), 0 }, ste_bypass[2] = { htole64(1 | 4 << 1), 0 };
        const uint64_t sync = 0x46, cfgi_ste = 0x03, nh_all = 0x10, nh_asid = 0x11 | UINT64_C(3) << 48,
                       cfgi_cd = 0x05 | UINT64_C(0x10) << 32, cfgi_cd_other = 0x05 | UINT64_C(0x11) << 32;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char text[256];
        uint32_t id, handled;
        size_t alive;

        assert_int_equal(kernel_alloc(&id), 0);
        assert_int_equal(object_adopt(f->s, OBJECT_HWPT, id, NULL, &parent), 0);
        object_use(parent, ioas);
        object_use(parent, dev);
        assert_int_equal(kernel_alloc(&id), 0);
        assert_int_equal(object_adopt(f->s, OBJECT_VIOMMU, id, NULL, &viommu), 0);
        viommu->viommu.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3;
        object_use(viommu, parent);
        object_use(viommu, dev);
        assert_int_equal(kernel_alloc(&id), 0);
        assert_int_equal(object_adopt(f->s, OBJECT_VDEVICE, id, NULL, &vdev), 0);
        vdev->vdevice.virt_id = 0x10;
        object_use(vdev, viommu);
        object_use(vdev, dev);

        /* A stage-2 STE: refused by name, and the kernel asked for nothing. */
        alive = kernel_count_alive();
        reply = alloc_hwpt_smmuv3(f, dev, viommu, ste_s2);
        assert_string_equal(error_name(reply), VIOMMU_ERROR_INVALID_ARGUMENT);
        assert_string_equal(sd_bus_message_get_error(reply)->message,
                            "STE word 0 Config 0x6 (stage 2) is not allowed in a guest STE: "
                            "only 0x0 (abort), 0x4 (bypass) and 0x5 (stage 1)");
        assert_int_equal(kernel_count_alive(), alive);
        /* A bypass STE goes to the kernel. */
        sd_bus_message_unref(reply);
        reply = alloc_hwpt_smmuv3(f, dev, viommu, ste_bypass);
        assert_null(error_name(reply));
        assert_int_equal(kernel_count_alive(), alive + 1);

        /* CMD_SYNC third: the two before it handled, the rest not sent. */
        handled = invalidate_smmuv3(f, viommu, (const uint64_t[]) { nh_all, cfgi_cd, sync, nh_asid }, 4, text);
        assert_int_equal(handled, 2);
        assert_string_equal(text, "EINVAL: Entry 2: CMD_SYNC (opcode 0x46) is no command a vIOMMU takes: "
                                  "Invalidate returns once the batch is complete");
        assert_int_equal(kernel.n_invalidated, 2);
        assert_true(kernel.invalidated[0] == nh_all && kernel.invalidated[1] == cfgi_cd);
        /* A bad first command: the kernel is not called. */
        handled = invalidate_smmuv3(f, viommu, (const uint64_t[]) { cfgi_ste, nh_all }, 2, text);
        assert_int_equal(handled, 0);
        assert_string_equal(text, "EINVAL: Entry 0: CMD_CFGI_STE (opcode 0x03) is no command a vIOMMU takes: "
                                  "a guest's STE changes by a new nested HWPT and Attach");
        assert_int_equal(kernel.n_invalidate_calls, 1);
        /* A StreamID that is no vDEVICE's. */
        handled = invalidate_smmuv3(f, viommu, (const uint64_t[]) { cfgi_cd_other }, 1, text);
        assert_int_equal(handled, 0);
        assert_string_equal(text, "EINVAL: Entry 0: CMD_CFGI_CD StreamID 0x11 is no vDEVICE's virtual id "
                                  "on this vIOMMU");
        /* The kernel stopping before the bad one: its count and errno. */
        handled = invalidate_smmuv3(f, viommu, (const uint64_t[]) { nh_asid, KERNEL_REFUSES, sync }, 3, text);
        assert_int_equal(handled, 1);
        assert_string_equal(text, "EIO");
        /* All good: all handled. */
        kernel.n_invalidated = 0;
        handled = invalidate_smmuv3(f, viommu, (const uint64_t[]) { nh_all, nh_asid, cfgi_cd }, 3, text);
        assert_int_equal(handled, 3);
        assert_string_equal(text, "");
        assert_int_equal(kernel.n_invalidated, 3);
}

/* ---- the frame channel ---------------------------------------------------- */

/* A reply as it came, and its size. */
typedef struct Frame {
        struct viommu_frame_reply h;
        char payload[1024];
        size_t size;
} Frame;

/* Sends a frame (with fds as SCM_RIGHTS), runs the daemon until it answers. */
static void frame(Fixture *f, int fd, const void *buf, size_t size, const int *fds, size_t n_fds, Frame *ret) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 8)];
        } control = {};
        struct iovec iov = { (void *) buf, size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (n_fds > 0) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                control.h = (struct cmsghdr) { .cmsg_len = CMSG_LEN(sizeof(int) * n_fds), .cmsg_level = SOL_SOCKET,
                                               .cmsg_type = SCM_RIGHTS };
                memcpy(CMSG_DATA(&control.h), fds, sizeof(int) * n_fds);
        }
        assert_int_equal(sendmsg(fd, &mh, 0), (ssize_t) size);
        *ret = (Frame) {};
        while ((n = recv(fd, ret, offsetof(Frame, size) - 1, MSG_DONTWAIT)) < 0) {
                assert_int_equal(errno, EAGAIN);
                assert_true(sd_event_run(f->d.event, UINT64_MAX) >= 0);
        }
        assert_true(n >= (ssize_t) sizeof(ret->h));
        ret->size = n;
}

/* A request: the header, then size bytes of arguments. */
static size_t request(uint8_t *buf, uint32_t op, uint32_t object, const void *args, size_t size) {
        struct viommu_frame_request req = { .cookie = 0x5eed, .op = op, .object = object };

        memcpy(buf, &req, sizeof(req));
        if (size > 0)
                memcpy(buf + sizeof(req), args, size);
        return sizeof(req) + size;
}

static void frame_refused(Fixture *f, int fd, const void *buf, size_t size, const int *fds, size_t n_fds) {
        Frame r;

        frame(f, fd, buf, size, fds, n_fds, &r);
        assert_int_equal(r.h.error, 1);
        assert_string_equal(r.payload, VIOMMU_ERROR_INVALID_ARGUMENT);
}

/* The frames' checks, and what IOAS_MAP and IOAS_UNMAP record: refusals
 * leave the kernel and the record alone and close the descriptors that
 * came with them; the channel goes with its session. */
static void test_frame_channel(void **state) {
        Fixture *f = *state;
        Object *ioas = create_ioas(f);
        struct viommu_frame_map map = { .offset = 0, .length = 2 * PAGE, .iova = 0x20000, .flags = FIXED_RW };
        struct viommu_frame_unmap unmap = { .iova = 0x20000, .length = 2 * PAGE };
        static uint8_t big[VIOMMU_FRAME_SIZE_MAX + 64];
        uint8_t buf[256];
        int fd, fds[6], dup_fd;
        uint64_t result;
        Frame r;

        assert_int_equal(frame_channel_new(f->s, &fd), 0);

        frame(f, fd, buf, request(buf, VIOMMU_FRAME_PING, 0, NULL, 0), NULL, 0, &r);
        assert_int_equal(r.h.error, 0);
        assert_true(r.h.cookie == 0x5eed);
        assert_int_equal(r.size, sizeof(r.h));

        /* Short, oversized, unknown, a PING with an object or arguments, a
         * descriptor where none goes, too many of them, a map of no
         * IOAS or with a reserved field set or arguments cut short. */
        frame(f, fd, buf, 5, NULL, 0, &r);
        assert_int_equal(r.h.error, 1);
        assert_true(r.h.cookie == 0);
        assert_string_equal(r.payload, VIOMMU_ERROR_INVALID_ARGUMENT);
        request(big, VIOMMU_FRAME_PING, 0, NULL, 0);
        frame_refused(f, fd, big, sizeof(big), NULL, 0);
        frame_refused(f, fd, buf, request(buf, 77, 0, NULL, 0), NULL, 0);
        frame_refused(f, fd, buf, request(buf, VIOMMU_FRAME_PING, ioas->id, NULL, 0), NULL, 0);
        frame_refused(f, fd, buf, request(buf, VIOMMU_FRAME_PING, 0, &unmap, sizeof(unmap)), NULL, 0);
        dup_fd = fcntl(f->memfd, F_DUPFD_CLOEXEC, 3);
        frame_refused(f, fd, buf, request(buf, VIOMMU_FRAME_IOAS_UNMAP, ioas->id, &unmap, sizeof(unmap)),
                      &dup_fd, 1);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                fds[i] = f->memfd;
        frame_refused(f, fd, buf, request(buf, VIOMMU_FRAME_IOAS_MAP, ioas->id, &map, sizeof(map)), fds, 2);
        frame_refused(f, fd, buf, request(buf, VIOMMU_FRAME_IOAS_MAP, ioas->id, &map, sizeof(map)), fds,
                      ELEMENTSOF(fds));
        frame_refused(f, fd, buf, request(buf, VIOMMU_FRAME_IOAS_MAP, ioas->id, &map, sizeof(map)), NULL, 0);
        frame_refused(f, fd, buf, request(buf, VIOMMU_FRAME_IOAS_MAP, ioas->id, &map, sizeof(map) - 1),
                      &f->memfd, 1);
        map.reserved = 1;
        frame_refused(f, fd, buf, request(buf, VIOMMU_FRAME_IOAS_MAP, ioas->id, &map, sizeof(map)), &f->memfd, 1);
        map.reserved = 0;
        frame(f, fd, buf, request(buf, VIOMMU_FRAME_IOAS_MAP, 999, &map, sizeof(map)), &f->memfd, 1, &r);
        assert_int_equal(r.h.error, 1);
        assert_string_equal(r.payload, VIOMMU_ERROR_NO_SUCH_OBJECT);
        frame(f, fd, buf, request(buf, VIOMMU_FRAME_INVALIDATE, ioas->id, &map, sizeof(map)), NULL, 0, &r);
        assert_int_equal(r.h.error, 1);
        assert_string_equal(r.payload, VIOMMU_ERROR_INVALID_ARGUMENT);
        assert_int_equal(kernel.n_mappings, 0);
        assert_int_equal(viommu_mapping_index_count(ioas->ioas.mappings), 0);
        /* The refused frame's descriptor was closed: ours is the last. */
        assert_int_equal(close(dup_fd), 0);

        frame(f, fd, buf, request(buf, VIOMMU_FRAME_IOAS_MAP, ioas->id, &map, sizeof(map)), &f->memfd, 1, &r);
        assert_int_equal(r.h.error, 0);
        assert_int_equal(r.h.value, sizeof(result));
        memcpy(&result, r.payload, sizeof(result));
        assert_int_equal(result, 0x20000);
        assert_int_equal(kernel.n_mappings, 1);
        assert_int_equal(f->s->mapped_bytes, 2 * PAGE);

        unmap.length = PAGE;
        frame(f, fd, buf, request(buf, VIOMMU_FRAME_IOAS_UNMAP, ioas->id, &unmap, sizeof(unmap)), NULL, 0, &r);
        assert_int_equal(r.h.error, 1);
        assert_int_equal(kernel.n_mappings, 1);
        unmap.length = 2 * PAGE;
        frame(f, fd, buf, request(buf, VIOMMU_FRAME_IOAS_UNMAP, ioas->id, &unmap, sizeof(unmap)), NULL, 0, &r);
        assert_int_equal(r.h.error, 0);
        memcpy(&result, r.payload, sizeof(result));
        assert_int_equal(result, 2 * PAGE);
        assert_int_equal(kernel.n_mappings, 0);
        assert_int_equal(viommu_mapping_index_count(ioas->ioas.mappings), 0);

        /* The session's end closes the channel. */
        session_close(f->s, "test");
        assert_true(recv(fd, buf, sizeof(buf), 0) == 0);
        close(fd);
}

/* ---- ranges at 2^64, a copy within one IOAS, a batch that stops ----------- */

#define WRAP_OFFSET UINT64_C(0xfffffffffffff000)

/* An offset + length of exactly 2^64 wraps to 0, while offset + length - 1
 * does not: Map of 4 KiB at offset 2^64 - 4096 of a 64 KiB memfd is past
 * its end. */
static void test_map_offset_wraps(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);

        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT,
                     call(f, a->path, "org.viommu1.IOAS", "Map", "htttu", f->memfd, WRAP_OFFSET, (uint64_t) PAGE,
                          UINT64_C(0x10000), (uint32_t) FIXED_RW));
        assert_int_equal(kernel.n_mappings, 0);
}

/* A file on disk, on no tmpfs: -EBADF if there is none to be had. */
static int disk_file(void) {
        static const char *const dirs[] = { ".", "/var/tmp", "/tmp" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_close_ int fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
                struct statfs sfs;

                if (fd >= 0 && fstatfs(fd, &sfs) == 0 && sfs.f_type != TMPFS_MAGIC &&
                    sfs.f_type != HUGETLBFS_MAGIC)
                        return TAKE_FD(fd);
        }
        return -EBADF;
}

static sd_bus_message *map_fd(Fixture *f, Object *ioas, int fd, uint64_t iova) {
        return call(f, ioas->path, "org.viommu1.IOAS", "Map", "htttu", fd, UINT64_C(0), (uint64_t) PAGE, iova,
                    (uint32_t) FIXED_RW);
}

/* Map takes a memfd, and another file of tmpfs or hugetlbfs; any other file
 * is refused before the daemon asks its file system anything, as fstat() of
 * a file of a FUSE server that does not answer would stop the daemon. */
static void test_map_refuses_other_files(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);
        _cleanup_close_ int file = disk_file(), shm = -EBADF, huge = -EBADF;
        sd_bus_message *reply;
        struct statfs sfs;

        /* The wrapper sees the daemon's fstat() of the memfd it maps. */
        watch_fstat(f->memfd);
        map(f, a, 0, PAGE, 0x10000, FIXED_RW);
        assert_int_equal(fstat_watched_calls, 1);

        if (file >= 0) {
                assert_int_equal(ftruncate(file, PAGE), 0);
                watch_fstat(file);
                reply = map_fd(f, a, file, 0x20000);
                assert_string_equal(error_name(reply) ?: "(success)", VIOMMU_ERROR_INVALID_ARGUMENT);
                assert_non_null(strstr(sd_bus_message_get_error(reply)->message, "tmpfs or hugetlbfs"));
                sd_bus_message_unref(reply);
                assert_int_equal(fstat_watched_calls, 0);
        }
        assert_int_equal(kernel.n_mappings, 1);

        /* A file of tmpfs that is no memfd, and a hugetlbfs memfd. */
        if (statfs("/dev/shm", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC)
                shm = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (shm >= 0) {
                assert_int_equal(ftruncate(shm, PAGE), 0);
                reply = map_fd(f, a, shm, 0x30000);
                assert_null(error_name(reply));
                sd_bus_message_unref(reply);
        }
        huge = memfd_create("huge", MFD_CLOEXEC | MFD_HUGETLB);
        if (huge >= 0 && ftruncate(huge, 2 * 1024 * 1024) == 0) {
                reply = map_fd(f, a, huge, 0x40000);
                assert_null(error_name(reply));
                sd_bus_message_unref(reply);
        }
        assert_int_equal(kernel.n_mappings, 1 + (shm >= 0) + (huge >= 0));
}

/* The same through the frame channel's IOAS_MAP. */
static void test_frame_map_offset_wraps(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);
        struct viommu_frame_map map = { .offset = WRAP_OFFSET, .length = PAGE, .iova = 0x20000, .flags = FIXED_RW };
        uint8_t buf[256];
        Frame r;
        int fd;

        assert_int_equal(frame_channel_new(f->s, &fd), 0);
        frame(f, fd, buf, request(buf, VIOMMU_FRAME_IOAS_MAP, a->id, &map, sizeof(map)), &f->memfd, 1, &r);
        close(fd);
        assert_int_equal(r.h.error, 1);
        assert_int_equal(kernel.n_mappings, 0);
}

/* AddMemory: 0x1000 + 0xfffffffffffff000 is 2^64, so a region of nearly
 * 2^64 bytes of a 64 KiB memfd is accepted (with IOAS_MAP_FILE, where the
 * daemon does not mmap the region). */
static void test_add_memory_size_wraps(void **state) {
        Fixture *f = *state;

        (void) create_ioas(f);  /* the channel's first call: it brings the fd passing up */
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT,
                     call(f, f->s->path, "org.viommu1.Session", "AddMemory", "httt", f->memfd, (uint64_t) PAGE,
                          UINT64_C(0), WRAP_OFFSET));
        assert_int_equal(f->s->n_regions, 0);
}

/* Copy with the source IOAS as the destination: inserting into the tree
 * that the copy walks moved the walk onto the new mapping, whose copy was
 * EEXIST, and the copy was recorded as 0 bytes (a record/kernel
 * disagreement in the log). */
static void test_copy_within_one_ioas(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);
        sd_bus_message *reply;

        map(f, a, 0, PAGE, 0x200000, FIXED_RW);
        reply = call(f, a->path, "org.viommu1.IOAS", "Copy", "otttu", a->path, UINT64_C(0x200000), (uint64_t) PAGE,
                     UINT64_C(0x100000), (uint32_t) FIXED_RW);
        assert_null(error_name(reply));
        sd_bus_message_unref(reply);
        assert_int_equal(viommu_mapping_index_count(a->ioas.mappings), 2);
        /* The record's own count of what one more such copy adds. */
        assert_int_equal(ioas_record_copy(a, a, 0x200000, PAGE, 0x50000, FIXED_RW), PAGE);
}

static int on_lease_revoked(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        (*(unsigned *) userdata)++;
        return 0;
}

/* A batch whose range cuts a leased mapping answers (0, "EINVAL") at once
 * and leaves the lease alone, as Unmap does: it revoked the lease, waited
 * for it and failed Busy. */
static void test_unmap_batch_cut_revokes_lease(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const uint64_t ranges[2] = { 0x10000, PAGE };  /* the first page of a two-page mapping */
        sd_bus_message *reply;
        unsigned revoked = 0;
        const char *text;
        uint32_t done;
        uint64_t n;

        f->d.config->limits[CONFIG_LIMIT_LEASE_DRAIN_MSEC] = 100;
        assert_true(sd_bus_match_signal(f->vmm, NULL, NULL, a->path, "org.viommu1.IOAS", "LeaseRevoked",
                                        on_lease_revoked, &revoked) >= 0);
        add_memory(f, f->memfd, 0, GPA, 8 * PAGE);
        sd_bus_message_unref(map_guest(f, a, 0x10000, GPA, 2 * PAGE, FIXED_RW));
        reply = call(f, a->path, "org.viommu1.IOAS", "TakeLease", "ttu", UINT64_C(0x10000), (uint64_t) PAGE,
                     (uint32_t) 1);
        assert_null(error_name(reply));
        sd_bus_message_unref(reply);

        /* Unmap of that range: refused at once, the lease left alone. */
        assert_fails(VIOMMU_ERROR_INVALID_ARGUMENT,
                     call(f, a->path, "org.viommu1.IOAS", "Unmap", "tt", ranges[0], ranges[1]));
        assert_int_equal(revoked, 0);

        assert_int_equal(sd_bus_message_new_method_call(f->vmm, &m, NULL, a->path, "org.viommu1.IOAS",
                                                        "UnmapBatch"), 0);
        assert_true(sd_bus_message_append_array(m, 't', ranges, sizeof(ranges)) >= 0);
        reply = call_message(f, m);
        if (error_name(reply))
                fail_msg("UnmapBatch of a range that cuts a mapping: %s: %s (LeaseRevoked sent %u time(s))",
                         error_name(reply), sd_bus_message_get_error(reply)->message, revoked);
        assert_true(sd_bus_message_read(reply, "ust", &done, &text, &n) > 0);
        assert_int_equal(done, 0);
        assert_string_equal(text, "EINVAL");
        sd_bus_message_unref(reply);
        assert_int_equal(revoked, 0);
}

/* A lease on the first page of a, by TakeLease over the channel: its id. */
static uint32_t take_lease(Fixture *f, Object *a) {
        sd_bus_message *reply = call(f, a->path, "org.viommu1.IOAS", "TakeLease", "ttu", UINT64_C(0x10000),
                                     (uint64_t) PAGE, (uint32_t) 1);
        uint64_t offset;
        uint32_t id;
        int fd;

        assert_null(error_name(reply));
        assert_true(sd_bus_message_read(reply, "htu", &fd, &offset, &id) > 0);
        sd_bus_message_unref(reply);
        return id;
}

/* limits.leases: one lease over it is refused, naming the limit; one
 * released makes room. */
static void test_lease_limit(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);
        sd_bus_message *reply;
        uint32_t id;

        f->d.config->limits[CONFIG_LIMIT_LEASES] = 2;
        add_memory(f, f->memfd, 0, GPA, 8 * PAGE);
        sd_bus_message_unref(map_guest(f, a, 0x10000, GPA, PAGE, FIXED_RW));
        id = take_lease(f, a);
        take_lease(f, a);
        reply = call(f, a->path, "org.viommu1.IOAS", "TakeLease", "ttu", UINT64_C(0x10000), (uint64_t) PAGE,
                     (uint32_t) 1);
        assert_string_equal(error_name(reply), VIOMMU_ERROR_LIMIT_EXCEEDED);
        assert_non_null(strstr(sd_bus_message_get_error(reply)->message, "limits.leases"));
        sd_bus_message_unref(reply);

        sd_bus_message_unref(call(f, a->path, "org.viommu1.IOAS", "ReleaseLease", "u", id));
        take_lease(f, a);
}

/* Lease ids wrap after 2^32 leases: 0 is never one, and one still held is
 * skipped, so that a release names one lease only. */
static void test_lease_ids_wrap(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);
        uint32_t first, second;

        add_memory(f, f->memfd, 0, GPA, 8 * PAGE);
        sd_bus_message_unref(map_guest(f, a, 0x10000, GPA, PAGE, FIXED_RW));
        f->s->next_lease = UINT32_MAX - 1;
        first = take_lease(f, a);
        assert_int_equal(first, UINT32_MAX);
        second = take_lease(f, a);
        assert_int_equal(second, 1);

        /* As if 2^32 - 2 more leases came and went. */
        f->s->next_lease = UINT32_MAX - 1;
        assert_int_equal(take_lease(f, a), 2);

        sd_bus_message_unref(call(f, a->path, "org.viommu1.IOAS", "ReleaseLease", "u", first));
        assert_fails(VIOMMU_ERROR_NO_SUCH_OBJECT,
                     call(f, a->path, "org.viommu1.IOAS", "ReleaseLease", "u", first));
        sd_bus_message_unref(call(f, a->path, "org.viommu1.IOAS", "ReleaseLease", "u", second));
}

typedef struct Replies {
        uint64_t cookie;
        unsigned n;
        char error[256];
} Replies;

static int count_replies(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Replies *r = userdata;
        uint64_t cookie;

        if (sd_bus_message_get_reply_cookie(m, &cookie) < 0 || cookie != r->cookie)
                return 0;
        r->n++;
        if (sd_bus_message_is_method_error(m, NULL))
                snprintf(r->error, sizeof(r->error), "%s", sd_bus_message_get_error(m)->name);
        return 1;
}

/* A call put aside for a lease, resumed by its release, whose session ends
 * before it runs again: it is answered once, where it runs. */
static void test_lease_resumed_then_session_ends(void **state) {
        Fixture *f = *state;
        sd_bus *peer = daemon_bus_start(f);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Object *a = create_ioas(f);
        Replies replies = {};
        uint32_t id;

        add_memory(f, f->memfd, 0, GPA, 8 * PAGE);
        sd_bus_message_unref(map_guest(f, a, 0x10000, GPA, PAGE, FIXED_RW));
        id = take_lease(f, a);
        assert_true(sd_bus_add_filter(peer, NULL, count_replies, &replies) >= 0);
        assert_int_equal(sd_bus_message_new_method_call(peer, &m, NULL, a->path, "org.viommu1.IOAS", "Unmap"), 0);
        assert_true(sd_bus_message_append(m, "tt", UINT64_C(0x10000), (uint64_t) PAGE) >= 0);
        /* The session's owner, as the bus would name it; adopted sessions
         * trust no name until the bus confirms it, this one was opened on
         * this bus. */
        f->s->owner_here = true;
        assert_int_equal(sd_bus_message_set_sender(m, f->s->owner), 0);
        assert_true(sd_bus_send(peer, m, &replies.cookie) >= 0);
        while (!f->s->drains && replies.n == 0)
                assert_true(sd_event_run(f->d.event, UINT64_MAX) >= 0);
        assert_string_equal(replies.error, "");
        assert_int_equal(replies.n, 0);

        assert_int_equal(lease_release(a, id), 0);
        session_free(f->s);
        f->s = NULL;
        while (replies.n == 0)
                assert_true(sd_event_run(f->d.event, UINT64_MAX) >= 0);
        for (unsigned i = 0; i < 10; i++)
                assert_true(sd_event_run(f->d.event, 1000) >= 0);
        assert_int_equal(replies.n, 1);
        assert_string_not_equal(replies.error, "");
        daemon_bus_stop(f, peer);
}

/* A frame channel that cannot answer the request its lease drain failed
 * (its peer reads no more) is dropped, not left waiting with the request's
 * slot. */
static void test_frame_drain_unanswerable(void **state) {
        Fixture *f = *state;
        Object *a = create_ioas(f);
        struct viommu_frame_unmap unmap = { .iova = 0x10000, .length = PAGE };
        uint8_t buf[256];
        size_t size;
        int fd;

        f->d.config->limits[CONFIG_LIMIT_LEASE_DRAIN_MSEC] = 1;
        add_memory(f, f->memfd, 0, GPA, 8 * PAGE);
        sd_bus_message_unref(map_guest(f, a, 0x10000, GPA, PAGE, FIXED_RW));
        take_lease(f, a);
        assert_int_equal(frame_channel_new(f->s, &fd), 0);
        size = request(buf, VIOMMU_FRAME_IOAS_UNMAP, a->id, &unmap, sizeof(unmap));
        assert_int_equal(send(fd, buf, size, 0), (ssize_t) size);
        while (!f->s->drains)
                assert_true(sd_event_run(f->d.event, UINT64_MAX) >= 0);

        assert_int_equal(shutdown(fd, SHUT_RD), 0);
        while (f->s->drains)
                assert_true(sd_event_run(f->d.event, UINT64_MAX) >= 0);
        for (unsigned i = 0; i < 10 && f->d.frame_channels; i++)
                assert_true(sd_event_run(f->d.event, 1000) >= 0);
        assert_null(f->d.frame_channels);
        /* The mapping stays: the lease was never released. */
        assert_non_null(lease_overlapping(a, 0x10000, PAGE));
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_map_offset_wraps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_map_refuses_other_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_frame_map_offset_wraps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_add_memory_size_wraps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copy_within_one_ioas, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unmap_batch_cut_revokes_lease, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lease_ids_wrap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lease_resumed_then_session_ends, setup, teardown),
                cmocka_unit_test_setup_teardown(test_frame_drain_unanswerable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lease_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_map_copy_unmap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_map_batch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_channel_reach, setup, teardown),
                cmocka_unit_test_setup_teardown(test_changes_coalesced, setup, teardown),
                cmocka_unit_test_setup_teardown(test_subscriber_sees, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refusals_change_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_destroy_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_adopt_destroys_on_failure, setup, teardown),
                cmocka_unit_test_setup_teardown(test_guest_memory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_guest_memory_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_guest_memory_batch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dma, setup, teardown),
                cmocka_unit_test_setup_teardown(test_smmuv3_checked, setup, teardown),
                cmocka_unit_test_setup_teardown(test_frame_channel, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
