/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A session's signals are built here from the vtables, one message for each
 * subscriber who may see the session: sd-bus's emitters would broadcast
 * them.
 *
 * Objects come and go at once (InterfacesAdded, InterfacesRemoved, the
 * daemon's own signals). Property changes are marked and announced together
 * a moment later, one PropertiesChanged per object with the values of then:
 * a VMM mapping page by page must not make the bus daemon relay a signal per
 * page. A call on the bus that reads state (anything but the objects'
 * methods) first announces what is marked, so that whoever reads after a
 * change has the signal of it before the answer.
 */

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bus-signals.h"
#include "channel.h"
#include "log.h"
#include "object-dbus.h"
#include "subscribers.h"
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

/* ---- a session's signals, to those who may see it ----------------------- */

typedef int (*BuildSignal)(sd_bus_message *m, const void *userdata);

static void send_one(Daemon *d, const char *destination, const char *path, const char *interface,
                     const char *member, BuildSignal build, const void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_signal(d->bus, &m, path, interface, member);
        if (r >= 0)
                r = sd_bus_message_set_destination(m, destination);
        if (r >= 0)
                r = build(m, userdata);
        if (r >= 0)
                r = sd_bus_send(d->bus, m, NULL);
        if (r < 0)
                log_debug("Cannot send %s.%s to %s: %s", interface, member, destination, strerror(-r));
}

/* A signal about s goes to each subscriber who may see s, one message each
 * (subscribers.h): broadcast, it would tell anyone on the bus who asked
 * what a stranger's VM does. With no subscriber, nothing is built. */
static void send_to_followers(Session *s, const char *path, const char *interface, const char *member,
                              BuildSignal build, const void *userdata) {
        Daemon *d = s->daemon;

        if (!d->bus)
                return;
        for (Subscriber *sub = d->subscribers; sub; sub = sub->next)
                if (subscriber_sees(d, sub, s))
                        send_one(d, sub->name, path, interface, member, build, userdata);
}

static int build_path_and_string(sd_bus_message *m, const void *userdata) {
        const char *const *args = userdata;

        return sd_bus_message_append(m, "os", args[0], args[1]);
}

/* A property as {sv}, its value as Get gives it: from its getter, or read
 * at its offset in what the path names. */
static int append_property(sd_bus_message *m, const char *path, const char *interface, const sd_bus_vtable *v,
                           void *target) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *signature = v->x.property.signature;
        void *p = (uint8_t *) target + v->x.property.offset;
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 's', v->x.property.member);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', signature);
        if (r >= 0) {
                if (v->x.property.get)
                        r = v->x.property.get(sd_bus_message_get_bus(m), path, interface, v->x.property.member, m,
                                              p, &error);
                else if (IN_SET(signature[0], 's', 'o'))
                        r = sd_bus_message_append_basic(m, signature[0], *(const char **) p);
                else
                        r = sd_bus_message_append_basic(m, signature[0], p);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static bool property_announced(const sd_bus_vtable *v) {
        return (v->type == _SD_BUS_VTABLE_PROPERTY || v->type == _SD_BUS_VTABLE_WRITABLE_PROPERTY) &&
               !(v->flags & (SD_BUS_VTABLE_HIDDEN | SD_BUS_VTABLE_PROPERTY_EXPLICIT));
}

/* The interfaces every object on the bus has, which have no properties. */
static const char *const standard_interfaces[] = {
        "org.freedesktop.DBus.Peer",
        "org.freedesktop.DBus.Introspectable",
        "org.freedesktop.DBus.Properties",
};

typedef struct ObjectRef {
        Session *session;
        const char *path;
        ObjectType type;        /* _OBJECT_TYPE_MAX: the session */
        void *target;           /* the Session or Object; NULL once removed */
        bool removed;
} ObjectRef;

static int append_interface(sd_bus_message *m, const ObjectRef *o, const char *interface,
                            const sd_bus_vtable *vtable) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 's', interface);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (const sd_bus_vtable *v = vtable; r >= 0 && vtable && v->type != _SD_BUS_VTABLE_END; v++)
                if (property_announced(v))
                        r = append_property(m, o->path, interface, v, o->target);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* Room for the standard interfaces, the session tree's and Testing. */
#define OBJECT_INTERFACES_MAX 12

/* The interfaces o has, with their vtables (NULL: no properties). */
static size_t object_interfaces(const ObjectRef *o, const char *names[static OBJECT_INTERFACES_MAX],
                                const sd_bus_vtable *vtables[static OBJECT_INTERFACES_MAX]) {
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(standard_interfaces); i++) {
                names[n] = standard_interfaces[i];
                vtables[n++] = NULL;
        }
        for (size_t i = 0; i < n_session_interfaces; i++)
                if (session_interface_serves(&session_interfaces[i], o->type)) {
                        names[n] = session_interfaces[i].interface;
                        vtables[n++] = session_interfaces[i].vtable;
                }
#if ENABLE_TEST_HOOKS
        if (o->type == _OBJECT_TYPE_MAX && o->session->daemon->mock_devices) {
                names[n] = "org.viommu1.Testing";
                vtables[n++] = NULL;
        }
#endif
        assert(n <= OBJECT_INTERFACES_MAX);
        return n;
}

/* InterfacesAdded with every property, or InterfacesRemoved. */
static int build_interfaces(sd_bus_message *m, const void *userdata) {
        const ObjectRef *o = userdata;
        const char *names[OBJECT_INTERFACES_MAX];
        const sd_bus_vtable *vtables[OBJECT_INTERFACES_MAX];
        size_t n = object_interfaces(o, names, vtables);
        int r;

        r = sd_bus_message_append_basic(m, 'o', o->path);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', o->removed ? "s" : "{sa{sv}}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = o->removed ? sd_bus_message_append_basic(m, 's', names[i])
                               : append_interface(m, o, names[i], vtables[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static void send_interfaces_added(Session *s, const char *path, ObjectType type, void *target) {
        send_to_followers(s, VIOMMU_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
                          build_interfaces,
                          &(ObjectRef) { .session = s, .path = path, .type = type, .target = target });
}

static void send_interfaces_removed(Session *s, const char *path, ObjectType type) {
        send_to_followers(s, VIOMMU_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                          build_interfaces,
                          &(ObjectRef) { .session = s, .path = path, .type = type, .removed = true });
}

typedef struct Changed {
        ObjectRef object;
        const SessionInterface *interface;
        const char *const *names;       /* NULL-terminated */
} Changed;

static int build_properties_changed(sd_bus_message *m, const void *userdata) {
        const Changed *c = userdata;
        int r;

        r = sd_bus_message_append_basic(m, 's', c->interface->interface);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (const char *const *name = c->names; r >= 0 && *name; name++)
                for (const sd_bus_vtable *v = c->interface->vtable; v->type != _SD_BUS_VTABLE_END; v++)
                        if (property_announced(v) && streq(v->x.property.member, *name)) {
                                r = append_property(m, c->object.path, c->interface->interface, v,
                                                    c->object.target);
                                break;
                        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, NULL);
        return r;
}

static void send_properties_changed(Session *s, const char *path, void *target, const char *interface,
                                    const char *const *names) {
        Changed c = {
                .object = { .session = s, .path = path, .target = target },
                .interface = session_interface_find(interface),
                .names = names,
        };

        assert(c.interface);
        send_to_followers(s, path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                          build_properties_changed, &c);
}

/* ---- property changes, marked and announced together ------------------- */

static void flush_session(Session *s) {
        const char *names[4];
        size_t n = 0;

        if (s->dirty & SESSION_N_OBJECTS)
                names[n++] = "NObjects";
        if (s->dirty & SESSION_MAPPED_BYTES)
                names[n++] = "MappedBytes";
        if (s->dirty & SESSION_GUEST_MEMORY)
                names[n++] = "GuestMemory";
        names[n] = NULL;
        s->dirty = 0;
        send_properties_changed(s, s->path, s, "org.viommu1.Session", names);
}

static void flush_object(Object *o) {
        const char *names[3];
        size_t n = 0;

        if (o->dirty & IOAS_MAPPED)
                send_properties_changed(o->session, o->path, o, "org.viommu1.IOAS",
                                        (const char *[]) { "MappedBytes", "Mappings", NULL });
        if (o->dirty & DEVICE_ATTACHED)
                names[n++] = "Attached";
        if (o->dirty & DEVICE_PASIDS)
                names[n++] = "Pasids";
        names[n] = NULL;
        if (n > 0)
                send_properties_changed(o->session, o->path, o, "org.viommu1.ClaimedDevice", names);
        o->dirty = 0;
}

void signals_flush(Daemon *d) {
        while (d->dirty_objects) {
                Object *o = d->dirty_objects;

                d->dirty_objects = o->dirty_next;
                o->dirty_next = NULL;
                flush_object(o);
        }
        while (d->dirty_sessions) {
                Session *s = d->dirty_sessions;

                d->dirty_sessions = s->dirty_next;
                s->dirty_next = NULL;
                flush_session(s);
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

/* Nobody subscribed, nobody is told: a later subscriber hears of what
 * changes from then on. */
static void mark_session(Session *s, unsigned what) {
        Daemon *d = s->daemon;

        if (!d->bus || !d->subscribers)
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

        if (!d->bus || !d->subscribers)
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
        send_interfaces_added(o->session, o->path, o->type, o);
        mark_session(o->session, SESSION_N_OBJECTS);
}

void emit_object_removed(Session *s, const char *path, ObjectType type, uint64_t mapped_bytes_before) {
        send_interfaces_removed(s, path, type);
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
        send_interfaces_added(s, s->path, _OBJECT_TYPE_MAX, s);
}

void emit_session_closed(Session *s, const char *reason) {
        send_to_followers(s, VIOMMU_MANAGER_PATH, "org.viommu1.Manager", "SessionClosed", build_path_and_string,
                          (const char *[]) { s->path, reason });
        send_interfaces_removed(s, s->path, _OBJECT_TYPE_MAX);
}

void emit_device_gone(Session *s, const char *path, const char *name) {
        send_to_followers(s, s->path, "org.viommu1.Session", "DeviceGone", build_path_and_string,
                          (const char *[]) { path, name });
}

void emit_virtio_iommu_fault(Session *s, const struct virtio_iommu_fault *record) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        sd_bus *bus = channel_of_session(s->daemon, s) ?: s->daemon->bus;
        int r;

        /* A name not known to be the owner's on this bus (a session taken
         * over that its owner left) may be anyone's: it gets no records. */
        if (bus == s->daemon->bus && !s->owner_here)
                return;
        r = sd_bus_message_new_signal(bus, &sig, s->path, "org.viommu1.Session", "VirtioIommuFault");
        if (r >= 0 && bus == s->daemon->bus)
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
