/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* status and describe: views of Manager.Describe as a whole. */

#include <errno.h>

#include "views.h"
#include "viommuctl.h"

int verb_status(int argc, char *argv[]) {
        return show_describe_view(status_table, "status", NULL);
}

int verb_describe(int argc, char *argv[]) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) struct json_object *j = NULL;
        const char *text;
        int r;

        r = acquire_bus(&bus);
        if (r < 0)
                return r;
        r = call_manager(bus, "Describe", &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0)
                return log_error_errno(r, "Cannot read viommud's Describe reply: %m");
        /* Passed on whatever its layout: this is the raw document. */
        j = json_tokener_parse(text);
        if (!j)
                return log_error_errno(-EBADMSG, "viommud's Describe reply is not JSON");
        r = json_print(j, arg_json == JSON_SHORT ? JSON_SHORT : JSON_PRETTY, stdout);
        if (r < 0)
                return log_error_errno(r, "Cannot print the JSON: %m");
        return 0;
}
