/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "channel.h"
#include "lease.h"
#include "log.h"
#include "object-dbus.h"
#include "util.h"

/* Replies a peer may leave unread beyond what its socket holds (sd-bus asks
 * for 8 MiB of send buffer; without CAP_NET_ADMIN, as under viommud.service,
 * it gets what net.core.wmem_max allows, far less). A peer past them reads
 * none, and each reply it leaves (a ReadIOVA's up to a MiB) would be the
 * daemon's memory: sd-bus reads calls on however long the replies queue. */
#define CHANNEL_UNREAD_MAX 16

struct Channel {
        Daemon *daemon;
        Session *session;
        sd_bus *bus;
        Channel *prev, *next;
};

static Channel *channel_free(Channel *c) {
        if (!c)
                return NULL;
        leases_forget_holder(c->daemon, c->bus, NULL);
        if (c->prev)
                c->prev->next = c->next;
        else if (c->daemon->channels == c)
                c->daemon->channels = c->next;
        if (c->next)
                c->next->prev = c->prev;
        /* No flush: it waits for a peer that is still to authenticate, or
         * that reads nothing, with the whole event loop. */
        sd_bus_close_unref(c->bus);
        free(c);
        return NULL;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Channel *c = userdata;

        log_debug("session %u: direct channel closed by the peer", c->session->id);
        channel_free(c);
        return 0;
}

int bus_register_session_objects(Daemon *d, sd_bus *bus) {
        int r;

        for (size_t i = 0; i < n_session_interfaces; i++) {
                r = sd_bus_add_fallback_vtable(bus, NULL, VIOMMU_SESSION_PREFIX, session_interfaces[i].interface,
                                               session_interfaces[i].vtable, session_object_find, d);
                if (r < 0)
                        return r;
        }
#if ENABLE_TEST_HOOKS
        if (d->mock_devices) {
                r = sd_bus_add_fallback_vtable(bus, NULL, VIOMMU_SESSION_PREFIX, "org.viommu1.Testing",
                                               testing_vtable, session_object_find, d);
                if (r < 0)
                        return r;
        }
#endif
        return sd_bus_add_node_enumerator(bus, NULL, VIOMMU_SESSION_PREFIX, session_node_enumerator, d);
}

/* The method a call on a channel names in s, with what it is called on; NULL
 * unless the path is s or one of its objects that has the interface. */
static const sd_bus_vtable *direct_method(Session *s, sd_bus_message *m, void **ret_target) {
        const char *interface = sd_bus_message_get_interface(m), *member = sd_bus_message_get_member(m);
        const char *path = sd_bus_message_get_path(m);
        const SessionInterface *i;

        if (!interface || !member || !path)
                return NULL;
        i = session_interface_find(interface);
        if (!i)
                return NULL;
        if (i->type == _OBJECT_TYPE_MAX) {
                if (!streq(path, s->path))
                        return NULL;
                *ret_target = s;
        } else {
                Object *o = object_find(s, path);

                if (!o || !session_interface_serves(i, o->type))
                        return NULL;
                *ret_target = o;
        }
        for (const sd_bus_vtable *v = i->vtable; v->type != _SD_BUS_VTABLE_END; v++)
                if (v->type == _SD_BUS_VTABLE_METHOD && streq(v->x.method.member, member))
                        return v;
        return NULL;
}

/* A VMM's calls on its channel go straight to their handlers: sd-bus would
 * find them through the fallback vtables, a hash look-up for each prefix of
 * the path and the find callback, a fifth of the daemon's work for an
 * Invalidate. Only a call that the vtables would hand to the same handler
 * with the same userdata is taken here (its session's or one of its
 * objects', an unprivileged method, the exact signature); any other goes on
 * to the vtables, which answer it as ever. Failures are answered as sd-bus
 * answers them. Before any message, a peer that leaves its replies unread
 * loses its channel (the session stays). */
static int on_channel_call(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Channel *c = userdata;
        const sd_bus_vtable *v;
        uint64_t unread;
        void *target;
        int r;

        if (sd_bus_get_n_queued_write(c->bus, &unread) >= 0 && unread >= CHANNEL_UNREAD_MAX) {
                log_session(c->session, "direct channel closed: its peer leaves its replies unread (%" PRIu64
                            " queued)", unread);
                channel_free(c);
                return 1;
        }
        if (sd_bus_message_is_method_call(m, NULL, NULL) <= 0)
                return 0;
        v = direct_method(c->session, m, &target);
        if (!v || !(v->flags & SD_BUS_VTABLE_UNPRIVILEGED) || (v->flags & SD_BUS_VTABLE_SENSITIVE) ||
            v->x.method.offset != 0 || !sd_bus_message_has_signature(m, v->x.method.signature))
                return 0;

        r = v->x.method.handler(m, target, &error);
        if (sd_bus_error_is_set(&error))
                (void) sd_bus_reply_method_error(m, &error);
        else if (r < 0)
                (void) sd_bus_reply_method_errno(m, r, NULL);
        return 1;
}

int channel_new(Session *s, int *ret_fd) {
        Daemon *d = s->daemon;
        _cleanup_close_ int peer = -EBADF;
        Channel *c;
        sd_id128_t id;
        unsigned n = 0;
        int fds[2], r;

        for (c = d->channels; c; c = c->next)
                n += c->session == s;
        if (n >= CHANNELS_MAX)
                return -EMFILE;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
                return -errno;
        peer = fds[1];

        c = calloc(1, sizeof(*c));
        if (!c) {
                close(fds[0]);
                return -ENOMEM;
        }
        c->daemon = d;
        c->session = s;
        c->next = d->channels;
        if (d->channels)
                d->channels->prev = c;
        d->channels = c;

        r = sd_bus_new(&c->bus);
        if (r < 0) {
                close(fds[0]);
                goto fail;
        }
        r = sd_bus_set_fd(c->bus, fds[0], fds[0]);
        if (r < 0) {
                close(fds[0]);
                goto fail;
        }
        /* Both ends of a socketpair carry the daemon's own credentials, so
         * the peer cannot prove a uid: it authenticates anonymously, and the
         * channel's reach is its session, whose owner asked for it. */
        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_set_server(c->bus, true, id);
        if (r >= 0)
                r = sd_bus_set_anonymous(c->bus, true);
        if (r >= 0)
                r = sd_bus_negotiate_fds(c->bus, true);
        if (r >= 0)
                r = bus_register_session_objects(d, c->bus);
        if (r >= 0)
                r = sd_bus_add_filter(c->bus, NULL, on_channel_call, c);
        if (r >= 0)
                r = sd_bus_match_signal(c->bus, NULL, NULL, "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, c);
        if (r >= 0)
                r = sd_bus_attach_event(c->bus, d->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_start(c->bus);
        if (r < 0)
                goto fail;

        log_session(s, "direct channel opened");
        *ret_fd = TAKE_FD(peer);
        return 0;

fail:
        channel_free(c);
        return r;
}

Session *channel_session(Daemon *d, sd_bus *bus) {
        if (bus == d->bus)
                return NULL;
        for (Channel *c = d->channels; c; c = c->next)
                if (c->bus == bus)
                        return c->session;
        return NULL;
}

sd_bus *channel_of_session(Daemon *d, Session *s) {
        for (Channel *c = d->channels; c; c = c->next)
                if (c->session == s)
                        return c->bus;
        return NULL;
}

void channels_drop_session(Daemon *d, Session *s) {
        for (Channel *c = d->channels, *next; c; c = next) {
                next = c->next;
                if (c->session == s)
                        channel_free(c);
        }
}

void channels_free(Daemon *d) {
        while (d->channels)
                channel_free(d->channels);
}
