/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "bus-errors.h"
#include "bus-util.h"
#include "util.h"

int bus_sender_uid(sd_bus_message *m, uid_t *ret) {
        sd_bus_creds *creds = NULL;
        int r;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        /* Refuse what sd-bus could only read from /proc. */
        if (sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID)
                r = -EPERM;
        else
                r = sd_bus_creds_get_euid(creds, ret);
        sd_bus_creds_unref(creds);
        return r;
}

int session_check_owner(Session *s, sd_bus_message *m, sd_bus_error *error) {
        uid_t uid;
        int r;

        r = bus_sender_uid(m, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot determine the caller's user: %m");
        if (uid != 0 && uid != s->uid)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_OWNER,
                                         "Session %u belongs to uid %u, not to uid %u",
                                         s->id, (unsigned) s->uid, (unsigned) uid);
        return 0;
}

int session_object_arg(Session *s, const char *path, ObjectType type, Object **ret, sd_bus_error *error) {
        Object *o;

        if (!sd_bus_object_path_is_valid(path))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Not an object path: %s", path);
        o = object_find(s, path);
        if (!o)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT,
                                         "No object %s in session %u", path, s->id);
        if (type >= 0 && o->type != type)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "%s is a %s, not a %s",
                                         path, object_type_to_string(o->type), object_type_to_string(type));
        *ret = o;
        return 0;
}

int session_read_object_arg(Session *s, sd_bus_message *m, ObjectType type, Object **ret, const char **ret_path,
                            sd_bus_error *error) {
        const char *path;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r < 0)
                return r;
        r = session_object_arg(s, path, type, ret, error);
        if (r < 0)
                return r;
        if (ret_path)
                *ret_path = path;
        return 0;
}
