/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Session.OpenDirectChannel: the same calls on the peer-to-peer connection,
 * without the bus daemon, what it cannot reach, and a peer that reads no
 * replies losing it. Session.OpenFrameChannel: invalidation, maps and
 * unmaps in binary frames, checked in the kernel, each malformed frame
 * refused by name with nothing changed, and a peer that reads no replies
 * holding up nobody else. Mock devices, any uid.
 *
 *   test-channel [channel]
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* A session may have 16 channels of a kind (METHOD opens one) open at once,
 * OPEN of them already, and no more; one closed makes room once the daemon
 * has seen it go. */
static void channel_limit(Fixture *f, const char *method, size_t open) {
        int more[16];
        size_t n = ELEMENTSOF(more) - open;

        for (size_t i = 0; i < n; i++)
                more[i] = channel_fd(f->bus, f->session, method);
        CALL_FAILS(E_LIMIT_EXCEEDED, f->bus, f->session, I_SESSION, method, NULL);
        close(more[0]);
        for (unsigned tries = 0;; tries++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;

                if (sd_bus_call_method(f->bus, "org.viommu1", f->session, I_SESSION, method, &error, &reply,
                                       NULL) >= 0) {
                        more[0] = read_fd(reply);
                        sd_bus_message_unref(reply);
                        break;
                }
                assert_string_equal(error.name, E_LIMIT_EXCEEDED);
                assert_true(tries < 100);
                usleep(20 * 1000);
        }
        for (size_t i = 0; i < n; i++)
                close(more[i]);
}

static void test_open_direct_channel(void **state) {
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

        /* Not more than 16 at once: each costs the daemon an fd and a connection. */
        channel_limit(f, "OpenDirectChannel", 1);

        /* Closing the session closes its channels. */
        close_session(f->bus, f->session);
        reply = NULL;
        assert_true(sd_bus_call_method(ch, NULL, f->session, I_SESSION, "CreateIOAS", NULL, &reply, NULL) < 0);
        sd_bus_flush_close_unref(ch);
}

/* A peer that opens a direct channel and never speaks on it: closing the
 * session does not wait for it. (It waited out sd-bus's 90 s for the
 * peer's authentication, and every other client with it.) */
static void test_direct_channel_never_used(void **state) {
        Fixture *f = *state;
        _cleanup_close_ int fd = channel_fd(f->bus, f->session, "OpenDirectChannel");
        _cleanup_free_ char *other = NULL;
        uint64_t start = now_usec();

        close_session(f->bus, f->session);
        assert_true(now_usec() - start < 10 * UINT64_C(1000000));
        other = open_session(f->bus, false);
        close_session(f->bus, other);
}

/* ---- Session.OpenFrameChannel ------------------------------------------- */

/* An INVALIDATE's arguments: the header, then n entries. */
static size_t frame_invalidation(uint8_t *buf, uint32_t entry_len, const struct iommu_hwpt_invalidate_selftest *inv,
                                 size_t n) {
        struct viommu_frame_invalidate h = { .data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, .entry_len = entry_len };

        memcpy(buf, &h, sizeof(h));
        memcpy(buf + sizeof(h), inv, n * sizeof(*inv));
        return sizeof(h) + n * sizeof(*inv);
}

static void frame_fails(int fd, const char *name, uint32_t op, uint32_t object, const void *args, size_t size) {
        FrameReply r;

        frame_call(fd, op, object, args, size, &r);
        assert_int_equal(r.h.error, 1);
        assert_string_equal((char *) r.payload, name);
        assert_true(strlen(r.message) > 0);
        /* and the channel goes on */
        frame_call(fd, VIOMMU_FRAME_PING, 0, NULL, 0, &r);
        assert_int_equal(r.h.error, 0);
}

static void test_frame_channel_invalidate(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *parent = NULL, *nested = NULL, *other = NULL, *other_ioas = NULL;
        struct iommu_hwpt_invalidate_selftest inv[MOCK_NESTED_DOMAIN_IOTLB_NUM] = {
                { .iotlb_id = 2 }, { .iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_NUM }, { .iotlb_id = 0 },
        };
        uint8_t args[sizeof(struct viommu_frame_invalidate) + sizeof(inv)];
        uint32_t parent_id, nested_id, other_id = 0;
        _cleanup_close_ int fd = -EBADF;
        FrameReply r;
        size_t size;

        parent = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, &parent_id);
        nested = alloc_nested(f->bus, f->session, f->dev, parent, NULL, 0, &nested_id);
        attach(f->bus, f->session, f->dev, nested);
        fd = frame_open(f->bus, f->session);

        frame_call(fd, VIOMMU_FRAME_PING, 0, NULL, 0, &r);
        assert_int_equal(r.h.error, 0);
        assert_int_equal(r.size, sizeof(r.h));

        channel_limit(f, "OpenFrameChannel", 1);

        /* As Invalidate on the bus: the kernel stops at the entry it refuses. */
        size = frame_invalidation(args, sizeof(inv[0]), inv, 3);
        frame_call(fd, VIOMMU_FRAME_INVALIDATE, nested_id, args, size, &r);
        assert_int_equal(r.h.error, 0);
        assert_int_equal(r.h.value, 1);
        assert_string_equal((char *) r.payload, "EINVAL");
        assert_int_equal(r.size, sizeof(r.h) + sizeof("EINVAL"));
        check_iotlb(f->bus, f->session, nested, 2, 0);
        check_iotlb(f->bus, f->session, nested, 0, IOMMU_TEST_IOTLB_DEFAULT);

        /* Refused, each by name, with the IOTLBs left as they are: a frame
         * shorter than a header, an op that does not exist, a PING with an
         * object or arguments, an Id the session does not hold, objects of
         * other types, arguments cut short, entries of no size, a frame
         * over the size the daemon reads. */
        inv[0] = (struct iommu_hwpt_invalidate_selftest) { .iotlb_id = 0 };
        size = frame_invalidation(args, sizeof(inv[0]), inv, 1);
        assert_int_equal(send(fd, "ping", 4, MSG_NOSIGNAL), 4);
        frame_recv(fd, &r);
        assert_int_equal(r.h.error, 1);
        assert_true(r.h.cookie == 0);
        assert_string_equal((char *) r.payload, E_INVALID_ARGUMENT);
        frame_fails(fd, E_INVALID_ARGUMENT, 99, 0, NULL, 0);
        frame_fails(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_PING, nested_id, NULL, 0);
        frame_fails(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_PING, 0, args, size);
        frame_fails(fd, E_NO_SUCH_OBJECT, VIOMMU_FRAME_INVALIDATE, 0x7fffffff, args, size);
        frame_fails(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_INVALIDATE, f->ioas_id, args, size);
        frame_fails(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_INVALIDATE, f->dev_id, args, size);
        frame_fails(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_INVALIDATE, parent_id, args, size);
        frame_fails(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_INVALIDATE, nested_id, args, 4);
        frame_fails(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_INVALIDATE, nested_id, args,
                    frame_invalidation(args, 0, inv, 1));
        frame_fails(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_INVALIDATE, nested_id, args,
                    frame_invalidation(args, sizeof(inv[0]) + 1, inv, 1));
        {
                _cleanup_free_ uint8_t *big = calloc(1, VIOMMU_FRAME_SIZE_MAX);

                assert_non_null(big);
                size = frame_invalidation(big, sizeof(inv[0]), inv, 1);
                frame_fails(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_INVALIDATE, nested_id, big,
                            VIOMMU_FRAME_SIZE_MAX);
        }
        check_iotlb(f->bus, f->session, nested, 0, IOMMU_TEST_IOTLB_DEFAULT);

        /* Owner first: Ids are the session's own. An Id only another
         * session holds names nothing here, and the refusal tells nothing
         * of that session. */
        other = open_session(f->bus, false);
        for (int i = 0; i < 8; i++) {
                free(other_ioas);
                other_ioas = create_ioas(f->bus, other, &other_id);
        }
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), 4);
        assert_true(other_id != f->dev_id && other_id != f->ioas_id && other_id != parent_id && other_id != nested_id);
        frame_call(fd, VIOMMU_FRAME_INVALIDATE, other_id, args, frame_invalidation(args, sizeof(inv[0]), inv, 1),
                   &r);
        assert_int_equal(r.h.error, 1);
        assert_string_equal((char *) r.payload, E_NO_SUCH_OBJECT);
        assert_null(strstr(r.message, strrchr(other, '/') + 1));
        close_session(f->bus, other);

        /* Every entry the mock has, in one frame. */
        for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
                inv[i] = (struct iommu_hwpt_invalidate_selftest) { .iotlb_id = i };
        size = frame_invalidation(args, sizeof(inv[0]), inv, MOCK_NESTED_DOMAIN_IOTLB_NUM);
        frame_call(fd, VIOMMU_FRAME_INVALIDATE, nested_id, args, size, &r);
        assert_int_equal(r.h.error, 0);
        assert_int_equal(r.h.value, MOCK_NESTED_DOMAIN_IOTLB_NUM);
        assert_string_equal((char *) r.payload, "");
        for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
                check_iotlb(f->bus, f->session, nested, i, 0);

        /* Closing the session closes its frame channels. */
        close_session(f->bus, f->session);
        assert_int_equal(recv(fd, args, sizeof(args), 0), 0);
}

static void frame_fails_fds(int fd, const char *name, uint32_t op, uint32_t object, const void *args, size_t size,
                            const int *fds, size_t n_fds) {
        FrameReply r;

        frame_call_fds(fd, op, object, args, size, fds, n_fds, &r);
        assert_int_equal(r.h.error, 1);
        assert_string_equal((char *) r.payload, name);
}

static uint64_t frame_result(int fd, uint32_t op, uint32_t object, const void *args, size_t size, const int *fds,
                             size_t n_fds) {
        FrameReply r;
        uint64_t result;

        frame_call_fds(fd, op, object, args, size, fds, n_fds, &r);
        if (r.h.error)
                fail_msg("frame op %u: %s: %s", op, (char *) r.payload, r.message);
        assert_int_equal(r.h.value, sizeof(result));
        assert_int_equal(r.size, sizeof(r.h) + sizeof(result));
        memcpy(&result, r.payload, sizeof(result));
        return result;
}

/* IOAS_MAP with the memfd as the frame's descriptor, IOAS_UNMAP: in the
 * kernel's page tables as IOAS.Map and Unmap put them; a frame with a
 * missing, extra or unwanted descriptor, or a memfd its owner sealed, is
 * refused, its descriptors closed, nothing mapped. */
static void test_frame_channel_map_unmap(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        struct viommu_frame_map map = { .offset = PAGE, .length = 4 * PAGE, .iova = iova, .flags = MAP_FIXED_RW };
        struct viommu_frame_unmap unmap = { .iova = iova, .length = 4 * PAGE };
        uint8_t longer[sizeof(unmap) + 1] = {};
        int many[6], sealed;
        _cleanup_close_ int fd = -EBADF;

        if (!f->dev)
                skip();
        attach(f->bus, f->session, f->dev, f->ioas);
        fd = frame_open(f->bus, f->session);

        assert_true(frame_result(fd, VIOMMU_FRAME_IOAS_MAP, f->ioas_id, &map, sizeof(map), &f->memfd, 1) == iova);
        check_mapping(f->bus, f->session, f->dev, iova, 4 * PAGE, f->memfd, PAGE);
        assert_true(get_u64(f->bus, f->ioas, I_IOAS, "MappedBytes") == 4 * PAGE);

        /* Refused, each by name; nothing more is mapped. */
        frame_fails_fds(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_IOAS_MAP, f->ioas_id, &map, sizeof(map), NULL, 0);
        frame_fails_fds(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_PING, 0, NULL, 0, &f->memfd, 1);
        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = f->memfd;
        frame_fails_fds(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_IOAS_MAP, f->ioas_id, &map, sizeof(map), many, 2);
        frame_fails_fds(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_IOAS_MAP, f->ioas_id, &map, sizeof(map), many,
                        ELEMENTSOF(many));
        frame_fails_fds(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_IOAS_MAP, f->dev_id, &map, sizeof(map), &f->memfd, 1);
        frame_fails_fds(fd, E_NO_SUCH_OBJECT, VIOMMU_FRAME_IOAS_MAP, 0x7fffffff, &map, sizeof(map), &f->memfd, 1);
        frame_fails_fds(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_IOAS_MAP, f->ioas_id, &map, sizeof(map) - 4,
                        &f->memfd, 1);
        map.reserved = 1;
        frame_fails_fds(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_IOAS_MAP, f->ioas_id, &map, sizeof(map), &f->memfd, 1);
        map.reserved = 0;
        frame_fails_fds(fd, E_BUSY, VIOMMU_FRAME_IOAS_MAP, f->ioas_id, &map, sizeof(map), &f->memfd, 1);
        map.iova = iova + 8 * PAGE;
        frame_fails_fds(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_IOAS_MAP, f->ioas_id, &map, sizeof(map), &fd, 1);
        sealed = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        assert_true(sealed >= 0);
        assert_int_equal(ftruncate(sealed, BUF_SIZE), 0);
        assert_int_equal(fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK), 0);
        map.offset = 0;
        frame_fails_fds(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_IOAS_MAP, f->ioas_id, &map, sizeof(map), &sealed, 1);
        close(sealed);
        check_no_mapping(f->bus, f->session, f->dev, iova + 8 * PAGE, PAGE, f->memfd, PAGE);
        assert_true(get_u64(f->bus, f->ioas, I_IOAS, "MappedBytes") == 4 * PAGE);

        /* UNMAP refuses a cut and nothing, then takes the whole mapping. */
        unmap.length = PAGE;
        frame_fails_fds(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_IOAS_UNMAP, f->ioas_id, &unmap, sizeof(unmap), NULL, 0);
        unmap = (struct viommu_frame_unmap) { .iova = iova + 8 * PAGE, .length = PAGE };
        frame_fails_fds(fd, E_NO_SUCH_OBJECT, VIOMMU_FRAME_IOAS_UNMAP, f->ioas_id, &unmap, sizeof(unmap), NULL, 0);
        memcpy(longer, &unmap, sizeof(unmap));
        frame_fails_fds(fd, E_INVALID_ARGUMENT, VIOMMU_FRAME_IOAS_UNMAP, f->ioas_id, longer, sizeof(longer), NULL,
                        0);
        check_mapping(f->bus, f->session, f->dev, iova, 4 * PAGE, f->memfd, PAGE);
        unmap = (struct viommu_frame_unmap) { .iova = iova, .length = 4 * PAGE };
        assert_true(frame_result(fd, VIOMMU_FRAME_IOAS_UNMAP, f->ioas_id, &unmap, sizeof(unmap), NULL, 0) ==
                    4 * PAGE);
        check_no_mapping(f->bus, f->session, f->dev, iova, 4 * PAGE, f->memfd, PAGE);
        assert_true(get_u64(f->bus, f->ioas, I_IOAS, "MappedBytes") == 0);
}

/* A VMM that sends and never reads: the daemon stops reading it once its
 * replies have no room, and serves the bus meanwhile; every request is
 * answered, in order, once the VMM reads. */
static void test_frame_channel_unread_replies(void **state) {
        Fixture *f = *state;
        _cleanup_close_ int fd = -EBADF;
        uint64_t sent = 0;
        FrameReply r;

        fd = frame_open(f->bus, f->session);
        for (;;) {
                struct viommu_frame_request req = { .cookie = sent + 1, .op = VIOMMU_FRAME_PING };
                ssize_t n = send(fd, &req, sizeof(req), MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0 && errno == EAGAIN) {
                        /* the daemon may not have caught up yet */
                        usleep(200 * 1000);
                        n = send(fd, &req, sizeof(req), MSG_DONTWAIT | MSG_NOSIGNAL);
                        if (n < 0 && errno == EAGAIN)
                                break;
                }
                assert_int_equal(n, sizeof(req));
                sent++;
                assert_true(sent < 1000000);
        }
        assert_true(sent > 1);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), 2);

        for (uint64_t i = 1; i <= sent; i++) {
                frame_recv(fd, &r);
                assert_int_equal(r.h.error, 0);
                assert_true(r.h.cookie == i);
        }
        frame_call(fd, VIOMMU_FRAME_PING, 0, NULL, 0, &r);
        assert_int_equal(r.h.error, 0);
}

/* A peer that calls on and reads none of the replies loses its channel,
 * not the daemon its memory: each ReadIOVA here answers a MiB, its most,
 * and the socket takes at most 16 of them before the daemon must keep any
 * (under its unit, without CAP_NET_ADMIN to raise its send buffer past
 * net.core.wmem_max, not one). The session stays, and a new channel serves
 * it. */
static void test_direct_channel_unread_replies(void **state) {
        Fixture *f = *state;
        const uint32_t size = 1024 * 1024;
        const uint64_t iova = MOCK_APERTURE_START, end = now_usec() + CALL_TIMEOUT_USEC;
        const unsigned n_calls = 64;
        _cleanup_close_ int memfd = memfd_new("unread", size, 0x5a);
        unsigned n_replies = 0;
        uint32_t region;
        bool closed = false;
        sd_bus *ch = channel_open(f->bus, f->session);

        /* Guest memory, which an emulated device's DMA reads. */
        reply_take(CALL(ch, f->session, I_SESSION, "AddMemory", "httt", memfd, UINT64_C(0), UINT64_C(0),
                        (uint64_t) size),
                   "u", &region);
        CALL_OK(ch, f->ioas, I_IOAS, "MapGuest", "tttu", iova, UINT64_C(0), (uint64_t) size, MAP_FIXED_RW);
        for (unsigned i = 0; i < n_calls; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call(ch, f->ioas, I_IOAS, "ReadIOVA");

                uint64_t cookie;        /* without one, sd-bus asks for no reply */

                assert_true(sd_bus_message_append(m, "tu", iova, size) >= 0);
                assert_true(sd_bus_send(ch, m, &cookie) >= 0);
        }
        assert_true(sd_bus_flush(ch) >= 0);
        /* Without reading a byte, the daemon hangs up. */
        assert_int_equal(poll(&(struct pollfd) { .fd = sd_bus_get_fd(ch), .events = POLLRDHUP }, 1,
                              CALL_TIMEOUT_USEC / 1000),
                         1);
        /* Then come the replies sent before it gave up, and the end. */
        while (!closed && now_usec() < end) {
                sd_bus_message *m = NULL;
                int r = sd_bus_process(ch, &m);

                if (r < 0) {
                        closed = true;
                        break;
                }
                if (m) {
                        uint8_t type;

                        n_replies += sd_bus_message_get_type(m, &type) >= 0 && type == SD_BUS_MESSAGE_METHOD_RETURN;
                        closed = sd_bus_message_is_signal(m, "org.freedesktop.DBus.Local", "Disconnected") > 0;
                        sd_bus_message_unref(m);
                } else if (r == 0)
                        assert_true(sd_bus_wait(ch, end - now_usec()) >= 0);
        }
        assert_true(closed);
        assert_true(n_replies < n_calls);
        sd_bus_flush_close_unref(ch);

        assert_true(session_listed(f->bus, f->session));
        ch = channel_open(f->bus, f->session);
        assert_int_equal(unmap(ch, f->ioas, iova, size), size);
        sd_bus_flush_close_unref(ch);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest channel[] = {
                T(test_open_direct_channel),
                T(test_direct_channel_never_used),
                T(test_direct_channel_unread_replies),
                T(test_frame_channel_invalidate),
                T(test_frame_channel_unread_replies),
                T(test_frame_channel_map_unmap),
        };
        const Group groups[] = { GROUP("channel", channel) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
