/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Session.OpenDirectChannel: the same calls on the peer-to-peer connection,
 * without the bus daemon, and what it cannot reach. Session.OpenFrameChannel:
 * invalidation in binary frames, checked in the kernel, each malformed frame
 * refused by name with nothing changed, and a peer that reads no replies
 * holding up nobody else. Mock devices, any uid.
 *
 *   test-channel [channel]
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "viommu-frame.h"

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

        /* Closing the session closes its channels. */
        close_session(f->bus, f->session);
        reply = NULL;
        assert_true(sd_bus_call_method(ch, NULL, f->session, I_SESSION, "CreateIOAS", NULL, &reply, NULL) < 0);
        sd_bus_flush_close_unref(ch);
}

/* ---- Session.OpenFrameChannel ------------------------------------------- */

typedef struct FrameReply {
        struct viommu_frame_reply h;
        size_t size;            /* of the whole packet */
        char payload[2048];
        const char *message;    /* of an error: after its name in payload */
} FrameReply;

static int frame_open(sd_bus *bus, const char *session) {
        sd_bus_message *reply = CALL(bus, session, I_SESSION, "OpenFrameChannel", NULL);
        int fd = read_fd(reply);

        sd_bus_message_unref(reply);
        return fd;
}

static void frame_send(int fd, uint32_t op, uint32_t object, uint64_t cookie, const void *args, size_t size) {
        struct viommu_frame_request req = { .cookie = cookie, .op = op, .object = object };
        struct iovec iov[] = { { &req, sizeof(req) }, { (void *) args, size } };
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size > 0 ? 2 : 1 };

        assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t) (sizeof(req) + size));
}

static void frame_recv(int fd, FrameReply *ret) {
        uint8_t buf[sizeof(ret->h) + sizeof(ret->payload)];
        ssize_t n;

        *ret = (FrameReply) {};
        n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
        assert_true(n >= (ssize_t) sizeof(ret->h));
        assert_true(n <= (ssize_t) sizeof(buf));
        memcpy(&ret->h, buf, sizeof(ret->h));
        ret->size = n;
        memcpy(ret->payload, buf + sizeof(ret->h), n - sizeof(ret->h));
        /* Every payload ends in a NUL; an error's is two strings. */
        if (n > (ssize_t) sizeof(ret->h))
                assert_int_equal(ret->payload[n - sizeof(ret->h) - 1], 0);
        if (ret->h.error) {
                ret->message = ret->payload + strlen(ret->payload) + 1;
                assert_true(ret->message < ret->payload + (n - sizeof(ret->h)));
        }
}

static void frame_call(int fd, uint32_t op, uint32_t object, const void *args, size_t size, FrameReply *ret) {
        static uint64_t cookie = 0x1000;

        frame_send(fd, op, object, ++cookie, args, size);
        frame_recv(fd, ret);
        assert_true(ret->h.cookie == cookie);
        assert_int_equal(ret->h.op, op);
}

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
        assert_string_equal(r.payload, name);
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

        /* As Invalidate on the bus: the kernel stops at the entry it refuses. */
        size = frame_invalidation(args, sizeof(inv[0]), inv, 3);
        frame_call(fd, VIOMMU_FRAME_INVALIDATE, nested_id, args, size, &r);
        assert_int_equal(r.h.error, 0);
        assert_int_equal(r.h.value, 1);
        assert_string_equal(r.payload, "EINVAL");
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
        assert_string_equal(r.payload, E_INVALID_ARGUMENT);
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
        assert_string_equal(r.payload, E_NO_SUCH_OBJECT);
        assert_null(strstr(r.message, strrchr(other, '/') + 1));
        close_session(f->bus, other);

        /* Every entry the mock has, in one frame. */
        for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
                inv[i] = (struct iommu_hwpt_invalidate_selftest) { .iotlb_id = i };
        size = frame_invalidation(args, sizeof(inv[0]), inv, MOCK_NESTED_DOMAIN_IOTLB_NUM);
        frame_call(fd, VIOMMU_FRAME_INVALIDATE, nested_id, args, size, &r);
        assert_int_equal(r.h.error, 0);
        assert_int_equal(r.h.value, MOCK_NESTED_DOMAIN_IOTLB_NUM);
        assert_string_equal(r.payload, "");
        for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
                check_iotlb(f->bus, f->session, nested, i, 0);

        /* Closing the session closes its frame channels. */
        close_session(f->bus, f->session);
        assert_int_equal(recv(fd, args, sizeof(args), 0), 0);
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

int main(int argc, char *argv[]) {
        const struct CMUnitTest channel[] = {
                T(test_open_direct_channel),
                T(test_frame_channel_invalidate),
                T(test_frame_channel_unread_replies),
        };
        const Group groups[] = { GROUP("channel", channel) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
