/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Frame channels: a session's hottest calls as binary packets on a
 * SOCK_SEQPACKET socketpair (the protocol is dbus/viommu-frame.h), served
 * from the event loop through the same functions as the bus methods. For a
 * VMM whose invalidations cannot afford D-Bus marshalling. A frame channel
 * reaches only its own session.
 */

#include "daemon.h"
#include "session.h"

/* Opens a frame channel to s; *ret_fd is the VMM's end. */
int frame_channel_new(Session *s, int *ret_fd);
/* Closes the frame channels of a session that goes away. */
void frame_channels_drop_session(Daemon *d, Session *s);
void frame_channels_free(Daemon *d);
