/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "session.h"

/* The caller's effective uid, from the kernel's view of the connection
 * only: augmented (/proc-read) credentials can be forged by a racing
 * process. */
int bus_sender_uid(sd_bus_message *m, uid_t *ret);

/* Touching a session is for its owner (same uid) and root alone. */
int session_check_owner(Session *s, sd_bus_message *m, sd_bus_error *error);

/* Objects passed as arguments must belong to the session of the call. */
int session_object_arg(Session *s, const char *path, ObjectType type, Object **ret, sd_bus_error *error);
/* The same for the next argument of m, an object path; *ret_path (optional)
 * is the path as m holds it, which outlives the object. */
int session_read_object_arg(Session *s, sd_bus_message *m, ObjectType type, Object **ret, const char **ret_path,
                            sd_bus_error *error);
