/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging of the daemon: to stderr with the kernel-style level prefix that
 * the journal turns into a priority when the daemon runs as a service.
 */

#include <errno.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#define log_full(level, fmt, ...) fprintf(stderr, level fmt "\n", ##__VA_ARGS__)
#define log_debug(fmt, ...)   do { if (log_verbose) log_full(SD_DEBUG, fmt, ##__VA_ARGS__); } while (0)
#define log_info(fmt, ...)    log_full(SD_INFO, fmt, ##__VA_ARGS__)
#define log_notice(fmt, ...)  log_full(SD_NOTICE, fmt, ##__VA_ARGS__)
#define log_warning(fmt, ...) log_full(SD_WARNING, fmt, ##__VA_ARGS__)
#define log_error(fmt, ...)   log_full(SD_ERR, fmt, ##__VA_ARGS__)

/* Logs and returns r, which must be a negative errno (as %m prints errno). */
#define log_error_errno(r, fmt, ...) ({ errno = -(r); log_error(fmt, ##__VA_ARGS__); (r); })
#define log_warning_errno(r, fmt, ...) ({ errno = -(r); log_warning(fmt, ##__VA_ARGS__); (r); })

#define log_session(s, fmt, ...) log_info("session %u: " fmt, (s)->id, ##__VA_ARGS__)

extern int log_verbose;
