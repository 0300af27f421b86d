/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* viommuctl bind and unbind: a device to vfio-pci and back, through viommud. */

#include <errno.h>
#include <stdlib.h>

#include "viommuctl.h"

/* Device.BindVfio's and UnbindVfio's flags (viommud's binding.h). */
#define BIND_FORCE              (UINT64_C(1) << 0)
#define BIND_RESTORE_ON_RELEASE (UINT64_C(1) << 1)
#define BIND_KEEP_ON_RELEASE    (UINT64_C(1) << 2)
#define UNBIND_NO_RESTORE       (UINT64_C(1) << 0)

bool arg_force = false;
int arg_restore = -1;

static int print_result(const char *device, const char *driver) {
        _cleanup_(json_object_putp) struct json_object *j = NULL;
        int r;

        if (arg_json == JSON_OFF)
                return 0;
        j = json_object_new_object();
        if (!j || json_object_object_add(j, "device", json_object_new_string(device)) < 0 ||
            json_object_object_add(j, "driver", driver ? json_object_new_string(driver) : NULL) < 0)
                return log_error_errno(-ENOMEM, "%m");
        r = json_print(j, arg_json, stdout);
        return r < 0 ? log_error_errno(r, "Cannot print the JSON: %m") : 0;
}

/* Calls member on the device named by argv[1]; its reply in *reply. */
static int call_device(const char *name, const char *member, uint64_t flags, const char *what,
                       sd_bus_message **reply) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *found = NULL;
        const char *path;
        int r;

        r = acquire_bus(&bus);
        if (r < 0)
                return r;
        r = call_manager(bus, "GetDevice", &found, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_read(found, "o", &path);
        if (r < 0)
                return log_error_errno(r, "Cannot read viommud's GetDevice reply: %m");
        r = sd_bus_call_method(bus, VIOMMU_BUS_NAME, path, "org.viommu1.Device", member, &error, reply, "t", flags);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT))
                        return log_error_errno(-ENODEV, "DeviceGone: Device %s went away", name);
                return log_bus_error(&error, r, what);
        }
        return 0;
}

int verb_bind(int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t flags = (arg_force ? BIND_FORCE : 0) |
                         (arg_restore > 0 ? BIND_RESTORE_ON_RELEASE : arg_restore == 0 ? BIND_KEEP_ON_RELEASE : 0);
        int r;

        r = call_device(argv[1], "BindVfio", flags, "Binding the device to vfio-pci", &reply);
        if (r < 0)
                return r;
        return print_result(argv[1], "vfio-pci");
}

int verb_unbind(int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *driver;
        int r;

        if (arg_force)
                return usage_error("--force is for bind: unbinding takes nothing from the host");
        r = call_device(argv[1], "UnbindVfio", arg_restore == 0 ? UNBIND_NO_RESTORE : 0,
                        "Giving the device back", &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &driver);
        if (r < 0)
                return log_error_errno(r, "Cannot read viommud's UnbindVfio reply: %m");
        return print_result(argv[1], isempty(driver) ? NULL : driver);
}
