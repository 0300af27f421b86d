/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calls to viommud and what viommuctl says when one fails. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "views.h"
#include "viommuctl.h"

int log_bus_error(const sd_bus_error *error, int r, const char *what) {
        const char *name;

        if (!sd_bus_error_is_set(error))
                return log_error_errno(r, "%s: %m", what);

        /* Without bus activation that is all there is to it. */
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return log_error_errno(r, "viommud is not running (nothing owns %s on the %s)",
                                       VIOMMU_BUS_NAME, arg_bus_description);

        /* No answer within --timeout (sd-bus's 25 s without it): which call. */
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_TIMEOUT, SD_BUS_ERROR_NO_REPLY))
                return log_error_errno(r, "%s: viommud did not answer in time", what);

        /* sd-bus's own failures (a lost connection) carry an errno dressed
         * as an error name, which would tell a person nothing. */
        if (startswith(error->name, "System.Error."))
                return log_error_errno(r, "%s on the %s: %m", what, arg_bus_description);

        /* "org.viommu1.Error.NoSuchObject" says enough as "NoSuchObject". */
        name = strrchr(error->name, '.');
        return log_error_errno(r, "%s: %s", name ? name + 1 : error->name,
                               !isempty(error->message) ? error->message : what);
}

int call_manager(sd_bus *bus, const char *member, sd_bus_message **reply, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char what[128];
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(bus, VIOMMU_BUS_NAME, VIOMMU_MANAGER_PATH, VIOMMU_MANAGER_IFACE, member,
                                &error, reply, types, ap);
        va_end(ap);
        if (r < 0) {
                snprintf(what, sizeof(what), "Calling %s.%s", VIOMMU_MANAGER_IFACE, member);
                return log_bus_error(&error, r, what);
        }
        return 0;
}

int fetch_describe(sd_bus *bus, struct json_object **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *text;
        int r;

        r = call_manager(bus, "Describe", &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0)
                return log_error_errno(r, "Cannot read viommud's Describe reply: %m");
        r = describe_parse(text, ret);
        if (r < 0)
                return log_error_errno(r, "viommud's Describe reply is not the JSON document viommuctl knows");
        return 0;
}

int parse_session(const char *arg, char **ret_path) {
        const char *rest;
        unsigned id;
        char buf[16];

        if (safe_atou(arg, &id) >= 0) {
                snprintf(buf, sizeof(buf), "%u", id);
                return sd_bus_path_encode(VIOMMU_SESSION_PREFIX, buf, ret_path);
        }

        /* Only a session's own path: not an object in it, nor anything else. */
        rest = startswith(arg, VIOMMU_SESSION_PREFIX "/");
        if (!rest || !sd_bus_object_path_is_valid(arg) || strchr(rest, '/'))
                return -EINVAL;
        *ret_path = strdup(arg);
        return *ret_path ? 0 : -ENOMEM;
}

int fetch_describe_session(const char *arg, struct json_object **ret_describe, struct json_object **ret_session) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_object_putp) struct json_object *describe = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (arg) {
                r = parse_session(arg, &path);
                if (r == -EINVAL)
                        return usage_error("'%s' is neither a session id nor a session's object path", arg);
                if (r < 0)
                        return log_error_errno(r, "%m");
        }
        r = acquire_bus(&bus);
        if (r < 0)
                return r;
        r = fetch_describe(bus, &describe);
        if (r < 0)
                return r;
        *ret_session = path ? describe_find_session(describe, path) : NULL;
        if (path && !*ret_session)
                return log_error_errno(-ENOENT, "NoSuchObject: No session %s", arg);
        *ret_describe = TAKE_PTR(describe);
        return 0;
}

int show_describe_view(int (*view)(struct json_object *describe, Table **ret), const char *what,
                       const char *none) {
        _cleanup_(json_object_putp) struct json_object *describe = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        struct json_object *session;
        int r;

        r = fetch_describe_session(NULL, &describe, &session);
        if (r < 0)
                return r;
        r = view(describe, &t);
        if (r < 0)
                return log_error_errno(r, "Cannot show the %s: %m", what);
        if (none && arg_json == JSON_OFF && table_n_rows(t) == 0) {
                if (!arg_no_legend)
                        puts(none);
                return 0;
        }
        return print_table(t, what);
}
