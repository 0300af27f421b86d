/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging of the daemon: to stderr with the kernel-style level prefix that
 * the journal turns into a priority when the daemon runs as a service.
 * Messages about a session also go to the journal directly when stderr is
 * the journal's, with the fields SESSION= (its number) and OBJECT= (the bus
 * path of what the message is about), so that `journalctl -u viommud
 * SESSION=N` finds them.
 */

#include <errno.h>
#include <stdio.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>

#include "util.h"

#define log_full(level, fmt, ...) fprintf(stderr, level fmt "\n", ##__VA_ARGS__)
#define log_debug(fmt, ...)   do { if (log_verbose) log_full(SD_DEBUG, fmt, ##__VA_ARGS__); } while (0)
#define log_info(fmt, ...)    log_full(SD_INFO, fmt, ##__VA_ARGS__)
#define log_notice(fmt, ...)  log_full(SD_NOTICE, fmt, ##__VA_ARGS__)
#define log_warning(fmt, ...) log_full(SD_WARNING, fmt, ##__VA_ARGS__)
#define log_error(fmt, ...)   log_full(SD_ERR, fmt, ##__VA_ARGS__)

/* Logs and returns r, which must be a negative errno (as %m prints errno). */
#define log_error_errno(r, fmt, ...) ({ errno = -(r); log_error(fmt, ##__VA_ARGS__); (r); })
#define log_warning_errno(r, fmt, ...) ({ errno = -(r); log_warning(fmt, ##__VA_ARGS__); (r); })

/* "session N: ..." at priority (LOG_INFO...), with the fields above. */
void log_session_full(int priority, unsigned session, const char *object, const char *fmt, ...) _printf_(4, 5);

/* About session s as a whole, and about its object o. */
#define log_session(s, fmt, ...) \
        log_session_full(LOG_INFO, (s)->id, (s)->path, "session %u: " fmt, (s)->id, ##__VA_ARGS__)
#define log_object(o, fmt, ...) \
        log_session_full(LOG_INFO, (o)->session->id, (o)->path, "session %u: " fmt, (o)->session->id, ##__VA_ARGS__)

extern int log_verbose;
