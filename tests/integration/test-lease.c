/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Translation leases (IOAS.TakeLease, ReleaseLease, LeaseRevoked): the
 * holder reaches the guest memory behind an IOVA range through the memfd it
 * gets; an Unmap over a live lease waits for the holder's release, fails
 * Busy after limits.lease-drain-msec with the mapping kept, and goes ahead
 * when the holder disconnects; the refusals, each named. Then the races: a
 * device-model process writes a running counter through a lease (or with
 * WriteIOVA calls) while the VMM unmaps and maps other memory at the same
 * IOVA, and no write may land in the old memory once the Unmap is answered.
 *
 *   test-lease [lease] [race]
 *
 * Mock devices, any uid; $VIOMMU_TEST_LEASE_DRAIN_MSEC the daemon's
 * limits.lease-drain-msec. The environment is described in itest.h.
 */

#include "itest.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/virtio_iommu.h>

#define E_FAILED     "org.viommu1.Error.Failed"
#define GPA          UINT64_C(0x80000000)
#define IOVA         MOCK_APERTURE_START
#define LEASE_READ   1u
#define LEASE_WRITE  2u
#define ROUNDS       1000
/* Pages of guest memory the races map in turn: an old page is checked for
 * stale writes until its turn comes again. */
#define RACE_PAGES   16

static uint32_t add_memory(sd_bus *bus, const char *session, int fd, uint64_t offset, uint64_t gpa, uint64_t size) {
        uint32_t id;

        reply_take(CALL(bus, session, I_SESSION, "AddMemory", "httt", fd, offset, gpa, size), "u", &id);
        return id;
}

static void map_guest(sd_bus *bus, const char *ioas, uint64_t iova, uint64_t gpa, uint64_t length, uint32_t flags) {
        CALL_OK(bus, ioas, I_IOAS, "MapGuest", "tttu", iova, gpa, length, flags);
}

/* TakeLease: the lease id, the memfd (the caller's) and the offset. */
static uint32_t take_lease(sd_bus *bus, const char *ioas, uint64_t iova, uint64_t length, uint32_t flags,
                           int *ret_fd, uint64_t *ret_offset) {
        sd_bus_message *reply = CALL(bus, ioas, I_IOAS, "TakeLease", "ttu", iova, length, flags);
        uint32_t id;

        *ret_fd = read_fd(reply);
        reply_take(reply, "tu", ret_offset, &id);
        return id;
}

/* A guest region of the fixture's memfd at GPA, its first pages mapped
 * read-write at IOVA. */
static void setup_guest(Fixture *f, uint64_t pages) {
        add_memory(f->bus, f->session, f->memfd, 0, GPA, BUF_SIZE);
        map_guest(f->bus, f->ioas, IOVA, GPA, pages * PAGE, MAP_FIXED_RW);
}

/* Whether LookupIOVA finds a mapping at iova (NoSuchObject: none). */
static bool mapped(sd_bus *bus, const char *ioas, uint64_t iova) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = new_call(bus, ioas, I_IOAS, "LookupIOVA");
        int r;

        assert_true(sd_bus_message_append(m, "t", iova) >= 0);
        r = sd_bus_call(bus, m, 0, &error, NULL);
        sd_bus_message_unref(m);
        if (r < 0 && !sd_bus_error_has_name(&error, E_NO_SUCH_OBJECT))
                fail_msg("LookupIOVA failed: %s: %s", error.name, error.message);
        return r >= 0;
}

/* The reply of an asynchronous call must be no error. */
static void assert_reply_ok(sd_bus_message *reply) {
        if (sd_bus_message_is_method_error(reply, NULL))
                fail_msg("the call failed: %s: %s", sd_bus_message_get_error(reply)->name,
                         sd_bus_message_get_error(reply)->message);
}

/* ---- an asynchronous call and signals ------------------------------------ */

typedef struct Pending {
        sd_bus_message *reply;
        bool done;
} Pending;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Pending *p = userdata;

        p->reply = sd_bus_message_ref(m);
        p->done = true;
        return 0;
}

static sd_bus_slot *call_async(sd_bus *bus, Pending *p, const char *path, const char *member, const char *types,
                               uint64_t a, uint64_t b) {
        sd_bus_message *m = new_call(bus, path, I_IOAS, member);
        sd_bus_slot *slot = NULL;

        assert_true(sd_bus_message_append(m, types, a, b) >= 0);
        assert_true(sd_bus_call_async(bus, &slot, m, on_reply, p, CALL_TIMEOUT_USEC) >= 0);
        sd_bus_message_unref(m);
        return slot;
}

typedef struct Revoked {
        bool seen;
        uint32_t id;
        uint64_t iova, length;
} Revoked;

static int on_revoked(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Revoked *rv = userdata;

        if (sd_bus_message_read(m, "utt", &rv->id, &rv->iova, &rv->length) >= 0)
                rv->seen = true;
        return 0;
}

static sd_bus_slot *watch_revoked(sd_bus *bus, const char *ioas, Revoked *rv) {
        sd_bus_slot *slot = NULL;

        assert_true(sd_bus_match_signal(bus, &slot, NULL, ioas, I_IOAS, "LeaseRevoked", on_revoked, rv) >= 0);
        return slot;
}

/* ---- leases -------------------------------------------------------------- */

/* A lease's memfd at its offset is what WriteIOVA wrote, and what the holder
 * writes there ReadIOVA reads; a read lease cannot write; release. */
static void test_lease_reaches_guest_memory(void **state) {
        Fixture *f = *state;
        uint8_t data[2 * PAGE], back[2 * PAGE];
        uint64_t offset;
        int fd, rofd;
        uint32_t id, rid;

        setup_guest(f, 8);
        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) (i * 7 + 3);
        {
                sd_bus_message *m = new_call(f->bus, f->ioas, I_IOAS, "WriteIOVA");

                assert_true(sd_bus_message_append(m, "t", IOVA + 3 * PAGE + 100) >= 0);
                assert_true(sd_bus_message_append_array(m, 'y', data, sizeof(data)) >= 0);
                sd_bus_message_unref(SEND(f->bus, m));
                sd_bus_message_unref(m);
        }

        id = take_lease(f->bus, f->ioas, IOVA + 3 * PAGE + 100, sizeof(data), LEASE_READ | LEASE_WRITE, &fd, &offset);
        assert_int_equal(offset, 3 * PAGE + 100);
        assert_int_equal(pread(fd, back, sizeof(back), offset), sizeof(back));
        assert_memory_equal(back, data, sizeof(data));
        memset(back, 0xc3, 64);
        assert_int_equal(pwrite(fd, back, 64, offset), 64);
        {
                sd_bus_message *reply = CALL(f->bus, f->ioas, I_IOAS, "ReadIOVA", "tu", IOVA + 3 * PAGE + 100,
                                             (uint32_t) 64);
                const void *got;
                size_t size;

                assert_true(sd_bus_message_read_array(reply, 'y', &got, &size) > 0);
                assert_int_equal(size, 64);
                assert_memory_equal(got, back, 64);
                sd_bus_message_unref(reply);
        }

        /* A read lease's fd is read-only. */
        rid = take_lease(f->bus, f->ioas, IOVA, PAGE, LEASE_READ, &rofd, &offset);
        assert_int_not_equal(rid, id);
        assert_int_equal(offset, 0);
        assert_int_equal(pread(rofd, back, 16, 0), 16);
        assert_int_equal(pwrite(rofd, back, 16, 0), -1);
        assert_int_equal(errno, EBADF);
        assert_int_equal(fcntl(rofd, F_GETFL) & O_ACCMODE, O_RDONLY);

        CALL_OK(f->bus, f->ioas, I_IOAS, "ReleaseLease", "u", id);
        CALL_OK(f->bus, f->ioas, I_IOAS, "ReleaseLease", "u", rid);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "ReleaseLease", "u", id);
        assert_error_mentions("No lease");
        /* Released: an Unmap goes ahead at once. */
        assert_int_equal(unmap(f->bus, f->ioas, IOVA, 8 * PAGE), 8 * PAGE);
        close(fd);
        close(rofd);
}

/* On the direct channel, the channel holds the lease. */
static void test_lease_on_channel(void **state) {
        Fixture *f = *state;
        Revoked rv = {};
        sd_bus *ch;
        uint64_t offset;
        uint32_t id;
        int fd;

        setup_guest(f, 2);
        ch = channel_open(f->bus, f->session);
        id = take_lease(ch, f->ioas, IOVA + PAGE, PAGE, LEASE_WRITE, &fd, &offset);
        assert_int_equal(offset, PAGE);
        assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
        CALL_OK(ch, f->ioas, I_IOAS, "ReleaseLease", "u", id);
        close(fd);

        /* Revoked on the channel: the signal comes there; the Unmap (on the
         * bus) completes once the channel releases. */
        {
                _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL, *watch = watch_revoked(ch, f->ioas, &rv);
                Pending p = {};

                id = take_lease(ch, f->ioas, IOVA, PAGE, LEASE_WRITE, &fd, &offset);
                slot = call_async(f->bus, &p, f->ioas, "Unmap", "tt", IOVA, 2 * PAGE);
                pump(ch, TIMEOUT_USEC, &rv.seen);
                assert_true(rv.seen);
                assert_int_equal(rv.id, id);
                pump(f->bus, 100 * 1000, &p.done);
                assert_false(p.done);
                CALL_OK(ch, f->ioas, I_IOAS, "ReleaseLease", "u", id);
                pump(f->bus, TIMEOUT_USEC, &p.done);
                assert_true(p.done);
                assert_reply_ok(p.reply);
                sd_bus_message_unref(p.reply);
                close(fd);
        }

        /* Closing the channel releases what it holds. */
        map_guest(f->bus, f->ioas, IOVA, GPA, 2 * PAGE, MAP_FIXED_RW);
        take_lease(ch, f->ioas, IOVA, PAGE, LEASE_READ, &fd, &offset);
        close(fd);
        sd_bus_flush_close_unref(ch);
        assert_int_equal(unmap(f->bus, f->ioas, IOVA, 2 * PAGE), 2 * PAGE);
}

/* Unmap over a live lease: the holder is told; the VMM's call is answered
 * only after the release, the daemon serving other calls meanwhile; calls
 * over the range that would race the drain are refused Busy. */
static void test_lease_unmap_waits_for_release(void **state) {
        Fixture *f = *state;
        sd_bus *holder = bus_open();
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL, *watch = NULL;
        Pending p = {};
        Revoked rv = {};
        uint64_t offset, unmapped;
        uint32_t id;
        int fd;

        setup_guest(f, 4);
        watch = watch_revoked(holder, f->ioas, &rv);
        id = take_lease(holder, f->ioas, IOVA + PAGE, 2 * PAGE, LEASE_WRITE, &fd, &offset);

        slot = call_async(f->bus, &p, f->ioas, "Unmap", "tt", IOVA, 4 * PAGE);
        pump(holder, TIMEOUT_USEC, &rv.seen);
        assert_true(rv.seen);
        assert_int_equal(rv.id, id);
        assert_int_equal(rv.iova, IOVA + PAGE);
        assert_int_equal(rv.length, 2 * PAGE);

        /* Waiting, not answered; the daemon serves other calls; the range is
         * still mapped; what would race the drain is refused. */
        pump(f->bus, 200 * 1000, &p.done);
        assert_false(p.done);
        assert_true(mapped(holder, f->ioas, IOVA + PAGE));
        CALL_FAILS(E_BUSY, holder, f->ioas, I_IOAS, "Unmap", "tt", IOVA, 4 * (uint64_t) PAGE);
        assert_error_mentions("being revoked");
        CALL_FAILS(E_BUSY, holder, f->ioas, I_IOAS, "TakeLease", "ttu", IOVA + 2 * PAGE, (uint64_t) PAGE,
                   LEASE_READ);
        assert_error_mentions("waits for lease");
        assert_false(p.done);
        /* The holder may still write: the Unmap has not completed. */
        assert_int_equal(pwrite(fd, "x", 1, offset), 1);

        CALL_OK(holder, f->ioas, I_IOAS, "ReleaseLease", "u", id);
        pump(f->bus, TIMEOUT_USEC, &p.done);
        assert_true(p.done);
        assert_reply_ok(p.reply);
        assert_true(sd_bus_message_read(p.reply, "t", &unmapped) > 0);
        assert_int_equal(unmapped, 4 * PAGE);
        assert_false(mapped(f->bus, f->ioas, IOVA + PAGE));
        sd_bus_message_unref(p.reply);
        close(fd);
        sd_bus_flush_close_unref(holder);
}

/* A virtio-iommu request sent, its answer awaited in p. */
static sd_bus_slot *virtio_async(sd_bus *bus, Pending *p, const char *session, const void *req, size_t size) {
        sd_bus_message *m = new_call(bus, session, I_SESSION, "VirtioIommuRequest");
        sd_bus_slot *slot = NULL;

        assert_true(sd_bus_message_append_array(m, 'y', req, size) >= 0);
        assert_true(sd_bus_call_async(bus, &slot, m, on_reply, p, CALL_TIMEOUT_USEC) >= 0);
        sd_bus_message_unref(m);
        return slot;
}

/* The device's status in the tail that ends a virtio-iommu reply. */
static uint8_t virtio_status(sd_bus_message *reply) {
        const struct virtio_iommu_req_tail *tail;
        size_t n;

        assert_reply_ok(reply);
        assert_true(sd_bus_message_read_array(reply, 'y', (const void **) &tail, &n) > 0);
        assert_int_equal(n, sizeof(*tail));
        return tail->status;
}

/* The guest's requests on domain 1: attach endpoint 1, map two pages of
 * its memory at IOVA, unmap them. */
static struct virtio_iommu_req_attach virtio_attach(void) {
        return (struct virtio_iommu_req_attach) {
                .head.type = VIRTIO_IOMMU_T_ATTACH, .domain = htole32(1), .endpoint = htole32(1),
        };
}

static struct virtio_iommu_req_map virtio_map(void) {
        return (struct virtio_iommu_req_map) {
                .head.type = VIRTIO_IOMMU_T_MAP, .domain = htole32(1), .virt_start = htole64(IOVA),
                .virt_end = htole64(IOVA + 2 * PAGE - 1), .phys_start = htole64(GPA),
                .flags = htole32(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE),
        };
}

static struct virtio_iommu_req_unmap virtio_unmap(void) {
        return (struct virtio_iommu_req_unmap) {
                .head.type = VIRTIO_IOMMU_T_UNMAP, .domain = htole32(1), .virt_start = htole64(IOVA),
                .virt_end = htole64(IOVA + 2 * PAGE - 1),
        };
}

/* A virtio-iommu UNMAP is an invalidation too: over a lease of its domain's
 * IOAS it completes only after the holder released the lease. */
static void test_lease_virtio_unmap_waits_for_release(void **state) {
        Fixture *f = *state;
        sd_bus *holder = bus_open();
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL, *watch = NULL;
        _cleanup_free_ char *domain = NULL;
        const struct virtio_iommu_req_attach attach = virtio_attach();
        const struct virtio_iommu_req_map map = virtio_map();
        const struct virtio_iommu_req_unmap unmap = virtio_unmap();
        Pending p = {};
        Revoked rv = {};
        uint64_t offset;
        uint32_t id;
        int fd;

        if (!f->dev)
                skip();
        add_memory(f->bus, f->session, f->memfd, 0, GPA, BUF_SIZE);
        CALL_OK(f->bus, f->session, I_SESSION, "VirtioIommuAddEndpoint", "ou", f->dev, (uint32_t) 1);
        slot = virtio_async(f->bus, &p, f->session, &attach, sizeof(attach));
        pump(f->bus, TIMEOUT_USEC, &p.done);
        assert_int_equal(virtio_status(p.reply), VIRTIO_IOMMU_S_OK);
        p.reply = sd_bus_message_unref(p.reply);
        p.done = false;
        slot = sd_bus_slot_unref(slot);
        slot = virtio_async(f->bus, &p, f->session, &map, sizeof(map));
        pump(f->bus, TIMEOUT_USEC, &p.done);
        assert_int_equal(virtio_status(p.reply), VIRTIO_IOMMU_S_OK);
        p.reply = sd_bus_message_unref(p.reply);
        p.done = false;
        slot = sd_bus_slot_unref(slot);

        /* The domain is the IOAS the device is attached to. */
        domain = get_string(f->bus, f->dev, I_DEVICE, "Attached", "o");
        watch = watch_revoked(holder, domain, &rv);
        id = take_lease(holder, domain, IOVA + PAGE, PAGE, LEASE_WRITE, &fd, &offset);

        slot = virtio_async(f->bus, &p, f->session, &unmap, sizeof(unmap));
        pump(holder, TIMEOUT_USEC, &rv.seen);
        assert_true(rv.seen);
        assert_int_equal(rv.id, id);
        pump(f->bus, 200 * 1000, &p.done);
        assert_false(p.done);
        assert_true(mapped(holder, domain, IOVA + PAGE));

        CALL_OK(holder, domain, I_IOAS, "ReleaseLease", "u", id);
        pump(f->bus, TIMEOUT_USEC, &p.done);
        assert_true(p.done);
        assert_int_equal(virtio_status(p.reply), VIRTIO_IOMMU_S_OK);
        assert_false(mapped(f->bus, domain, IOVA));
        assert_false(mapped(f->bus, domain, IOVA + PAGE));
        sd_bus_message_unref(p.reply);
        close(fd);
        sd_bus_flush_close_unref(holder);
}

/* One virtio-iommu request as a frame: the status in its reply's tail. */
static uint8_t frame_virtio(int frame, const void *req, size_t size) {
        FrameReply r;

        frame_call(frame, VIOMMU_FRAME_VIRTIO_IOMMU, 0, req, size, &r);
        assert_int_equal(r.h.error, 0);
        return r.payload[r.h.value - 1];
}

/* The device as virtio-iommu endpoint 1, attached to domain 1 with
 * virtio_map()'s range mapped, through a frame channel: the channel, and
 * in *ret_domain the domain's IOAS. */
static int frame_virtio_domain(Fixture *f, char **ret_domain) {
        const struct virtio_iommu_req_attach attach = virtio_attach();
        const struct virtio_iommu_req_map map = virtio_map();
        int frame;

        add_memory(f->bus, f->session, f->memfd, 0, GPA, BUF_SIZE);
        CALL_OK(f->bus, f->session, I_SESSION, "VirtioIommuAddEndpoint", "ou", f->dev, (uint32_t) 1);
        frame = frame_open(f->bus, f->session);
        assert_int_equal(frame_virtio(frame, &attach, sizeof(attach)), VIRTIO_IOMMU_S_OK);
        assert_int_equal(frame_virtio(frame, &map, sizeof(map)), VIRTIO_IOMMU_S_OK);
        *ret_domain = get_string(f->bus, f->dev, I_DEVICE, "Attached", "o");
        return frame;
}

/* Whether a frame's reply arrives on fd within usec. */
static bool frame_answered(int fd, uint64_t usec) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };

        return poll(&pfd, 1, (int) (usec / 1000)) > 0;
}

/* The same UNMAP in a frame (VIOMMU_FRAME_VIRTIO_IOMMU): answered once the
 * lease is released, the channel's next request after it; Busy when the
 * holder keeps it; dropped, the mapping staying, when the VMM closes its
 * frame channel while the UNMAP waits. */
static void test_lease_frame_virtio_unmap_waits_for_release(void **state) {
        Fixture *f = *state;
        const uint64_t msec = env_u64("VIOMMU_TEST_LEASE_DRAIN_MSEC", 2000);
        sd_bus *holder = bus_open();
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *watch = NULL;
        _cleanup_free_ char *domain = NULL;
        const struct virtio_iommu_req_map map = virtio_map();
        const struct virtio_iommu_req_unmap unmap = virtio_unmap();
        Revoked rv = {};
        FrameReply r;
        uint64_t offset, start;
        uint32_t id;
        int fd, frame;

        if (!f->dev)
                skip();
        frame = frame_virtio_domain(f, &domain);
        watch = watch_revoked(holder, domain, &rv);

        /* Released: the UNMAP goes, then the PING sent after it. */
        id = take_lease(holder, domain, IOVA + PAGE, PAGE, LEASE_WRITE, &fd, &offset);
        frame_send(frame, VIOMMU_FRAME_VIRTIO_IOMMU, 0, 1, &unmap, sizeof(unmap));
        frame_send(frame, VIOMMU_FRAME_PING, 0, 2, NULL, 0);
        pump(holder, TIMEOUT_USEC, &rv.seen);
        assert_true(rv.seen);
        assert_int_equal(rv.id, id);
        assert_false(frame_answered(frame, 200 * 1000));
        assert_true(mapped(holder, domain, IOVA + PAGE));
        CALL_OK(holder, domain, I_IOAS, "ReleaseLease", "u", id);
        close(fd);
        frame_recv(frame, &r);
        assert_true(r.h.cookie == 1);
        assert_int_equal(r.h.error, 0);
        assert_int_equal(r.payload[r.h.value - 1], VIRTIO_IOMMU_S_OK);
        frame_recv(frame, &r);
        assert_true(r.h.cookie == 2);
        assert_int_equal(r.h.error, 0);
        assert_false(mapped(f->bus, domain, IOVA));
        assert_false(mapped(f->bus, domain, IOVA + PAGE));

        /* Kept: Busy after the drain time, nothing unmapped. */
        frame_call(frame, VIOMMU_FRAME_VIRTIO_IOMMU, 0, &map, sizeof(map), &r);
        assert_int_equal(r.payload[r.h.value - 1], VIRTIO_IOMMU_S_OK);
        id = take_lease(holder, domain, IOVA, PAGE, LEASE_READ, &fd, &offset);
        start = now_usec();
        frame_call(frame, VIOMMU_FRAME_VIRTIO_IOMMU, 0, &unmap, sizeof(unmap), &r);
        assert_true(now_usec() - start >= msec * 1000);
        assert_int_equal(r.h.error, 1);
        assert_string_equal((char *) r.payload, E_BUSY);
        assert_non_null(strstr(r.message, "nothing was unmapped"));
        assert_true(mapped(f->bus, domain, IOVA));
        assert_true(mapped(f->bus, domain, IOVA + PAGE));

        /* Closed while the UNMAP waits: it is dropped, as a bus caller's
         * call is when it leaves, and the mapping stays after the release. */
        frame_send(frame, VIOMMU_FRAME_VIRTIO_IOMMU, 0, 3, &unmap, sizeof(unmap));
        rv.seen = false;
        pump(holder, TIMEOUT_USEC, &rv.seen);
        assert_true(rv.seen);
        close(frame);
        /* Gone with the channel (or, on a slow host, timed out): a lease
         * over the range is Busy only while an UNMAP waits for it. */
        for (start = now_usec();; usleep(20 * 1000)) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                uint32_t id2;
                int fd2;

                if (sd_bus_call_method(holder, "org.viommu1", domain, I_IOAS, "TakeLease", &error, &reply, "ttu",
                                       IOVA, (uint64_t) PAGE, LEASE_READ) >= 0) {
                        assert_true(sd_bus_message_read(reply, "htu", &fd2, &offset, &id2) > 0);
                        CALL_OK(holder, domain, I_IOAS, "ReleaseLease", "u", id2);
                        sd_bus_message_unref(reply);
                        break;
                }
                assert_string_equal(error.name, E_BUSY);
                assert_true(now_usec() - start < TIMEOUT_USEC);
        }
        assert_true(mapped(holder, domain, IOVA + PAGE));
        CALL_OK(holder, domain, I_IOAS, "ReleaseLease", "u", id);
        close(fd);
        assert_true(mapped(f->bus, domain, IOVA));
        assert_true(mapped(f->bus, domain, IOVA + PAGE));
        sd_bus_flush_close_unref(holder);
}

/* A DETACH of a domain's last endpoint destroys the domain, but not while a
 * lease holds its IOAS: the holder still releases it there, and the next
 * ATTACH finds the domain with its mappings. */
static void test_lease_virtio_detach_keeps_leased_domain(void **state) {
        Fixture *f = *state;
        sd_bus *holder = bus_open();
        _cleanup_free_ char *domain = NULL, *again = NULL;
        const struct virtio_iommu_req_attach attach = virtio_attach();
        const struct virtio_iommu_req_detach detach = {
                .head.type = VIRTIO_IOMMU_T_DETACH, .domain = htole32(1), .endpoint = htole32(1),
        };
        uint64_t offset;
        uint32_t id;
        int fd, frame;

        if (!f->dev)
                skip();
        frame = frame_virtio_domain(f, &domain);
        id = take_lease(holder, domain, IOVA, PAGE, LEASE_READ, &fd, &offset);

        assert_int_equal(frame_virtio(frame, &detach, sizeof(detach)), VIRTIO_IOMMU_S_OK);
        assert_true(mapped(f->bus, domain, IOVA));
        CALL_OK(holder, domain, I_IOAS, "ReleaseLease", "u", id);
        close(fd);

        assert_int_equal(frame_virtio(frame, &attach, sizeof(attach)), VIRTIO_IOMMU_S_OK);
        again = get_string(f->bus, f->dev, I_DEVICE, "Attached", "o");
        assert_string_equal(again, domain);
        assert_true(mapped(f->bus, domain, IOVA + PAGE));
        close(frame);
        sd_bus_flush_close_unref(holder);
}

/* An Unmap whose range holds one whole mapping and ends inside the next is
 * refused as a cut: nothing may change, in the record or in the kernel, and
 * a lease on the whole mapping stands (no drain, no revocation). */
static void test_lease_unmap_cut_keeps_leased_mapping(void **state) {
        Fixture *f = *state;
        sd_bus *holder = bus_open();
        uint64_t offset;
        uint32_t id;
        int fd;

        if (!f->dev)
                skip();
        add_memory(f->bus, f->session, f->memfd, 0, GPA, BUF_SIZE);
        map_guest(f->bus, f->ioas, IOVA, GPA, PAGE, MAP_FIXED_RW);
        map_guest(f->bus, f->ioas, IOVA + PAGE, GPA + PAGE, 2 * PAGE, MAP_FIXED_RW);
        id = take_lease(holder, f->ioas, IOVA, PAGE, LEASE_READ, &fd, &offset);

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Unmap", "tt", IOVA, 2 * PAGE);
        /* The daemon's record still has the leased page mapped... */
        assert_true(mapped(f->bus, f->ioas, IOVA));
        /* ...and so must the kernel: the lease's holder relies on it. */
        CALL_OK(f->bus, f->session, I_TESTING, "KernelReadIOVA", "otu", f->ioas, IOVA, (uint32_t) 8);

        CALL_OK(holder, f->ioas, I_IOAS, "ReleaseLease", "u", id);
        close(fd);
        assert_int_equal(unmap(f->bus, f->ioas, IOVA, PAGE), PAGE);
        sd_bus_flush_close_unref(holder);
}

/* Not released in time: Busy naming the holder, the mapping stays; released,
 * the next Unmap goes. UnmapBatch waits the same way. */
static void test_lease_drain_times_out(void **state) {
        Fixture *f = *state;
        sd_bus *holder = bus_open();
        const uint64_t msec = env_u64("VIOMMU_TEST_LEASE_DRAIN_MSEC", 2000);
        const char *name;
        uint64_t offset, start, ranges[2] = { IOVA, 2 * PAGE };
        char pid[32];
        uint32_t id;
        int fd;

        setup_guest(f, 2);
        id = take_lease(holder, f->ioas, IOVA, PAGE, LEASE_READ, &fd, &offset);
        start = now_usec();
        CALL_FAILS(E_BUSY, f->bus, f->ioas, I_IOAS, "Unmap", "tt", IOVA, 2 * PAGE);
        assert_true(now_usec() - start >= msec * 1000);
        assert_true(sd_bus_get_unique_name(holder, &name) >= 0);
        assert_error_mentions(name);
        snprintf(pid, sizeof(pid), "pid %d", (int) getpid());
        assert_error_mentions(pid);
        assert_error_mentions("nothing was unmapped");
        assert_true(mapped(f->bus, f->ioas, IOVA));
        assert_true(mapped(f->bus, f->ioas, IOVA + PAGE));

        /* A batch too; its other ranges stay as well. */
        {
                sd_bus_message *m = new_call(f->bus, f->ioas, I_IOAS, "UnmapBatch");

                assert_true(sd_bus_message_append_array(m, 't', ranges, sizeof(ranges)) >= 0);
                SEND_FAILS(E_BUSY, f->bus, m);
                sd_bus_message_unref(m);
        }
        assert_true(mapped(f->bus, f->ioas, IOVA + PAGE));
        /* Destroying the IOAS would drop the mapping under the lease. */
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", f->ioas);
        assert_error_mentions("Lease");

        CALL_OK(holder, f->ioas, I_IOAS, "ReleaseLease", "u", id);
        assert_int_equal(unmap(f->bus, f->ioas, IOVA, 2 * PAGE), 2 * PAGE);
        close(fd);
        sd_bus_flush_close_unref(holder);
}

/* An UnmapBatch of the given ranges on the fixture's IOAS. */
static sd_bus_message *unmap_batch(Fixture *f, const uint64_t (*ranges)[2], size_t n) {
        sd_bus_message *m = new_call(f->bus, f->ioas, I_IOAS, "UnmapBatch");

        assert_true(sd_bus_message_append_array(m, 't', ranges, n * sizeof(ranges[0])) >= 0);
        return m;
}

/* A batch of ranges, some repeated, in no order: one over the lease makes
 * it wait, and nothing goes; one that misses the lease goes at once. */
static void test_lease_batch_of_ranges(void **state) {
        Fixture *f = *state;
        const uint64_t hit[][2] = {
                { IOVA + 3 * PAGE, PAGE }, { IOVA, PAGE }, { IOVA + PAGE, 2 * PAGE }, { IOVA, PAGE },
        };
        const uint64_t miss[][2] = { { IOVA + 3 * PAGE, PAGE }, { IOVA, PAGE }, { IOVA + PAGE, PAGE } };
        sd_bus_message *m, *reply;
        const char *failure;
        uint64_t offset, unmapped;
        uint32_t id, done;
        int fd;

        add_memory(f->bus, f->session, f->memfd, 0, GPA, BUF_SIZE);
        for (uint64_t i = 0; i < 4; i++)
                map_guest(f->bus, f->ioas, IOVA + i * PAGE, GPA + i * PAGE, PAGE, MAP_FIXED_RW);
        id = take_lease(f->bus, f->ioas, IOVA + 2 * PAGE, PAGE, LEASE_READ, &fd, &offset);

        m = unmap_batch(f, hit, ELEMENTSOF(hit));
        SEND_FAILS(E_BUSY, f->bus, m);
        sd_bus_message_unref(m);
        assert_error_mentions("nothing was unmapped");
        for (uint64_t i = 0; i < 4; i++)
                assert_true(mapped(f->bus, f->ioas, IOVA + i * PAGE));

        m = unmap_batch(f, miss, ELEMENTSOF(miss));
        reply = SEND(f->bus, m);
        sd_bus_message_unref(m);
        assert_true(sd_bus_message_read(reply, "ust", &done, &failure, &unmapped) > 0);
        assert_int_equal(done, ELEMENTSOF(miss));
        assert_int_equal(unmapped, 3 * PAGE);
        sd_bus_message_unref(reply);
        assert_true(mapped(f->bus, f->ioas, IOVA + 2 * PAGE));

        CALL_OK(f->bus, f->ioas, I_IOAS, "ReleaseLease", "u", id);
        assert_int_equal(unmap(f->bus, f->ioas, IOVA + 2 * PAGE, PAGE), PAGE);
        close(fd);
}

/* A lease on the last byte of the IOVA space: to Destroy and to an Unmap
 * of (0, 2^64 - 1), which is the whole space, it is in the way as any
 * other. (It was not: the IOAS was destroyed under the lease, and the
 * session's end then revoked the lease of a freed IOAS.) */
static void test_lease_on_last_byte(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *ioas = create_ioas(f->bus, f->session, NULL);
        const uint64_t top = UINT64_MAX - (PAGE - 1);
        uint64_t offset;
        uint32_t id;
        int fd;

        add_memory(f->bus, f->session, f->memfd, 0, GPA, BUF_SIZE);
        map_guest(f->bus, ioas, top, GPA, PAGE, MAP_FIXED_RW);
        id = take_lease(f->bus, ioas, UINT64_MAX, 1, LEASE_READ, &fd, &offset);

        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", ioas);
        assert_error_mentions("Lease");
        CALL_FAILS(E_BUSY, f->bus, ioas, I_IOAS, "Unmap", "tt", UINT64_C(0), UINT64_MAX);
        assert_error_mentions("nothing was unmapped");
        assert_true(mapped(f->bus, ioas, top));

        CALL_OK(f->bus, ioas, I_IOAS, "ReleaseLease", "u", id);
        assert_int_equal(unmap(f->bus, ioas, 0, UINT64_MAX), PAGE);
        CALL_OK(f->bus, f->session, I_SESSION, "Destroy", "o", ioas);
        close(fd);
}

/* A holder that leaves the bus releases its leases: a waiting Unmap
 * completes, and so does one made after. */
static void test_lease_disconnect_releases(void **state) {
        Fixture *f = *state;
        sd_bus *holder = bus_open();
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL, *watch = NULL;
        Pending p = {};
        Revoked rv = {};
        uint64_t offset;
        int fd;

        setup_guest(f, 2);
        watch = watch_revoked(holder, f->ioas, &rv);
        take_lease(holder, f->ioas, IOVA, PAGE, LEASE_WRITE, &fd, &offset);
        /* One that would cut a mapping is refused at once, lease or not. */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "Unmap", "tt", IOVA, (uint64_t) PAGE);
        slot = call_async(f->bus, &p, f->ioas, "Unmap", "tt", IOVA, 2 * PAGE);
        pump(holder, TIMEOUT_USEC, &rv.seen);
        assert_true(rv.seen);
        watch = sd_bus_slot_unref(watch);
        sd_bus_flush_close_unref(holder);
        pump(f->bus, TIMEOUT_USEC, &p.done);
        assert_true(p.done);
        assert_reply_ok(p.reply);
        sd_bus_message_unref(p.reply);
        close(fd);

        map_guest(f->bus, f->ioas, IOVA, GPA, 2 * PAGE, MAP_FIXED_RW);
        holder = bus_open();
        take_lease(holder, f->ioas, IOVA + PAGE, PAGE, LEASE_WRITE, &fd, &offset);
        sd_bus_flush_close_unref(holder);
        close(fd);
        /* Fails Busy if the lease were still held (the drain time is short). */
        assert_int_equal(unmap(f->bus, f->ioas, IOVA, 2 * PAGE), 2 * PAGE);
}

/* The session closes while an Unmap waits: the Unmap fails, the holder is
 * told, Close goes through. */
static void test_lease_session_closes_while_waiting(void **state) {
        Fixture *f = *state;
        sd_bus *holder = bus_open();
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL, *watch = NULL;
        Pending p = {};
        Revoked rv = {};
        uint64_t offset;
        int fd;

        setup_guest(f, 1);
        watch = watch_revoked(holder, f->ioas, &rv);
        take_lease(holder, f->ioas, IOVA, PAGE, LEASE_WRITE, &fd, &offset);
        slot = call_async(f->bus, &p, f->ioas, "Unmap", "tt", IOVA, PAGE);
        pump(holder, TIMEOUT_USEC, &rv.seen);
        assert_true(rv.seen);
        close_session(holder, f->session);
        pump(f->bus, TIMEOUT_USEC, &p.done);
        assert_true(p.done);
        assert_true(sd_bus_message_is_method_error(p.reply, E_FAILED));
        assert_non_null(strstr(sd_bus_message_get_error(p.reply)->message, "ended"));
        sd_bus_message_unref(p.reply);
        close(fd);
        sd_bus_flush_close_unref(holder);
}

/* Every bad lease is refused, named, and holds nothing. */
static void test_lease_refused(void **state) {
        Fixture *f = *state;
        _cleanup_close_ int other = memfd_new("not-guest", BUF_SIZE, 0x11);
        char at[32];

        add_memory(f->bus, f->session, f->memfd, 0, GPA, BUF_SIZE);
        map_guest(f->bus, f->ioas, IOVA, GPA, 2 * PAGE, MAP_FIXED_RW);
        map_guest(f->bus, f->ioas, IOVA + 2 * PAGE, GPA + 2 * PAGE, PAGE,
                  IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE);
        /* Next in IOVA, elsewhere in the memfd. */
        map_guest(f->bus, f->ioas, IOVA + 3 * PAGE, GPA + 10 * PAGE, PAGE, MAP_FIXED_RW);
        map(f->bus, f->ioas, other, 0, PAGE, IOVA + 8 * PAGE, MAP_FIXED_RW);

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "TakeLease", "ttu", IOVA, (uint64_t) PAGE, 0u);
        assert_error_mentions("lease flags");
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "TakeLease", "ttu", IOVA, (uint64_t) PAGE, 4u);
        assert_error_mentions("0x4");
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "TakeLease", "ttu", IOVA, UINT64_C(0), LEASE_READ);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->ioas, I_IOAS, "TakeLease", "ttu", UINT64_MAX - 10,
                   (uint64_t) PAGE, LEASE_READ);
        /* Runs past what is mapped: the first unmapped IOVA is named. */
        CALL_FAILS(E_NOT_MAPPED, f->bus, f->ioas, I_IOAS, "TakeLease", "ttu", IOVA + 3 * PAGE, 2 * (uint64_t) PAGE,
                   LEASE_READ);
        snprintf(at, sizeof(at), "0x%llx", (unsigned long long) (IOVA + 4 * PAGE));
        assert_error_mentions(at);
        /* Write through a read-only mapping. */
        CALL_FAILS(E_PERMISSION_DENIED, f->bus, f->ioas, I_IOAS, "TakeLease", "ttu", IOVA + 2 * PAGE,
                   (uint64_t) PAGE, LEASE_READ | LEASE_WRITE);
        snprintf(at, sizeof(at), "0x%llx", (unsigned long long) (IOVA + 2 * PAGE));
        assert_error_mentions(at);
        assert_error_mentions("writeable");
        /* Two pieces of the memfd. */
        CALL_FAILS(E_NOT_SUPPORTED, f->bus, f->ioas, I_IOAS, "TakeLease", "ttu", IOVA + 2 * PAGE,
                   2 * (uint64_t) PAGE, LEASE_READ);
        assert_error_mentions("one contiguous piece");
        /* A mapping of a memfd, not of guest memory. */
        CALL_FAILS(E_NOT_SUPPORTED, f->bus, f->ioas, I_IOAS, "TakeLease", "ttu", IOVA + 8 * PAGE, (uint64_t) PAGE,
                   LEASE_READ);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->ioas, I_IOAS, "ReleaseLease", "u", 12345u);

        /* None of them holds anything: Unmap goes at once. */
        assert_int_equal(unmap(f->bus, f->ioas, 0, UINT64_MAX), 5 * PAGE);
}

/* ---- the races -------------------------------------------------------------- */

typedef struct Shared {
        volatile int stop;
        volatile uint64_t leases, writes;
} Shared;

/* The device model: takes a write lease on the page at IOVA as soon as one
 * is mapped, writes a running counter through it as fast as it can, and
 * stops and releases when told. */
static void lease_writer(const char *ioas, Shared *sh) {
        sd_bus *bus = NULL;
        Revoked rv = {};
        uint64_t counter = 0;

        VMM_TRY(sd_bus_open_system(&bus));
        VMM_TRY(sd_bus_match_signal(bus, NULL, NULL, ioas, I_IOAS, "LeaseRevoked", on_revoked, &rv));
        while (!sh->stop) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                sd_bus_error error = SD_BUS_ERROR_NULL;
                volatile uint64_t *page;
                uint64_t offset;
                uint32_t id;
                int fd;

                if (sd_bus_call_method(bus, BUS_NAME, ioas, I_IOAS, "TakeLease", &error, &reply, "ttu", IOVA,
                                       (uint64_t) PAGE, LEASE_WRITE) < 0) {
                        /* Not mapped yet, or being revoked. */
                        sd_bus_error_free(&error);
                        continue;
                }
                VMM_TRY(sd_bus_message_read(reply, "htu", &fd, &offset, &id));
                page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
                if (page == MAP_FAILED)
                        _exit(EXIT_FAILURE);
                sh->leases++;
                rv.seen = false;
                while (!rv.seen && !sh->stop) {
                        for (int i = 0; i < 256; i++) {
                                counter++;
                                page[0] = counter;
                                page[1 + counter % (PAGE / 8 - 1)] = counter;
                        }
                        sh->writes += 256;
                        while (sd_bus_process(bus, NULL) > 0)
                                ;
                }
                munmap((void *) page, PAGE);
                VMM_TRY(sd_bus_call_method(bus, BUS_NAME, ioas, I_IOAS, "ReleaseLease", NULL, NULL, "u", id));
        }
        sd_bus_flush_close_unref(bus);
        _exit(EXIT_SUCCESS);
}

/* The same device model without a lease: WriteIOVA calls on a direct
 * channel of its own. */
static void dma_writer(const char *session, const char *ioas, Shared *sh) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus *bus = NULL, *ch = NULL;
        uint64_t counter = 0;
        int fd;

        VMM_TRY(sd_bus_open_system(&bus));
        VMM_TRY(sd_bus_call_method(bus, BUS_NAME, session, I_SESSION, "OpenDirectChannel", NULL, &reply, NULL));
        VMM_TRY(sd_bus_message_read(reply, "h", &fd));
        VMM_TRY(fd = fcntl(fd, F_DUPFD_CLOEXEC, 3));
        VMM_TRY(sd_bus_new(&ch));
        VMM_TRY(sd_bus_set_fd(ch, fd, fd));
        VMM_TRY(sd_bus_set_anonymous(ch, true));
        VMM_TRY(sd_bus_start(ch));
        while (!sh->stop) {
                sd_bus_message *m = NULL;

                counter++;
                VMM_TRY(sd_bus_message_new_method_call(ch, &m, NULL, ioas, I_IOAS, "WriteIOVA"));
                VMM_TRY(sd_bus_message_append(m, "t", IOVA + 8 * (counter % (PAGE / 8))));
                VMM_TRY(sd_bus_message_append_array(m, 'y', &counter, sizeof(counter)));
                if (sd_bus_call(ch, m, CALL_TIMEOUT_USEC, NULL, NULL) >= 0)
                        sh->writes++;
                sd_bus_message_unref(m);
        }
        sd_bus_flush_close_unref(ch);
        sd_bus_flush_close_unref(bus);
        _exit(EXIT_SUCCESS);
}

/*
 * The VMM's side: round after round, maps a fresh (zeroed) page of guest
 * memory at IOVA, waits for the device model's writes to land in it, and
 * unmaps it. Once the Unmap is answered, the page must never change again:
 * it is compared after the reply and in every later round, until its turn
 * comes again.
 */
static void race(Fixture *f, bool lease) {
        Shared *sh = mmap(NULL, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        static uint8_t snapshot[RACE_PAGES][PAGE];
        static const uint8_t zero[PAGE];
        uint8_t now[PAGE];
        unsigned stale = 0;
        uint64_t start = now_usec();
        int status;
        pid_t pid;

        assert_true(sh != MAP_FAILED);
        add_memory(f->bus, f->session, f->memfd, 0, GPA, RACE_PAGES * PAGE);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (lease)
                        lease_writer(f->ioas, sh);
                dma_writer(f->session, f->ioas, sh);
        }

        for (unsigned k = 0; k < ROUNDS; k++) {
                unsigned page = k % RACE_PAGES;
                uint64_t deadline = now_usec() + TIMEOUT_USEC, word = 0;

                assert_int_equal(pwrite(f->memfd, zero, PAGE, (uint64_t) page * PAGE), PAGE);
                map_guest(f->bus, f->ioas, IOVA, GPA + (uint64_t) page * PAGE, PAGE, MAP_FIXED_RW);
                /* The device model writes into the new page. */
                while (word == 0) {
                        assert_int_equal(pread(f->memfd, now, PAGE, (uint64_t) page * PAGE), PAGE);
                        for (size_t i = 0; i < PAGE / 8 && word == 0; i++)
                                word = ((const uint64_t *) now)[i];
                        if (now_usec() > deadline)
                                fail_msg("round %u: the device model wrote nothing into the new page", k);
                }
                assert_int_equal(unmap(f->bus, f->ioas, IOVA, PAGE), PAGE);
                assert_int_equal(pread(f->memfd, snapshot[page], PAGE, (uint64_t) page * PAGE), PAGE);

                /* The old pages, unmapped, stay as they were at the reply. */
                for (unsigned j = 1; j < RACE_PAGES && j <= k; j++) {
                        unsigned old = (k - j) % RACE_PAGES;

                        assert_int_equal(pread(f->memfd, now, PAGE, (uint64_t) old * PAGE), PAGE);
                        if (memcmp(now, snapshot[old], PAGE) != 0)
                                stale++;
                }
        }
        /* And a bit later. */
        usleep(50 * 1000);
        for (unsigned old = 0; old < RACE_PAGES; old++) {
                assert_int_equal(pread(f->memfd, now, PAGE, (uint64_t) old * PAGE), PAGE);
                if (memcmp(now, snapshot[old], PAGE) != 0)
                        stale++;
        }
        sh->stop = 1;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        printf("race with %s: %u rounds in %.1f s, %llu leases taken, %llu writes by the device model, "
               "%u stale writes\n", lease ? "a lease" : "WriteIOVA", ROUNDS, (now_usec() - start) / 1e6,
               (unsigned long long) sh->leases, (unsigned long long) sh->writes, stale);
        fflush(stdout);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_int_equal(stale, 0);
        if (lease)
                assert_true(sh->leases >= ROUNDS);
        munmap(sh, sizeof(Shared));
}

static void test_race_lease(void **state) {
        race(*state, true);
}

static void test_race_dma(void **state) {
        race(*state, false);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest lease[] = {
                T(test_lease_reaches_guest_memory),
                T(test_lease_on_channel),
                T(test_lease_unmap_waits_for_release),
                T(test_lease_virtio_unmap_waits_for_release),
                T(test_lease_frame_virtio_unmap_waits_for_release),
                T(test_lease_virtio_detach_keeps_leased_domain),
                T(test_lease_unmap_cut_keeps_leased_mapping),
                T(test_lease_drain_times_out),
                T(test_lease_on_last_byte),
                T(test_lease_batch_of_ranges),
                T(test_lease_disconnect_releases),
                T(test_lease_session_closes_while_waiting),
                T(test_lease_refused),
        };
        const struct CMUnitTest races[] = {
                T(test_race_lease),
                T(test_race_dma),
        };
        const Group groups[] = { GROUP("lease", lease), GROUP("race", races) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
