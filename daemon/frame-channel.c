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
#include "log.h"
#include "util.h"
#include "viommu-frame.h"

/* Room for a reply: its header, then an error's name and message, or why an
 * invalidation stopped. */
#define FRAME_REPLY_MAX (sizeof(struct viommu_frame_reply) + 1024)

struct FrameChannel {
        Daemon *daemon;
        Session *session;
        int fd;
        sd_event_source *source;
        /* A reply the peer has no room for yet: the channel reads no more
         * requests until it is sent. */
        size_t pending;
        FrameChannel *prev, *next;
        alignas(8) uint8_t request[VIOMMU_FRAME_SIZE_MAX];
        alignas(8) uint8_t reply[FRAME_REPLY_MAX];
};

static void frame_channel_free(FrameChannel *c) {
        if (!c)
                return;
        if (c->prev)
                c->prev->next = c->next;
        else if (c->daemon->frame_channels == c)
                c->daemon->frame_channels = c->next;
        if (c->next)
                c->next->prev = c->prev;
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

static int frame_invalidate(FrameChannel *c, const struct viommu_frame_request *req, const uint8_t *args,
                            size_t size, uint32_t *ret_handled, char *failure, size_t failure_size,
                            sd_bus_error *error) {
        struct viommu_frame_invalidate inv;
        Object *o;

        o = object_find_by_id(c->session, req->object);
        if (!o)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT, "Session %u has no object %u",
                                         c->session->id, req->object);
        if (o->type != OBJECT_HWPT && o->type != OBJECT_VIOMMU)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Object %u is an %s: INVALIDATE takes a HWPT or a VIOMMU", o->id,
                                         object_type_to_string(o->type));
        if (size < sizeof(inv))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "INVALIDATE takes %zu bytes of arguments before its entries, not %zu",
                                         sizeof(inv), size);
        memcpy(&inv, args, sizeof(inv));
        return invalidate_batch(o, inv.data_type, inv.entry_len, args + sizeof(inv), size - sizeof(inv), ret_handled,
                                failure, failure_size, error);
}

/* Serves the request of size bytes (its true size: it may be longer than
 * what was read) and builds its reply; returns the reply's size. */
static size_t frame_serve(FrameChannel *c, size_t size) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        struct viommu_frame_request req = {};
        const uint8_t *args = c->request + sizeof(req);
        size_t n_args = size - sizeof(req);
        char failure[INVALIDATE_FAILURE_MAX];
        uint32_t handled;
        uint8_t *p;
        int r;

        /* Too short for a header: the reply has no cookie to give back. */
        if (size >= sizeof(req))
                memcpy(&req, c->request, sizeof(req));
        if (size > VIOMMU_FRAME_SIZE_MAX)
                r = sd_bus_error_setf(&error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                      "A frame of %zu bytes: at most %u are read", size, VIOMMU_FRAME_SIZE_MAX);
        else if (size < sizeof(req))
                r = sd_bus_error_setf(&error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                      "A frame of %zu bytes: a request has a header of %zu", size, sizeof(req));
        else
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
                        return p - c->reply + stpcpy((char *) p, failure) - (char *) p + 1;
                default:
                        r = sd_bus_error_setf(&error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                              "No op %u on a frame channel (PING 1, INVALIDATE 2)", req.op);
                        break;
                }

        if (!sd_bus_error_is_set(&error))
                bus_error_errno(&error, r, "%s", strerror(-r));
        return reply_error(c, &req, &error);
}

static int on_frame(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        FrameChannel *c = userdata;
        ssize_t n;

        if (c->pending > 0) {
                n = send(fd, c->reply, c->pending, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n < 0)
                        goto gone;
                c->pending = 0;
                return sd_event_source_set_io_events(source, EPOLLIN);
        }

        /* One request a turn, so that a busy channel lets the others in. */
        n = recv(fd, c->request, sizeof(c->request), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && errno == EAGAIN)
                return 0;
        if (n <= 0)
                goto gone;

        c->pending = frame_serve(c, n);
        n = send(fd, c->reply, c->pending, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) {
                log_debug("session %u: frame channel: a reply waits for the peer to read", c->session->id);
                return sd_event_source_set_io_events(source, EPOLLOUT);
        }
        if (n < 0)
                goto gone;
        c->pending = 0;
        return 0;

gone:
        if (n < 0)
                log_session(c->session, "frame channel dropped: %s", strerror(errno));
        else
                log_debug("session %u: frame channel closed by the peer", c->session->id);
        frame_channel_free(c);
        return 0;
}

int frame_channel_new(Session *s, int *ret_fd) {
        Daemon *d = s->daemon;
        _cleanup_close_ int peer = -EBADF;
        FrameChannel *c;
        int fds[2], r;

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
