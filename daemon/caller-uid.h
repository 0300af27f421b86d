/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Who calls over the system bus: each caller's uid, pid and groups, asked of
 * the bus (and the groups also of the user database) once per connection
 * and without waiting for either, and kept by unique name until the
 * connection leaves the bus. Only what the bus vouches for counts: it reads
 * them from the kernel's view of the socket, not from /proc.
 */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "daemon.h"

/* m's sender if the system bus vouches for it, that is if m came over it;
 * NULL for a direct channel's message. */
const char *caller_sender(Daemon *d, sd_bus_message *m);

/*
 * The uid of m's sender, for a method handler, if m came over the system
 * bus (-ENXIO otherwise: no sender is vouched for). 0: *ret is set. -EINPROGRESS:
 * the bus or the user database was asked, and m is dispatched again once
 * they answered (error is
 * set to VIOMMU_ERROR_PUT_ASIDE, which BUS_METHOD turns into "reply to
 * come"). Other errors with error set.
 */
int caller_uid(Daemon *d, sd_bus_message *m, uid_t *ret, sd_bus_error *error);
/* The uid of the connection with unique name on the system bus, asked so:
 * for what cannot wait and has no call (a take-over after the bus came
 * back). */
int name_uid_now(Daemon *d, const char *name, uid_t *ret);

/* What the bus vouched for, with the uid, and the groups the user database
 * gives that uid: kept with it. */
typedef struct CallerCreds {
        uid_t uid;
        pid_t pid;              /* 0: the bus did not say */
        gid_t *gids;            /* the bus's (primary and supplementary), the user database's */
        size_t n_gids;
} CallerCreds;

/* The credentials of m's sender once caller_uid() returned 0 for it, else
 * NULL: for any call once caller_uids_start() put its filter in, which holds
 * each call back until its sender is known, so that property getters, find
 * callbacks and the node enumerator never wait. Valid until the next return
 * to the event loop. */
const CallerCreds *caller_creds(Daemon *d, sd_bus_message *m);

/* Holds each call back until its sender is known, and watches the bus for
 * callers that leave; once the bus is up. */
int caller_uids_start(Daemon *d);
void caller_uids_free(Daemon *d);
