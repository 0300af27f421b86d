/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The object tree below /org/viommu1/session: sessions and the objects in
 * them, found from their paths by fallback vtables. org.viommu1.Object is
 * what every object in a session has; org.viommu1.ClaimedDevice is a device
 * as a session holds it.
 */

#include <stddef.h>
#include <errno.h>
#include <stdlib.h>

#include "bus-util.h"
#include "channel.h"
#include "device.h"
#include "object-dbus.h"
#include "session.h"
#include "util.h"

/* On a direct channel only the channel's own session exists; on the bus a
 * session and its objects exist for whom session_visible_to() says. To
 * anyone else a call on them fails as on a path that names nothing. */
static bool visible_session(Daemon *d, sd_bus *bus, Session *s) {
        Session *only = channel_session(d, bus);

        if (only)
                return only == s;
        return session_visible_to(s, sd_bus_get_current_message(bus));
}

/* One table look-up, whatever the number of sessions and objects. */
static int find(sd_bus *bus, const char *path, Daemon *d, ObjectType type, void **found) {
        Session *s;
        Object *o = NULL;

        if (type == _OBJECT_TYPE_MAX)
                s = session_find(d, path);
        else {
                o = object_find_any(d, path);
                s = o ? o->session : NULL;
        }
        if (!s || (o && type >= 0 && o->type != type) || !visible_session(d, bus, s))
                return 0;
        *found = o ? (void *) o : s;
        return 1;
}

int session_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error) {
        const SessionInterface *i = session_interface_find(interface);

        /* None of them: org.viommu1.Testing, a session's. */
        return find(bus, path, userdata, i ? i->type : _OBJECT_TYPE_MAX, found);
}

int session_node_enumerator(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                            sd_bus_error *error) {
        Daemon *d = userdata;
        char **l = NULL;
        size_t n = 0;

        for (Session *s = d->sessions; s; s = s->sessions_next) {
                if (!visible_session(d, bus, s))
                        continue;
                char **a = reallocarray(l, n + s->n_objects + 2, sizeof(char *));
                if (!a)
                        goto oom;
                l = a;
                if (!(l[n++] = strdup(s->path)))
                        goto oom;
                for (Object *o = s->objects; o; o = o->objects_next)
                        if (!(l[n++] = strdup(o->path)))
                                goto oom;
                l[n] = NULL;
        }
        *nodes = l;
        return 0;
oom:
        for (size_t i = 0; l && i < n; i++)
                free(l[i]);
        free(l);
        return -ENOMEM;
}

static int property_get_type(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Object *o = userdata;

        return sd_bus_message_append(reply, "s", object_type_to_string(o->type));
}

static int property_get_session(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Object *o = userdata;

        return sd_bus_message_append(reply, "o", o->session->path);
}

static int property_get_uses(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Object *o = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(o->uses); i++)
                if (o->uses[i])
                        r = sd_bus_message_append(reply, "o", o->uses[i]->path);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

const sd_bus_vtable object_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "u", NULL, offsetof(Object, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Type", "s", property_get_type, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Created", "t", NULL, offsetof(Object, created), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Session", "o", property_get_session, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Uses", "ao", property_get_uses, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Users", "u", NULL, offsetof(Object, n_users), 0),
        SD_BUS_VTABLE_END
};

static int property_get_device(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Object *o = userdata;

        if (streq(property, "Name"))
                return sd_bus_message_append(reply, "s", o->device.name);
        if (streq(property, "Mock"))
                return sd_bus_message_append(reply, "b", device_is_mock(o));
        if (streq(property, "Bound"))
                return sd_bus_message_append(reply, "b", o->device.bound);
        return sd_bus_message_append(reply, "o", o->device.attached ? o->device.attached->path : "/");
}

static int property_get_pasids(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Object *o = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(uo)");
        for (size_t i = 0; r >= 0 && i < o->device.n_pasids; i++)
                r = sd_bus_message_append(reply, "(uo)", o->device.pasids[i].pasid, o->device.pasids[i].hwpt->path);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

const sd_bus_vtable claimed_device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get_device, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mock", "b", property_get_device, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Bound", "b", property_get_device, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Attached", "o", property_get_device, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Pasids", "a(uo)", property_get_pasids, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END
};

const SessionInterface session_interfaces[] = {
        { "org.viommu1.Session",       session_vtable,        _OBJECT_TYPE_MAX },
        { "org.viommu1.Object",        object_vtable,         _OBJECT_TYPE_INVALID },
        { "org.viommu1.IOAS",          ioas_vtable,           OBJECT_IOAS },
        { "org.viommu1.HWPT",          hwpt_vtable,           OBJECT_HWPT },
        { "org.viommu1.VIOMMU",        viommu_vtable,         OBJECT_VIOMMU },
        { "org.viommu1.ClaimedDevice", claimed_device_vtable, OBJECT_DEVICE },
};
const size_t n_session_interfaces = ELEMENTSOF(session_interfaces);

const SessionInterface *session_interface_find(const char *interface) {
        for (size_t i = 0; i < n_session_interfaces; i++)
                if (streq(interface, session_interfaces[i].interface))
                        return &session_interfaces[i];
        return NULL;
}

bool session_interface_serves(const SessionInterface *i, ObjectType type) {
        if (i->type == _OBJECT_TYPE_MAX || type == _OBJECT_TYPE_MAX)
                return i->type == type;
        return i->type == _OBJECT_TYPE_INVALID || i->type == type;
}
