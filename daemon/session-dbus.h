/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "session.h"

/* Ends every session, but a persistent one, with its owner's connection. */
int sessions_watch_owners(Daemon *d);
/*
 * For a session taken over from an earlier run, once the watch is on: is the
 * name that opened it still on the bus, held by the session's user? Then that
 * is its owner again (owner_here). Otherwise -ESRCH for a session that ends
 * with its owner; a persistent one goes on without.
 */
int session_owner_reclaim(Session *s);
/* Closes a session and tells the bus why. */
void session_close(Session *s, const char *reason);
