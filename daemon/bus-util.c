/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-util.h"
#include "caller-uid.h"
#include "channel.h"
#include "device.h"
#include "log.h"
#include "util.h"

int bus_put_aside(sd_bus_error *error) {
        sd_bus_error_set_const(error, VIOMMU_ERROR_PUT_ASIDE, NULL);
        return -EINPROGRESS;
}

void bus_call_resume(sd_bus_message *m) {
        int r;

        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(m), m);
        if (r < 0) {
                log_error_errno(r, "Cannot resume %s's call: %m", sd_bus_message_get_sender(m) ?: "a caller");
                (void) sd_bus_reply_method_errorf(m, VIOMMU_ERROR_FAILED, "Cannot resume the call: %s",
                                                  strerror(-r));
        }
}

int bus_call_resume_watched(sd_bus_message *m, sd_event *e, sd_event_source **ret_uncollected,
                            sd_event_handler_t uncollected, void *userdata) {
        int r;

        /* Below the bus's own priority: runs after the re-run. */
        r = sd_event_add_defer(e, ret_uncollected, uncollected, userdata);
        if (r >= 0)
                r = sd_event_source_set_priority(*ret_uncollected, SD_EVENT_PRIORITY_IDLE);
        if (r < 0) {
                *ret_uncollected = sd_event_source_disable_unref(*ret_uncollected);
                return r;
        }
        bus_call_resume(m);
        return 0;
}

int bus_error_caller(sd_bus_error *error, int r) {
        sd_bus_error_setf(error, r == -ENOMEM ? VIOMMU_ERROR_FAILED : VIOMMU_ERROR_PERMISSION_DENIED,
                          "Cannot determine who the caller is: %s", strerror(-r));
        return r;
}

/* Is m from the connection that opened s? Then its uid is the session's
 * without asking: the name is no other connection's while the bus lives
 * (a session adopted from an earlier run may have known another bus). */
static bool session_owner_name(Session *s, sd_bus_message *m) {
        return s->owner_here && streq_ptr(sd_bus_message_get_sender(m), s->owner);
}

bool session_visible_to(Session *s, sd_bus_message *m) {
        const CallerCreds *creds;
        Session *only;

        if (!m)
                return true;
        only = channel_session(s->daemon, sd_bus_message_get_bus(m));
        if (only)
                return only == s;
        if (session_owner_name(s, m))
                return true;
        /* A call's sender is known by now: caller-uid.c's filter put the
         * call aside until it was. */
        creds = caller_creds(s->daemon, m);
        return creds && (creds->uid == 0 || creds->uid == s->uid || auth_observer(s->daemon, creds));
}

int session_check_owner(Session *s, sd_bus_message *m, sd_bus_error *error) {
        Session *only = channel_session(s->daemon, sd_bus_message_get_bus(m));
        uid_t uid;
        int r;

        if (only == s || (!only && session_owner_name(s, m)))
                return 0;
        if (!only) {
                r = caller_uid(s->daemon, m, &uid, error);
                if (r < 0)
                        return r;
                if (uid == 0 || uid == s->uid)
                        return 0;
        }
        return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_OWNER, "Only the owner of a session and root may use it");
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

int bus_array_more(sd_bus_message *m, size_t n, size_t max, const char *what, sd_bus_error *error) {
        int r;

        r = sd_bus_message_at_end(m, false);
        if (r < 0)
                return r;
        if (r > 0)
                return 0;
        if (n >= max)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "At most %zu %s", max, what);
        return 1;
}

int bus_reply_us(sd_bus_message *m, uint32_t u, const char *s) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 'u', &u);
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 's', s);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}
