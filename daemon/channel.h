/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Direct channels: a private sd-bus connection over a socketpair between the
 * daemon and one session's VMM, with the same objects and methods as the
 * system bus but no bus daemon in between, for the hot paths (invalidation,
 * mapping). A channel reaches only its own session.
 */

#include <systemd/sd-bus.h>

#include "daemon.h"
#include "session.h"

/* Each channel holds an fd and an sd-bus connection in the daemon. */
#define CHANNELS_MAX 16

/* Opens a channel to s; *ret_fd is the VMM's end. -EMFILE if s has
 * CHANNELS_MAX open already. */
int channel_new(Session *s, int *ret_fd);
/* The session a bus connection is confined to; NULL for the system bus. */
Session *channel_session(Daemon *d, sd_bus *bus);
/* The bus of a direct channel of s; NULL if none is open. */
sd_bus *channel_of_session(Daemon *d, Session *s);
/* Closes the channels of a session that goes away. */
void channels_drop_session(Daemon *d, Session *s);
void channels_free(Daemon *d);
/* Registers the session objects' vtables on a bus (the system bus or a channel). */
int bus_register_session_objects(Daemon *d, sd_bus *bus);
