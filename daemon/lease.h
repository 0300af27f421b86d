/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Translation leases: an emulated device's model holds the guest memory
 * behind an IOVA range (the region's memfd and where the range is in it)
 * and reaches it directly, without a call per access. An Unmap that
 * overlaps a live lease is an invalidation with DMA in flight: it revokes
 * the lease (LeaseRevoked to the holder's connection) and completes only
 * once the holder has released it, or fails Busy after the session's
 * configured drain time (limits.lease-drain-msec), the mapping staying.
 *
 * The call that waits is put aside (bus_put_aside()) and dispatched anew
 * when the last lease it waits for goes: it then finds none and acts. A
 * frame channel's request waits the same way, its channel reading nothing
 * more meanwhile. The
 * event loop serves everyone else meanwhile. Leases are not journaled: a
 * holder's connection does not survive the daemon.
 */

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "frame-channel.h"
#include "session.h"

/* TakeLease's flags. */
#define LEASE_READ  1u
#define LEASE_WRITE 2u

typedef struct Lease Lease;
typedef struct LeaseDrain LeaseDrain;

/* A lease on [iova, iova+length) of ioas for the sender of m, which the
 * caller checked: the range is one piece of a region's memfd at offset. On
 * the system bus, caller_uid() has returned 0 for m: the holder's pid comes
 * from what the bus said then. */
int lease_take(Object *ioas, sd_bus_message *m, uint64_t iova, uint64_t length, uint32_t flags, uint64_t offset,
               uint32_t *ret_id);
/* -ENOENT if ioas has no lease id. */
int lease_release(Object *ioas, uint32_t id);

/* Before an invalidation of ranges (iova, length pairs) of ioas, which m
 * asks for: 0 when no lease overlaps them, the call goes ahead. Otherwise
 * revokes the leases and puts m aside (-EINPROGRESS, error set by
 * bus_put_aside()), or refuses with Busy (-EBUSY) when another call waits
 * for one of them already. */
int lease_drain(Object *ioas, sd_bus_message *m, const uint64_t (*ranges)[2], size_t n, sd_bus_error *error);
/* The same for the request a frame channel serves: put aside, it is served
 * again through frame_channel_resume(), or failed through
 * frame_channel_fail(). */
int lease_drain_frame(Object *ioas, FrameChannel *frame, const uint64_t (*ranges)[2], size_t n,
                      sd_bus_error *error);
/* Lets the drain of a call (m, or else the frame channel's request) go:
 * for a call dispatched again that waits for nothing now (another call
 * took its range off meanwhile), and for a frame channel that goes, whose
 * waiting request is dropped unanswered. */
void lease_drain_forget(Session *s, sd_bus_message *m, FrameChannel *frame);
/* The first live lease overlapping [iova, iova+length) of ioas (0,
 * UINT64_MAX: any); NULL if none. */
Lease *lease_overlapping(Object *ioas, uint64_t iova, uint64_t length);
/* Whether a call on ioas waits for leases, or to run again once they went. */
bool lease_draining_ioas(Object *ioas);
/* Whether a call waits for l's release. */
bool lease_draining(const Lease *l);
uint32_t lease_id(const Lease *l);

/* Releases what a connection holds that is gone: on bus, the unique name
 * (NULL for a direct channel, whose whole bus is the one connection).
 * Calls that it made and that wait are dropped unanswered. */
void leases_forget_holder(Daemon *d, sd_bus *bus, const char *name);
/* The session ends: waiting calls fail, holders are told, leases go. */
void leases_free_session(Session *s);
