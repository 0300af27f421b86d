/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Who follows the sessions: a session's signals go to each connection that
 * called Manager.Subscribe() and may see the session (its uid, root, an
 * observer), never to the whole bus (bus-signals.c). A subscriber is kept
 * until it unsubscribes or leaves the bus.
 */

#include <stdbool.h>

#include "caller-uid.h"
#include "session.h"

struct Subscriber {
        char *name;             /* unique bus name */
        CallerCreds creds;      /* as the bus vouched for them when it subscribed */
        Subscriber *next;
};

/* 1 if name is a subscriber now, 0 if it was already. */
int subscriber_add(Daemon *d, const char *name, const CallerCreds *creds);
/* Whether name was a subscriber. */
bool subscriber_remove(Daemon *d, const char *name);
void subscribers_free(Daemon *d);

/* Whether sub may see s, by the rules of session_visible_to(). */
bool subscriber_sees(Daemon *d, const Subscriber *sub, const Session *s);
