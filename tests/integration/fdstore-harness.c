/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fdstore-harness: the part of systemd that keeps a service's fds across a
 * restart, for the test VM, whose PID 1 is not systemd:
 *
 *   fdstore-harness [--ready-file=PATH] [--hold-file=PATH] -- COMMAND [ARGS...]
 *
 * It runs COMMAND with $NOTIFY_SOCKET pointing at its own notify socket and
 * acts on what the service's main process (NotifyAccess=main) sends there:
 * READY=1, FDSTORE=1 and FDSTOREREMOVE=1 with FDNAME=, STATUS=,
 * STOPPING=1 and WATCHDOG=1 (logged; $WATCHDOG_USEC is the caller's).
 * On SIGUSR1 it restarts the service as "systemctl restart" does for a unit
 * with FileDescriptorStoreMax=: SIGTERM, wait, start COMMAND again with the
 * stored fds at 3, 4, ... and $LISTEN_FDS, $LISTEN_FDNAMES and $LISTEN_PID
 * set. On SIGUSR2 it kills the service with SIGKILL and starts it again so, as
 * systemd does for a crash of a unit with Restart=on-failure. The
 * store keeps its fds until the service removes them, so every restart
 * passes them again. A service killed by a signal (a crash) is started
 * again the same way, as for Restart=on-failure. On SIGTERM or SIGINT it
 * stops the service and exits with its status, as it does when the service
 * exits by itself: the exit code, or 128 + the signal that killed it; 125
 * when the harness itself failed.
 *
 * Every line it prints starts with "fdstore-harness: " and goes to stdout
 * as it happens; the service shares stdin, stdout and stderr. With
 * --ready-file, READY=1 also writes the service's pid to PATH (whole, by a
 * rename), and the file is removed when that service exits. With
 * --hold-file, it reads nothing from the notify socket while that file
 * exists, as a service manager too busy to read: the socket's queue
 * (net.unix.max_dgram_qlen when the harness started) fills up.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "util.h"

#define EXIT_HARNESS 125
#define EXIT_EXEC_FAILED 127
/* As systemd: a notify message fits in a page; names as in $LISTEN_FDNAMES. */
#define NOTIFY_BUFFER_MAX 4096
#define FDNAME_MAX 255
/* The kernel's limit on fds in one SCM_RIGHTS message. */
#define SCM_MAX_FD 253
/* systemd's default TimeoutStopSec=, after which SIGKILL. */
#define STOP_TIMEOUT_USEC (90 * 1000000ULL)

/* Kernel 6.10: whether two fds share one open file description. */
#ifndef F_DUPFD_QUERY
#define F_DUPFD_QUERY 1027
#endif

typedef struct StoredFd {
        int fd;
        char *name;
} StoredFd;

typedef struct Harness {
        sd_event *event;
        int notify_fd;
        char notify_socket[sizeof(((struct sockaddr_un *) NULL)->sun_path) + 1];
        char **argv;
        const char *ready_file;
        const char *hold_file;
        sd_event_source *notify_source;
        sd_event_source *hold_timer;
        pid_t pid;
        sd_event_source *child_source;
        sd_event_source *stop_timer;
        StoredFd *store;
        size_t n_store;
        bool restarting;
        bool stopping;
} Harness;

static _printf_(1, 2) void say(const char *format, ...) {
        va_list ap;

        fputs("fdstore-harness: ", stdout);
        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
}

static void close_many(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                close(fds[i]);
}

static bool fdname_is_valid(const char *s) {
        size_t l = strlen(s);

        if (l == 0 || l > FDNAME_MAX)
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < ' ' || *p >= 127 || *p == ':')
                        return false;
        return true;
}

/* systemd stores an open file once, however often it is sent; so do we. */
static bool same_file(int a, int b) {
        pid_t pid = getpid();
        int r;

        r = fcntl(a, F_DUPFD_QUERY, b);
        if (r >= 0)
                return r > 0;
        return syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b) == 0;
}

/* "a:b:c", as in $LISTEN_FDNAMES. */
static char *store_names(const Harness *h) {
        size_t l = 1;
        char *s, *p;

        for (size_t i = 0; i < h->n_store; i++)
                l += strlen(h->store[i].name) + 1;
        s = p = malloc(l);
        if (!s)
                return NULL;
        *p = 0;
        for (size_t i = 0; i < h->n_store; i++)
                p += sprintf(p, "%s%s", i > 0 ? ":" : "", h->store[i].name);
        return s;
}

static void store_add(Harness *h, const char *name, int *fds, size_t n_fds) {
        size_t added = 0;
        StoredFd *store;

        store = realloc(h->store, (h->n_store + n_fds) * sizeof(StoredFd));
        if (!store) {
                say("out of memory, dropping %zu fds named %s", n_fds, name);
                close_many(fds, n_fds);
                return;
        }
        h->store = store;

        for (size_t i = 0; i < n_fds; i++) {
                bool known = false;
                char *copy;

                for (size_t j = 0; j < h->n_store && !known; j++)
                        known = same_file(h->store[j].fd, fds[i]);
                if (known) {
                        say("fd %zu of %zu named %s is stored already, not storing it twice", i + 1, n_fds, name);
                        close(fds[i]);
                        continue;
                }
                copy = strdup(name);
                if (!copy) {
                        say("out of memory, dropping an fd named %s", name);
                        close(fds[i]);
                        continue;
                }
                h->store[h->n_store++] = (StoredFd) { .fd = fds[i], .name = copy };
                added++;
        }
        if (added > 0)
                say("stored %zu fds as %s (%zu in store)", added, name, h->n_store);
}

static void store_remove(Harness *h, const char *name) {
        size_t kept = 0, removed;

        for (size_t i = 0; i < h->n_store; i++) {
                if (streq(h->store[i].name, name)) {
                        close(h->store[i].fd);
                        free(h->store[i].name);
                } else
                        h->store[kept++] = h->store[i];
        }
        removed = h->n_store - kept;
        h->n_store = kept;
        say("removed %zu fds named %s (%zu in store)", removed, name, h->n_store);
}

static int write_ready_file(const Harness *h) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (asprintf(&tmp, "%s.XXXXXX", h->ready_file) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Write, then rename: a reader sees no file or a whole one. */
        if (fchmod(fd, 0644) < 0 || dprintf(fd, "%d\n", (int) h->pid) < 0 || rename(tmp, h->ready_file) < 0) {
                int r = -errno;

                (void) unlink(tmp);
                return r;
        }
        return 0;
}

static void handle_message(Harness *h, char *text, int *fds, size_t n_fds) {
        bool ready = false, stopping = false, watchdog = false, fdstore = false, fdstoreremove = false;
        const char *fdname = NULL, *status = NULL, *v;
        char *line;

        while ((line = strsep(&text, "\n"))) {
                if (streq(line, "READY=1"))
                        ready = true;
                else if (streq(line, "STOPPING=1"))
                        stopping = true;
                else if (streq(line, "WATCHDOG=1"))
                        watchdog = true;
                else if (streq(line, "FDSTORE=1"))
                        fdstore = true;
                else if (streq(line, "FDSTOREREMOVE=1"))
                        fdstoreremove = true;
                else if ((v = startswith(line, "FDNAME=")))
                        fdname = v;
                else if ((v = startswith(line, "STATUS=")))
                        status = v;
        }

        if (status)
                say("status: %s", status);
        if (stopping)
                say("stopping");
        if (watchdog)
                say("watchdog");

        if (fdstoreremove) {
                if (!fdname)
                        say("FDSTOREREMOVE=1 without FDNAME=, ignored");
                else if (!fdname_is_valid(fdname))
                        say("FDSTOREREMOVE=1 with an invalid name \"%s\", ignored", fdname);
                else
                        store_remove(h, fdname);
        }

        if (fdstore && n_fds == 0)
                say("FDSTORE=1 without fds, ignored");
        else if (fdstore) {
                if (!fdname)
                        fdname = "stored";
                if (fdname_is_valid(fdname))
                        store_add(h, fdname, fds, n_fds);
                else {
                        say("refusing %zu fds with an invalid name \"%s\"", n_fds, fdname);
                        close_many(fds, n_fds);
                }
        } else if (n_fds > 0) {
                say("closing %zu fds sent without FDSTORE=1", n_fds);
                close_many(fds, n_fds);
        }

        /* Last, so that the store holds what this message sent once a reader
         * sees the service ready. */
        if (ready) {
                if (h->ready_file) {
                        int r = write_ready_file(h);

                        if (r < 0)
                                say("cannot write %s: %s", h->ready_file, strerror(-r));
                }
                say("ready");
        }
}

/* One message from the notify socket: > 0 when one was read, 0 when none
 * was waiting. */
static int receive_one(Harness *h) {
        char buf[NOTIFY_BUFFER_MAX + 1];
        union {
                struct cmsghdr header;
                uint8_t buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * SCM_MAX_FD)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        const struct ucred *ucred = NULL;
        int fds[SCM_MAX_FD];
        size_t n_fds = 0;
        ssize_t n;

        n = recvmsg(h->notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
        if (n < 0) {
                if (IN_SET(errno, EAGAIN, EINTR))
                        return 0;
                say("cannot read the notify socket: %m");
                return -errno;
        }

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET)
                        continue;
                if (c->cmsg_type == SCM_RIGHTS) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                        k = MIN(k, ELEMENTSOF(fds) - n_fds);
                        memcpy(fds + n_fds, CMSG_DATA(c), k * sizeof(int));
                        n_fds += k;
                } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                        ucred = (const struct ucred *) CMSG_DATA(c);
        }

        if (mh.msg_flags & MSG_CTRUNC)
                say("a message's fds or credentials were cut short, ignored");
        else if ((size_t) n >= sizeof(buf))
                say("a message of %zd bytes, more than %d, ignored", n, NOTIFY_BUFFER_MAX);
        else if (!ucred)
                say("a message without credentials, ignored");
        else if (h->pid <= 0 || ucred->pid != h->pid)
                say("a message from pid %d, not the service's, ignored", (int) ucred->pid);
        else if (memchr(buf, 0, n))
                say("a message with a NUL byte, ignored");
        else {
                buf[n] = 0;
                handle_message(h, buf, fds, n_fds);
                return 1;
        }
        close_many(fds, n_fds);
        return 1;
}

static int on_hold_check(sd_event_source *s, uint64_t usec, void *userdata) {
        Harness *h = userdata;

        int r;

        if (access(h->hold_file, F_OK) >= 0) {
                r = sd_event_source_set_time_relative(s, 50 * 1000);
                return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        say("reading the notify socket again");
        return sd_event_source_set_enabled(h->notify_source, SD_EVENT_ON);
}

static int on_notify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Harness *h = userdata;
        int r;

        if (h->hold_file && access(h->hold_file, F_OK) >= 0) {
                say("holding the notify socket's messages while %s exists", h->hold_file);
                r = sd_event_source_set_enabled(s, SD_EVENT_OFF);
                if (r >= 0 && !h->hold_timer)
                        r = sd_event_add_time_relative(h->event, &h->hold_timer, CLOCK_MONOTONIC, 50 * 1000, 0,
                                                       on_hold_check, h);
                else if (r >= 0)
                        r = sd_event_source_set_time_relative(h->hold_timer, 50 * 1000);
                if (r >= 0)
                        r = sd_event_source_set_enabled(h->hold_timer, SD_EVENT_ONESHOT);
                return r;
        }
        while (receive_one(h) > 0)
                ;
        return 0;
}

/* In the child: becomes COMMAND, with the store at fds 3, 4, ... */
static _Noreturn void exec_service(Harness *h, pid_t parent, const char *names) {
        char n[32], pid[32];
        sigset_t none;

        /* The service must not outlive a harness killed by a test's timeout. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(EXIT_HARNESS);
        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0 ||
            setenv("NOTIFY_SOCKET", h->notify_socket, 1) < 0)
                _exit(EXIT_HARNESS);

        if (h->n_store > 0) {
                size_t end = 3 + h->n_store;

                /* First everything above the range 3..end-1, so that no dup2()
                 * below replaces an fd still to be moved; dup2() leaves the
                 * copies at 3.. without O_CLOEXEC. */
                for (size_t i = 0; i < h->n_store; i++) {
                        h->store[i].fd = fcntl(h->store[i].fd, F_DUPFD_CLOEXEC, (int) end);
                        if (h->store[i].fd < 0)
                                _exit(EXIT_HARNESS);
                }
                for (size_t i = 0; i < h->n_store; i++)
                        if (dup2(h->store[i].fd, (int) (3 + i)) < 0)
                                _exit(EXIT_HARNESS);

                snprintf(n, sizeof(n), "%zu", h->n_store);
                snprintf(pid, sizeof(pid), "%d", (int) getpid());
                if (setenv("LISTEN_FDS", n, 1) < 0 || setenv("LISTEN_FDNAMES", names, 1) < 0 ||
                    setenv("LISTEN_PID", pid, 1) < 0)
                        _exit(EXIT_HARNESS);
        } else if (unsetenv("LISTEN_FDS") < 0 || unsetenv("LISTEN_FDNAMES") < 0 || unsetenv("LISTEN_PID") < 0)
                _exit(EXIT_HARNESS);

        execvp(h->argv[0], h->argv);
        fprintf(stderr, "fdstore-harness: cannot run %s: %m\n", h->argv[0]);
        _exit(EXIT_EXEC_FAILED);
}

static int on_service_exit(sd_event_source *s, const siginfo_t *si, void *userdata);

static int start_service(Harness *h) {
        _cleanup_free_ char *names = NULL;
        pid_t parent = getpid(), pid;
        int r;

        names = store_names(h);
        if (!names)
                return -ENOMEM;

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                exec_service(h, parent, names);

        r = sd_event_add_child(h->event, &h->child_source, pid, WEXITED, on_service_exit, h);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        h->pid = pid;
        if (h->restarting)
                say("restarted, passing %zu fds (%s)", h->n_store, names);
        say("started %s as pid %d", h->argv[0], (int) pid);
        return 0;
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Harness *h = userdata;

        say("pid %d did not stop in %llu s, killing it", (int) h->pid, STOP_TIMEOUT_USEC / 1000000ULL);
        (void) kill(h->pid, SIGKILL);
        return 0;
}

static int stop_service(Harness *h) {
        int r;

        if (h->stop_timer)
                return 0;
        r = sd_event_add_time_relative(h->event, &h->stop_timer, CLOCK_MONOTONIC, STOP_TIMEOUT_USEC, 0,
                                       on_stop_timeout, h);
        if (r < 0)
                return r;
        if (kill(h->pid, SIGTERM) < 0)
                return -errno;
        return 0;
}

static int on_service_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Harness *h = userdata;
        int status, r;

        /* What the service sent before it exited is its last word: the fds
         * it stored while stopping go to the next run. */
        while (receive_one(h) > 0)
                ;

        if (si->si_code == CLD_EXITED) {
                status = si->si_status;
                say("pid %d exited with status %d", (int) si->si_pid, status);
        } else {
                status = 128 + si->si_status;
                say("pid %d killed by signal %d (SIG%s)", (int) si->si_pid, si->si_status,
                    sigabbrev_np(si->si_status) ?: "?");
        }
        h->pid = 0;
        h->child_source = sd_event_source_unref(h->child_source);
        h->stop_timer = sd_event_source_unref(h->stop_timer);
        if (h->ready_file && unlink(h->ready_file) < 0 && errno != ENOENT)
                say("cannot remove %s: %m", h->ready_file);

        /* Restart=on-failure: a service killed by a signal starts again. */
        if (h->stopping || (!h->restarting && si->si_code == CLD_EXITED))
                return sd_event_exit(h->event, status);

        r = start_service(h);
        h->restarting = false;
        if (r < 0) {
                say("cannot start %s again: %s", h->argv[0], strerror(-r));
                return sd_event_exit(h->event, EXIT_HARNESS);
        }
        return 0;
}

static int on_restart(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Harness *h = userdata;
        int r;

        if (h->stopping || h->restarting) {
                say("SIGUSR1 while %s, ignored", h->stopping ? "stopping" : "restarting");
                return 0;
        }
        say("restarting pid %d", (int) h->pid);
        h->restarting = true;
        r = stop_service(h);
        if (r < 0) {
                say("cannot stop pid %d: %s", (int) h->pid, strerror(-r));
                return sd_event_exit(h->event, EXIT_HARNESS);
        }
        return 0;
}

static int on_crash(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Harness *h = userdata;

        if (h->stopping || h->restarting) {
                say("SIGUSR2 while %s, ignored", h->stopping ? "stopping" : "restarting");
                return 0;
        }
        say("killing pid %d with SIGKILL, to start it again", (int) h->pid);
        h->restarting = true;
        if (kill(h->pid, SIGKILL) < 0) {
                say("cannot kill pid %d: %m", (int) h->pid);
                return sd_event_exit(h->event, EXIT_HARNESS);
        }
        return 0;
}

static int on_stop(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Harness *h = userdata;
        int r;

        say("SIG%s: stopping pid %d", sigabbrev_np(si->ssi_signo) ?: "?", (int) h->pid);
        h->stopping = true;
        r = stop_service(h);
        if (r < 0) {
                say("cannot stop pid %d: %s", (int) h->pid, strerror(-r));
                return sd_event_exit(h->event, EXIT_HARNESS);
        }
        return 0;
}

static int open_notify_socket(Harness *h) {
        static const int one = 1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        socklen_t l = sizeof(sa);
        _cleanup_close_ int fd = -EBADF;

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* An address of just the family: the kernel picks a free name in the
         * abstract namespace, which leaves no file to clean up. */
        if (bind(fd, (const struct sockaddr *) &sa, sizeof(sa_family_t)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &l) < 0)
                return -errno;
        if (l <= offsetof(struct sockaddr_un, sun_path) + 1 || sa.sun_path[0] != 0)
                return -EADDRNOTAVAIL;
        /* sd_notify() spells an abstract name with '@' for the leading NUL. */
        snprintf(h->notify_socket, sizeof(h->notify_socket), "@%.*s",
                 (int) (l - offsetof(struct sockaddr_un, sun_path) - 1), sa.sun_path + 1);
        h->notify_fd = TAKE_FD(fd);
        return 0;
}

static void harness_done(Harness *h) {
        sd_event_source_unref(h->stop_timer);
        sd_event_source_unref(h->hold_timer);
        sd_event_source_unref(h->notify_source);
        sd_event_source_unref(h->child_source);
        sd_event_unref(h->event);
        for (size_t i = 0; i < h->n_store; i++) {
                close(h->store[i].fd);
                free(h->store[i].name);
        }
        free(h->store);
        closep(&h->notify_fd);
}

static int parse_argv(Harness *h, int argc, char *argv[]) {
        static const struct option options[] = {
                { "ready-file", required_argument, NULL, 'r' },
                { "hold-file",  required_argument, NULL, 'H' },
                { "help",       no_argument,       NULL, 'h' },
                {}
        };
        int c;

        /* '+': the options end at COMMAND, whose own options are its own. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        h->ready_file = optarg;
                        break;
                case 'H':
                        h->hold_file = optarg;
                        break;
                case 'h':
                        printf("%s [--ready-file=PATH] [--hold-file=PATH] -- COMMAND [ARGS...]\n",
                               program_invocation_short_name);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind >= argc) {
                fprintf(stderr, "fdstore-harness: no COMMAND given\n");
                return -EINVAL;
        }
        h->argv = argv + optind;
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(harness_done) Harness h = { .notify_fd = -EBADF };
        sigset_t mask;
        int r;

        r = parse_argv(&h, argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_HARNESS : EXIT_SUCCESS;

        /* sd-event takes these through a signalfd and a pidfd; the service
         * gets an empty mask back before it runs. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGUSR1);
        sigaddset(&mask, SIGUSR2);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                fprintf(stderr, "fdstore-harness: cannot block signals: %m\n");
                return EXIT_HARNESS;
        }

        r = open_notify_socket(&h);
        if (r < 0) {
                fprintf(stderr, "fdstore-harness: cannot open a notify socket: %s\n", strerror(-r));
                return EXIT_HARNESS;
        }
        r = sd_event_new(&h.event);
        if (r >= 0)
                r = sd_event_add_io(h.event, &h.notify_source, h.notify_fd, EPOLLIN, on_notify, &h);
        if (r >= 0)
                r = sd_event_add_signal(h.event, NULL, SIGUSR1, on_restart, &h);
        if (r >= 0)
                r = sd_event_add_signal(h.event, NULL, SIGUSR2, on_crash, &h);
        if (r >= 0)
                r = sd_event_add_signal(h.event, NULL, SIGTERM, on_stop, &h);
        if (r >= 0)
                r = sd_event_add_signal(h.event, NULL, SIGINT, on_stop, &h);
        if (r < 0) {
                fprintf(stderr, "fdstore-harness: cannot set up the event loop: %s\n", strerror(-r));
                return EXIT_HARNESS;
        }

        say("notify socket %s", h.notify_socket);
        r = start_service(&h);
        if (r < 0) {
                fprintf(stderr, "fdstore-harness: cannot start %s: %s\n", h.argv[0], strerror(-r));
                return EXIT_HARNESS;
        }

        r = sd_event_loop(h.event);
        if (r < 0) {
                fprintf(stderr, "fdstore-harness: event loop failed: %s\n", strerror(-r));
                return EXIT_HARNESS;
        }
        return r;
}
