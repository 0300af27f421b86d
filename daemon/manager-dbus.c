/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.viommu1.Manager: the daemon's entry point at /org/viommu1. */

#include <stddef.h>
#include <errno.h>
#include <sys/utsname.h>

#include "auth.h"
#include "bus-errors.h"
#include "bus-signals.h"
#include "bus-util.h"
#include "caller-uid.h"
#include "describe.h"
#include "session.h"
#include "session-dbus.h"
#include "subscribers.h"
#include "log.h"
#include "util.h"
#include "viommu-topology.h"

BUS_METHOD(method_list_devices) {
        Daemon *d = userdata;
        const struct viommu_topology *t;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = daemon_topology(d, &t);
        if (r < 0)
                return bus_error_kernel(error, r, "Reading the IOMMU topology");

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssso)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < t->n_devices; i++) {
                const struct viommu_topology_device *dev = t->devices[i];
                _cleanup_free_ char *path = NULL;

                r = sd_bus_path_encode(VIOMMU_DEVICE_PREFIX, dev->name, &path);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "(sssso)", dev->name, dev->bus ?: "", dev->driver ?: "",
                                          dev->vfio_cdev ?: "", path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

BUS_METHOD(method_get_device) {
        Daemon *d = userdata;
        const struct viommu_topology *t;
        const struct viommu_topology_device *dev;
        _cleanup_free_ char *path = NULL;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        r = daemon_topology(d, &t);
        if (r < 0)
                return bus_error_kernel(error, r, "Reading the IOMMU topology");
        r = viommu_topology_find_pci_device(t, name, &dev);
        if (r < 0)
                r = viommu_topology_find_device(t, NULL, name, &dev);
        if (r < 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT, "No device %s on this host", name);
        r = sd_bus_path_encode(VIOMMU_DEVICE_PREFIX, dev->name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "o", path);
}

/* OpenSession's options, each at most once. */
static const char *const session_options[] = { "Persistent", "Delegated" };

BUS_METHOD(method_open_session) {
        Daemon *d = userdata;
        int options[ELEMENTSOF(session_options)] = { -1, -1 };
        Session *s;
        uid_t uid;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (size_t n = 0;; n++) {
                const char *key;
                size_t i;

                r = bus_array_more(m, n, ELEMENTSOF(session_options), "session options (Persistent, Delegated)",
                                   error);
                if (r <= 0) {
                        if (r < 0)
                                return r;
                        break;
                }
                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                for (i = 0; i < ELEMENTSOF(session_options); i++)
                        if (streq(key, session_options[i]))
                                break;
                if (i == ELEMENTSOF(session_options))
                        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                                 "Unknown session option '%s' (known: Persistent, Delegated)", key);
                if (options[i] >= 0)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                                 "Session option '%s' is given twice", key);
                r = sd_bus_message_read(m, "v", "b", &options[i]);
                if (r < 0)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                                 "Session option '%s' takes a boolean", key);
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        r = caller_uid(d, m, &uid, error);
        if (r < 0)
                return r;
        r = auth_check_sessions(d, uid, options[0] > 0, error);
        if (r < 0)
                return r;

        r = session_new(d, uid, sd_bus_message_get_sender(m) ?: "", options[0] > 0, options[1] > 0, &s);
        if (r < 0)
                return bus_error_kernel(error, r, "Opening /dev/iommu");

        log_session(s, "opened by %s (uid %u)%s%s", s->owner, (unsigned) uid,
                    s->persistent ? ", persistent" : "", s->delegated ? ", delegated" : "");
        emit_session_opened(s);
        return sd_bus_reply_method_return(m, "o", s->path);
}

BUS_METHOD(method_get_kernel_features) {
        Daemon *d = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sbss)");
        if (r < 0)
                return r;
        for (enum viommu_feature f = 0; f < _VIOMMU_FEATURE_MAX; f++) {
                r = sd_bus_message_append(reply, "(sbss)", viommu_feature_to_string(f),
                                          viommu_features_has(d->features, f),
                                          viommu_feature_interface(f), viommu_feature_since(f));
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

BUS_METHOD(method_describe) {
        Daemon *d = userdata;
        _cleanup_free_ char *json = NULL;
        uid_t uid;
        int r;

        /* Known before the sessions are looked at, which cannot wait. */
        r = caller_uid(d, m, &uid, error);
        if (r < 0)
                return r;
        r = describe_daemon(d, m, &json);
        if (r < 0)
                return bus_error_kernel(error, r, "Describing the daemon's state");
        return sd_bus_reply_method_return(m, "s", json);
}

/* Anyone may subscribe: what reaches a subscriber is what it may see of
 * the sessions, as Describe would show it. */
BUS_METHOD(method_subscribe) {
        Daemon *d = userdata;
        uid_t uid;
        int r;

        r = caller_uid(d, m, &uid, error);
        if (r < 0)
                return r;
        r = subscriber_add(d, sd_bus_message_get_sender(m), caller_creds(d, m));
        if (r < 0)
                return r;
        if (r > 0)
                log_debug("%s (uid %u) follows the sessions", sd_bus_message_get_sender(m), (unsigned) uid);
        return sd_bus_reply_method_return(m, NULL);
}

BUS_METHOD(method_unsubscribe) {
        Daemon *d = userdata;

        if (subscriber_remove(d, sd_bus_message_get_sender(m)))
                log_debug("%s no longer follows the sessions", sd_bus_message_get_sender(m));
        return sd_bus_reply_method_return(m, NULL);
}

static int property_get_kernel_release(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error) {
        struct utsname u;

        if (uname(&u) < 0)
                return -errno;
        return sd_bus_message_append(reply, "s", u.release);
}

static int property_get_mock_devices(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error) {
        Daemon *d = userdata;

        return sd_bus_message_append(reply, "b", d->mock_devices);
}

static int property_get_sessions(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *error) {
        Daemon *d = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (Session *s = d->sessions; s; s = s->sessions_next) {
                if (!session_visible_to(s, sd_bus_get_current_message(bus)))
                        continue;
                r = sd_bus_message_append(reply, "o", s->path);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", NULL, offsetof(Daemon, version), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("KernelRelease", "s", property_get_kernel_release, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("MockDevices", "b", property_get_mock_devices, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Sessions", "ao", property_get_sessions, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("ListDevices",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sssso)", devices),
                                method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetDevice",
                                SD_BUS_ARGS("s", name),
                                SD_BUS_RESULT("o", device),
                                method_get_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OpenSession",
                                SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("o", session),
                                method_open_session, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetKernelFeatures",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sbss)", features),
                                method_get_kernel_features, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Describe",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", json),
                                method_describe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Subscribe",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_subscribe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Unsubscribe",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_unsubscribe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("DeviceAdded", SD_BUS_ARGS("s", name, "o", device), 0),
        SD_BUS_SIGNAL_WITH_ARGS("DeviceRemoved", SD_BUS_ARGS("s", name, "o", device), 0),
        SD_BUS_SIGNAL_WITH_ARGS("SessionClosed", SD_BUS_ARGS("o", session, "s", reason), 0),
        SD_BUS_VTABLE_END
};
