/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devices and device: the host's devices as viommud sees them. */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "views.h"
#include "viommuctl.h"

int verb_devices(int argc, char *argv[]) {
        /* Describe rather than ListDevices: one snapshot holds both the
         * devices and the sessions that claimed them. */
        return show_describe_view(devices_table, "devices", "No devices.");
}

/* org.viommu1.Device gives numbers as signed 32-bit with -1 for "none";
 * PCI ids read best in hex. */
static int add_int_property(Table *t, const char *name, int32_t v) {
        char buf[16];
        int r;

        if (v == -1)
                return table_add_null(t);
        r = table_add_int(t, v);
        if (r < 0)
                return r;
        if (streq(name, "ClassCode"))
                snprintf(buf, sizeof(buf), "0x%06" PRIx32, (uint32_t) v);
        else if (strlen(name) > 2 && streq(name + strlen(name) - 2, "Id"))
                snprintf(buf, sizeof(buf), "0x%04" PRIx32, (uint32_t) v);
        else
                return 0;
        return table_set_text(t, buf);
}

static int add_property(Table *t, const char *name, sd_bus_message *m) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;

        switch (contents[0]) {
        case 's':
        case 'o':
        case 'g': {
                const char *s;

                r = sd_bus_message_read_basic(m, contents[0], &s);
                if (r >= 0)
                        r = table_add_string(t, s);
                break;
        }
        case 'b': {
                int b;

                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r >= 0)
                        r = table_add_bool(t, b);
                break;
        }
        case 'i': {
                int32_t i;

                r = sd_bus_message_read_basic(m, 'i', &i);
                if (r >= 0)
                        r = add_int_property(t, name, i);
                break;
        }
        case 'u': {
                uint32_t u;

                r = sd_bus_message_read_basic(m, 'u', &u);
                if (r >= 0)
                        r = table_add_uint(t, u);
                break;
        }
        case 't': {
                uint64_t u;

                r = sd_bus_message_read_basic(m, 't', &u);
                if (r >= 0)
                        r = table_add_uint(t, u);
                break;
        }
        default:
                /* A type a newer daemon may add: named, not shown. */
                r = sd_bus_message_skip(m, contents);
                if (r >= 0)
                        r = table_add_null(t);
                if (r >= 0)
                        r = table_set_text(t, "(not shown)");
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_properties(sd_bus_message *reply, Table **ret, Column **ret_columns) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ Column *columns = NULL;
        const char *name;
        size_t n = 0;
        int r;

        /* First the names, for the columns; then the values. */
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0) {
                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "s", &name);
                if (r >= 0)
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                n++;
        }
        if (r < 0)
                return r;
        if (n == 0)
                return -ENODATA;

        columns = calloc(n, sizeof(Column));
        if (!columns)
                return -ENOMEM;
        r = sd_bus_message_rewind(reply, true);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "s", &name);
                if (r >= 0)
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                /* The names live in the reply, which outlives the table. */
                columns[i] = (Column) { .header = name, .key = name };
        }
        if (r >= 0)
                r = table_new(TABLE_RECORD, columns, n, &t);
        if (r >= 0)
                r = sd_bus_message_rewind(reply, true);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "s", &name);
                if (r >= 0)
                        r = add_property(t, name, reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        *ret_columns = TAKE_PTR(columns);
        return 0;
}

int verb_device(int argc, char *argv[]) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *props = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ Column *columns = NULL;
        const char *path;
        int r;

        r = acquire_bus(&bus);
        if (r < 0)
                return r;
        r = call_manager(bus, "GetDevice", &reply, "s", argv[1]);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_error_errno(r, "Cannot read viommud's GetDevice reply: %m");

        r = sd_bus_call_method(bus, VIOMMU_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &props, "s", "org.viommu1.Device");
        if (r < 0) {
                /* Gone between the two calls: hot-unplugged. */
                if (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT))
                        return log_error_errno(-ENODEV, "DeviceGone: Device %s went away", argv[1]);
                return log_bus_error(&error, r, "Reading the device's properties");
        }
        r = read_properties(props, &t, &columns);
        if (r == -ENODATA)
                return log_error_errno(r, "viommud gave no properties for %s", path);
        if (r < 0)
                return log_error_errno(r, "Cannot read the device's properties: %m");

        return print_table(t, "device");
}
