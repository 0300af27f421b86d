/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * After the daemon died, the kernel and a session's journal may disagree by
 * what one operation did: the daemon finishes each before it starts the
 * next, and the journal names the one it was in (its open intent). Taking
 * the session over makes them agree again: a map or copy the caller never
 * heard of is undone, an unmap or destroy that may have gone half way is
 * finished, a device's attachments are made what the journal says, and
 * kernel objects the journal does not know (allocated just before the
 * daemon died) are destroyed.
 */

#include "journal.h"
#include "session.h"

/* With the session's devices back (their fds); pending may have op 0. */
int reconcile_session(Session *s, const JournalIntent *pending);
/* Destroys the kernel objects of the session that it does not know, with
 * ids up to room above the highest it knows; returns how many. */
int reconcile_sweep_orphans(Session *s, uint32_t room);
