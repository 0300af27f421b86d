/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* viommus: the vIOMMUs of the sessions and their vDEVICEs. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "views.h"
#include "viommuctl.h"

int verb_viommus(int argc, char *argv[]) {
        _cleanup_(json_object_putp) struct json_object *describe = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *none = NULL;
        struct json_object *session;
        int r;

        r = fetch_describe_session(argc > 1 ? argv[1] : NULL, &describe, &session);
        if (r != 0)
                return r;
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
