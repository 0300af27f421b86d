/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "session.h"

/* Ends every session, but a persistent one, with its owner's connection. */
int sessions_watch_owners(Daemon *d);
/* 0 if the session's owner is on the bus, or the session is persistent: for
 * sessions taken over from an earlier run, once the watch is on. */
int session_owner_present(Session *s);
/* Closes a session and tells the bus why. */
void session_close(Session *s, const char *reason);
