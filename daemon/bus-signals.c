/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Objects come and go at once (InterfacesAdded, InterfacesRemoved, the
 * daemon's own signals). Property changes are marked and announced together
 * a moment later, one PropertiesChanged per object with the values of then:
 * a VMM mapping page by page must not make the bus daemon relay a signal per
 * page. A call on the bus that reads state (anything but the objects'
 * methods) first announces what is marked, so that whoever reads after a
 * change has the signal of it before the answer.
 */

#include <stdlib.h>

#include "bus-signals.h"
#include "channel.h"
#include "log.h"
#include "util.h"

/* How long a change may wait for others to join it: every announcement
 * wakes the bus daemon, which a VMM mapping page by page through the direct
 * channel must not keep busy. A monitor sees the values late by this much;
 * a client that reads state gets them at once (on_bus_message()). */
#define SIGNALS_DELAY_USEC (50 * 1000)

enum {
        SESSION_N_OBJECTS       = 1 << 0,
        SESSION_MAPPED_BYTES    = 1 << 1,
        IOAS_MAPPED             = 1 << 2,       /* MappedBytes and Mappings */
        DEVICE_ATTACHED         = 1 << 3,
        DEVICE_PASIDS           = 1 << 4,
        SESSION_GUEST_MEMORY    = 1 << 5,
};

static void flush_session(sd_bus *bus, Session *s) {
        char *names[4];
        size_t n = 0;

        if (s->dirty & SESSION_N_OBJECTS)
                names[n++] = (char *) "NObjects";
        if (s->dirty & SESSION_MAPPED_BYTES)
                names[n++] = (char *) "MappedBytes";
        if (s->dirty & SESSION_GUEST_MEMORY)
                names[n++] = (char *) "GuestMemory";
        names[n] = NULL;
        s->dirty = 0;
        (void) sd_bus_emit_properties_changed_strv(bus, s->path, "org.viommu1.Session", names);
}

static void flush_object(sd_bus *bus, Object *o) {
        char *names[3];
        size_t n = 0;

        if (o->dirty & IOAS_MAPPED)
                (void) sd_bus_emit_properties_changed(bus, o->path, "org.viommu1.IOAS", "MappedBytes", "Mappings",
                                                      NULL);
        if (o->dirty & DEVICE_ATTACHED)
                names[n++] = (char *) "Attached";
        if (o->dirty & DEVICE_PASIDS)
                names[n++] = (char *) "Pasids";
        names[n] = NULL;
        if (n > 0)
                (void) sd_bus_emit_properties_changed_strv(bus, o->path, "org.viommu1.ClaimedDevice", names);
        o->dirty = 0;
}

void signals_flush(Daemon *d) {
        while (d->dirty_objects) {
                Object *o = d->dirty_objects;

                d->dirty_objects = o->dirty_next;
                o->dirty_next = NULL;
                flush_object(d->bus, o);
        }
        while (d->dirty_sessions) {
                Session *s = d->dirty_sessions;

                d->dirty_sessions = s->dirty_next;
                s->dirty_next = NULL;
                flush_session(d->bus, s);
        }
}

static int on_signals_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        signals_flush(userdata);
        return 0;
}

static int on_bus_message(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        const char *interface = sd_bus_message_get_interface(m);

        if ((d->dirty_objects || d->dirty_sessions) && sd_bus_message_is_method_call(m, NULL, NULL) > 0 &&
            (!startswith(interface ?: "", "org.viommu1.") || streq(interface, "org.viommu1.Manager")))
                signals_flush(d);
        return 0;       /* on to its handler */
}

int signals_start(Daemon *d) {
        return sd_bus_add_filter(d->bus, &d->signals_filter, on_bus_message, d);
}

void signals_stop(Daemon *d) {
        d->signals_timer = sd_event_source_disable_unref(d->signals_timer);
        d->signals_filter = sd_bus_slot_unref(d->signals_filter);
}

/* Whatever is marked goes out SIGNALS_DELAY_USEC after the first mark. */
static void signals_schedule(Daemon *d) {
        int r;

        if (!d->signals_timer)
                r = sd_event_add_time_relative(d->event, &d->signals_timer, CLOCK_MONOTONIC, SIGNALS_DELAY_USEC,
                                               1, on_signals_timer, d);
        else if (sd_event_source_get_enabled(d->signals_timer, NULL) > 0)
                return;
        else {
                r = sd_event_source_set_time_relative(d->signals_timer, SIGNALS_DELAY_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(d->signals_timer, SD_EVENT_ONESHOT);
        }
        if (r < 0) {
                /* Late is better than never. */
                log_warning_errno(r, "Cannot delay property changes: %m; announcing them at once");
                signals_flush(d);
        }
}

static void mark_session(Session *s, unsigned what) {
        Daemon *d = s->daemon;

        if (!d->bus)
                return;
        if (!s->dirty) {
                s->dirty_next = d->dirty_sessions;
                d->dirty_sessions = s;
        }
        s->dirty |= what;
        signals_schedule(d);
}

static void mark_object(Object *o, unsigned what) {
        Daemon *d = o->session->daemon;

        if (!d->bus)
                return;
        if (!o->dirty) {
                o->dirty_next = d->dirty_objects;
                d->dirty_objects = o;
        }
        o->dirty |= what;
        signals_schedule(d);
}

void signals_forget_session(Session *s) {
        if (!s->dirty)
                return;
        for (Session **i = &s->daemon->dirty_sessions; *i; i = &(*i)->dirty_next)
                if (*i == s) {
                        *i = s->dirty_next;
                        break;
                }
        s->dirty = 0;
}

void signals_forget_object(Object *o) {
        if (!o->dirty)
                return;
        for (Object **i = &o->session->daemon->dirty_objects; *i; i = &(*i)->dirty_next)
                if (*i == o) {
                        *i = o->dirty_next;
                        break;
                }
        o->dirty = 0;
}

void emit_object_added(Object *o) {
        (void) sd_bus_emit_object_added(o->session->daemon->bus, o->path);
        mark_session(o->session, SESSION_N_OBJECTS);
}

void emit_object_removed(Session *s, const char *path, uint64_t mapped_bytes_before) {
        (void) sd_bus_emit_object_removed(s->daemon->bus, path);
        mark_session(s, SESSION_N_OBJECTS | (s->mapped_bytes != mapped_bytes_before ? SESSION_MAPPED_BYTES : 0));
}

void emit_device_attached(Object *dev) {
        mark_object(dev, DEVICE_ATTACHED);
}

void emit_device_pasids(Object *dev) {
        mark_object(dev, DEVICE_PASIDS);
}

void emit_device_attachments(Object *dev) {
        mark_object(dev, DEVICE_ATTACHED | DEVICE_PASIDS);
}

void emit_mapped_bytes(Object *ioas) {
        mark_object(ioas, IOAS_MAPPED);
        mark_session(ioas->session, SESSION_MAPPED_BYTES);
}

void emit_guest_memory(Session *s) {
        mark_session(s, SESSION_GUEST_MEMORY);
}

void emit_session_opened(Session *s) {
        (void) sd_bus_emit_object_added(s->daemon->bus, s->path);
}

void emit_session_closed(Daemon *d, const char *path, const char *reason) {
        (void) sd_bus_emit_signal(d->bus, VIOMMU_MANAGER_PATH, "org.viommu1.Manager", "SessionClosed", "os", path,
                                  reason);
        (void) sd_bus_emit_object_removed(d->bus, path);
}

void emit_device_gone(Session *s, const char *path, const char *name) {
        (void) sd_bus_emit_signal(s->daemon->bus, s->path, "org.viommu1.Session", "DeviceGone", "os", path, name);
}

void emit_virtio_iommu_fault(Session *s, const struct virtio_iommu_fault *record) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        sd_bus *bus = channel_of_session(s->daemon, s) ?: s->daemon->bus;
        int r;

        r = sd_bus_message_new_signal(bus, &sig, s->path, "org.viommu1.Session", "VirtioIommuFault");
        if (r >= 0 && bus == s->daemon->bus && s->owner)
                r = sd_bus_message_set_destination(sig, s->owner);
        if (r >= 0)
                r = sd_bus_message_append_array(sig, 'y', record, sizeof(*record));
        if (r >= 0)
                r = sd_bus_send(bus, sig, NULL);
        if (r < 0)
                log_warning_errno(r, "session %u: cannot send a virtio-iommu fault record: %m", s->id);
}

void emit_device_added(Daemon *d, const char *name, const char *path) {
        (void) sd_bus_emit_signal(d->bus, VIOMMU_MANAGER_PATH, "org.viommu1.Manager", "DeviceAdded", "so", name,
                                  path);
}

void emit_device_removed(Daemon *d, const char *name, const char *path) {
        (void) sd_bus_emit_signal(d->bus, VIOMMU_MANAGER_PATH, "org.viommu1.Manager", "DeviceRemoved", "so", name,
                                  path);
}
