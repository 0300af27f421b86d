/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Sessions across a daemon restart. On SIGTERM under a service manager, the
 * daemon writes each session's record (record.c) to its runtime directory
 * and leaves without tearing anything down: the fd store (fdstore.c) keeps
 * the iommufds and device cdevs open, so mappings, page tables and
 * attachments stay in the kernel and guest DMA goes on. The next run gets
 * the fds back ($LISTEN_FDS), reads the records and takes the sessions over.
 */

#include "daemon.h"

/* Writes every session's record and forgets the sessions, leaving the kernel
 * objects to the fd store. Returns how many sessions were handed over. */
int restart_hand_over(Daemon *d);

/* Takes over the sessions a previous run handed over; returns how many. A
 * session whose record or fds are missing or do not agree is ended, which
 * releases everything it held in the kernel. */
int restart_take_over(Daemon *d);
