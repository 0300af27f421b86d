/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* features: Manager.GetKernelFeatures. */

#include <errno.h>
#include <stdio.h>

#include "viommuctl.h"

static const Column column_list[] = {
        { "FEATURE",   "name",      0 },
        { "SUPPORTED", "supported", 0 },
        { "INTERFACE", "interface", 0 },
        { "SINCE",     "since",     0 },
};
const Columns features_columns = { column_list, ELEMENTSOF(column_list) };

int verb_features(int argc, char *argv[]) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        r = acquire_bus(&bus);
        if (r < 0)
                return r;
        r = call_manager(bus, "GetKernelFeatures", &reply, NULL);
        if (r < 0)
                return r;
        r = table_new(TABLE_ROWS, column_list, ELEMENTSOF(column_list), &t);
        if (r < 0)
                return log_error_errno(r, "Cannot list the features: %m");

        r = sd_bus_message_enter_container(reply, 'a', "(sbss)");
        while (r >= 0) {
                const char *name, *interface, *since;
                char buf[64];
                int supported;

                r = sd_bus_message_read(reply, "(sbss)", &name, &supported, &interface, &since);
                if (r <= 0)
                        break;
                snprintf(buf, sizeof(buf), "Linux %s", since);
                r = table_add_string(t, name);
                if (r >= 0)
                        r = table_add_bool(t, supported);
                if (r >= 0)
                        r = table_set_color(t, supported ? "green" : "red");
                if (r >= 0)
                        r = table_add_string(t, interface);
                if (r >= 0)
                        r = table_add_string(t, since);
                if (r >= 0 && !isempty(since))
                        r = table_set_text(t, buf);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return log_error_errno(r, "Cannot read viommud's feature list: %m");

        return print_table(t, "features");
}
