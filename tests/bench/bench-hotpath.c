/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * What a VMM pays for letting viommud do its IOMMU work, against doing it
 * itself. Runs inside the test VM's mock profile, as root, beside a viommud
 * started with --test-mock-devices on the system bus (tests/bench/run-in-vm
 * sets that up). Builds the same objects twice: once with raw ioctls on an
 * iommufd of its own (a mock device on an IOAS, a nesting parent and a nested
 * HWPT), once through a session of the daemon, used over the bus and over
 * the session's direct channel, and invalidation, 2 MiB maps and unmaps and
 * virtio-iommu requests also over its frame channel
 * (Session.OpenFrameChannel). Then times each operation on each path:
 * in each round a burst of calls of each, so that a noisy neighbour slows
 * all of them alike, and the median of all bursts' calls, so that the first
 * call of a burst, which waits for the end of the previous burst's work in
 * the other processes, counts as little as any outlier. Prints medians and
 * ratios:
 *
 *   ratio NAME: X
 *
 * For a call, X is the daemon's time over (the raw ioctl's time + the IPC
 * floor of the same path, a Peer.Ping on the bus or on the channel, a PING
 * frame on the frame channel), a burst of floors timed right before each
 * burst of the calls it divides. frame-floor is the frame channel's PING
 * over a plain socketpair round trip: what the daemon's event loop adds. For
 * a rate, X is the raw rate over the daemon's. session-setup-speedup is the
 * rate of OpenSession + CreateIOAS + Close over 20 per second, a rate of an
 * earlier run on another machine, not of this one (run-in-vm --baseline
 * times an earlier build beside this one); session-setup-floor is their time
 * over three Peer.Pings on the bus timed beside them, and the CPU time a
 * setup costs each process involved: the daemon, its service manager (its
 * parent: systemd, or the stand-in fd store), the bus daemon and this
 * client. Last, what the session's crash-safe journal costs a 4 KiB map on
 * the channel, against a second session that keeps none
 * (Testing.DropJournal), timed side by side: "record overhead: map X us
 * with, Y us without".
 *
 * For an emulated device's DMA (ReadIOVA, WriteIOVA of 4 KiB and 64 KiB on
 * the channel), X is the call's time over a plain memcpy of the same size
 * plus the channel's floor; for a MapGuestBatch of BATCH pages by guest
 * address, the time per page over one raw IOMMU_IOAS_MAP_FILE of a page; for
 * a virtio-iommu MAP and UNMAP of 4 KiB, each a VirtioIommuRequest on the
 * channel (or a frame on the frame channel), over a raw map and unmap of
 * 4 KiB plus two floors of the same path; for a
 * translation lease of 4 KiB taken and released on the channel, over two
 * channel floors.
 *
 *   bench-hotpath [-r ROUNDS]
 *   bench-hotpath -s [-r ROUNDS]
 *
 * -s times session setups alone, with their floors and CPU times, and
 * prints "sessions set up per second: X": it asks nothing of the daemon but
 * OpenSession, CreateIOAS and Close, so that run-in-vm --baseline can time
 * another version of it, whatever that one offers, beside this one.
 *
 * Under TCG every figure is slow; only the ratios, measured side by side in
 * one run, carry over to a real host.
 */

#include <fcntl.h>
#include <endian.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/virtio_iommu.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "mock/viommu-mock.h"
#include "util.h"
#include "viommu-abi.h"
#include "viommu-frame.h"
#include "viommu-iommufd.h"

#define MIB (UINT64_C(1) << 20)
#define PAGE 4096
#define BATCH 512
#define IOVA MOCK_APERTURE_START
/* Where the emulated device's DMA goes, clear of everything mapped at IOVA. */
#define DMA_IOVA (MOCK_APERTURE_START + 64 * MIB)
#define DMA_MAX (64 * 1024)
#define MAP_FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FLOOR_BYTES 2048

static unsigned n_rounds = 20;

_printf_(1, 2) __attribute__((noreturn))
static void die(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        fputs("bench-hotpath: ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(EXIT_FAILURE);
}

static void check(int r, const char *what) {
        if (r < 0)
                die("%s: %s", what, strerror(-r));
}

static uint64_t now_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}

/* ---- samples ------------------------------------------------------------ */

typedef struct Samples {
        const char *name;
        uint64_t *ns;
        size_t n, allocated;
} Samples;

static void add(Samples *s, uint64_t ns) {
        if (s->n == s->allocated) {
                s->allocated = s->allocated ? s->allocated * 2 : 256;
                s->ns = realloc(s->ns, s->allocated * sizeof(*s->ns));
                if (!s->ns)
                        die("out of memory");
        }
        s->ns[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* The median, in microseconds. */
static double median_us(Samples *s) {
        if (s->n == 0)
                die("no samples of %s", s->name);
        qsort(s->ns, s->n, sizeof(*s->ns), cmp_u64);
        return s->ns[s->n / 2] / 1000.0;
}

/* ---- the raw path: the VMM's own iommufd -------------------------------- */

typedef struct Raw {
        int iommufd;
        uint32_t ioas, nested;
        struct viommu_mock_device dev;
} Raw;

static void raw_setup(Raw *raw) {
        struct iommu_hwpt_selftest s1 = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
        uint32_t parent;

        raw->iommufd = viommu_iommufd_open();
        check(raw->iommufd, "opening /dev/iommu");
        check(viommu_ioas_alloc(raw->iommufd, &raw->ioas), "IOMMU_IOAS_ALLOC");
        check(viommu_mock_device_new(raw->iommufd, raw->ioas, 0, &raw->dev), "a mock device");
        check(viommu_hwpt_alloc(raw->iommufd, IOMMU_HWPT_ALLOC_NEST_PARENT, raw->dev.idev_id, raw->ioas, 0,
                                IOMMU_HWPT_DATA_NONE, NULL, 0, &parent),
              "IOMMU_HWPT_ALLOC of a nesting parent");
        check(viommu_hwpt_alloc(raw->iommufd, 0, raw->dev.idev_id, parent, 0, IOMMU_HWPT_DATA_SELFTEST, &s1,
                                sizeof(s1.iotlb), &raw->nested),
              "IOMMU_HWPT_ALLOC of a nested HWPT");
}

static void raw_invalidate(Raw *raw, const struct iommu_hwpt_invalidate_selftest *inv, uint32_t n) {
        uint32_t done = n;

        check(viommu_hwpt_invalidate(raw->iommufd, raw->nested, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                                     sizeof(*inv), inv, &done),
              "IOMMU_HWPT_INVALIDATE");
        if (done != n)
                die("IOMMU_HWPT_INVALIDATE handled %u of %u entries", done, n);
}

static void raw_map(Raw *raw, int memfd, uint64_t offset, uint64_t length, uint64_t iova) {
        check(viommu_ioas_map_file(raw->iommufd, raw->ioas, MAP_FIXED_RW, memfd, offset, length, &iova),
              "IOMMU_IOAS_MAP_FILE");
}

static void raw_unmap(Raw *raw, uint64_t iova, uint64_t length) {
        uint64_t unmapped;

        check(viommu_ioas_unmap(raw->iommufd, raw->ioas, iova, length, &unmapped), "IOMMU_IOAS_UNMAP");
        if (unmapped != length)
                die("IOMMU_IOAS_UNMAP unmapped %" PRIu64 " of %" PRIu64 " bytes", unmapped, length);
}

/* ---- the daemon's path -------------------------------------------------- */

typedef struct Daemon {
        sd_bus *bus, *channel;
        int frame;
        char *session, *ioas, *nested;
        uint32_t ioas_id, nested_id;
} Daemon;

/* Sends a call built by hand; the reply, or death naming the error. */
static sd_bus_message *send_call(sd_bus *bus, sd_bus_message *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;

        if (sd_bus_call(bus, m, 0, &error, &reply) < 0)
                die("%s: %s", sd_bus_message_get_member(m), error.message);
        sd_bus_message_unref(m);
        return reply;
}

/* A call with arguments of types (NULL: none); the reply. */
static sd_bus_message *call(sd_bus *bus, const char *path, const char *iface, const char *member,
                            const char *types, ...) {
        sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.viommu1", path, iface, member);
        check(r, member);
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                check(r, member);
        }
        return send_call(bus, m);
}

static char *reply_path(sd_bus_message *reply) {
        const char *path;
        char *p;

        check(sd_bus_message_read_basic(reply, 'o', &path), "reading a path");
        p = strdup(path);
        if (!p)
                die("out of memory");
        sd_bus_message_unref(reply);
        return p;
}

static char *alloc_hwpt(sd_bus *bus, const char *session, const char *dev, const char *parent, uint32_t flags,
                        uint32_t data_type, const void *data, size_t size, uint32_t *ret_id) {
        sd_bus_message *m = NULL, *reply;
        const char *path;
        char *p;

        check(sd_bus_message_new_method_call(bus, &m, "org.viommu1", session, "org.viommu1.Session",
                                             "AllocHWPT"),
              "AllocHWPT");
        check(sd_bus_message_append(m, "ooouu", dev, parent, "/", flags, data_type), "AllocHWPT");
        check(sd_bus_message_append_array(m, 'y', data, size), "AllocHWPT");
        reply = send_call(bus, m);
        check(sd_bus_message_read(reply, "ou", &path, ret_id), "reading AllocHWPT's reply");
        p = strdup(path);
        if (!p)
                die("out of memory");
        sd_bus_message_unref(reply);
        return p;
}

static sd_bus *channel_open(sd_bus *bus, const char *session) {
        sd_bus_message *reply = call(bus, session, "org.viommu1.Session", "OpenDirectChannel", NULL);
        sd_bus *ch = NULL;
        int fd;

        check(sd_bus_message_read_basic(reply, 'h', &fd), "reading the channel's fd");
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        sd_bus_message_unref(reply);
        check(fd < 0 ? -errno : 0, "taking the channel's fd");
        check(sd_bus_new(&ch), "sd_bus_new");
        check(sd_bus_set_fd(ch, fd, fd), "sd_bus_set_fd");
        check(sd_bus_set_anonymous(ch, true), "sd_bus_set_anonymous");
        check(sd_bus_negotiate_fds(ch, true), "sd_bus_negotiate_fds");
        check(sd_bus_start(ch), "starting the channel");
        return ch;
}

static int frame_open(sd_bus *bus, const char *session) {
        sd_bus_message *reply = call(bus, session, "org.viommu1.Session", "OpenFrameChannel", NULL);
        int fd;

        check(sd_bus_message_read_basic(reply, 'h', &fd), "reading the frame channel's fd");
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        sd_bus_message_unref(reply);
        check(fd < 0 ? -errno : 0, "taking the frame channel's fd");
        return fd;
}

/* One frame, with memfd as its descriptor unless negative, and its reply's
 * value, its payload into payload if given (of the size that value says);
 * dies if the daemon refused it. */
static uint32_t frame_call(int fd, uint32_t op, uint32_t object, const void *args, size_t size, int memfd,
                           void *payload) {
        static uint64_t cookie;
        struct viommu_frame_request req = { .cookie = ++cookie, .op = op, .object = object };
        struct iovec iov[] = { { &req, sizeof(req) }, { (void *) args, size } };
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
        uint8_t buf[sizeof(struct viommu_frame_reply) + 1024];
        struct viommu_frame_reply reply;
        ssize_t n;

        if (memfd >= 0) {
                mh.msg_control = &control;
                mh.msg_controllen = sizeof(control);
                control.h = (struct cmsghdr) { .cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
                                               .cmsg_type = SCM_RIGHTS };
                memcpy(CMSG_DATA(&control.h), &memfd, sizeof(int));
        }
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t) (sizeof(req) + size))
                die("sending a frame: %m");
        n = recv(fd, buf, sizeof(buf), 0);
        if (n < (ssize_t) sizeof(reply))
                die("reading a frame's reply: %s", n < 0 ? strerror(errno) : "too short");
        memcpy(&reply, buf, sizeof(reply));
        if (reply.cookie != cookie || reply.op != op)
                die("a frame's reply answers another");
        if (reply.error)
                die("frame op %u: %s: %s", op, (char *) buf + sizeof(reply),
                    (char *) buf + sizeof(reply) + strlen((char *) buf + sizeof(reply)) + 1);
        if (payload)
                memcpy(payload, buf + sizeof(reply), MIN((size_t) n - sizeof(reply), (size_t) reply.value));
        return reply.value;
}

static void frame_ping(Daemon *d) {
        frame_call(d->frame, VIOMMU_FRAME_PING, 0, NULL, 0, -1, NULL);
}

static void frame_invalidate(Daemon *d, const struct iommu_hwpt_invalidate_selftest *inv, uint32_t n) {
        struct {
                struct viommu_frame_invalidate h;
                struct iommu_hwpt_invalidate_selftest entries[64];
        } args = { .h = { .data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, .entry_len = sizeof(*inv) } };
        uint32_t done;

        memcpy(args.entries, inv, n * sizeof(*inv));
        done = frame_call(d->frame, VIOMMU_FRAME_INVALIDATE, d->nested_id, &args,
                          sizeof(args.h) + n * sizeof(*inv), -1, NULL);
        if (done != n)
                die("INVALIDATE handled %u of %u entries", done, n);
}

static void frame_map(Daemon *d, int memfd, uint64_t length) {
        const struct viommu_frame_map map = { .length = length, .iova = IOVA, .flags = MAP_FIXED_RW };
        uint64_t iova;

        if (frame_call(d->frame, VIOMMU_FRAME_IOAS_MAP, d->ioas_id, &map, sizeof(map), memfd, &iova) !=
                    sizeof(iova) || iova != IOVA)
                die("IOAS_MAP mapped elsewhere");
}

static void frame_unmap(Daemon *d, uint64_t length) {
        const struct viommu_frame_unmap unmap = { .iova = IOVA, .length = length };
        uint64_t unmapped;

        if (frame_call(d->frame, VIOMMU_FRAME_IOAS_UNMAP, d->ioas_id, &unmap, sizeof(unmap), -1, &unmapped) !=
                    sizeof(unmapped) || unmapped != length)
                die("IOAS_UNMAP unmapped other than %" PRIu64 " bytes", length);
}

static void daemon_setup(Daemon *d) {
        struct iommu_hwpt_selftest s1 = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
        _cleanup_free_ char *dev = NULL, *parent = NULL;
        uint32_t parent_id;

        check(sd_bus_open_system(&d->bus), "connecting to the system bus");
        d->session = reply_path(call(d->bus, "/org/viommu1", "org.viommu1.Manager", "OpenSession", "a{sv}", 0));
        dev = reply_path(call(d->bus, d->session, "org.viommu1.Session", "CreateMockDevice", "u", 0));
        {
                sd_bus_message *reply = call(d->bus, d->session, "org.viommu1.Session", "CreateIOAS", NULL);
                const char *path;

                check(sd_bus_message_read(reply, "ou", &path, &d->ioas_id), "reading CreateIOAS's reply");
                d->ioas = strdup(path);
                if (!d->ioas)
                        die("out of memory");
                sd_bus_message_unref(reply);
        }
        sd_bus_message_unref(call(d->bus, d->session, "org.viommu1.Session", "Attach", "oo", dev, d->ioas));
        parent = alloc_hwpt(d->bus, d->session, dev, d->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_DATA_NONE,
                            NULL, 0, &parent_id);
        d->nested = alloc_hwpt(d->bus, d->session, dev, parent, 0, IOMMU_HWPT_DATA_SELFTEST, &s1, sizeof(s1.iotlb),
                               &d->nested_id);
        d->channel = channel_open(d->bus, d->session);
        d->frame = frame_open(d->bus, d->session);
}

static void ping(sd_bus *bus) {
        sd_bus_message_unref(call(bus, "/org/viommu1", "org.freedesktop.DBus.Peer", "Ping", NULL));
}

/* Marshalled without format strings, as a VMM's hottest call would be: a
 * format string is parsed anew on every call, and that is a tenth of what an
 * Invalidate costs over a Ping on the channel. */
static void daemon_invalidate(sd_bus *bus, const char *hwpt, const struct iommu_hwpt_invalidate_selftest *inv,
                              uint32_t n) {
        uint32_t data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, entry_len = sizeof(*inv), done;
        sd_bus_message *m = NULL, *reply;
        const char *failure;

        check(sd_bus_message_new_method_call(bus, &m, "org.viommu1", hwpt, "org.viommu1.HWPT", "Invalidate"),
              "Invalidate");
        check(sd_bus_message_append_basic(m, 'u', &data_type), "Invalidate");
        check(sd_bus_message_append_basic(m, 'u', &entry_len), "Invalidate");
        check(sd_bus_message_append_array(m, 'y', inv, n * sizeof(*inv)), "Invalidate");
        reply = send_call(bus, m);
        check(sd_bus_message_read_basic(reply, 'u', &done), "reading Invalidate's reply");
        check(sd_bus_message_read_basic(reply, 's', &failure), "reading Invalidate's reply");
        if (done != n)
                die("Invalidate handled %u of %u entries: %s", done, n, failure);
        sd_bus_message_unref(reply);
}

static void daemon_map(sd_bus *bus, const char *ioas, int memfd, uint64_t length) {
        sd_bus_message_unref(call(bus, ioas, "org.viommu1.IOAS", "Map", "htttu", memfd, UINT64_C(0), length,
                                  IOVA, MAP_FIXED_RW));
}

static void daemon_unmap(sd_bus *bus, const char *ioas, uint64_t length) {
        sd_bus_message *reply = call(bus, ioas, "org.viommu1.IOAS", "Unmap", "tt", IOVA, length);
        uint64_t unmapped;

        check(sd_bus_message_read_basic(reply, 't', &unmapped), "reading Unmap's reply");
        if (unmapped != length)
                die("Unmap unmapped %" PRIu64 " of %" PRIu64 " bytes", unmapped, length);
        sd_bus_message_unref(reply);
}

/* BATCH pages of memfd, page i at IOVA + i pages, in one MapBatch: five
 * numbers an entry (memfd index, offset, length, IOVA, flags). */
static void daemon_map_batch(sd_bus *bus, const char *ioas, int memfd) {
        static uint64_t entries[BATCH][5];
        sd_bus_message *m = NULL, *reply;
        const char *failure;
        uint32_t done;

        for (uint64_t i = 0; i < BATCH; i++)
                memcpy(entries[i], (uint64_t[5]) { 0, i * PAGE, PAGE, IOVA + i * PAGE, MAP_FIXED_RW },
                       sizeof(entries[i]));
        check(sd_bus_message_new_method_call(bus, &m, "org.viommu1", ioas, "org.viommu1.IOAS", "MapBatch"),
              "MapBatch");
        check(sd_bus_message_append(m, "ah", 1, memfd), "MapBatch");
        check(sd_bus_message_append_array(m, 't', entries, sizeof(entries)), "MapBatch");
        check(sd_bus_message_append(m, "u", 0), "MapBatch");
        reply = send_call(bus, m);
        check(sd_bus_message_read(reply, "us", &done, &failure), "reading MapBatch's reply");
        if (done != BATCH)
                die("MapBatch mapped %u of %u pages: %s", done, BATCH, failure);
        sd_bus_message_unref(reply);
}

/* The guest's RAM, memfd at guest-physical 0, registered with the session;
 * DMA_MAX of it mapped at DMA_IOVA for the emulated device. */
static void daemon_add_guest_memory(Daemon *d, int memfd, uint64_t size) {
        sd_bus_message_unref(call(d->bus, d->session, "org.viommu1.Session", "AddMemory", "httt", memfd,
                                  UINT64_C(0), UINT64_C(0), size));
        sd_bus_message_unref(call(d->bus, d->ioas, "org.viommu1.IOAS", "MapGuest", "tttu", DMA_IOVA, UINT64_C(0),
                                  (uint64_t) DMA_MAX, MAP_FIXED_RW));
}

static void daemon_dma_read(sd_bus *bus, const char *ioas, uint32_t length) {
        sd_bus_message *reply = call(bus, ioas, "org.viommu1.IOAS", "ReadIOVA", "tu", DMA_IOVA, length);
        const void *data;
        size_t n;

        check(sd_bus_message_read_array(reply, 'y', &data, &n), "reading ReadIOVA's reply");
        if (n != length)
                die("ReadIOVA gave %zu of %" PRIu32 " bytes", n, length);
        sd_bus_message_unref(reply);
}

static void daemon_dma_write(sd_bus *bus, const char *ioas, const void *data, size_t length) {
        sd_bus_message *m = NULL;

        check(sd_bus_message_new_method_call(bus, &m, "org.viommu1", ioas, "org.viommu1.IOAS", "WriteIOVA"),
              "WriteIOVA");
        check(sd_bus_message_append(m, "t", DMA_IOVA), "WriteIOVA");
        check(sd_bus_message_append_array(m, 'y', data, length), "WriteIOVA");
        sd_bus_message_unref(send_call(bus, m));
}

/* BATCH pages of guest memory, page i at IOVA + i pages, in one
 * MapGuestBatch: four numbers an entry (IOVA, guest address, length, flags). */
static void daemon_map_guest_batch(sd_bus *bus, const char *ioas) {
        static uint64_t entries[BATCH][4];
        sd_bus_message *m = NULL, *reply;
        const char *failure;
        uint32_t done;

        for (uint64_t i = 0; i < BATCH; i++)
                memcpy(entries[i], (uint64_t[4]) { IOVA + i * PAGE, i * PAGE, PAGE, MAP_FIXED_RW },
                       sizeof(entries[i]));
        check(sd_bus_message_new_method_call(bus, &m, "org.viommu1", ioas, "org.viommu1.IOAS", "MapGuestBatch"),
              "MapGuestBatch");
        check(sd_bus_message_append_array(m, 't', entries, sizeof(entries)), "MapGuestBatch");
        check(sd_bus_message_append(m, "u", 0), "MapGuestBatch");
        reply = send_call(bus, m);
        check(sd_bus_message_read(reply, "us", &done, &failure), "reading MapGuestBatch's reply");
        if (done != BATCH)
                die("MapGuestBatch mapped %u of %u pages: %s", done, BATCH, failure);
        sd_bus_message_unref(reply);
}

/* A lease of a page of the emulated device's memory, taken and released:
 * two calls, the first passing the memfd back. */
static void daemon_lease(sd_bus *bus, const char *ioas) {
        sd_bus_message *reply = call(bus, ioas, "org.viommu1.IOAS", "TakeLease", "ttu", DMA_IOVA, (uint64_t) PAGE,
                                     3);
        uint64_t offset;
        uint32_t id;
        int fd;

        check(sd_bus_message_read(reply, "htu", &fd, &offset, &id), "reading TakeLease's reply");
        sd_bus_message_unref(reply);
        sd_bus_message_unref(call(bus, ioas, "org.viommu1.IOAS", "ReleaseLease", "u", id));
}

/* A virtio-iommu request as the VMM forwards it from its virtqueue; dies
 * unless the device's answer is S_OK. */
/* A virtio-iommu reply: the tail alone, status OK. */
static void check_virtio_reply(const void *req, const struct virtio_iommu_req_tail *tail, size_t n) {
        if (n != sizeof(*tail) || tail->status != VIRTIO_IOMMU_S_OK)
                die("virtio-iommu request %u answered status %u", ((const struct virtio_iommu_req_head *) req)->type,
                    n == sizeof(*tail) ? tail->status : 255);
}

static void daemon_virtio(sd_bus *bus, const char *session, const void *req, size_t size) {
        sd_bus_message *m = NULL, *reply;
        const struct virtio_iommu_req_tail *tail;
        size_t n;

        check(sd_bus_message_new_method_call(bus, &m, "org.viommu1", session, "org.viommu1.Session",
                                             "VirtioIommuRequest"),
              "VirtioIommuRequest");
        check(sd_bus_message_append_array(m, 'y', req, size), "VirtioIommuRequest");
        reply = send_call(bus, m);
        check(sd_bus_message_read_array(reply, 'y', (const void **) &tail, &n), "reading the virtio-iommu reply");
        check_virtio_reply(req, tail, n);
        sd_bus_message_unref(reply);
}

static void frame_virtio(Daemon *d, const void *req, size_t size) {
        struct virtio_iommu_req_tail tail[4];
        uint32_t n;

        n = frame_call(d->frame, VIOMMU_FRAME_VIRTIO_IOMMU, 0, req, size, -1, tail);
        check_virtio_reply(req, tail, n);
}

/* A second mock device as endpoint 1 of the session's virtio-iommu,
 * attached to domain 1, as a guest's driver does at probe. */
static void daemon_virtio_setup(Daemon *d) {
        _cleanup_free_ char *dev = reply_path(call(d->bus, d->session, "org.viommu1.Session", "CreateMockDevice", "u",
                                                   0));
        struct virtio_iommu_req_attach attach = {
                .head.type = VIRTIO_IOMMU_T_ATTACH,
                .domain = htole32(1),
                .endpoint = htole32(1),
        };

        sd_bus_message_unref(call(d->bus, d->session, "org.viommu1.Session", "VirtioIommuAddEndpoint", "ou", dev, 1));
        daemon_virtio(d->bus, d->session, &attach, sizeof(attach));
}

/* The guest's MAP and UNMAP of its page at IOVA. */
static struct virtio_iommu_req_map virtio_map(void) {
        return (struct virtio_iommu_req_map) {
                .head.type = VIRTIO_IOMMU_T_MAP,
                .domain = htole32(1),
                .virt_start = htole64(IOVA),
                .virt_end = htole64(IOVA + PAGE - 1),
                .phys_start = htole64(0),
                .flags = htole32(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE),
        };
}

static struct virtio_iommu_req_unmap virtio_unmap(void) {
        return (struct virtio_iommu_req_unmap) {
                .head.type = VIRTIO_IOMMU_T_UNMAP,
                .domain = htole32(1),
                .virt_start = htole64(IOVA),
                .virt_end = htole64(IOVA + PAGE - 1),
        };
}

/* ---- the IPC floor of a plain socket ------------------------------------ */

typedef struct Echo {
        int fd;
        pid_t pid;
} Echo;

static int read_full(int fd, char *buf, size_t n) {
        for (size_t done = 0; done < n;) {
                ssize_t k = read(fd, buf + done, n - done);

                if (k <= 0)
                        return -1;
                done += (size_t) k;
        }
        return 0;
}

/* A child that sends back every FLOOR_BYTES it gets, as a server would. */
static void echo_start(Echo *e) {
        int sv[2];

        check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ? -errno : 0, "socketpair");
        e->pid = fork();
        check(e->pid < 0 ? -errno : 0, "fork");
        if (e->pid == 0) {
                char buf[FLOOR_BYTES];

                close(sv[0]);
                while (read_full(sv[1], buf, sizeof(buf)) == 0)
                        if (write(sv[1], buf, sizeof(buf)) != sizeof(buf))
                                break;
                _exit(EXIT_SUCCESS);
        }
        close(sv[1]);
        e->fd = sv[0];
}

static void echo_round_trip(Echo *e) {
        char buf[FLOOR_BYTES] = { 1 };

        if (write(e->fd, buf, sizeof(buf)) != sizeof(buf) || read_full(e->fd, buf, sizeof(buf)) < 0)
                die("the echo child stopped answering");
}

static void echo_stop(Echo *e) {
        close(e->fd);
        waitpid(e->pid, NULL, 0);
}

/* ---- the run ------------------------------------------------------------ */

enum {
        S_FLOOR_SOCKET, S_FLOOR_BUS, S_FLOOR_CHANNEL, S_FLOOR_FRAME,
        S_RAW_INV1, S_RAW_INV64, S_BUS_INV1, S_BUS_INV64, S_CH_INV1, S_CH_INV64, S_FRAME_INV1, S_FRAME_INV64,
        S_RAW_MAP2M, S_RAW_UNMAP2M, S_BUS_MAP2M, S_BUS_UNMAP2M, S_CH_MAP2M, S_CH_UNMAP2M, S_FRAME_MAP2M,
        S_FRAME_UNMAP2M,
        S_RAW_4K, S_CH_4K, S_CH_4K_NO_JOURNAL, S_BUS_4K_BATCH, S_CH_4K_BATCH, S_CH_GUEST_BATCH, S_SETUP,
        S_MEMCPY_4K, S_MEMCPY_64K, S_CH_READ_4K, S_CH_READ_64K, S_CH_WRITE_4K, S_CH_WRITE_64K,
        S_RAW_MAP_UNMAP_4K, S_CH_VIRTIO_4K, S_FRAME_VIRTIO_4K, S_CH_LEASE,
        _S_MAX,
};

static Samples samples[_S_MAX] = {
        [S_FLOOR_SOCKET] = { "socketpair round trip of 2 KiB" },
        [S_FLOOR_BUS] = { "Peer.Ping over the bus" },
        [S_FLOOR_CHANNEL] = { "Peer.Ping over the channel" },
        [S_FLOOR_FRAME] = { "PING over the frame channel" },
        [S_RAW_INV1] = { "raw invalidate, 1 entry" },
        [S_RAW_INV64] = { "raw invalidate, 64 entries" },
        [S_BUS_INV1] = { "bus Invalidate, 1 entry" },
        [S_BUS_INV64] = { "bus Invalidate, 64 entries" },
        [S_CH_INV1] = { "channel Invalidate, 1 entry" },
        [S_CH_INV64] = { "channel Invalidate, 64 entries" },
        [S_FRAME_INV1] = { "frame INVALIDATE, 1 entry" },
        [S_FRAME_INV64] = { "frame INVALIDATE, 64 entries" },
        [S_RAW_MAP2M] = { "raw map of 2 MiB" },
        [S_RAW_UNMAP2M] = { "raw unmap of 2 MiB" },
        [S_BUS_MAP2M] = { "bus Map of 2 MiB" },
        [S_BUS_UNMAP2M] = { "bus Unmap of 2 MiB" },
        [S_CH_MAP2M] = { "channel Map of 2 MiB" },
        [S_CH_UNMAP2M] = { "channel Unmap of 2 MiB" },
        [S_FRAME_MAP2M] = { "frame IOAS_MAP of 2 MiB" },
        [S_FRAME_UNMAP2M] = { "frame IOAS_UNMAP of 2 MiB" },
        [S_RAW_4K] = { "raw map of 4 KiB" },
        [S_CH_4K] = { "channel Map of 4 KiB" },
        [S_CH_4K_NO_JOURNAL] = { "channel Map of 4 KiB, session without a journal" },
        [S_BUS_4K_BATCH] = { "bus MapBatch of 512 x 4 KiB, per page" },
        [S_CH_4K_BATCH] = { "channel MapBatch of 512 x 4 KiB, per page" },
        [S_CH_GUEST_BATCH] = { "channel MapGuestBatch of 512 x 4 KiB, per page" },
        [S_SETUP] = { "bus OpenSession + CreateIOAS + Close" },
        [S_MEMCPY_4K] = { "memcpy of 4 KiB" },
        [S_MEMCPY_64K] = { "memcpy of 64 KiB" },
        [S_CH_READ_4K] = { "channel ReadIOVA of 4 KiB" },
        [S_CH_READ_64K] = { "channel ReadIOVA of 64 KiB" },
        [S_CH_WRITE_4K] = { "channel WriteIOVA of 4 KiB" },
        [S_CH_WRITE_64K] = { "channel WriteIOVA of 64 KiB" },
        [S_RAW_MAP_UNMAP_4K] = { "raw map + unmap of 4 KiB" },
        [S_CH_VIRTIO_4K] = { "channel virtio-iommu MAP + UNMAP of 4 KiB" },
        [S_FRAME_VIRTIO_4K] = { "frame virtio-iommu MAP + UNMAP of 4 KiB" },
        [S_CH_LEASE] = { "channel TakeLease + ReleaseLease of 4 KiB" },
};

#define TIME(s, expr) do {                              \
                uint64_t _t0 = now_nsec();              \
                expr;                                   \
                add(&samples[s], now_nsec() - _t0);     \
        } while (0)

/* n calls of expr, each timed. */
#define BURST(n, s, expr) do {                          \
                for (unsigned _i = 0; _i < (n); _i++)   \
                        TIME(s, expr);                  \
        } while (0)

/* The IPC floor of calls s: a burst of floor_expr, a round trip on their
 * path, right before each burst of them, so that a load that comes and goes
 * weighs on a ratio's two sides alike. Not one round trip right before each
 * call: that one would wait for the work the call before it left behind
 * (signals, fd-store messages), and the daemon's cost would count as floor. */
static Samples floors[_S_MAX];

#define FLOOR_BURST(n, s, floor_expr) do {                      \
                for (unsigned _i = 0; _i < (n); _i++) {         \
                        uint64_t _f0 = now_nsec();              \
                        floor_expr;                             \
                        add(&floors[s], now_nsec() - _f0);      \
                }                                               \
        } while (0)

#define BURST_BESIDE(n, s, floor_expr, expr) do {               \
                FLOOR_BURST(n, s, floor_expr);                  \
                BURST(n, s, expr);                              \
        } while (0)

static void round_floors(Daemon *d, Echo *e, unsigned n) {
        BURST(n, S_FLOOR_SOCKET, echo_round_trip(e));
        BURST(n, S_FLOOR_BUS, ping(d->bus));
        BURST(n, S_FLOOR_CHANNEL, ping(d->channel));
        BURST(n, S_FLOOR_FRAME, frame_ping(d));
}

static void round_invalidate(Raw *raw, Daemon *d, unsigned n) {
        struct iommu_hwpt_invalidate_selftest inv[64];

        /* Entry 0 of the mock's IOTLB, over and over: each is real work. */
        memset(inv, 0, sizeof(inv));
        BURST(n, S_RAW_INV1, raw_invalidate(raw, inv, 1));
        BURST(n, S_RAW_INV64, raw_invalidate(raw, inv, 64));
        BURST_BESIDE(n, S_BUS_INV1, ping(d->bus), daemon_invalidate(d->bus, d->nested, inv, 1));
        BURST_BESIDE(n, S_BUS_INV64, ping(d->bus), daemon_invalidate(d->bus, d->nested, inv, 64));
        BURST_BESIDE(n, S_CH_INV1, ping(d->channel), daemon_invalidate(d->channel, d->nested, inv, 1));
        BURST_BESIDE(n, S_CH_INV64, ping(d->channel), daemon_invalidate(d->channel, d->nested, inv, 64));
        BURST_BESIDE(n, S_FRAME_INV1, frame_ping(d), frame_invalidate(d, inv, 1));
        BURST_BESIDE(n, S_FRAME_INV64, frame_ping(d), frame_invalidate(d, inv, 64));
}

/* A map and an unmap make a pair; a burst of pairs on each path, the
 * floor's burst before each, counting for both. */
static void round_map_2m(Raw *raw, Daemon *d, int memfd, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                TIME(S_RAW_MAP2M, raw_map(raw, memfd, 0, 2 * MIB, IOVA));
                TIME(S_RAW_UNMAP2M, raw_unmap(raw, IOVA, 2 * MIB));
        }
        FLOOR_BURST(n, S_BUS_MAP2M, ping(d->bus));
        for (unsigned i = 0; i < n; i++) {
                TIME(S_BUS_MAP2M, daemon_map(d->bus, d->ioas, memfd, 2 * MIB));
                TIME(S_BUS_UNMAP2M, daemon_unmap(d->bus, d->ioas, 2 * MIB));
        }
        FLOOR_BURST(n, S_CH_MAP2M, ping(d->channel));
        for (unsigned i = 0; i < n; i++) {
                TIME(S_CH_MAP2M, daemon_map(d->channel, d->ioas, memfd, 2 * MIB));
                TIME(S_CH_UNMAP2M, daemon_unmap(d->channel, d->ioas, 2 * MIB));
        }
        FLOOR_BURST(n, S_FRAME_MAP2M, frame_ping(d));
        for (unsigned i = 0; i < n; i++) {
                TIME(S_FRAME_MAP2M, frame_map(d, memfd, 2 * MIB));
                TIME(S_FRAME_UNMAP2M, frame_unmap(d, 2 * MIB));
        }
}

/* Page i of memfd, mapped alone on d's channel at IOVA + i pages. */
static void channel_map_page(Daemon *d, int memfd, uint64_t i) {
        sd_bus_message_unref(call(d->channel, d->ioas, "org.viommu1.IOAS", "Map", "htttu", memfd, i * PAGE,
                                  (uint64_t) PAGE, IOVA + i * PAGE, MAP_FIXED_RW));
}

/* BATCH / 16 single maps of a page in each session, taking turns, so that
 * the journal's cost is timed side by side; one unmap of each lot after,
 * not timed. */
static void channel_maps_4k(Daemon *d, Daemon *no_journal, int memfd) {
        for (uint64_t i = 0; i < BATCH / 16; i++) {
                TIME(S_CH_4K, channel_map_page(d, memfd, i));
                TIME(S_CH_4K_NO_JOURNAL, channel_map_page(no_journal, memfd, i));
        }
        daemon_unmap(d->channel, d->ioas, BATCH / 16 * PAGE);
        daemon_unmap(no_journal->channel, no_journal->ioas, BATCH / 16 * PAGE);
}

/* Per page: BATCH single maps, or one MapBatch of BATCH pages, each followed
 * by one unmap of the lot that is not timed; single maps also in a session
 * that keeps no journal. */
static void round_map_4k(Raw *raw, Daemon *d, Daemon *no_journal, int memfd) {
        const uint64_t length = BATCH * PAGE;
        uint64_t t0;

        t0 = now_nsec();
        for (uint64_t i = 0; i < BATCH; i++)
                raw_map(raw, memfd, i * PAGE, PAGE, IOVA + i * PAGE);
        add(&samples[S_RAW_4K], (now_nsec() - t0) / BATCH);
        raw_unmap(raw, IOVA, length);

        channel_maps_4k(d, no_journal, memfd);

        t0 = now_nsec();
        daemon_map_batch(d->bus, d->ioas, memfd);
        add(&samples[S_BUS_4K_BATCH], (now_nsec() - t0) / BATCH);
        daemon_unmap(d->channel, d->ioas, length);

        t0 = now_nsec();
        daemon_map_batch(d->channel, d->ioas, memfd);
        add(&samples[S_CH_4K_BATCH], (now_nsec() - t0) / BATCH);
        daemon_unmap(d->channel, d->ioas, length);

        t0 = now_nsec();
        daemon_map_guest_batch(d->channel, d->ioas);
        add(&samples[S_CH_GUEST_BATCH], (now_nsec() - t0) / BATCH);
        daemon_unmap(d->channel, d->ioas, length);
}

/* A virtio-iommu MAP and UNMAP of a page, as a guest driver sends them,
 * against the VMM making the same change itself. */
static void round_virtio(Raw *raw, Daemon *d, int memfd, unsigned n) {
        const struct virtio_iommu_req_map map = virtio_map();
        const struct virtio_iommu_req_unmap unmap = virtio_unmap();

        BURST(n, S_RAW_MAP_UNMAP_4K, {
                        raw_map(raw, memfd, 0, PAGE, IOVA);
                        raw_unmap(raw, IOVA, PAGE);
                });
        BURST_BESIDE(n, S_CH_VIRTIO_4K, ping(d->channel), {
                        daemon_virtio(d->channel, d->session, &map, sizeof(map));
                        daemon_virtio(d->channel, d->session, &unmap, sizeof(unmap));
                });
        BURST_BESIDE(n, S_FRAME_VIRTIO_4K, frame_ping(d), {
                        frame_virtio(d, &map, sizeof(map));
                        frame_virtio(d, &unmap, sizeof(unmap));
                });
}

/* An emulated device's DMA through the daemon, against copying the bytes
 * itself; the source is read back, so that the copy is not optimised out. */
static void round_dma(Daemon *d, unsigned n) {
        static char src[DMA_MAX], dst[DMA_MAX];
        volatile char sink;

        BURST(n, S_MEMCPY_4K, { memcpy(dst, src, 4096); sink = dst[4095]; });
        BURST(n, S_MEMCPY_64K, { memcpy(dst, src, DMA_MAX); sink = dst[DMA_MAX - 1]; });
        (void) sink;
        BURST_BESIDE(n, S_CH_READ_4K, ping(d->channel), daemon_dma_read(d->channel, d->ioas, 4096));
        BURST_BESIDE(n, S_CH_READ_64K, ping(d->channel), daemon_dma_read(d->channel, d->ioas, DMA_MAX));
        BURST_BESIDE(n, S_CH_WRITE_4K, ping(d->channel), daemon_dma_write(d->channel, d->ioas, src, 4096));
        BURST_BESIDE(n, S_CH_WRITE_64K, ping(d->channel), daemon_dma_write(d->channel, d->ioas, src, DMA_MAX));
        BURST_BESIDE(n, S_CH_LEASE, ping(d->channel), daemon_lease(d->channel, d->ioas));
}

/* The processes a session's setup keeps busy, and the CPU time each spent
 * in the setups so far, in clock ticks. */
enum { P_DAEMON, P_MANAGER, P_BUS, P_CLIENT, _P_MAX };
static const char *const setup_process[_P_MAX] = { "viommud", "its service manager", "the bus daemon",
                                                   "this client" };
static pid_t setup_pid[_P_MAX];
static uint64_t setup_ticks[_P_MAX];
static unsigned n_setups;

/* utime + stime of pid, and its parent's pid if ret_ppid. */
static uint64_t cpu_ticks(pid_t pid, pid_t *ret_ppid) {
        char path[64], buf[1024], *p;
        unsigned long long utime, stime;
        _cleanup_fclose_ FILE *f = NULL;
        int ppid;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof(buf), f))
                die("cannot read %s: %m", path);
        /* After the command's closing parenthesis: state, ppid, then
         * utime and stime as fields 14 and 15. */
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ppid, &utime, &stime) != 3)
                die("cannot parse %s", path);
        if (ret_ppid)
                *ret_ppid = ppid;
        return utime + stime;
}

static pid_t bus_name_pid(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint32_t pid;

        check(sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                 "GetConnectionUnixProcessID", NULL, &reply, "s", name),
              "GetConnectionUnixProcessID");
        check(sd_bus_message_read(reply, "u", &pid), "GetConnectionUnixProcessID");
        return pid;
}

static void setup_ticks_now(uint64_t ret[static _P_MAX]) {
        for (size_t i = 0; i < _P_MAX; i++)
                ret[i] = cpu_ticks(setup_pid[i], NULL);
}

static void round_setup(Daemon *d, unsigned n) {
        uint64_t before[_P_MAX], after[_P_MAX];

        if (setup_pid[P_DAEMON] == 0) {
                setup_pid[P_DAEMON] = bus_name_pid(d->bus, "org.viommu1");
                (void) cpu_ticks(setup_pid[P_DAEMON], &setup_pid[P_MANAGER]);
                setup_pid[P_BUS] = bus_name_pid(d->bus, "org.freedesktop.DBus");
                setup_pid[P_CLIENT] = getpid();
        }
        /* More floors than setups: each is quick, and the first waits for
         * the end of the last burst's work. */
        FLOOR_BURST(4 * n, S_SETUP, ping(d->bus));
        setup_ticks_now(before);
        BURST(n, S_SETUP, {
                        _cleanup_free_ char *session = reply_path(
                                call(d->bus, "/org/viommu1", "org.viommu1.Manager", "OpenSession", "a{sv}", 0));
                        sd_bus_message_unref(call(d->bus, session, "org.viommu1.Session", "CreateIOAS", NULL));
                        sd_bus_message_unref(call(d->bus, session, "org.viommu1.Session", "Close", NULL));
                });
        /* What the last setup left to do: done by the time a Ping returns. */
        ping(d->bus);
        setup_ticks_now(after);
        for (size_t i = 0; i < _P_MAX; i++)
                setup_ticks[i] += after[i] - before[i];
        n_setups += n;
}

static double med(int s) {
        return median_us(&samples[s]);
}

/* The floor timed beside calls s: one IPC round trip on their path. */
static double floor_of(int s) {
        if (floors[s].n == 0)
                die("no floor beside %s", samples[s].name);
        return median_us(&floors[s]);
}

static void print_setup_cpu(void) {
        printf("CPU time per session setup, over %u:", n_setups);
        for (size_t i = 0; i < _P_MAX; i++)
                printf("%s %s (pid %d) %.2f ms", i > 0 ? "," : "", setup_process[i], (int) setup_pid[i],
                       setup_ticks[i] * 1e3 / sysconf(_SC_CLK_TCK) / n_setups);
        printf("\n");
}

static int setup_only(void) {
        Daemon d = {};

        check(sd_bus_open_system(&d.bus), "connecting to the system bus");
        for (unsigned r = 0; r < n_rounds; r++)
                round_setup(&d, 4);
        printf("sessions set up per second: %.1f (median %.1f us of %u, three Peer.Pings %.1f us)\n",
               1e6 / med(S_SETUP), med(S_SETUP), n_setups, 3 * floor_of(S_SETUP));
        print_setup_cpu();
        sd_bus_flush_close_unref(d.bus);
        return EXIT_SUCCESS;
}

static void print_ratio(const char *name, double x, const char *goal) {
        printf("ratio %s: %.2f (goal %s)\n", name, x, goal);
}

int main(int argc, char *argv[]) {
        _cleanup_close_ int memfd = -EBADF;
        Daemon d = {}, no_journal = {};
        bool only_setup = false;
        Echo echo;
        Raw raw;
        int c;

        while ((c = getopt(argc, argv, "r:s")) >= 0)
                switch (c) {
                case 's':
                        only_setup = true;
                        break;
                case 'r':
                        n_rounds = (unsigned) strtoul(optarg, NULL, 10);
                        if (n_rounds == 0)
                                die("-r wants a number of rounds above 0");
                        break;
                default:
                        fprintf(stderr, "usage: %s [-s] [-r ROUNDS]\n", argv[0]);
                        return 2;
                }
        if (only_setup)
                return setup_only();

        memfd = memfd_create("guest-ram", MFD_CLOEXEC);
        check(memfd < 0 ? -errno : 0, "memfd_create");
        check(ftruncate(memfd, 2 * MIB) < 0 ? -errno : 0, "ftruncate");
        check(fallocate(memfd, 0, 0, 2 * MIB) < 0 ? -errno : 0, "fallocate");

        raw_setup(&raw);
        daemon_setup(&d);
        daemon_add_guest_memory(&d, memfd, 2 * MIB);
        daemon_virtio_setup(&d);
        /* The same again in a session that keeps no journal: what crash
         * safety costs a map, side by side. Under a daemon without a fd
         * store neither has one. */
        daemon_setup(&no_journal);
        sd_bus_message_unref(call(no_journal.bus, no_journal.session, "org.viommu1.Testing", "DropJournal", NULL));
        echo_start(&echo);

        for (unsigned r = 0; r < n_rounds; r++) {
                round_floors(&d, &echo, 25);
                round_invalidate(&raw, &d, 25);
                round_map_2m(&raw, &d, memfd, 8);
                round_map_4k(&raw, &d, &no_journal, memfd);
                round_dma(&d, 25);
                round_virtio(&raw, &d, memfd, 25);
                round_setup(&d, 4);
        }
        echo_stop(&echo);

        printf("medians of %u rounds, in microseconds:\n", n_rounds);
        for (size_t i = 0; i < _S_MAX; i++)
                printf("  %-45s %10.1f\n", samples[i].name, med((int) i));
        printf("the floors beside them, round trips on their paths:\n");
        for (size_t i = 0; i < _S_MAX; i++)
                if (floors[i].n > 0)
                        printf("  %-45s %10.1f\n", samples[i].name, floor_of((int) i));
        printf("  %-45s %10.0f\n", "raw 4 KiB maps per second", 1e6 / med(S_RAW_4K));
        printf("  %-45s %10.0f\n", "channel 4 KiB maps per second, singly", 1e6 / med(S_CH_4K));
        printf("  %-45s %10.0f\n", "channel 4 KiB maps per second, batches of 512", 1e6 / med(S_CH_4K_BATCH));
        printf("  %-45s %10.1f\n", "sessions set up per second", 1e6 / med(S_SETUP));
        printf("  %-45s %10.1f\n", "channel DMA read of 64 KiB, MiB/s", DMA_MAX / med(S_CH_READ_64K) * 1e6 / MIB);
        printf("  %-45s %10.1f\n", "channel DMA write of 64 KiB, MiB/s", DMA_MAX / med(S_CH_WRITE_64K) * 1e6 / MIB);

        print_ratio("channel-invalidate-1", med(S_CH_INV1) / (med(S_RAW_INV1) + floor_of(S_CH_INV1)), "<= 1.3");
        print_ratio("channel-invalidate-64", med(S_CH_INV64) / (med(S_RAW_INV64) + floor_of(S_CH_INV64)), "<= 1.3");
        print_ratio("frame-invalidate-1", med(S_FRAME_INV1) / (med(S_RAW_INV1) + floor_of(S_FRAME_INV1)), "<= 1.3");
        print_ratio("frame-invalidate-64", med(S_FRAME_INV64) / (med(S_RAW_INV64) + floor_of(S_FRAME_INV64)), "<= 1.3");
        print_ratio("frame-floor", med(S_FLOOR_FRAME) / med(S_FLOOR_SOCKET), "none");
        print_ratio("bus-invalidate-1", med(S_BUS_INV1) / (med(S_RAW_INV1) + floor_of(S_BUS_INV1)), "<= 1.5");
        print_ratio("bus-invalidate-64", med(S_BUS_INV64) / (med(S_RAW_INV64) + floor_of(S_BUS_INV64)), "<= 1.5");
        print_ratio("channel-map-2m", med(S_CH_MAP2M) / (med(S_RAW_MAP2M) + floor_of(S_CH_MAP2M)), "<= 1.5");
        print_ratio("channel-unmap-2m", med(S_CH_UNMAP2M) / (med(S_RAW_UNMAP2M) + floor_of(S_CH_MAP2M)), "<= 1.5");
        print_ratio("frame-map-2m", med(S_FRAME_MAP2M) / (med(S_RAW_MAP2M) + floor_of(S_FRAME_MAP2M)), "<= 1.5");
        print_ratio("frame-unmap-2m", med(S_FRAME_UNMAP2M) / (med(S_RAW_UNMAP2M) + floor_of(S_FRAME_MAP2M)),
                    "<= 1.5");
        print_ratio("bus-map-2m", med(S_BUS_MAP2M) / (med(S_RAW_MAP2M) + floor_of(S_BUS_MAP2M)), "none");
        print_ratio("bus-unmap-2m", med(S_BUS_UNMAP2M) / (med(S_RAW_UNMAP2M) + floor_of(S_BUS_MAP2M)), "none");
        print_ratio("channel-map-4k", med(S_CH_4K) / med(S_RAW_4K), "none");
        print_ratio("channel-map-4k-batch512", med(S_CH_4K_BATCH) / med(S_RAW_4K), "<= 2");
        print_ratio("bus-map-4k-batch512", med(S_BUS_4K_BATCH) / med(S_RAW_4K), "none");
        print_ratio("channel-map-guest-batch512", med(S_CH_GUEST_BATCH) / med(S_RAW_4K), "none");
        print_ratio("channel-dma-read-4k", med(S_CH_READ_4K) / (med(S_MEMCPY_4K) + floor_of(S_CH_READ_4K)), "none");
        print_ratio("channel-dma-read-64k", med(S_CH_READ_64K) / (med(S_MEMCPY_64K) + floor_of(S_CH_READ_64K)), "none");
        print_ratio("channel-dma-write-4k", med(S_CH_WRITE_4K) / (med(S_MEMCPY_4K) + floor_of(S_CH_WRITE_4K)), "none");
        print_ratio("channel-dma-write-64k", med(S_CH_WRITE_64K) / (med(S_MEMCPY_64K) + floor_of(S_CH_WRITE_64K)),
                    "none");
        print_ratio("channel-virtio-map-unmap-4k",
                    med(S_CH_VIRTIO_4K) / (med(S_RAW_MAP_UNMAP_4K) + 2 * floor_of(S_CH_VIRTIO_4K)), "<= 1.5");
        print_ratio("frame-virtio-map-unmap-4k",
                    med(S_FRAME_VIRTIO_4K) / (med(S_RAW_MAP_UNMAP_4K) + 2 * floor_of(S_FRAME_VIRTIO_4K)), "<= 1.5");
        print_ratio("channel-lease-take-release", med(S_CH_LEASE) / (2 * floor_of(S_CH_LEASE)), "none");
        print_ratio("session-setup-speedup", 1e6 / med(S_SETUP) / 20, ">= 10");
        print_ratio("session-setup-floor", med(S_SETUP) / (3 * floor_of(S_SETUP)), "none");
        print_setup_cpu();
        printf("record overhead: map %.1f us with, %.1f us without\n", med(S_CH_4K), med(S_CH_4K_NO_JOURNAL));
        print_ratio("record-overhead-map-4k", med(S_CH_4K) / med(S_CH_4K_NO_JOURNAL), "<= 1.1");

        for (Daemon *x = &d; x; x = x == &d ? &no_journal : NULL) {
                sd_bus_message_unref(call(x->bus, x->session, "org.viommu1.Session", "Close", NULL));
                sd_bus_flush_close_unref(x->channel);
                close(x->frame);
                sd_bus_flush_close_unref(x->bus);
        }
        return EXIT_SUCCESS;
}
