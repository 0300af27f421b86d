/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sessions, session and close. */

#include <errno.h>
#include <stdlib.h>

#include "views.h"
#include "viommuctl.h"

int verb_sessions(int argc, char *argv[]) {
        return show_describe_view(sessions_table, "sessions", "No sessions.");
}

int verb_session(int argc, char *argv[]) {
        _cleanup_(json_object_putp) struct json_object *describe = NULL;
        struct json_object *session;
        int r;

        r = fetch_describe_session(argv[1], &describe, &session);
        if (r != 0)
                return r;

        if (arg_json != JSON_OFF) {
                _cleanup_(json_object_putp) struct json_object *j = NULL;

                r = session_to_json(session, &j);
                if (r >= 0)
                        r = json_print(j, arg_json, stdout);
        } else {
                _cleanup_free_ char *text = NULL;

                r = session_format(session, table_flags(), &text);
                if (r >= 0)
                        fputs(text, stdout);
        }
        if (r < 0)
                return log_error_errno(r, "Cannot show the session: %m");
        return 0;
}

int verb_close(int argc, char *argv[]) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = parse_session(argv[1], &path);
        if (r == -EINVAL)
                return usage_error("'%s' is neither a session id nor a session's object path", argv[1]);
        if (r < 0)
                return log_error_errno(r, "%m");

        r = acquire_bus(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, VIOMMU_BUS_NAME, path, "org.viommu1.Session", "Close", &error, NULL, NULL);
        if (r < 0) {
                /* Sessions are found by a fallback vtable: a path that is no
                 * session is an unknown object to sd-bus, not a daemon error. */
                if (sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE,
                                           SD_BUS_ERROR_UNKNOWN_METHOD))
                        return log_error_errno(-ENOENT, "NoSuchObject: No session %s", argv[1]);
                return log_bus_error(&error, r, "Closing the session");
        }

        if (arg_json != JSON_OFF) {
                _cleanup_(json_object_putp) struct json_object *j = json_object_new_object();

                if (!j || json_object_object_add(j, "session", json_object_new_string(path)) < 0 ||
                    json_object_object_add(j, "closed", json_object_new_boolean(true)) < 0)
                        return log_error_errno(-ENOMEM, "%m");
                r = json_print(j, arg_json, stdout);
                if (r < 0)
                        return log_error_errno(r, "Cannot print the JSON: %m");
        }
        return 0;
}
