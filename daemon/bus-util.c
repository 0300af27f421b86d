/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-util.h"
#include "channel.h"
#include "device.h"
#include "util.h"

int bus_sender_uid(sd_bus_message *m, uid_t *ret) {
        /* One call may ask many times (a GetManagedObjects visits every
         * object): the bus is asked once per message, known by its sender
         * (a unique name, never reused while the bus lives) and cookie. */
        static char cached_sender[256];
        static uint64_t cached_cookie;
        static uid_t cached_uid;
        const char *sender = sd_bus_message_get_sender(m);
        sd_bus_creds *creds = NULL;
        uint64_t cookie = 0;
        int r;

        (void) sd_bus_message_get_cookie(m, &cookie);
        if (sender && cookie == cached_cookie && streq(sender, cached_sender)) {
                *ret = cached_uid;
                return 0;
        }

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        /* Refuse what sd-bus could only read from /proc. */
        if (sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID)
                r = -EPERM;
        else
                r = sd_bus_creds_get_euid(creds, ret);
        sd_bus_creds_unref(creds);
        if (r < 0)
                return r;
        if (sender && strlen(sender) < sizeof(cached_sender)) {
                strcpy(cached_sender, sender);
                cached_cookie = cookie;
                cached_uid = *ret;
        }
        return 0;
}

int bus_error_caller(sd_bus_error *error, int r) {
        sd_bus_error_setf(error, r == -ENOMEM ? VIOMMU_ERROR_FAILED : VIOMMU_ERROR_PERMISSION_DENIED,
                          "Cannot determine who the caller is: %s", strerror(-r));
        return r;
}

bool session_visible_to(Session *s, sd_bus_message *m) {
        Session *only;
        uid_t uid;

        if (!m)
                return true;
        only = channel_session(s->daemon, sd_bus_message_get_bus(m));
        if (only)
                return only == s;
        return bus_sender_uid(m, &uid) >= 0 && (uid == 0 || uid == s->uid);
}

int session_check_owner(Session *s, sd_bus_message *m, sd_bus_error *error) {
        if (!session_visible_to(s, m))
                return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_OWNER,
                                         "Only the owner of a session and root may use it");
        return 0;
}

int session_check_caller(Session *s, sd_bus_message *m, ConfigLimit what, uint64_t more, sd_bus_error *error) {
        int r;

        r = session_check_owner(s, m, error);
        if (r < 0)
                return r;
        return auth_check_limit(s->daemon, s, what, more, error);
}

static void type_list(ObjectArg what, char *buf, size_t size) {
        size_t n = 0, i = 0;

        for (ObjectType t = 0; t < _OBJECT_TYPE_MAX; t++)
                if (what & (1 << t))
                        n++;
        buf[0] = 0;
        for (ObjectType t = 0; t < _OBJECT_TYPE_MAX; t++)
                if (what & (1 << t)) {
                        size_t len = strlen(buf);

                        snprintf(buf + len, size - len, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                                 object_type_to_string(t));
                        i++;
                }
}

int session_object_arg(Session *s, const char *path, ObjectArg what, Object **ret, sd_bus_error *error) {
        char types[128];
        Object *o;

        if (!sd_bus_object_path_is_valid(path))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Not an object path: %s", path);
        if ((what & ARG_OPTIONAL) && streq(path, "/")) {
                *ret = NULL;
                return 0;
        }
        o = object_find(s, path);
        if (!o)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT,
                                         "No object %s in session %u", path, s->id);
        if (!(what & (1 << o->type))) {
                type_list(what & _ARG_TYPES, types, sizeof(types));
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "%s is a %s, not a %s",
                                         path, object_type_to_string(o->type), types);
        }
        if ((what & ARG_BOUND) && o->type == OBJECT_DEVICE && !o->device.bound)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Device %s belongs to a delegated session: the VMM binds and attaches it",
                                         o->device.name);
        if ((what & ARG_MOCK) && o->type == OBJECT_DEVICE && !device_is_mock(o))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "%s is not a mock device", path);
        *ret = o;
        return 0;
}

int session_read_object_arg(Session *s, sd_bus_message *m, ObjectArg what, Object **ret, sd_bus_error *error) {
        const char *path;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r < 0)
                return r;
        return session_object_arg(s, path, what, ret, error);
}

int bus_enter_array_max(sd_bus_message *m, const char *contents, size_t max, const char *what,
                        sd_bus_error *error) {
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', contents);
        if (r < 0)
                return r;
        /* Skipping an element costs a fraction of reading it, and the count
         * stops at one past the limit. */
        while (n <= max) {
                r = sd_bus_message_at_end(m, false);
                if (r < 0)
                        return r;
                if (r > 0)
                        break;
                r = sd_bus_message_skip(m, contents);
                if (r < 0)
                        return r;
                n++;
        }
        if (n > max)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "At most %zu %s", max, what);
        return sd_bus_message_rewind(m, false);
}
