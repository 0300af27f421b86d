/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <systemd/sd-login.h>

#include "caller-unit.h"
#include "util.h"

/* The effective uid in a /proc/PID/status text: "Uid:\treal\teffective\t...". */
static int status_euid(const char *status, uid_t *ret) {
        const char *line = strstr(status, "\nUid:");
        unsigned real, effective;

        if (!line || sscanf(line + 5, "%u %u", &real, &effective) != 2)
                return -EBADMSG;
        *ret = effective;
        return 0;
}

int caller_unit(pid_t pid, uid_t uid, char **ret) {
        _cleanup_free_ char *unit = NULL, *status = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        char path[64];
        uid_t process_uid;
        int r;

        *ret = NULL;
        if (pid <= 0)
                return 0;

        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0)
                return errno == ESRCH ? 0 : -errno;

        /* No unit (no cgroup, or outside any unit) or no process: no match. */
        r = sd_pid_get_unit(pid, &unit);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        r = read_full_file_at(AT_FDCWD, path, 64 * 1024, &status, NULL);
        if (r < 0)
                return IN_SET(r, -ENOENT, -ESRCH) ? 0 : r;
        r = status_euid(status, &process_uid);
        if (r < 0)
                return r;

        /* Still the process the pidfd named, so what was read is its own.
         * A pidfd polls readable once its process exited; asking needs no
         * right to signal it (CAP_KILL, which the unit does not grant). */
        r = poll(&(struct pollfd) { .fd = pidfd, .events = POLLIN }, 1, 0);
        if (r < 0)
                return -errno;
        if (r > 0)
                return 0;
        if (process_uid != uid)
                return 0;

        *ret = TAKE_PTR(unit);
        return 0;
}
