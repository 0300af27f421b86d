/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's messages to its service manager ($NOTIFY_SOCKET, the datagram
 * protocol of sd_notify(3)): its state (READY=1, RELOADING=1, STOPPING=1,
 * STATUS=), the watchdog's pings, and the fd store's entries (fdstore.h).
 * Nothing here waits for the manager in the event loop: a manager that
 * falls behind fills its socket's queue, and the messages that may not be
 * lost then wait their turn inside the daemon. Without a service manager
 * all of it is a no-op.
 */

#include <stddef.h>
#include <systemd/sd-event.h>

#include "util.h"

/* msg with fds, sent now: 1 when sent, 0 without a service manager, or
 * negative errno: -ENOBUFS while messages wait their turn or the manager
 * has no room, since fds are stored only once the manager has them. */
int notify_now(const char *msg, const int *fds, size_t n_fds);
/* msg without fds, sent after those waiting: now, or once the manager has
 * room, in the order sent. */
void notify_in_order(const char *msg);
void notify_in_orderf(const char *format, ...) _printf_(1, 2);

/* WATCHDOG=1 from a timer of e, as often as the manager asks for
 * ($WATCHDOG_USEC): a daemon stuck anywhere misses it. A ping the manager
 * has no room for is dropped; the next one goes. 1 when started, 0 when
 * the manager asks for none. */
int notify_watchdog_start(sd_event *e);
void notify_watchdog_stop(void);

/* At exit: sends the messages still waiting, waiting at most 5 s for the
 * manager to take them; what it has not taken then is dropped. */
void notify_flush(void);
