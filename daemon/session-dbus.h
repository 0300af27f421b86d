/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "session.h"

/* Ties the session to its owner's bus connection (unless persistent). */
int session_track_owner(Session *s, sd_bus *bus);
/* Closes a session and tells the bus why. */
void session_close(Session *s, const char *reason);
