/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-errors.h"
#include "frame-channel.h"
#include "invalidate.h"
#include "ioas-dbus.h"
#include "lease.h"
#include "log.h"
#include "util.h"
#include "viommu-frame.h"
#include "virtio-iommu.h"

/* Room for a reply: its header, then an error's name and message, why an
 * invalidation stopped, or a virtio-iommu reply (a PROBE's is the longest). */
#define FRAME_REPLY_MAX (sizeof(struct viommu_frame_reply) + 1024)
/* Descriptors a frame may come with and be refused by name; the kernel
 * closes any beyond. */
#define FRAME_FDS_MAX 4

struct FrameChannel {
        Daemon *daemon;
        Session *session;
        int fd;
        sd_event_source *source;
        /* A reply the peer has no room for yet: the channel reads no more
         * requests until it is sent. */
        size_t pending;
        /* A request that waits for leases to go (lease_drain_frame()): the
         * channel reads nothing meanwhile but sees its peer hang up, which
         * drops the request as a bus caller's leaving drops its call; its
         * size, and what serves it again once they went. */
        size_t waiting;
        sd_event_source *resume;
        /* The descriptors that came with the request being served, and
         * whether the kernel had to drop some for want of room. */
        int fds[FRAME_FDS_MAX];
        size_t n_fds;
        bool fds_cut;
        FrameChannel *prev, *next;
        alignas(8) uint8_t request[VIOMMU_FRAME_SIZE_MAX];
        alignas(8) uint8_t reply[FRAME_REPLY_MAX];
};

static void close_fds(FrameChannel *c) {
        for (size_t i = 0; i < c->n_fds; i++)
                close(c->fds[i]);
        c->n_fds = 0;
        c->fds_cut = false;
}

static void frame_channel_free(FrameChannel *c) {
        if (!c)
                return;
        lease_drain_forget(c->session, NULL, c);
        close_fds(c);
        if (c->prev)
                c->prev->next = c->next;
        else if (c->daemon->frame_channels == c)
                c->daemon->frame_channels = c->next;
        if (c->next)
                c->next->prev = c->prev;
        sd_event_source_disable_unref(c->resume);
        sd_event_source_disable_unref(c->source);
        closep(&c->fd);
        free(c);
}

/* The reply's header, and where its payload goes. */
static uint8_t *reply_start(FrameChannel *c, const struct viommu_frame_request *req, bool error, uint32_t value) {
        struct viommu_frame_reply *h = (struct viommu_frame_reply *) c->reply;

        *h = (struct viommu_frame_reply) { .cookie = req->cookie, .op = req->op, .error = error, .value = value };
        return c->reply + sizeof(*h);
}

/* An error reply: the name and the message, each NUL-terminated, the
 * message cut to what fits. */
static size_t reply_error(FrameChannel *c, const struct viommu_frame_request *req, const sd_bus_error *error) {
        uint8_t *p = reply_start(c, req, true, 0);
        size_t room = c->reply + sizeof(c->reply) - p, name_size = strlen(error->name) + 1;
        int n;

        memcpy(p, error->name, name_size);
        n = snprintf((char *) p + name_size, room - name_size, "%s", error->message ?: "");
        return p - c->reply + name_size + MIN((size_t) n + 1, room - name_size);
}

/* The request's header, all zeroes if the frame is too short for one. */
static struct viommu_frame_request request_header(FrameChannel *c, size_t size) {
        struct viommu_frame_request req = {};

        if (size >= sizeof(req))
                memcpy(&req, c->request, sizeof(req));
        return req;
}

/* The object a request names, of one of the types in mask (1 << type). */
static int frame_object(FrameChannel *c, const struct viommu_frame_request *req, unsigned mask, const char *takes,
                        Object **ret, sd_bus_error *error) {
        Object *o = object_find_by_id(c->session, req->object);

        if (!o)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT, "Session %u has no object %u",
                                         c->session->id, req->object);
        if (!(mask & (1u << o->type)))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Object %u is of type %s: %s",
                                         o->id, object_type_to_string(o->type), takes);
        *ret = o;
        return 0;
}

/* The op's arguments, exactly size bytes of them. */
static int frame_args(const char *op, size_t size, size_t want, sd_bus_error *error) {
        if (size != want)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "%s takes %zu bytes of arguments, not %zu", op, want, size);
        return 0;
}

static int frame_invalidate(FrameChannel *c, const struct viommu_frame_request *req, const uint8_t *args,
                            size_t size, uint32_t *ret_handled, char *failure, size_t failure_size,
                            sd_bus_error *error) {
        struct viommu_frame_invalidate inv;
        Object *o;
        int r;

        r = frame_object(c, req, 1u << OBJECT_HWPT | 1u << OBJECT_VIOMMU, "INVALIDATE takes a HWPT or a VIOMMU",
                         &o, error);
        if (r < 0)
                return r;
        if (size < sizeof(inv))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "INVALIDATE takes %zu bytes of arguments before its entries, not %zu",
                                         sizeof(inv), size);
        memcpy(&inv, args, sizeof(inv));
        return invalidate_batch(o, inv.data_type, inv.entry_len, args + sizeof(inv), size - sizeof(inv), ret_handled,
                                failure, failure_size, error);
}

/* As Session.VirtioIommuRequest: an UNMAP over a leased range waits for
 * the leases' release. */
static int frame_virtio_iommu(FrameChannel *c, const uint8_t *args, size_t size, uint8_t *answer,
                              size_t *answer_size, sd_bus_error *error) {
        uint64_t range[2];
        ssize_t n;
        Object *ioas;
        int r;

        if (virtio_iommu_unmap_target(c->session, args, size, &ioas, range)) {
                r = lease_drain_frame(ioas, c, &range, 1, error);
                if (r < 0)
                        return r;
        } else
                lease_drain_forget(c->session, NULL, c);
        /* Straight into the reply frame. */
        n = virtio_iommu_request(c->session, args, size, answer, *answer_size);
        if (n == -ENOBUFS)
                return sd_bus_error_setf(error, VIOMMU_ERROR_FAILED, "A virtio-iommu reply of %zu bytes: "
                                         "a frame's has room for %zu", virtio_iommu_reply_size(args, size),
                                         *answer_size);
        if (n < 0)
                return n;
        *answer_size = n;
        return 0;
}

static int frame_map(FrameChannel *c, const struct viommu_frame_request *req, const uint8_t *args, size_t size,
                     uint64_t *ret_iova, sd_bus_error *error) {
        struct viommu_frame_map map;
        Object *ioas;
        int r;

        r = frame_object(c, req, 1u << OBJECT_IOAS, "IOAS_MAP takes an IOAS", &ioas, error);
        if (r >= 0)
                r = frame_args("IOAS_MAP", size, sizeof(map), error);
        if (r < 0)
                return r;
        memcpy(&map, args, sizeof(map));
        if (map.reserved != 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "IOAS_MAP's reserved field is not 0");
        if (c->n_fds != 1)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "IOAS_MAP takes the memfd as the frame's one descriptor");
        *ret_iova = map.iova;
        return ioas_map_call(ioas, c->fds[0], map.offset, map.length, map.flags, ret_iova, error);
}

static int frame_unmap(FrameChannel *c, const struct viommu_frame_request *req, const uint8_t *args, size_t size,
                       uint64_t *ret_unmapped, sd_bus_error *error) {
        struct viommu_frame_unmap unmap;
        Object *ioas;
        int r;

        r = frame_object(c, req, 1u << OBJECT_IOAS, "IOAS_UNMAP takes an IOAS", &ioas, error);
        if (r >= 0)
                r = frame_args("IOAS_UNMAP", size, sizeof(unmap), error);
        if (r < 0)
                return r;
        memcpy(&unmap, args, sizeof(unmap));
        return ioas_unmap_call(ioas, NULL, c, unmap.iova, unmap.length, ret_unmapped, error);
}

/* Serves the request of size bytes (its true size: it may be longer than
 * what was read) and builds its reply: the reply's size, or -EINPROGRESS
 * when the request waits for leases. */
static ssize_t frame_serve(FrameChannel *c, size_t size) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        struct viommu_frame_request req = request_header(c, size);
        const uint8_t *args = c->request + sizeof(req);
        char failure[INVALIDATE_FAILURE_MAX];
        size_t n_args, answer_size;
        uint32_t handled;
        uint64_t result;
        uint8_t *p;
        int r;

        if (size > VIOMMU_FRAME_SIZE_MAX)
                r = sd_bus_error_setf(&error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                      "A frame of %zu bytes: at most %u are read", size, VIOMMU_FRAME_SIZE_MAX);
        else if (size < sizeof(req))
                r = sd_bus_error_setf(&error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                      "A frame of %zu bytes: a request has a header of %zu", size, sizeof(req));
        else if (c->fds_cut)
                r = sd_bus_error_setf(&error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                      "A frame with more file descriptors than any op takes");
        else if (c->n_fds > 0 && req.op != VIOMMU_FRAME_IOAS_MAP)
                r = sd_bus_error_setf(&error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                      "A frame of op %u with %zu file descriptors: only IOAS_MAP takes one",
                                      req.op, c->n_fds);
        else {
                n_args = size - sizeof(req);
                switch (req.op) {
                case VIOMMU_FRAME_PING:
                        if (n_args > 0 || req.object != 0) {
                                r = sd_bus_error_setf(&error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                                      "PING takes no object and no arguments");
                                break;
                        }
                        reply_start(c, &req, false, 0);
                        return sizeof(struct viommu_frame_reply);
                case VIOMMU_FRAME_INVALIDATE:
                        r = frame_invalidate(c, &req, args, n_args, &handled, failure, sizeof(failure), &error);
                        if (r < 0)
                                break;
                        p = reply_start(c, &req, false, handled);
                        /* failure is shorter than the room after a header */
                        return (uint8_t *) stpcpy((char *) p, failure) + 1 - c->reply;
                case VIOMMU_FRAME_VIRTIO_IOMMU:
                        if (req.object != 0) {
                                r = sd_bus_error_setf(&error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                                      "VIRTIO_IOMMU takes no object: it is the session's");
                                break;
                        }
                        p = reply_start(c, &req, false, 0);
                        answer_size = c->reply + sizeof(c->reply) - p;
                        r = frame_virtio_iommu(c, args, n_args, p, &answer_size, &error);
                        if (r == -EINPROGRESS)
                                return r;
                        if (r < 0)
                                break;
                        /* reply_start() again: the header holds the size */
                        reply_start(c, &req, false, answer_size);
                        return sizeof(struct viommu_frame_reply) + answer_size;
                case VIOMMU_FRAME_IOAS_MAP:
                case VIOMMU_FRAME_IOAS_UNMAP:
                        r = req.op == VIOMMU_FRAME_IOAS_MAP ? frame_map(c, &req, args, n_args, &result, &error) :
                                                              frame_unmap(c, &req, args, n_args, &result, &error);
                        if (r == -EINPROGRESS)
                                return r;
                        if (r < 0)
                                break;
                        p = reply_start(c, &req, false, sizeof(result));
                        memcpy(p, &result, sizeof(result));
                        return sizeof(struct viommu_frame_reply) + sizeof(result);
                default:
                        r = sd_bus_error_setf(&error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                              "No op %u on a frame channel (PING 1, INVALIDATE 2, VIRTIO_IOMMU 3, "
                                              "IOAS_MAP 4, IOAS_UNMAP 5)", req.op);
                        break;
                }
        }

        if (!sd_bus_error_is_set(&error))
                bus_error_errno(&error, r, "%s", strerror(-r));
        return reply_error(c, &req, &error);
}

static void frame_channel_drop(FrameChannel *c, int r) {
        if (r < 0)
                log_session(c->session, "frame channel dropped: %s", strerror(-r));
        else
                log_debug("session %u: frame channel closed by the peer", c->session->id);
        frame_channel_free(c);
}

/* Sends the reply of size bytes; if the peer has no room for it, keeps it
 * and reads no request until it is sent. */
static int frame_send(FrameChannel *c, size_t size) {
        if (send(c->fd, c->reply, size, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
                c->pending = 0;
                return sd_event_source_set_io_events(c->source, EPOLLIN);
        }
        if (errno != EAGAIN)
                return -errno;
        log_debug("session %u: frame channel: a reply waits for the peer to read", c->session->id);
        c->pending = size;
        return sd_event_source_set_io_events(c->source, EPOLLOUT);
}

/* Serves the request in c->request and answers it, unless it waits. */
static int frame_answer(FrameChannel *c, size_t size) {
        ssize_t n = frame_serve(c, size);

        /* Used, or refused: either way not kept. A request that waits has
         * none. */
        close_fds(c);
        if (n == -EINPROGRESS) {
                c->waiting = size;
                return sd_event_source_set_io_events(c->source, 0);
        }
        return frame_send(c, n);
}

/* The next request into c->request and its descriptors into c->fds: its
 * true size (MSG_TRUNC), 0 at the end, or -errno. */
static ssize_t frame_recv(FrameChannel *c) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * FRAME_FDS_MAX)];
        } control;
        struct iovec iov = { c->request, sizeof(c->request) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        ssize_t n;

        n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
                if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
                        for (size_t i = 0; i < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                                int fd;

                                memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
                                if (c->n_fds < FRAME_FDS_MAX)
                                        c->fds[c->n_fds++] = fd;
                                else
                                        close(fd);
                        }
        c->fds_cut = mh.msg_flags & MSG_CTRUNC;
        return n;
}

static int on_frame(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        FrameChannel *c = userdata;
        ssize_t n;
        int r;

        if (c->waiting > 0) {
                if (revents & (EPOLLHUP | EPOLLERR))
                        frame_channel_drop(c, 0);
                return 0;
        }
        if (c->pending > 0)
                r = frame_send(c, c->pending);
        else {
                /* One request a turn, so that a busy channel lets the others in. */
                n = frame_recv(c);
                if (n == -EAGAIN)
                        return 0;
                if (n <= 0) {
                        frame_channel_drop(c, n);
                        return 0;
                }
                r = frame_answer(c, n);
        }
        if (r < 0)
                frame_channel_drop(c, r);
        return 0;
}

static int on_resume(sd_event_source *source, void *userdata) {
        FrameChannel *c = userdata;
        size_t size = c->waiting;
        int r;

        c->resume = sd_event_source_disable_unref(c->resume);
        c->waiting = 0;
        r = frame_answer(c, size);
        if (r < 0)
                frame_channel_drop(c, r);
        return 0;
}

void frame_channel_resume(FrameChannel *c) {
        int r;

        /* Not from inside the release that let it go: from the event loop. */
        r = sd_event_add_defer(c->daemon->event, &c->resume, on_resume, c);
        if (r < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                bus_error_errno(&error, r, "Cannot resume the request: %s", strerror(-r));
                frame_channel_fail(c, &error);
        }
}

void frame_channel_fail(FrameChannel *c, const sd_bus_error *error) {
        struct viommu_frame_request req = request_header(c, c->waiting);
        int r;

        c->waiting = 0;
        r = frame_send(c, reply_error(c, &req, error));
        if (r < 0) {
                log_session(c->session, "frame channel dropped: cannot answer a request that waited: %s",
                            strerror(-r));
                /* Not freed here, inside the drain that failed: shut, it
                 * hangs up, and the event loop drops it. Its peer would
                 * otherwise wait for the answer, and the channel for a
                 * request it no longer reads. */
                (void) shutdown(c->fd, SHUT_RDWR);
        }
}

int frame_channel_new(Session *s, int *ret_fd) {
        Daemon *d = s->daemon;
        _cleanup_close_ int peer = -EBADF;
        FrameChannel *c;
        unsigned n = 0;
        int fds[2], r;

        for (c = d->frame_channels; c; c = c->next)
                n += c->session == s;
        if (n >= FRAME_CHANNELS_MAX)
                return -EMFILE;

        /* Blocking: the VMM may give its end to a thread of its own. The
         * daemon's calls on its end each say MSG_DONTWAIT. */
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
                return -errno;
        peer = fds[1];

        c = calloc(1, sizeof(*c));
        if (!c) {
                close(fds[0]);
                return -ENOMEM;
        }
        c->daemon = d;
        c->session = s;
        c->fd = fds[0];
        c->next = d->frame_channels;
        if (d->frame_channels)
                d->frame_channels->prev = c;
        d->frame_channels = c;

        r = sd_event_add_io(d->event, &c->source, c->fd, EPOLLIN, on_frame, c);
        if (r < 0) {
                frame_channel_free(c);
                return r;
        }

        log_session(s, "frame channel opened");
        *ret_fd = TAKE_FD(peer);
        return 0;
}

void frame_channels_drop_session(Daemon *d, Session *s) {
        for (FrameChannel *c = d->frame_channels, *next; c; c = next) {
                next = c->next;
                if (c->session == s)
                        frame_channel_free(c);
        }
}

void frame_channels_free(Daemon *d) {
        while (d->frame_channels)
                frame_channel_free(d->frame_channels);
}
