/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/*
 * The systemd unit of process pid, a caller of uid as the bus vouched for
 * both (caller_creds()), for viommud.conf's "units" rules, or NULL in *ret
 * when it cannot be told safely (pid 0: the bus did not say).
 *
 * dbus-daemon vouches for the caller's pid, not its unit, so the unit is
 * read from /proc/PID/cgroup, with two guards against a process that races
 * the lookup: a pidfd taken first must still name a live process after the
 * read, so the cgroup read is that process's; and that process must run as
 * uid, the user the bus vouched for, so a recycled pid can only lend the
 * caller the unit of a process of its own user, which it controls already.
 */
int caller_unit(pid_t pid, uid_t uid, char **ret);
