/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "fdstore.h"
#include "notify.h"
#include "util.h"

/* One socket, connected once, carries every message. libsystemd's
 * sd_pid_notify_with_fds() opens, tunes and closes a socket for each: eleven
 * system calls where one sendmsg() does, and a session's setup and close
 * send four fd store messages; and it waits while the manager's queue is
 * full. The datagram protocol is the stable one sd_notify(3)
 * documents; the manager's socket adds the credentials it checks. */
static int notify_fd = -EBADF;

/* Its send buffer, as libsystemd sizes its sockets'. */
#define NOTIFY_SNDBUF (8 * 1024 * 1024)

static int notify_connect(void) {
        union {
                struct sockaddr sa;
                struct sockaddr_un un;
        } sa = { .un.sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        const char *e = getenv("NOTIFY_SOCKET");
        size_t n = strlen(e);

        /* A path or an abstract name ('@'); the rest ("vsock:...") is
         * left to libsystemd. */
        if (!IN_SET(e[0], '/', '@') || n < 2 || n >= sizeof(sa.un.sun_path))
                return -EAFNOSUPPORT;
        memcpy(sa.un.sun_path, e, n);
        if (e[0] == '@')
                sa.un.sun_path[0] = 0;

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* The messages the manager has not read yet all count against this
         * socket's send buffer, where each had a fresh socket's: room for
         * thousands. Best effort. */
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &(int) { NOTIFY_SNDBUF }, sizeof(int)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int) { NOTIFY_SNDBUF }, sizeof(int));
        if (connect(fd, &sa.sa, offsetof(struct sockaddr_un, sun_path) + n) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int notify_sendmsg(const char *msg, const int *fds, size_t n_fds, int flags) {
        union {
                struct cmsghdr header;
                uint8_t buf[CMSG_SPACE(sizeof(int) * FDSTORE_FDS_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = (char *) msg, .iov_len = strlen(msg) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n_fds > 0) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                control.header.cmsg_level = SOL_SOCKET;
                control.header.cmsg_type = SCM_RIGHTS;
                control.header.cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(&control.header), fds, sizeof(int) * n_fds);
        }
        return sendmsg(notify_fd, &mh, MSG_NOSIGNAL | flags) < 0 ? -errno : 0;
}

/* Messages the manager had no room for yet, sent in order as it reads: a
 * message overtakes none before it (RELOADING=1 goes before its READY=1,
 * the removal of an fd store entry before the addition of one of its
 * name). While any wait, nothing with fds goes: an fd store entry must be
 * there before the daemon relies on it. */
static char **pending;
static size_t n_pending;
static sd_event_source *pending_watch;

static void watch_for_room(void);

/* 1 when sent, 0 when no service manager listens, or negative errno:
 * -EAGAIN with MSG_DONTWAIT in flags when the manager has not read enough
 * of the messages before. */
static int notify(const char *msg, const int *fds, size_t n_fds, int flags) {
        int r;

        if (!getenv("NOTIFY_SOCKET"))
                return 0;
        for (unsigned attempt = 0; attempt < 2; attempt++) {
                if (notify_fd < 0) {
                        r = notify_connect();
                        if (r == -EAFNOSUPPORT)
                                return sd_pid_notify_with_fds(0, false, msg, fds, n_fds);
                        if (r < 0)
                                return r;
                        notify_fd = r;
                        /* What waited for room on the socket before waits
                         * on this one. */
                        if (n_pending > 0)
                                watch_for_room();
                }
                r = notify_sendmsg(msg, fds, n_fds, flags);
                /* A manager that bound its socket anew (after re-executing)
                 * refuses the old connection: connect again, once. */
                if (!IN_SET(r, -ECONNREFUSED, -ENOTCONN))
                        break;
                /* The wait for room was the old socket's: before its fd
                 * number goes to another. */
                pending_watch = sd_event_source_disable_unref(pending_watch);
                close(notify_fd);
                notify_fd = -EBADF;
        }
        return r < 0 ? r : 1;
}

static int on_room(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* Wakes send_pending() once the manager's queue has room: the connected
 * socket polls writable then. On the socket in use (a reconnection drops
 * the watch of the one before); in the daemon's loop, the thread's default
 * one. */
static void watch_for_room(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;

        if (pending_watch)
                return;
        if (notify_fd >= 0 && sd_event_default(&e) >= 0)
                (void) sd_event_add_io(e, &pending_watch, notify_fd, EPOLLOUT, on_room, NULL);
}

static int send_pending(int flags) {
        while (n_pending > 0) {
                /* A message that fails otherwise is dropped, as one sent at
                 * once would be. */
                if (notify(pending[0], NULL, 0, flags) == -EAGAIN) {
                        watch_for_room();
                        return -EAGAIN;
                }
                free(pending[0]);
                memmove(pending, pending + 1, --n_pending * sizeof(char *));
        }
        pending = mfree(pending);
        pending_watch = sd_event_source_disable_unref(pending_watch);
        return 0;
}

static int on_room(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) send_pending(MSG_DONTWAIT);
        return 0;
}

static int queue(const char *msg) {
        char **p;

        p = reallocarray(pending, n_pending + 1, sizeof(char *));
        if (!p)
                return -ENOMEM;
        pending = p;
        pending[n_pending] = strdup(msg);
        if (!pending[n_pending])
                return -ENOMEM;
        n_pending++;
        watch_for_room();
        return 0;
}

int notify_now(const char *msg, const int *fds, size_t n_fds) {
        int r;

        if (n_fds > FDSTORE_FDS_MAX)
                return -E2BIG;
        r = send_pending(MSG_DONTWAIT);
        if (r >= 0)
                r = notify(msg, fds, n_fds, MSG_DONTWAIT);
        return r == -EAGAIN ? -ENOBUFS : r;
}

void notify_in_order(const char *msg) {
        if (send_pending(MSG_DONTWAIT) >= 0 && notify(msg, NULL, 0, MSG_DONTWAIT) != -EAGAIN)
                return;
        if (queue(msg) < 0) {
                /* No memory to queue it: wait for the manager instead. */
                (void) send_pending(0);
                (void) notify(msg, NULL, 0, 0);
        }
}

void notify_in_orderf(const char *format, ...) {
        /* A page: the most a service manager reads of one message. */
        char msg[4096];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);
        notify_in_order(msg);
}

static sd_event_source *watchdog;
static uint64_t watchdog_interval;

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata) {
        /* Past those that wait, if there is room: a ping says only that
         * the loop runs, whatever the manager has still to read. */
        (void) notify("WATCHDOG=1", NULL, 0, MSG_DONTWAIT);
        return sd_event_source_set_time_relative(s, watchdog_interval);
}

int notify_watchdog_start(sd_event *e) {
        uint64_t usec;
        int r;

        r = sd_watchdog_enabled(false, &usec);
        if (r <= 0)
                return r;
        /* Twice per period, as sd-event's own watchdog, and first of all
         * the loop's sources when several are due. */
        watchdog_interval = usec / 2;
        r = sd_event_add_time_relative(e, &watchdog, CLOCK_MONOTONIC, watchdog_interval, usec / 4, on_watchdog,
                                       NULL);
        if (r < 0)
                return r;
        r = sd_event_source_set_priority(watchdog, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_event_source_set_enabled(watchdog, SD_EVENT_ON);
        if (r < 0) {
                watchdog = sd_event_source_disable_unref(watchdog);
                return r;
        }
        return 1;
}

void notify_watchdog_stop(void) {
        watchdog = sd_event_source_disable_unref(watchdog);
}

void notify_flush(void) {
        /* At exit, the messages still waiting are worth a wait, a bounded
         * one: what the manager has not taken then is dropped (a take-over
         * drops fd store entries left over). */
        for (unsigned i = 0; i < 50 && send_pending(MSG_DONTWAIT) == -EAGAIN; i++)
                (void) poll(&(struct pollfd) { .fd = notify_fd, .events = POLLOUT }, 1, 100);
        while (n_pending > 0)
                free(pending[--n_pending]);
        pending = mfree(pending);
        pending_watch = sd_event_source_disable_unref(pending_watch);
}
