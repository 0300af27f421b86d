/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qemu-launcher: the part of a management stack (libvirt, KubeVirt's device
 * plugin) that asks viommud for a delegated session and starts a VMM on the
 * fds it hands out, as tests/integration/qemu-delegation.sh runs it:
 *
 *   qemu-launcher [--expect-denied NAME]... DEVICE -- COMMAND [ARGS...]
 *
 * On the system bus ($DBUS_SYSTEM_BUS_ADDRESS) it opens a session with
 * {"Delegated": true}, checks that every --expect-denied device is refused
 * (PermissionDenied), claims DEVICE asking for its fd, takes the session's
 * iommufd (ExportIommufd) and the device's cdev (ExportDevice), checks what
 * it got, and runs COMMAND with both fds inherited: in its arguments
 * @IOMMUFD@ and @DEVICE_FD@ become their numbers. COMMAND's stdin, stdout
 * and stderr are the launcher's.
 *
 * The launcher stays COMMAND's parent and keeps its bus connection (and so
 * the session) for as long as COMMAND runs, as libvirt does; when COMMAND
 * ends it exits with COMMAND's status, and its leaving the bus is what closes
 * the session. Exit status 125: the launcher itself failed.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "viommu-abi.h"

#define BUS_NAME  "org.viommu1"
#define MANAGER   "org.viommu1.Manager"
#define SESSION   "org.viommu1.Session"
#define ROOT_PATH "/org/viommu1"
#define EXIT_LAUNCHER 125

static pid_t child_pid;

#define fail(...) do { fprintf(stderr, "qemu-launcher: " __VA_ARGS__); fputc('\n', stderr); exit(EXIT_LAUNCHER); } while (0)
#define say(...)  do { fprintf(stderr, "qemu-launcher: " __VA_ARGS__); fputc('\n', stderr); } while (0)

static void forward_signal(int sig) {
        if (child_pid > 0)
                kill(child_pid, sig);
}

/* Claims name in session; returns the bus error name on failure (NULL: success). */
static char *claim(sd_bus *bus, const char *session, const char *name, bool want_fd,
                   sd_bus_message **ret_reply, char **ret_message) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        char *e = NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, session, SESSION, "ClaimDevice", &error, &reply,
                               "sb", name, (int) want_fd);
        if (r < 0) {
                e = strdup(error.name ?: "(no error name)");
                if (ret_message)
                        *ret_message = strdup(error.message ?: "");
                sd_bus_error_free(&error);
                return e ?: strdup("ENOMEM");
        }
        *ret_reply = reply;
        return NULL;
}

/* A copy of fd at a number of its own that COMMAND inherits. */
static int inheritable(int fd) {
        int copy = fcntl(fd, F_DUPFD, 3);

        if (copy < 0)
                fail("dup: %m");
        return copy;
}

static char *substitute(const char *arg, const char *token, int value) {
        const char *at = strstr(arg, token);
        char *s;

        if (!at)
                return strdup(arg);
        if (asprintf(&s, "%.*s%d%s", (int) (at - arg), arg, value, at + strlen(token)) < 0)
                return NULL;
        return s;
}

static void check_chardev(int fd, const char *what, const char *node) {
        struct stat st, want;

        if (fstat(fd, &st) < 0)
                fail("fstat %s: %m", what);
        if (!S_ISCHR(st.st_mode))
                fail("%s is not a character device", what);
        if (node) {
                if (stat(node, &want) < 0)
                        fail("stat %s: %m", node);
                if (st.st_rdev != want.st_rdev)
                        fail("%s is not %s (device %u:%u, not %u:%u)", what, node,
                             major(st.st_rdev), minor(st.st_rdev), major(want.st_rdev), minor(want.st_rdev));
        }
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "expect-denied", required_argument, NULL, 'd' },
                { "help",          no_argument,       NULL, 'h' },
                {}
        };
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL, *claim_reply = NULL;
        sd_bus *bus = NULL;
        const char *session, *device, *dev_path, **denied = NULL;
        char *session_path, *e, *msg = NULL;
        size_t n_denied = 0;
        int c, r, claim_fd = -1, iommufd, devfd, status;
        uint32_t dev_id, session_id;
        struct sigaction sa = { .sa_handler = forward_signal };

        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'd':
                        denied = realloc(denied, (n_denied + 1) * sizeof(*denied));
                        if (!denied)
                                fail("out of memory");
                        denied[n_denied++] = optarg;
                        break;
                case 'h':
                        printf("usage: %s [--expect-denied NAME]... DEVICE -- COMMAND [ARGS...]\n"
                               "In COMMAND's arguments @IOMMUFD@ and @DEVICE_FD@ become the fds.\n",
                               program_invocation_short_name);
                        return 0;
                default:
                        return EXIT_LAUNCHER;
                }
        if (argc - optind < 2)
                fail("usage: qemu-launcher [--expect-denied NAME]... DEVICE -- COMMAND [ARGS...]");
        device = argv[optind++];
        if (strcmp(argv[optind], "--") == 0)
                optind++;
        if (optind >= argc)
                fail("no COMMAND");

        r = sd_bus_open_system(&bus);
        if (r < 0)
                fail("cannot connect to the system bus: %s", strerror(-r));

        /* OpenSession({"Delegated": <true>}) */
        r = sd_bus_call_method(bus, BUS_NAME, ROOT_PATH, MANAGER, "OpenSession", &error, &reply,
                               "a{sv}", 1, "Delegated", "b", 1);
        if (r < 0)
                fail("OpenSession: %s: %s", error.name, error.message);
        r = sd_bus_message_read(reply, "o", &session);
        if (r < 0)
                fail("OpenSession reply: %s", strerror(-r));
        session_path = strdup(session);
        reply = sd_bus_message_unref(reply);
        r = sd_bus_get_property_trivial(bus, BUS_NAME, session_path, SESSION, "Id", &error, 'u', &session_id);
        if (r < 0)
                fail("reading the session's Id: %s: %s", error.name, error.message);
        say("session %u (%s), delegated, for uid %u", session_id, session_path, (unsigned) geteuid());

        for (size_t i = 0; i < n_denied; i++) {
                sd_bus_message *unexpected = NULL;

                e = claim(bus, session_path, denied[i], false, &unexpected, &msg);
                if (!e)
                        fail("claiming %s was allowed, expected PermissionDenied", denied[i]);
                if (strcmp(e, "org.viommu1.Error.PermissionDenied") != 0)
                        fail("claiming %s: %s (%s), expected PermissionDenied", denied[i], e, msg);
                say("claiming %s refused as expected: %s", denied[i], msg);
                free(e);
                free(msg);
                msg = NULL;
        }

        e = claim(bus, session_path, device, true, &claim_reply, &msg);
        if (e)
                fail("ClaimDevice %s: %s: %s", device, e, msg);
        r = sd_bus_message_read(claim_reply, "ou", &dev_path, &dev_id);
        if (r >= 0)
                r = sd_bus_message_enter_container(claim_reply, 'a', "(h)");
        if (r >= 0)
                r = sd_bus_message_read(claim_reply, "(h)", &claim_fd);
        if (r <= 0)
                fail("ClaimDevice %s did not return the device fd (%s)", device, r < 0 ? strerror(-r) : "empty array");
        /* A delegated session leaves binding to the VMM: no kernel dev_id yet. */
        if (dev_id != 0)
                fail("ClaimDevice %s in a delegated session bound it (dev_id %u)", device, dev_id);
        say("claimed %s as %s, unbound", device, dev_path);

        r = sd_bus_call_method(bus, BUS_NAME, session_path, SESSION, "ExportIommufd", &error, &reply, NULL);
        if (r < 0)
                fail("ExportIommufd: %s: %s", error.name, error.message);
        r = sd_bus_message_read(reply, "h", &iommufd);
        if (r < 0)
                fail("ExportIommufd reply: %s", strerror(-r));
        iommufd = inheritable(iommufd);
        reply = sd_bus_message_unref(reply);

        r = sd_bus_call_method(bus, BUS_NAME, session_path, SESSION, "ExportDevice", &error, &reply,
                               "o", dev_path);
        if (r < 0)
                fail("ExportDevice: %s: %s", error.name, error.message);
        r = sd_bus_message_read(reply, "h", &devfd);
        if (r < 0)
                fail("ExportDevice reply: %s", strerror(-r));
        devfd = inheritable(devfd);
        reply = sd_bus_message_unref(reply);

        /* What a VMM can check about what it was given. */
        check_chardev(iommufd, "the exported iommufd", "/dev/iommu");
        check_chardev(devfd, "the exported device fd", NULL);
        check_chardev(claim_fd, "ClaimDevice's device fd", NULL);
        {
                struct stat a, b;

                if (fstat(devfd, &a) < 0 || fstat(claim_fd, &b) < 0 || a.st_rdev != b.st_rdev)
                        fail("ExportDevice and ClaimDevice returned different devices");
        }
        {
                struct iommu_option opt = {
                        .size = sizeof(opt),
                        .option_id = IOMMU_OPTION_RLIMIT_MODE,
                        .op = IOMMU_OPTION_OP_GET,
                };

                if (ioctl(iommufd, IOMMU_OPTION, &opt) < 0)
                        fail("IOMMU_OPTION get RLIMIT_MODE: %m");
                if (opt.val64 != 1)
                        fail("the iommufd's RLIMIT_MODE is %llu, expected 1 (per-process accounting)",
                             (unsigned long long) opt.val64);
        }
        {
                struct stat st;

                (void) fstat(devfd, &st);
                say("iommufd fd %d (RLIMIT_MODE 1, per-process), device fd %d (cdev %u:%u)", iommufd, devfd,
                    major(st.st_rdev), minor(st.st_rdev));
        }
        claim_reply = sd_bus_message_unref(claim_reply);

        for (int i = optind; i < argc; i++) {
                char *a = substitute(argv[i], "@IOMMUFD@", iommufd), *b;

                b = a ? substitute(a, "@DEVICE_FD@", devfd) : NULL;
                if (!b)
                        fail("out of memory");
                free(a);
                argv[i] = b;
        }

        fflush(NULL);
        child_pid = fork();
        if (child_pid < 0)
                fail("fork: %m");
        if (child_pid == 0) {
                /* The bus connection is close-on-exec: it stays the launcher's. */
                execv(argv[optind], argv + optind);
                fprintf(stderr, "qemu-launcher: cannot run %s: %m\n", argv[optind]);
                _exit(127);
        }
        /* Only COMMAND holds these now (and the daemon its own copies). */
        close(iommufd);
        close(devfd);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);

        while (waitpid(child_pid, &status, 0) < 0)
                if (errno != EINTR)
                        fail("waitpid: %m");
        if (WIFSIGNALED(status)) {
                say("%s killed by signal %d", argv[optind], WTERMSIG(status));
                status = 128 + WTERMSIG(status);
        } else
                status = WEXITSTATUS(status);
        say("%s exited with status %d; leaving the bus", argv[optind], status);
        sd_bus_flush_close_unref(bus);
        free(session_path);
        free(denied);
        return status;
}
