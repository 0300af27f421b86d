/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* viommus: the vIOMMUs of the sessions and their vDEVICEs. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "views.h"
#include "viommuctl.h"

int verb_viommus(int argc, char *argv[]) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_object_putp) struct json_object *describe = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *path = NULL, *none = NULL;
        struct json_object *session = NULL;
        int r;

        if (argc > 1) {
                r = parse_session(argv[1], &path);
                if (r == -EINVAL)
                        return usage_error("'%s' is neither a session id nor a session's object path", argv[1]);
                if (r < 0)
                        return log_error_errno(r, "%m");
        }

        r = acquire_bus(&bus);
        if (r < 0)
                return r;
        r = fetch_describe(bus, &describe);
        if (r < 0)
                return r;
        if (path) {
                session = describe_find_session(describe, path);
                if (!session)
                        return log_error_errno(-ENOENT, "NoSuchObject: No session %s", argv[1]);
        }
        r = viommus_table(describe, session, &t);
        if (r < 0)
                return log_error_errno(r, "Cannot show the vIOMMUs: %m");
        if (arg_json == JSON_OFF && table_n_rows(t) == 0) {
                if (viommus_none(describe, &none) < 0)
                        return log_error_errno(-ENOMEM, "%m");
                if (!arg_no_legend)
                        puts(none);
                return 0;
        }
        return print_table(t, "vIOMMUs");
}
