/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What every method handler does before it acts: who is calling, may they
 * touch this session, and which of the session's objects do the arguments
 * name.
 */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "auth.h"
#include "bus-errors.h"
#include "session.h"

/* Puts the method call aside until an answer asked for asynchronously is
 * in: sets error to VIOMMU_ERROR_PUT_ASIDE and returns -EINPROGRESS, which
 * the handler returns as it would an error (BUS_METHOD sends no reply). */
int bus_put_aside(sd_bus_error *error);
/* Dispatches a call put aside again, from the top: its handler runs anew and
 * finds the answer. Replies Failed if it cannot. */
void bus_call_resume(sd_bus_message *m);
/* As bus_call_resume(), for an answer the re-run is to collect: once the
 * read queue, and with it the re-run, was dispatched, *ret_uncollected
 * calls uncollected (an idle event source; the caller drops it when the
 * answer is collected). Negative errno when it cannot be watched, nothing
 * resumed: the caller answers the call. */
int bus_call_resume_watched(sd_bus_message *m, sd_event *e, sd_event_source **ret_uncollected,
                            sd_event_handler_t uncollected, void *userdata);

/* PermissionDenied (Failed when out of memory) for a caller the bus cannot
 * tell us about; returns r. */
int bus_error_caller(sd_bus_error *error, int r);

/* May the caller of m see s? Its owner (same uid), root, the observers of
 * viommud.conf, and a direct channel's peer for the channel's own session
 * may; with m NULL (no call: the daemon's own signals) everyone may. To
 * anyone else s does not exist. Never waits for the bus: a call's sender is
 * known before the call is dispatched (caller-uid.h). */
bool session_visible_to(Session *s, sd_bus_message *m);

/* Touching a session is for its owner (same uid) and root alone: NotOwner
 * for an observer, who sees the session; a stranger's call found no object
 * to reach this. Checked before anything else about the call. A caller not
 * known yet is asked about while the call is put aside (bus_put_aside). */
int session_check_owner(Session *s, sd_bus_message *m, sd_bus_error *error);

/*
 * Defines a method handler of a session (userdata a Session, the handler's
 * s) or of one of its objects (userdata an Object, named by the second
 * argument), which session_check_owner() guards before the handler runs: an
 * observer's call fails NotOwner before anything of it is read.
 *
 *     SESSION_METHOD(method_close) { ... }
 *     OBJECT_METHOD(method_map, ioas) { ... ioas->session ... }
 */
#define SESSION_METHOD(name)                                                                    \
        static int name##_owned(sd_bus_message *m, Session *s, sd_bus_error *error);            \
        BUS_METHOD(name) {                                                                      \
                int r = session_check_owner(userdata, m, error);                                \
                return r < 0 ? r : name##_owned(m, userdata, error);                            \
        }                                                                                       \
        static int name##_owned(sd_bus_message *m, Session *s, sd_bus_error *error)
#define OBJECT_METHOD(name, object)                                                             \
        static int name##_owned(sd_bus_message *m, Object *object, sd_bus_error *error);        \
        BUS_METHOD(name) {                                                                      \
                int r = session_check_owner(((Object *) userdata)->session, m, error);          \
                return r < 0 ? r : name##_owned(m, userdata, error);                            \
        }                                                                                       \
        static int name##_owned(sd_bus_message *m, Object *object, sd_bus_error *error)

/* Which objects an argument may name: a mask of object types and flags. */
typedef enum ObjectArg {
        ARG_DEVICE       = 1 << OBJECT_DEVICE,
        ARG_IOAS         = 1 << OBJECT_IOAS,
        ARG_HWPT         = 1 << OBJECT_HWPT,
        ARG_FAULT_QUEUE  = 1 << OBJECT_FAULT_QUEUE,
        ARG_VIOMMU       = 1 << OBJECT_VIOMMU,
        ARG_VDEVICE      = 1 << OBJECT_VDEVICE,
        ARG_VEVENTQ      = 1 << OBJECT_VEVENTQ,
        ARG_ANY          = (1 << _OBJECT_TYPE_MAX) - 1,
        _ARG_TYPES       = ARG_ANY,
        /* Devices: one the daemon bound to the iommufd (not a delegated
         * session's, which its VMM drives). */
        ARG_BOUND        = 1 << 16,
        /* Devices: a mock device. */
        ARG_MOCK         = 1 << 17,
        /* "/" stands for none: *ret is NULL. */
        ARG_OPTIONAL     = 1 << 18,
} ObjectArg;

/* The object of s that path names, checked against what: InvalidArgument
 * or NoSuchObject otherwise. */
int session_object_arg(Session *s, const char *path, ObjectArg what, Object **ret, sd_bus_error *error);
/* The same for the next argument of m, an object path. */
int session_read_object_arg(Session *s, sd_bus_message *m, ObjectArg what, Object **ret, sd_bus_error *error);

/* In an array argument of m, of which n elements were read: 1 if another
 * follows, 0 at the end, InvalidArgument naming what if one follows the
 * max-th. The caller reads no more than max, and acts on none before the
 * end. Counting them first would cost as much as reading them. */
int bus_array_more(sd_bus_message *m, size_t n, size_t max, const char *what, sd_bus_error *error);
/* Replies (u, s) to m: what a batch reports (how far it got, and why it
 * stopped), built without a format string to parse at every call. */
int bus_reply_us(sd_bus_message *m, uint32_t u, const char *s);
