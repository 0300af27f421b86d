/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Frame channels: a session's hottest calls as binary packets on a
 * SOCK_SEQPACKET socketpair (the protocol is lib/viommu-frame.h), served
 * from the event loop through the same functions as the bus methods. For a
 * VMM whose invalidations cannot afford D-Bus marshalling. A frame channel
 * reaches only its own session.
 */

#include <systemd/sd-bus.h>

#include "daemon.h"
#include "session.h"

/* Each holds buffers for the largest frame: a session gets a few. */
#define FRAME_CHANNELS_MAX 16

/* Opens a frame channel to s; *ret_fd is the VMM's end. -EMFILE if s has
 * FRAME_CHANNELS_MAX already. */
int frame_channel_new(Session *s, int *ret_fd);
/* The request that waited for leases (lease_drain_frame()) is served again,
 * from the event loop. */
void frame_channel_resume(FrameChannel *c);
/* or answered with error, and the channel reads on. */
void frame_channel_fail(FrameChannel *c, const sd_bus_error *error);
/* Closes the frame channels of a session that goes away. */
void frame_channels_drop_session(Daemon *d, Session *s);
void frame_channels_free(Daemon *d);
