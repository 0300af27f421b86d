/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "channel.h"
#include "lease.h"
#include "log.h"
#include "util.h"

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
        sd_bus_flush_close_unref(c->bus);
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
        static const struct {
                const char *interface;
                const sd_bus_vtable *vtable;
        } interfaces[] = {
                { "org.viommu1.Session",       session_vtable },
                { "org.viommu1.Object",        object_vtable },
                { "org.viommu1.IOAS",          ioas_vtable },
                { "org.viommu1.HWPT",          hwpt_vtable },
                { "org.viommu1.VIOMMU",        viommu_vtable },
                { "org.viommu1.ClaimedDevice", claimed_device_vtable },
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(interfaces); i++) {
                r = sd_bus_add_fallback_vtable(bus, NULL, VIOMMU_SESSION_PREFIX, interfaces[i].interface,
                                               interfaces[i].vtable, session_object_find, d);
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

int channel_new(Session *s, int *ret_fd) {
        Daemon *d = s->daemon;
        _cleanup_close_ int peer = -EBADF;
        Channel *c;
        sd_id128_t id;
        int fds[2], r;

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
