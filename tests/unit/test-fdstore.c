/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The daemon's side of the service manager's fd store (daemon/fdstore.c) on
 * the build host: the test binds the notify socket itself. A message reaches
 * it with its fds (two for a session's entry) and the credentials the
 * manager checks, over a path or an abstract name; a manager that binds its
 * socket anew, as it does after re-executing, still gets the next message;
 * without $NOTIFY_SOCKET nothing is sent, and a manager that is gone is an
 * error, not a hang; a manager that reads nothing for a while holds up
 * nothing (daemon/notify.c). And what a restart makes of entries that are no
 * session's (restart.c): each leaves the store and is closed, in whatever
 * order the store gives the fds back, but a spare stays, the daemon's.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "entry-pool.h"
#include "fdstore.h"
#include "journal-format.h"
#include "journal.h"
#include "notify.h"
#include "restart.h"
#include "util.h"

/* A notify socket at NOTIFY_SOCKET's address ('@' for an abstract name),
 * passing credentials, as the manager binds it. */
static int manager_bind(const char *address) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(address);
        int fd, one = 1;

        memcpy(sa.sun_path, address, n);
        if (address[0] == '@')
                sa.sun_path[0] = 0;
        else
                (void) unlink(address);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, offsetof(struct sockaddr_un, sun_path) + n), 0);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
        assert_int_equal(setenv("NOTIFY_SOCKET", address, 1), 0);
        return fd;
}

/* The next message: its text, the sender's pid, and the fds it carries
 * (at most two) into fds; their number. */
static size_t manager_receive(int manager, char *text, size_t size, pid_t *pid, int fds[static 2]) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(2 * sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = text, .iov_len = size - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        size_t n_fds = 0;
        ssize_t n;

        *pid = 0;
        n = recvmsg(manager, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        assert_true(n >= 0);
        assert_false(mh.msg_flags & MSG_CTRUNC);
        text[n] = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        n_fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        memcpy(fds, CMSG_DATA(c), n_fds * sizeof(int));
                } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
                        *pid = ((const struct ucred *) CMSG_DATA(c))->pid;
        }
        return n_fds;
}

/* Stores n memfds (one or two) as name and checks that the manager got
 * those very files, in one message. */
static void store_and_check(int manager, const char *name, size_t n) {
        int memfds[2] = { -EBADF, -EBADF }, got[2] = { -EBADF, -EBADF };
        char text[128], want[128];
        pid_t pid;

        for (size_t i = 0; i < n; i++) {
                memfds[i] = memfd_create("test-fdstore", MFD_CLOEXEC);
                assert_true(memfds[i] >= 0);
        }
        assert_int_equal(n == 1 ? fdstore_add(name, memfds[0]) : fdstore_add_many(name, memfds, n), 1);
        assert_int_equal(manager_receive(manager, text, sizeof(text), &pid, got), n);
        snprintf(want, sizeof(want), "FDSTORE=1\nFDPOLL=0\nFDNAME=%s", name);
        assert_string_equal(text, want);
        assert_int_equal(pid, getpid());
        for (size_t i = 0; i < n; i++) {
                struct stat a, b;

                assert_int_equal(fstat(memfds[i], &a), 0);
                assert_int_equal(fstat(got[i], &b), 0);
                assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
                close(memfds[i]);
                close(got[i]);
        }
}

static void test_no_manager(void **state) {
        assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
        assert_false(fdstore_available());
        assert_int_equal(fdstore_add("s1", STDIN_FILENO), 0);
        fdstore_remove("s1");
}

static void test_path_and_abstract(void **state) {
        char path[64], name[64], text[128];
        int manager, fds[2];
        pid_t pid;

        snprintf(path, sizeof(path), "/tmp/test-fdstore-%d.sock", getpid());
        manager = manager_bind(path);
        assert_true(fdstore_available());
        /* A session's entry: its iommufd and first journal, one message. */
        store_and_check(manager, "s1", 2);
        fdstore_remove("s1");
        assert_int_equal(manager_receive(manager, text, sizeof(text), &pid, fds), 0);
        assert_string_equal(text, "FDSTOREREMOVE=1\nFDNAME=s1");
        assert_int_equal(pid, getpid());
        (void) unlink(path);
        close(manager);

        /* The old manager is gone: the next message finds the new one. */
        snprintf(name, sizeof(name), "@test-fdstore-%d", getpid());
        manager = manager_bind(name);
        store_and_check(manager, "s2-journal-2", 1);
        close(manager);
}

static void test_manager_binds_anew(void **state) {
        char path[64];
        int manager;

        snprintf(path, sizeof(path), "/tmp/test-fdstore-%d.sock", getpid());
        manager = manager_bind(path);
        store_and_check(manager, "s3", 1);
        close(manager);

        /* Nobody at the address: an error, at once. */
        assert_int_equal(fdstore_add("s3-journal-2", STDIN_FILENO), -ECONNREFUSED);

        /* The same address bound again, as after the manager re-executed. */
        manager = manager_bind(path);
        store_and_check(manager, "s3-journal-2", 1);
        (void) unlink(path);
        close(manager);
}

/* The next message that is not a watchdog's ping, which may come between
 * any two: its text. Waits for it in the daemon's loop, e, for as long as
 * 100 messages or loop iterations take. */
static void receive_past_pings(sd_event *e, int manager, char *text, size_t size) {
        int fds[2];
        pid_t pid;

        for (unsigned i = 0;; i++) {
                assert_true(i < 100);
                if (recv(manager, text, 0, MSG_PEEK | MSG_DONTWAIT) < 0) {
                        assert_int_equal(errno, EAGAIN);
                        assert_true(sd_event_run(e, 1000 * 1000) > 0);
                        continue;
                }
                assert_int_equal(manager_receive(manager, text, size, &pid, fds), 0);
                if (!streq(text, "WATCHDOG=1"))
                        return;
        }
}

/* A manager that reads nothing for a while: nothing waits for it. State and
 * removals wait their turn inside the daemon, an entry with fds is refused
 * meanwhile, and the watchdog's pings are dropped; once the manager reads
 * again, the loop sends what waited, in order, and the pings go on. */
static void test_manager_reads_nothing(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_close_ int filler = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        unsigned n_filled = 0;
        char path[64], text[128];
        int manager;

        snprintf(path, sizeof(path), "/tmp/test-fdstore-%d.sock", getpid());
        manager = manager_bind(path);
        assert_int_equal(setenv("WATCHDOG_USEC", "100000", 1), 0);
        assert_true(sd_event_default(&e) >= 0);
        assert_int_equal(notify_watchdog_start(e), 1);
        assert_int_equal(sd_event_run(e, 1000 * 1000), 1);
        assert_int_equal(recv(manager, text, sizeof(text), MSG_DONTWAIT), strlen("WATCHDOG=1"));

        /* Another sender fills the manager's queue. */
        filler = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(filler >= 0);
        memcpy(sa.sun_path, path, strlen(path));
        assert_int_equal(connect(filler, (struct sockaddr *) &sa, sizeof(sa)), 0);
        while (send(filler, "X", 1, 0) == 1)
                n_filled++;
        assert_int_equal(errno, EAGAIN);
        assert_true(n_filled > 0);

        notify_in_order("READY=1");
        fdstore_remove("s4");
        assert_int_equal(fdstore_add("s5", STDIN_FILENO), -ENOBUFS);
        /* A ping finds no room: dropped, and the loop goes on. */
        assert_int_equal(sd_event_run(e, 1000 * 1000), 1);
        assert_int_equal(fdstore_add("s5", STDIN_FILENO), -ENOBUFS);

        /* The manager reads again. */
        for (unsigned i = 0; i < n_filled; i++)
                assert_int_equal(recv(manager, text, sizeof(text), MSG_DONTWAIT), 1);
        receive_past_pings(e, manager, text, sizeof(text));
        assert_string_equal(text, "READY=1");
        receive_past_pings(e, manager, text, sizeof(text));
        assert_string_equal(text, "FDSTOREREMOVE=1\nFDNAME=s4");
        while (recv(manager, text, sizeof(text), MSG_DONTWAIT) >= 0)
                assert_memory_equal(text, "WATCHDOG=1", strlen("WATCHDOG=1"));
        store_and_check(manager, "s5", 1);
        /* And the pings go on. */
        assert_int_equal(sd_event_run(e, 1000 * 1000), 1);
        assert_int_equal(recv(manager, text, sizeof(text), MSG_DONTWAIT), strlen("WATCHDOG=1"));

        /* A manager that binds its socket anew (re-executed) while a
         * message waits: whichever message finds the new socket first, a
         * ping among them, what waits follows. */
        while (send(filler, "X", 1, 0) == 1)
                ;
        notify_in_order("READY=1\nSTATUS=again");
        close(manager);
        manager = manager_bind(path);
        /* The ping due first, which reconnects. */
        usleep(200 * 1000);
        receive_past_pings(e, manager, text, sizeof(text));
        assert_string_equal(text, "READY=1\nSTATUS=again");

        notify_watchdog_stop();
        notify_flush();
        assert_int_equal(unsetenv("WATCHDOG_USEC"), 0);
        (void) unlink(path);
        close(manager);
}

/* A file with these bytes, as a journal memfd. */
static int memfd_with(const char *bytes, size_t size) {
        int fd = memfd_create("test-fdstore-journal", MFD_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, bytes, size), (ssize_t) size);
        return fd;
}

static void test_take_over_drops_what_is_no_session(void **state) {
        static const char garbage[4096] = { [0 ... 4095] = 'x' };
        const char *names[] = {
                "s1", "s1",                     /* an emptied first journal and an iommufd: no journal */
                "s2", "s2",                     /* two character devices */
                "s3-journal-2",                 /* a journal without its session */
                "s4-journal-3",                 /* the newest journal, not one... */
                "s4", "s4",                     /* ...the first journal before the iommufd */
                "x",                            /* no name of the daemon's */
                "slot3", "slot3",               /* a spare: kept, with no message */
                "slot5", "slot5",               /* session 7's, ended: its journal emptied, no later one */
                "slot6",                        /* a journal alone */
                "slot8", "slot8",               /* an iommufd, and a journal without a header */
        };
        static const char * const removed[] = { "s1", "s2", "s4-journal-3", "s4", "slot5", "slot6", "slot8",
                                                "s3-journal-2", "x" };
        static const struct journal_header spare = { .magic = JOURNAL_MAGIC, .version = JOURNAL_VERSION };
        static const struct journal_header ended = {
                .magic = JOURNAL_MAGIC, .version = JOURNAL_VERSION, .session = 7, .generation = 1,
        };
        int fds[ELEMENTSOF(names)], manager, fd;
        unsigned session;
        char path[64], text[128], fdnames[256] = "", listen[32];
        Daemon d = {};
        pid_t pid;

        /* The store's fds start at 3: the manager's socket goes above. */
        snprintf(path, sizeof(path), "/tmp/test-fdstore-%d.sock", getpid());
        fd = manager_bind(path);
        manager = fcntl(fd, F_DUPFD_CLOEXEC, 100);
        assert_true(manager >= 100);
        close(fd);

        fds[0] = memfd_with("", 0);
        fds[1] = open("/dev/null", O_RDWR | O_CLOEXEC);
        fds[2] = open("/dev/null", O_RDWR | O_CLOEXEC);
        fds[3] = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        fds[4] = memfd_with(garbage, sizeof(garbage));
        fds[5] = memfd_with(garbage, sizeof(garbage));
        fds[6] = memfd_with(garbage, sizeof(garbage));
        fds[7] = open("/dev/null", O_RDWR | O_CLOEXEC);
        fds[8] = memfd_with(garbage, 1);
        fds[9] = open("/dev/null", O_RDWR | O_CLOEXEC);
        fds[10] = memfd_with((const char *) &spare, sizeof(spare));
        fds[11] = memfd_with((const char *) &ended, sizeof(ended));
        fds[12] = open("/dev/null", O_RDWR | O_CLOEXEC);
        fds[13] = memfd_with((const char *) &spare, sizeof(spare));
        fds[14] = open("/dev/null", O_RDWR | O_CLOEXEC);
        fds[15] = memfd_with(garbage, sizeof(spare));
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 200);

                assert_true(moved >= 200);
                close(fds[i]);
                fds[i] = moved;
        }
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                assert_int_equal(dup2(fds[i], SD_LISTEN_FDS_START + (int) i), SD_LISTEN_FDS_START + (int) i);
                close(fds[i]);
                strcat(fdnames, names[i]);
                strcat(fdnames, i + 1 < ELEMENTSOF(names) ? ":" : "");
        }
        snprintf(listen, sizeof(listen), "%d", getpid());
        assert_int_equal(setenv("LISTEN_PID", listen, 1), 0);
        snprintf(listen, sizeof(listen), "%zu", ELEMENTSOF(names));
        assert_int_equal(setenv("LISTEN_FDS", listen, 1), 0);
        assert_int_equal(setenv("LISTEN_FDNAMES", fdnames, 1), 0);

        assert_int_equal(restart_take_over(&d), 0);

        for (size_t i = 0; i < ELEMENTSOF(removed); i++) {
                char want[128];

                assert_int_equal(manager_receive(manager, text, sizeof(text), &pid, fds), 0);
                snprintf(want, sizeof(want), "FDSTOREREMOVE=1\nFDNAME=%s", removed[i]);
                assert_string_equal(text, want);
        }
        assert_true(recv(manager, text, sizeof(text), MSG_DONTWAIT) < 0 && errno == EAGAIN);

        /* The spare is the daemon's, its journal still spare; the next new
         * entry is numbered past every slot in the store. */
        assert_int_equal(d.entry_pool.n_spares, 1);
        assert_int_equal(d.entry_pool.spares[0].slot, 3);
        assert_int_equal(journal_entry_session(SD_LISTEN_FDS_START + 10, &session), 0);
        assert_int_equal(session, 0);
        assert_int_equal(entry_pool_new_slot(&d.entry_pool), 9);
        entry_pool_free(&d.entry_pool);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                assert_true(fcntl(SD_LISTEN_FDS_START + (int) i, F_GETFD) < 0 && errno == EBADF);
        assert_null(getenv("LISTEN_FDS"));
        (void) unlink(path);
        close(manager);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                /* First: the daemon's connection to the manager, once made,
                 * holds a low fd, which the store's fds at 3... would take. */
                cmocka_unit_test(test_take_over_drops_what_is_no_session),
                cmocka_unit_test(test_no_manager),
                cmocka_unit_test(test_path_and_abstract),
                cmocka_unit_test(test_manager_binds_anew),
                cmocka_unit_test(test_manager_reads_nothing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
