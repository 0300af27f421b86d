/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VMM's path through viommud, on sd-bus: open a session, claim a device,
 * map guest memory, build a nested HWPT (the guest's stage 1 over our stage
 * 2), invalidate over the direct channel and as a frame on the frame
 * channel, read the fault queue, close. The bus API and the frames are in
 * org.viommu1(5).
 *
 *   vmm-client DEVICE      claim a host device on vfio-pci ("0000:01:00.0")
 *   vmm-client --mock      use a mock device of the kernel's iommufd selftest
 *                          (viommud --test-mock-devices only)
 *
 * Build: cc vmm-client.c $(pkg-config --cflags --libs libsystemd libviommu)
 * (libviommu only for the kernel's iommufd definitions).
 *
 * Where the kernel lacks a step (org.viommu1.Error.NotSupported, which names
 * the Linux release that brings it), it says so and goes on without it.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <viommu/viommu-abi.h>
#include <viommu/viommu-frame.h>

#define DEST "org.viommu1"
#define _cleanup_(f) __attribute__((cleanup(f)))
#define GUEST_RAM_SIZE (2u << 20)

/* The kernel's iommufd selftest formats (drivers/iommu/iommufd/iommufd_test.h),
 * which a mock device speaks in place of a vendor's (VT-d, SMMUv3). */
#define MOCK_HWPT_DATA_SELFTEST 0xdead
#define MOCK_IOTLB_DEFAULT 0xbadbeef
#define MOCK_INVALIDATE_DATA_SELFTEST 0xdeadbeef
struct mock_invalidate {
        uint32_t flags;
        uint32_t iotlb_id;
};

static sd_bus_error error = SD_BUS_ERROR_NULL;

/* A failed call that the kernel does not support is said and skipped; any
 * other ends the program. */
static bool unsupported(const char *what, int r) {
        if (sd_bus_error_has_name(&error, "org.viommu1.Error.NotSupported")) {
                printf("%s: not supported here, going on without it: %s\n", what, error.message);
                sd_bus_error_free(&error);
                return true;
        }
        fprintf(stderr, "%s: %s\n", what, error.message ?: strerror(-r));
        exit(EXIT_FAILURE);
}

/* Reads a reply's object path (and, if ret_id, the id after it); the
 * returned copy is the caller's to free. */
static char *object_of(sd_bus_message *reply, uint32_t *ret_id) {
        const char *path;
        uint32_t id = 0;
        int r = ret_id ? sd_bus_message_read(reply, "ou", &path, &id) : sd_bus_message_read(reply, "o", &path);

        if (r < 0) {
                fprintf(stderr, "bad reply: %s\n", strerror(-r));
                exit(EXIT_FAILURE);
        }
        if (ret_id)
                *ret_id = id;
        return strdup(path);
}

/* Session.AllocHWPT: a paging HWPT over an IOAS, or a nested one over a
 * nesting parent, in the guest's stage-1 format (data). */
static int alloc_hwpt(sd_bus *bus, const char *session, const char *device, const char *on,
                      const char *fault_queue, uint32_t flags, uint32_t data_type, const void *data,
                      size_t size, char **ret, uint32_t *ret_id) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, DEST, session, "org.viommu1.Session", "AllocHWPT");
        if (r >= 0)
                r = sd_bus_message_append(m, "ooouu", device, on, fault_queue, flags, data_type);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', data, size);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r >= 0)
                *ret = object_of(reply, ret_id);
        return r;
}

/* Session.OpenDirectChannel: a private connection to the daemon, with no bus
 * daemon in between, for the hot paths; it reaches this session only. */
static sd_bus *open_channel(sd_bus *bus, const char *session) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus *channel = NULL;
        int fd, r;

        r = sd_bus_call_method(bus, DEST, session, "org.viommu1.Session", "OpenDirectChannel", &error,
                               &reply, NULL);
        if (r >= 0)
                r = sd_bus_message_read(reply, "h", &fd);
        if (r >= 0)
                r = fd = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* the message owns the fd it carries */
        if (r >= 0)
                r = sd_bus_new(&channel);
        if (r >= 0)
                r = sd_bus_set_fd(channel, fd, fd);
        if (r >= 0)
                r = sd_bus_set_anonymous(channel, true);
        if (r >= 0)
                r = sd_bus_negotiate_fds(channel, true);
        if (r >= 0)
                r = sd_bus_start(channel);
        if (r < 0) {
                fprintf(stderr, "direct channel: %s\n", error.message ?: strerror(-r));
                exit(EXIT_FAILURE);
        }
        return channel;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char *session, *device, *ioas, *parent = NULL, *nested = NULL, *fault_queue = NULL;
        uint32_t dev_id = 0, nested_id = 0, guest_s1 = MOCK_IOTLB_DEFAULT;
        uint64_t iova;
        int memfd, fault_fd = -1, r;
        bool mock;

        if (argc != 2 || (argv[1][0] == '-' && strcmp(argv[1], "--mock") != 0)) {
                fprintf(stderr, "usage: %s DEVICE|--mock\n", argv[0]);
                return 2;
        }
        mock = strcmp(argv[1], "--mock") == 0;

        /* The system bus (or $DBUS_SYSTEM_BUS_ADDRESS). A non-persistent
         * session ends with this connection, whatever happens to us. */
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "system bus: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        r = sd_bus_call_method(bus, DEST, "/org/viommu1", "org.viommu1.Manager", "OpenSession", &error, &reply,
                               "a{sv}", 0);
        if (r < 0)
                unsupported("OpenSession", r);
        session = object_of(reply, NULL);
        printf("session %s\n", session);

        /* The device: claimed (root, a viommud.conf rule or polkit decide), or
         * a mock one. want_fd false: the daemon keeps the VFIO cdev. */
        reply = sd_bus_message_unref(reply);
        if (mock)
                r = sd_bus_call_method(bus, DEST, session, "org.viommu1.Session", "CreateMockDevice", &error,
                                       &reply, "u", 0);
        else
                r = sd_bus_call_method(bus, DEST, session, "org.viommu1.Session", "ClaimDevice", &error, &reply,
                                       "sb", argv[1], 0);
        if (r < 0)
                unsupported(mock ? "CreateMockDevice" : "ClaimDevice", r);
        device = object_of(reply, &dev_id);
        printf("device %s, dev_id %u\n", device, dev_id);

        /* The guest's address space, stage 2: an IOAS, a nesting parent HWPT
         * on it, and guest RAM (a memfd) mapped where the kernel finds room. */
        reply = sd_bus_message_unref(reply);
        r = sd_bus_call_method(bus, DEST, session, "org.viommu1.Session", "CreateIOAS", &error, &reply, NULL);
        if (r < 0)
                unsupported("CreateIOAS", r);
        ioas = object_of(reply, NULL);
        r = alloc_hwpt(bus, session, device, ioas, "/", IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_DATA_NONE, NULL,
                       0, &parent, NULL);
        if (r < 0 && unsupported("nesting parent HWPT", r))
                parent = NULL;
        printf("stage 2: IOAS %s, HWPT %s\n", ioas, parent ?: "(none: the device is attached to the IOAS)");

        memfd = memfd_create("guest-ram", MFD_CLOEXEC);
        if (memfd < 0 || ftruncate(memfd, GUEST_RAM_SIZE) < 0) {
                perror("memfd");
                return EXIT_FAILURE;
        }
        reply = sd_bus_message_unref(reply);
        r = sd_bus_call_method(bus, DEST, ioas, "org.viommu1.IOAS", "Map", &error, &reply, "htttu", memfd,
                               UINT64_C(0), (uint64_t) GUEST_RAM_SIZE, UINT64_C(0),
                               (uint32_t) (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
        if (r < 0)
                unsupported("IOAS.Map", r);
        r = sd_bus_message_read(reply, "t", &iova);
        if (r < 0)
                return EXIT_FAILURE;
        printf("mapped %u bytes of guest RAM at IOVA 0x%llx\n", GUEST_RAM_SIZE, (unsigned long long) iova);

        /* Stage 1, the guest's own page table, nested over the parent, with a
         * fault queue for its page requests. Its format is the IOMMU's (VT-d,
         * SMMUv3): this example speaks only the mock device's. */
        if (parent && mock) {
                reply = sd_bus_message_unref(reply);
                r = sd_bus_call_method(bus, DEST, session, "org.viommu1.Session", "AllocFaultQueue", &error,
                                       &reply, NULL);
                if (r >= 0) {
                        const char *path;
                        uint32_t id;
                        int fd;

                        if (sd_bus_message_read(reply, "ouh", &path, &id, &fd) < 0)
                                return EXIT_FAILURE;
                        fault_queue = strdup(path);
                        fault_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                } else
                        unsupported("fault queue", r);
                r = alloc_hwpt(bus, session, device, parent, fault_queue ?: "/", 0, MOCK_HWPT_DATA_SELFTEST,
                               &guest_s1, sizeof(guest_s1), &nested, &nested_id);
                if (r < 0)
                        unsupported("nested HWPT", r);
                else
                        printf("stage 1: nested HWPT %s, fault queue %s\n", nested, fault_queue ?: "(none)");
        } else if (parent)
                printf("nested HWPT: this example knows only the mock device's stage-1 format\n");

        /* The device translates through the innermost table we have. */
        reply = sd_bus_message_unref(reply);
        r = sd_bus_call_method(bus, DEST, session, "org.viommu1.Session", "Attach", &error, &reply, "oo", device,
                               nested ?: parent ?: ioas);
        if (r < 0)
                unsupported("Attach", r);
        printf("attached to %s\n", nested ?: parent ?: ioas);

        /* The guest changed its page table: invalidate its IOTLB, over the
         * direct channel, as a VMM does on every trapped invalidation. */
        if (nested) {
                _cleanup_(sd_bus_flush_close_unrefp) sd_bus *channel = open_channel(bus, session);
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *inv = NULL;
                struct mock_invalidate entry = { .iotlb_id = 0 };
                const char *err;
                uint32_t handled;

                r = sd_bus_message_new_method_call(channel, &m, DEST, nested, "org.viommu1.HWPT", "Invalidate");
                if (r >= 0)
                        r = sd_bus_message_append(m, "uu", (uint32_t) MOCK_INVALIDATE_DATA_SELFTEST,
                                                  (uint32_t) sizeof(entry));
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', &entry, sizeof(entry));
                if (r >= 0)
                        r = sd_bus_call(channel, m, 0, &error, &inv);
                if (r >= 0)
                        r = sd_bus_message_read(inv, "us", &handled, &err);
                if (r < 0)
                        unsupported("Invalidate", r);
                /* handled < entries: the kernel refused entry "handled", for the
                 * reason in err (an errno name). */
                printf("invalidated over the direct channel: %u of 1 entries handled%s%s\n", handled,
                       *err ? ", error " : "", err);
        }

        /* The same as a frame, cheaper still: no D-Bus on either end. */
        if (nested) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                struct viommu_frame_request req = { .cookie = 1, .op = VIOMMU_FRAME_INVALIDATE,
                                                    .object = nested_id };
                struct viommu_frame_invalidate args = { .data_type = MOCK_INVALIDATE_DATA_SELFTEST,
                                                        .entry_len = sizeof(struct mock_invalidate) };
                struct mock_invalidate entry = { .iotlb_id = 0 };
                struct iovec iov[] = { { &req, sizeof(req) }, { &args, sizeof(args) }, { &entry, sizeof(entry) } };
                struct {
                        struct viommu_frame_reply h;
                        char payload[1024];
                } answer = {};
                int fd = -1;
                ssize_t n = -1;

                r = sd_bus_call_method(bus, DEST, session, "org.viommu1.Session", "OpenFrameChannel", &error, &m,
                                       NULL);
                if (r >= 0)
                        r = sd_bus_message_read(m, "h", &fd);
                if (r >= 0 && writev(fd, iov, 3) >= 0)
                        n = recv(fd, &answer, sizeof(answer) - 1, 0);
                if (r < 0 || n < (ssize_t) sizeof(answer.h)) {
                        fprintf(stderr, "frame channel: %s\n", r < 0 ? error.message : strerror(errno));
                        return EXIT_FAILURE;
                }
                /* An error is its name and message, each NUL-terminated;
                 * else why the kernel stopped, "" if it did not. */
                if (answer.h.error)
                        printf("frame refused: %s: %s\n", answer.payload, answer.payload + strlen(answer.payload) + 1);
                else
                        printf("invalidated as a frame: %u of 1 entries handled%s%s\n", answer.h.value,
                               *answer.payload ? ", error " : "", answer.payload);
        }

        /* Page requests from the device arrive on the fault queue's fd as
         * struct iommu_hwpt_pgfault; a VMM polls it. None is pending here. */
        if (fault_fd >= 0) {
                struct iommu_hwpt_pgfault fault;
                ssize_t l;

                fcntl(fault_fd, F_SETFL, O_NONBLOCK);
                l = read(fault_fd, &fault, sizeof(fault));
                if (l > 0)
                        printf("fault queue: a page request for 0x%llx\n", (unsigned long long) fault.addr);
                else
                        printf("fault queue: no page request pending\n");
                close(fault_fd);
        }

        /* Close ends the session and frees all in it: the device goes back
         * to the daemon, the memory is unpinned. */
        reply = sd_bus_message_unref(reply);
        r = sd_bus_call_method(bus, DEST, session, "org.viommu1.Session", "Close", &error, &reply, NULL);
        if (r < 0)
                unsupported("Close", r);
        printf("session closed\n");
        free(session), free(device), free(ioas), free(parent), free(nested), free(fault_queue);
        close(memfd);
        return EXIT_SUCCESS;
}
