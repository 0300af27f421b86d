/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor: the daemon's signals as they come, one line each: the host's
 * devices, and the sessions this caller may see, to which it subscribes. */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "viommuctl.h"

static int print_event(sd_bus_message *m) {
        _cleanup_(json_object_putp) struct json_object *j = NULL;
        const char *member = sd_bus_message_get_member(m), *a, *b, *session = NULL;
        const char *key_a, *key_b;
        int r;

        if (streq_ptr(member, "DeviceAdded") || streq_ptr(member, "DeviceRemoved")) {
                r = sd_bus_message_read(m, "so", &a, &b);
                key_a = "name";
                key_b = "device";
        } else if (streq_ptr(member, "SessionClosed")) {
                r = sd_bus_message_read(m, "os", &a, &b);
                key_a = "session";
                key_b = "reason";
        } else if (sd_bus_message_is_signal(m, "org.viommu1.Session", "DeviceGone")) {
                session = sd_bus_message_get_path(m);
                r = sd_bus_message_read(m, "os", &a, &b);
                key_a = "device";
                key_b = "name";
        } else
                return 0;       /* a signal a newer daemon added, or the objects' */
        if (r < 0)
                return log_error_errno(r, "Cannot read the %s signal: %m", member);

        if (arg_json == JSON_OFF) {
                _cleanup_free_ char *reason = strdup(b);

                if (!reason)
                        return log_error_errno(-ENOMEM, "%m");
                /* One event, one line; the reason goes last: it alone has blanks. */
                for (char *p = reason; *p; p++)
                        if ((unsigned char) *p < ' ')
                                *p = ' ';
                printf("%s %s%s%s %s\n", member, session ?: "", session ? " " : "", a, reason);
                return 0;
        }
        j = json_object_new_object();
        if (!j || json_object_object_add(j, "signal", json_object_new_string(member)) < 0 ||
            (session && json_object_object_add(j, "session", json_object_new_string(session)) < 0) ||
            json_object_object_add(j, key_a, json_object_new_string(a)) < 0 ||
            json_object_object_add(j, key_b, json_object_new_string(b)) < 0)
                return log_error_errno(-ENOMEM, "%m");
        /* JSON lines: one document per event. */
        return json_print(j, JSON_SHORT, stdout);
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        (void) print_event(m);
        /* Whoever reads the pipe sees each event when it happens. */
        fflush(stdout);
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        log_error_errno(-ECONNRESET, "Lost the connection to the %s", arg_bus_description);
        return sd_event_exit(userdata, -ECONNRESET);
}

static int on_subscribed(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        /* The host's devices are still followed: say what is missing, go on. */
        if (e)
                (void) log_bus_error(e, -sd_bus_error_get_errno(e), "Cannot follow the sessions");
        return 0;
}

/* A session's signals go to subscribers alone, and a subscription ends
 * with the daemon's run. Watching starts no daemon. */
static int subscribe_message(sd_bus *bus, sd_bus_message **ret) {
        int r;

        r = sd_bus_message_new_method_call(bus, ret, VIOMMU_BUS_NAME, VIOMMU_MANAGER_PATH, VIOMMU_MANAGER_IFACE,
                                           "Subscribe");
        if (r >= 0)
                r = sd_bus_message_set_auto_start(*ret, false);
        return r;
}

static int on_daemon_started(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        const char *name, *old_owner, *new_owner;
        int r;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || isempty(new_owner))
                return 0;
        r = subscribe_message(sd_bus_message_get_bus(m), &call);
        if (r >= 0)
                r = sd_bus_call_async(sd_bus_message_get_bus(m), NULL, call, on_subscribed, NULL, 0);
        if (r < 0)
                log_error_errno(r, "Cannot follow the sessions of the new daemon: %m");
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int verb_monitor(int argc, char *argv[]) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sigset_t mask;
        int r;

        r = acquire_bus(&bus);
        if (r < 0)
                return r;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0 && arg_timeout_usec > 0)
                r = sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC, arg_timeout_usec, 0, on_timeout, NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the event loop: %m");

        /* Matching on the well-known name: the bus delivers the signals of
         * whichever viommud owns it, across restarts of the daemon, and each
         * new run is subscribed to. The matches are in place when these
         * calls return; Subscribe is answered before any signal of a
         * session opened after it. */
        r = sd_bus_match_signal(bus, NULL, VIOMMU_BUS_NAME, NULL, NULL, NULL, on_signal, NULL);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL,
                                     "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                                     "arg0='" VIOMMU_BUS_NAME "'",
                                     on_daemon_started, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, NULL, "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, event);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the %s: %m", arg_bus_description);
        r = subscribe_message(bus, &call);
        if (r < 0)
                return log_error_errno(r, "Cannot follow the sessions: %m");
        r = sd_bus_call(bus, call, 0, &error, NULL);
        /* No daemon yet: the next to start is subscribed to. */
        if (r < 0 && !sd_bus_error_has_names(&error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return log_bus_error(&error, r, "Cannot follow the sessions");

        /* On stderr, so that stdout holds events only; scripts may wait for it. */
        fprintf(stderr, "Monitoring %s on the %s; Ctrl-C stops.\n", VIOMMU_BUS_NAME, arg_bus_description);

        r = sd_event_loop(event);
        sd_bus_detach_event(bus);
        return r < 0 ? r : 0;
}
