/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The groups the user database gives a uid (as polkit's "unix-group:"
 * identities see them), looked up in a thread: NSS may wait on a directory
 * server, and the event loop serves everyone else meanwhile.
 */

#include <stddef.h>
#include <sys/types.h>

#include "daemon.h"

/* In the event loop, once the look-up ended: gids (the caller's to free) is
 * what the look-up started with, followed, unless r < 0, by the user's
 * groups. */
typedef void (*user_groups_done_t)(int r, gid_t *gids, size_t n_gids, void *userdata);

/* Looks up uid's groups, appending them to a copy of the n_gids in gids;
 * a look-up of uid already running answers this caller too. */
int user_groups_lookup(Daemon *d, uid_t uid, const gid_t *gids, size_t n_gids, user_groups_done_t done,
                       void *userdata, UserGroups **ret);
/* The answer is no longer wanted: done is not called, and the look-up is
 * freed when its thread ends. NULL-safe. */
UserGroups *user_groups_abandon(UserGroups *w);
/* At exit: waits a second at most for the threads still looking. */
void user_groups_free_all(Daemon *d);
