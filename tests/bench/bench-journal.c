/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * What crash safety costs, at the scale of a guest that maps page by page:
 * a session's journal (daemon/journal.c) records N mappings of 4 KiB in a
 * row (default 1,000,000) as the daemon's Map does once the kernel has
 * mapped, against the same without a journal; then a fresh process takes
 * the session over from the journal's newest generation, as a restarted
 * daemon does, and the same for a session of 1,000 objects. The benchmark
 * plays the service manager's fd store ($NOTIFY_SOCKET). A benchmark to run
 * by hand, not a test: it checks only that what is read back holds every
 * mapping. Prints, one per line:
 *
 *   recording alone: map X us with a journal, Y us without
 *   memory: index I B + journal J B = T B per mapping
 *   take-over: N mappings in S s, peak RSS M MiB
 *   take-over: 1000 objects in S s, peak RSS M MiB
 *
 * The recording is the daemon's own work alone (no kernel, no IPC); what it
 * adds to a whole Map call on the direct channel, tests/bench/run-in-vm
 * prints as "record overhead: map X us with, Y us without".
 *
 *   bench-journal [-n MAPPINGS]
 */

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ioas.h"
#include "journal.h"
#include "mapping-index.h"
#include "session.h"
#include "util.h"
#include "viommu-iommufd.h"

#define PAGE 4096ULL
#define OBJECTS 1000

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static _Noreturn void die(const char *what) {
        fprintf(stderr, "bench-journal: %s\n", what);
        exit(EXIT_FAILURE);
}

static int store = -EBADF, journal = -EBADF;

/* Keeps the newest journal the store was given so far, in journal; the
 * older ones are closed. */
static void store_take(void) {
        for (;;) {
                union {
                        struct cmsghdr h;
                        uint8_t buf[CMSG_SPACE(sizeof(int))];
                } control = {};
                char text[256];
                struct iovec iov = { .iov_base = text, .iov_len = sizeof(text) };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                                     .msg_controllen = sizeof(control) };
                struct cmsghdr *c;

                if (recvmsg(store, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
                        return;
                for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                                if (journal >= 0)
                                        close(journal);
                                memcpy(&journal, CMSG_DATA(c), sizeof(journal));
                        }
        }
}

/* The fd store: a socket the journal's memfds arrive on. */
static void store_open(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        socklen_t l = sizeof(sa);
        static char name[128];

        /* An abstract name the kernel picks. */
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa_family_t)) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &l) < 0)
                die("cannot open a notify socket");
        snprintf(name, sizeof(name), "@%.*s", (int) (l - offsetof(struct sockaddr_un, sun_path) - 1),
                 sa.sun_path + 1);
        setenv("NOTIFY_SOCKET", name, 1);
        store = fd;
}


/* Maps n pages in a row as ioas_map() records them; seconds taken. The
 * store takes what arrives as it goes, as systemd does: a datagram socket
 * left unread would block the sender. */
static double map_pages(Object *ioas, uint64_t n) {
        Session *s = ioas->session;
        uint64_t start = now_ns();

        for (uint64_t i = 0; i < n; i++) {
                struct viommu_mapping m = {
                        .iova = (1ULL << 32) + i * PAGE,
                        .length = PAGE,
                        .offset = i * PAGE,
                        .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
                        .backing = VIOMMU_MAPPING_NO_BACKING,
                };

                journal_intent(ioas, (JournalIntent) { .op = JOURNAL_OP_MAP, .iova = m.iova, .length = m.length,
                                                       .flags = m.flags });
                if (ioas_record_map(ioas, &m) < 0)
                        die("cannot record a mapping");
                journal_map(ioas, &m, 0);
                journal_done(s);
                if (i % 1024 == 0)
                        store_take();
        }
        return (now_ns() - start) / 1e9;
}

static Session *session_new_empty(Daemon *d) {
        Session *s = NULL;

        if (session_adopt(d, 1, -EBADF, 1000, ":1.1", true, false, 1, &s) < 0)
                die("cannot make a session");
        return s;
}

static Object *ioas_add(Session *s, uint32_t id) {
        Object *o;

        if (object_new(s, OBJECT_IOAS, id, &o) < 0)
                die("cannot make an IOAS");
        journal_object(o);
        return o;
}

/* The process's peak resident set, in MiB: VmHWM, which (unlike ru_maxrss)
 * starts afresh at exec. */
static double peak_rss_mib(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        unsigned long kib;

        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "VmHWM: %lu kB", &kib) == 1)
                        return kib / 1024.0;
        die("cannot read VmHWM");
}

/* In a process of its own: reads the journal at fd 3 as a take-over does. */
static int take_over(uint64_t expect_mappings, unsigned expect_objects) {
        JournalIntent pending = {};
        struct stat st;
        uint64_t generation, start, mapped = 0;
        Daemon d = {};
        Session *s = NULL;
        bool torn;
        void *data;

        start = now_ns();
        if (fstat(3, &st) < 0)
                die("cannot stat the journal");
        data = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, 3, 0);
        if (data == MAP_FAILED || journal_read(&d, data, st.st_size, -EBADF, &s, &pending, &generation, &torn) < 0)
                die("cannot read the journal back");
        munmap(data, st.st_size);
        for (Object *o = s->objects; o; o = o->objects_next)
                if (o->type == OBJECT_IOAS)
                        mapped += viommu_mapping_index_count(o->ioas.mappings);
        if (mapped != expect_mappings || s->n_objects != expect_objects || torn || pending.op)
                die("the session read back is not the one recorded");
        if (expect_objects == OBJECTS)
                printf("take-over: %u objects in %.3f s, peak RSS %.1f MiB\n", OBJECTS, (now_ns() - start) / 1e9,
                       peak_rss_mib());
        else
                printf("take-over: %" PRIu64 " mappings in %.3f s, peak RSS %.1f MiB\n", expect_mappings,
                       (now_ns() - start) / 1e9, peak_rss_mib());
        return 0;
}

/* Runs this program again, fresh, on the journal in fd. */
static void spawn_take_over(const char *self, int fd, uint64_t mappings, unsigned objects) {
        char m[32], o[32];
        pid_t pid;
        int status;

        snprintf(m, sizeof(m), "%" PRIu64, mappings);
        snprintf(o, sizeof(o), "%u", objects);
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                die("cannot fork");
        if (pid == 0) {
                if (dup2(fd, 3) < 0)
                        _exit(EXIT_FAILURE);
                execl(self, self, "--take-over", m, o, (char *) NULL);
                _exit(EXIT_FAILURE);
        }
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die("the take-over failed");
}

int main(int argc, char *argv[]) {
        uint64_t n = 1000000;
        Daemon d = {}, e = {};
        Session *s, *t;
        Object *ioas;
        double with, without;
        struct stat st;
        int c;

        if (argc == 4 && streq(argv[1], "--take-over"))
                return take_over(strtoull(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
        while ((c = getopt(argc, argv, "n:")) >= 0)
                switch (c) {
                case 'n':
                        n = strtoull(optarg, NULL, 10);
                        break;
                default:
                        fprintf(stderr, "usage: bench-journal [-n MAPPINGS]\n");
                        return EXIT_USAGE;
                }
        if (n == 0)
                die("-n takes a positive count");

        store_open();

        /* Without a journal: the session has none until it starts one. */
        s = session_new_empty(&d);
        ioas = ioas_add(s, 2);
        without = map_pages(ioas, n);
        session_free(s);

        s = session_new_empty(&e);
        ioas = ioas_add(s, 2);
        if (journal_start(s) < 0)
                die("cannot start a journal");
        with = map_pages(ioas, n);
        printf("recording alone: map %.3f us with a journal, %.3f us without\n", with * 1e6 / n, without * 1e6 / n);

        store_take();
        if (journal < 0 || fstat(journal, &st) < 0)
                die("no journal in the store");
        printf("memory: index %.1f B + journal %.1f B = %.1f B per mapping\n",
               (double) viommu_mapping_index_memory(ioas->ioas.mappings) / n, st.st_blocks * 512.0 / n,
               ((double) viommu_mapping_index_memory(ioas->ioas.mappings) + st.st_blocks * 512.0) / n);
        spawn_take_over(argv[0], journal, n, 1);
        close(journal);
        journal = -EBADF;
        s->journal = journal_free(s->journal);
        s->journal_generation = 0;
        session_free(s);

        /* A thousand objects, made one after the other, each journaled. */
        t = session_new_empty(&d);
        if (journal_start(t) < 0)
                die("cannot start a journal");
        for (uint32_t i = 0; i < OBJECTS; i++) {
                ioas_add(t, 2 + i);
                store_take();
        }
        store_take();
        spawn_take_over(argv[0], journal, 0, OBJECTS);
        close(journal);
        t->journal = journal_free(t->journal);
        t->journal_generation = 0;
        session_free(t);
        close(store);
        return 0;
}
