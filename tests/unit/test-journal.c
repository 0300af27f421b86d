/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A session's journal (daemon/journal.c, journal-read.c) on the build host:
 * the test is the service manager's fd store ($NOTIFY_SOCKET), takes the
 * memfds the daemon's code hands it, and reads them back as the next run
 * would. What the session recorded comes back (objects, mappings, the
 * backings they hold); an entry the daemon died writing is dropped; an
 * intent left open comes back to be settled; a new generation replaces one
 * whose changes outgrew its snapshot (the first, which shares the session's
 * entry in the store with its iommufd, is emptied instead of removed); the
 * virtio-iommu backend's state comes back; a journal that is not one, or that
 * does not hold together, is refused, and one of an older version is read.
 * The sessions have no iommufd: nothing reaches the kernel.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "device.h"
#include "guest-memory.h"
#include "ioas.h"
#include "journal-format.h"
#include "journal.h"
#include "json-util.h"
#include "mapping-index.h"
#include "record.h"
#include "session.h"
#include "util.h"
#include "viommu-iommufd.h"
#include "virtio-iommu.h"

#define PAGE 4096ULL

static int store = -EBADF;

static int setup(void **state) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char path[64];

        snprintf(path, sizeof(path), "/tmp/test-journal-%d.sock", getpid());
        strcpy(sa.sun_path, path);
        store = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(store >= 0);
        (void) unlink(path);
        assert_int_equal(bind(store, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
        return 0;
}

static int teardown(void **state) {
        const char *path = getenv("NOTIFY_SOCKET");

        (void) unlink(path);
        close(store);
        return 0;
}

/* The next message to the store: its text, and the fds it carries (at most
 * two) into fds; their number. */
static size_t store_receive(char *text, size_t size, int fds[static 2]) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(2 * sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = text, .iov_len = size - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        struct cmsghdr *c;
        size_t n_fds = 0;
        ssize_t n;

        n = recvmsg(store, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        assert_true(n >= 0);
        text[n] = 0;
        for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        n_fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        memcpy(fds, CMSG_DATA(c), n_fds * sizeof(int));
                }
        return n_fds;
}

/* Starts session 5's journal as opening it does: the store is given its
 * iommufd (a character device stands in) and the journal's first
 * generation, in one message; the journal's fd. */
static int begin_journal(Session *s) {
        char text[256];
        int fds[2], journal = -EBADF;
        struct stat st;

        s->iommufd = open("/dev/null", O_RDWR | O_CLOEXEC);
        assert_true(s->iommufd >= 0);
        assert_int_equal(journal_begin(s, NULL), 0);
        closep(&s->iommufd);
        s->iommufd = -EBADF;
        assert_int_equal(store_receive(text, sizeof(text), fds), 2);
        assert_string_equal(text, "FDSTORE=1\nFDPOLL=0\nFDNAME=s5");
        for (size_t i = 0; i < 2; i++) {
                assert_int_equal(fstat(fds[i], &st), 0);
                if (S_ISREG(st.st_mode))
                        journal = fds[i];
                else {
                        assert_true(S_ISCHR(st.st_mode));
                        close(fds[i]);
                }
        }
        assert_true(journal >= 0);
        assert_int_equal(s->journal_generation, 1);
        return journal;
}

/* The first generation, replaced, cannot leave the session's entry: it is
 * emptied down to its header, which still names session 5, and the store
 * told nothing. */
static void expect_emptied(int fd) {
        unsigned session;
        struct stat st;
        char c;

        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(st.st_size, sizeof(struct journal_header));
        assert_int_equal(journal_entry_session(fd, &session), 0);
        assert_int_equal(session, 5);
        assert_true(recv(store, &c, 1, MSG_DONTWAIT) < 0);
}

/* Expects the store to be given generation g of session 5's journal. */
static int expect_journal(uint64_t g) {
        char text[256], want[128];
        int fds[2];

        assert_int_equal(store_receive(text, sizeof(text), fds), 1);
        snprintf(want, sizeof(want), "FDSTORE=1\nFDPOLL=0\nFDNAME=s5-journal-%llu", (unsigned long long) g);
        assert_string_equal(text, want);
        return fds[0];
}

static void expect_removed(uint64_t g) {
        char text[256], want[128];
        int fds[2];

        snprintf(want, sizeof(want), "FDSTOREREMOVE=1\nFDNAME=s5-journal-%llu", (unsigned long long) g);
        assert_int_equal(store_receive(text, sizeof(text), fds), 0);
        assert_string_equal(text, want);
}

static void expect_nothing(void) {
        char c;

        assert_true(recv(store, &c, 1, MSG_DONTWAIT) < 0);
}

/* Lets go of the journal without telling the store, as a crash would. */
static void drop_journal(Session *s) {
        s->journal = journal_free(s->journal);
        s->journal_generation = 0;
}

static Session *session_new_empty(Daemon *d) {
        Session *s = NULL;

        assert_int_equal(session_adopt(d, 5, -EBADF, 1000, ":1.5", false, false, 1, &s), 0);
        return s;
}

static Object *ioas_new_recorded(Session *s, uint32_t id) {
        Object *o;

        assert_int_equal(object_new(s, OBJECT_IOAS, id, &o), 0);
        journal_object(o);
        return o;
}

/* As ioas_map() records a mapping once the kernel made it. */
static void map(Object *ioas, uint64_t iova, uint64_t length, uint32_t backing) {
        struct viommu_mapping m = {
                .iova = iova,
                .length = length,
                .offset = iova * 2,
                .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
                .backing = backing,
        };
        uint64_t backing_length = 0;

        if (backing != VIOMMU_MAPPING_NO_BACKING) {
                uint32_t b;

                assert_int_equal(session_backing_add(ioas->session, NULL, length, &b), 0);
                assert_int_equal(b, backing);
                backing_length = length;
        }
        journal_intent(ioas, (JournalIntent) { .op = JOURNAL_OP_MAP, .iova = iova, .length = length, .flags = m.flags });
        assert_int_equal(ioas_record_map(ioas, &m), 0);
        journal_map(ioas, &m, backing_length);
        journal_done(ioas->session);
}

static void unmap(Object *ioas, uint64_t iova, uint64_t length) {
        uint64_t removed;

        journal_intent(ioas, (JournalIntent) { .op = JOURNAL_OP_UNMAP, .iova = iova, .length = length });
        assert_int_equal(ioas_record_unmap(ioas, iova, length, &removed), 0);
        journal_unmap(ioas, iova, length);
        journal_done(ioas->session);
}

/* Reads the journal in fd as a restart would, into a daemon of its own. */
static int read_back(int fd, Daemon *d, Session **ret, JournalIntent *pending, bool *torn) {
        struct stat st;
        uint64_t generation;
        void *data;
        int r;

        assert_int_equal(fstat(fd, &st), 0);
        data = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        assert_true(data != MAP_FAILED);
        r = journal_read(d, data, st.st_size, -EBADF, ret, pending, &generation, torn);
        munmap(data, st.st_size);
        return r;
}

static void assert_same_mappings(Object *a, Object *b) {
        _cleanup_free_ uint8_t *x = NULL, *y = NULL;
        size_t nx, ny;

        assert_int_equal(viommu_mapping_index_encode(a->ioas.mappings, &x, &nx), 0);
        assert_int_equal(viommu_mapping_index_encode(b->ioas.mappings, &y, &ny), 0);
        assert_int_equal(nx, ny);
        assert_memory_equal(x, y, nx);
}

/* What a writes as JSON, and b read back. */
static void assert_same_json(Session *a, Session *b, int (*to_json)(Session *s, struct json_object **ret)) {
        _cleanup_(json_object_putp) struct json_object *x = NULL, *y = NULL;

        assert_int_equal(to_json(a, &x), 0);
        assert_int_equal(to_json(b, &y), 0);
        if (!json_object_equal(x, y))
                fail_msg("read back:\n%s\nwritten:\n%s", json_object_to_json_string(y), json_object_to_json_string(x));
}

static void assert_same_record(Session *a, Session *b) {
        assert_same_json(a, b, session_record_to_json);
        assert_true(a->mapped_bytes == b->mapped_bytes);
        /* Free slots at the end need not come back. */
        for (size_t i = 0; i < MAX(a->n_backings, b->n_backings); i++) {
                Backing p = i < a->n_backings ? a->backings[i] : (Backing) {};
                Backing q = i < b->n_backings ? b->backings[i] : (Backing) {};

                assert_int_equal(p.refs, q.refs);
                assert_true(p.length == q.length);
        }
}

/* CRC-32C's check value, whole and in pieces at every split. */
static void test_crc(void **state) {
        const char *s = "123456789";

        assert_int_equal(journal_crc(0, s, 9), 0xe3069283);
        for (size_t i = 0; i <= 9; i++)
                assert_int_equal(journal_crc(journal_crc(0, s, i), s + i, 9 - i), 0xe3069283);
}

static void test_round_trip(void **state) {
        _cleanup_free_ char *gone = NULL;
        Daemon d = {}, e = {};
        JournalIntent pending = {};
        Session *s = session_new_empty(&d), *t = NULL;
        Object *a, *b;
        uint64_t copied;
        bool torn;
        int fd;

        /* The snapshot holds what was there before the journal started. */
        a = ioas_new_recorded(s, 2);
        map(a, 0x100000, PAGE, VIOMMU_MAPPING_NO_BACKING);
        fd = begin_journal(s);
        expect_nothing();

        /* Then changes: objects, mappings with and without backings, a copy
         * sharing a backing, unmaps, an object gone. */
        b = ioas_new_recorded(s, 3);
        map(a, 0x200000, 2 * PAGE, 0);
        map(a, 0x300000, PAGE, 1);
        map(a, 0x400000, PAGE, VIOMMU_MAPPING_NO_BACKING);
        journal_intent(b, (JournalIntent) { .op = JOURNAL_OP_COPY, .iova = 0x10000, .length = 2 * PAGE });
        copied = ioas_record_copy(b, a, 0x200000, 2 * PAGE, 0x10000, IOMMU_IOAS_MAP_READABLE);
        assert_true(copied == 2 * PAGE);
        journal_copy(b, a, 0x200000, 2 * PAGE, 0x10000, IOMMU_IOAS_MAP_READABLE);
        journal_done(s);
        unmap(a, 0x200000, 2 * PAGE);           /* backing 0 stays: the copy holds it */
        unmap(a, 0x300000, PAGE);               /* backing 1 goes */
        assert_int_equal(s->backings[0].refs, 1);
        assert_int_equal(s->backings[1].refs, 0);
        assert_int_equal(object_new(s, OBJECT_IOAS, 4, &b), 0);
        journal_object(b);
        gone = strdup(b->path);
        assert_non_null(gone);
        object_forget(b);
        expect_nothing();

        assert_int_equal(read_back(fd, &e, &t, &pending, &torn), 0);
        assert_false(torn);
        assert_int_equal(pending.op, 0);
        assert_same_record(s, t);
        assert_same_mappings(a, object_find(t, a->path));
        assert_int_equal(viommu_mapping_index_count(object_find(t, a->path)->ioas.mappings), 2);
        assert_null(object_find(t, gone));

        session_free(t);
        drop_journal(s);
        session_free(s);
        close(fd);
}

/* A session on a spare entry (entry-pool.h) writes its first journal into
 * the spare's memfd, wiped of what was there, and tells the store nothing;
 * at its end the journal comes back wiped, still naming the session, which
 * a take-over would end, until it is marked spare again. */
static void test_spare_entry(void **state) {
        Daemon d = {}, e = {};
        JournalIntent pending = {};
        Session *s = session_new_empty(&d), *t = NULL;
        Journal *spare = NULL, *first;
        unsigned session = 1;
        bool torn;
        int memfd;

        memfd = memfd_create("test-journal-spare", MFD_CLOEXEC);
        assert_true(memfd >= 0);
        assert_int_equal(journal_entry_session(memfd, &session), -EBADMSG);
        assert_int_equal(pwrite(memfd, "stale", 5, 4096), 5);
        assert_int_equal(journal_from_spare(fcntl(memfd, F_DUPFD_CLOEXEC, 3), &spare), 0);
        assert_int_equal(journal_entry_session(memfd, &session), 0);
        assert_int_equal(session, 0);

        s->iommufd = open("/dev/null", O_RDWR | O_CLOEXEC);
        assert_true(s->iommufd >= 0);
        ioas_new_recorded(s, 2);
        assert_int_equal(journal_begin(s, spare), 0);
        expect_nothing();
        assert_int_equal(s->journal_generation, 1);
        assert_int_equal(journal_entry_session(memfd, &session), 0);
        assert_int_equal(session, 5);
        assert_int_equal(read_back(memfd, &e, &t, &pending, &torn), 0);
        assert_false(torn);
        assert_same_record(s, t);
        session_free(t);

        first = journal_end(s, true);
        assert_non_null(first);
        expect_nothing();
        assert_int_equal(journal_entry_session(memfd, &session), 0);
        assert_int_equal(session, 5);
        assert_int_equal(read_back(memfd, &e, &t, &pending, &torn), -ENODATA);
        journal_mark_spare(first);
        assert_int_equal(journal_entry_session(memfd, &session), 0);
        assert_int_equal(session, 0);
        journal_free(first);
        closep(&s->iommufd);
        s->iommufd = -EBADF;
        session_free(s);
        expect_nothing();
        close(memfd);
}

/* The daemon died writing its last entry, or in the middle of a map. */
static void test_torn_and_open(void **state) {
        Daemon d = {}, e = {}, f = {};
        JournalIntent pending = {};
        Session *s = session_new_empty(&d), *t = NULL;
        struct stat st;
        uint8_t *data;
        Object *a;
        bool torn;
        int fd;

        a = ioas_new_recorded(s, 2);
        fd = begin_journal(s);
        map(a, 0x100000, PAGE, VIOMMU_MAPPING_NO_BACKING);
        journal_intent(a, (JournalIntent) { .op = JOURNAL_OP_MAP, .iova = 0x200000, .length = PAGE,
                                           .flags = IOMMU_IOAS_MAP_FIXED_IOVA });

        assert_int_equal(read_back(fd, &e, &t, &pending, &torn), 0);
        assert_false(torn);
        assert_int_equal(pending.op, JOURNAL_OP_MAP);
        assert_string_equal(pending.path, a->path);
        assert_true(pending.iova == 0x200000 && pending.length == PAGE);
        assert_int_equal(viommu_mapping_index_count(object_find(t, a->path)->ioas.mappings), 1);
        journal_intent_done(&pending);
        session_free(t);

        /* Damage the last entry, the open intent: the journal ends before it. */
        assert_int_equal(fstat(fd, &st), 0);
        data = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        assert_true(data != MAP_FAILED);
        for (size_t off = JOURNAL_ALIGN(sizeof(struct journal_header)), last = 0;; ) {
                struct journal_entry h;

                memcpy(&h, data + off, sizeof(h));
                if (h.type == 0) {
                        data[last + sizeof(h)] ^= 1;
                        break;
                }
                last = off;
                off += sizeof(h) + JOURNAL_ALIGN(h.size);
        }
        munmap(data, st.st_size);
        assert_int_equal(read_back(fd, &f, &t, &pending, &torn), 0);
        assert_true(torn);
        assert_int_equal(pending.op, 0);
        assert_int_equal(viommu_mapping_index_count(object_find(t, a->path)->ioas.mappings), 1);
        session_free(t);

        journal_done(s);
        drop_journal(s);
        session_free(s);
        close(fd);
}

/* Changes past the snapshot's size (and at least 1 MiB) make a new
 * generation, and the old one leaves the store. */
static void test_new_generation(void **state) {
        Daemon d = {}, e = {};
        JournalIntent pending = {};
        Session *s = session_new_empty(&d), *t = NULL;
        Object *a;
        bool torn;
        int fd, fd2;

        a = ioas_new_recorded(s, 2);
        fd = begin_journal(s);
        /* About 150 bytes a map: the second generation comes after some
         * 7,000 maps, with the 1 MiB minimum. */
        for (uint64_t i = 0; recv(store, &(char) { 0 }, 1, MSG_DONTWAIT | MSG_PEEK) < 0; i++) {
                assert_true(i < 20000);
                map(a, i * PAGE, PAGE, VIOMMU_MAPPING_NO_BACKING);
        }
        assert_in_range(viommu_mapping_index_count(a->ioas.mappings), 5000, 10000);
        fd2 = expect_journal(2);
        expect_emptied(fd);
        for (uint64_t i = 0; i < 100; i++)
                unmap(a, i * 2 * PAGE, PAGE);
        expect_nothing();

        assert_int_equal(read_back(fd2, &e, &t, &pending, &torn), 0);
        assert_same_record(s, t);
        assert_same_mappings(a, object_find(t, a->path));
        session_free(t);

        (void) journal_end(s, false);
        expect_removed(2);
        session_free(s);
        close(fd);
        close(fd2);
}

/* A well-formed entry put at *size. */
static void append(uint8_t *data, size_t *size, uint32_t type, const void *p, size_t n) {
        struct journal_entry x = { .type = type, .size = n };

        x.crc = journal_crc(journal_crc(0, &x, sizeof(x)), p, n);
        memcpy(data + *size, &x, sizeof(x));
        if (n > 0)
                memcpy(data + *size + sizeof(x), p, n);
        *size += sizeof(x) + JOURNAL_ALIGN(n);
}

static void append_text(uint8_t *data, size_t *size, uint32_t type, const char *text) {
        append(data, size, type, text, strlen(text));
}

/* A virtio-iommu state of these endpoints and domains, no fault queue. */
#define NONE "{\"id\":0,\"created\":\"0x0\"}"
#define DEV "\"device\":{\"id\":3,\"created\":\"0x1\"}"
#define VIRTIO_STATE(endpoints, domains) \
        "{\"endpoints\":[" endpoints "],\"domains\":[" domains "],\"fault-queue\":" NONE "}"

/* Reads a journal from memory into a daemon of its own, and lets it go:
 * nothing is left behind of one refused. */
static int read_data(const uint8_t *data, size_t size) {
        Daemon e = {};
        JournalIntent pending = {};
        Session *t = NULL;
        uint64_t generation;
        bool torn;
        int r;

        r = journal_read(&e, data, size, -EBADF, &t, &pending, &generation, &torn);
        if (r < 0) {
                assert_null(t);
                assert_null(e.sessions);
        }
        journal_intent_done(&pending);
        session_free(t);
        return r;
}

/* Each breaks a good journal in one place. */
static void test_malformed(void **state) {
        static const char *const cases[] = {
                "bad magic", "other version", "other session", "no record first", "map on an unknown IOAS",
                "two intents open", "done without an intent", "unmap of nothing",
                "map on a region that is not there", "an unknown region removed",
                "virtio-iommu state that is not JSON", "virtio-iommu endpoint ids twice",
                "a virtio-iommu domain without its IOAS",
        };
        Daemon d = {};
        Session *s = session_new_empty(&d);
        Object *a = ioas_new_recorded(s, 2);
        struct stat st;
        uint8_t *good;
        size_t end;
        int fd;

        fd = begin_journal(s);
        map(a, 0x100000, PAGE, VIOMMU_MAPPING_NO_BACKING);
        assert_int_equal(fstat(fd, &st), 0);
        good = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        assert_true(good != MAP_FAILED);
        for (end = JOURNAL_ALIGN(sizeof(struct journal_header));;) {
                struct journal_entry h;

                memcpy(&h, good + end, sizeof(h));
                if (h.type == 0)
                        break;
                end += sizeof(h) + JOURNAL_ALIGN(h.size);
        }

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ uint8_t *data = malloc(st.st_size);
                struct journal_header *h = (struct journal_header *) data;
                size_t size = end;

                assert_non_null(data);
                memcpy(data, good, st.st_size);
                struct journal_map m = { .ioas = 99, .backing = UINT32_MAX, .iova = 0, .length = PAGE };
                struct journal_unmap u = { .ioas = 2, .iova = 0x900000, .length = PAGE };
                struct journal_map on_region = { .ioas = 2, .backing = 0, .iova = 0x800000, .length = PAGE };
                struct journal_region_gone gone = { .id = 7 };
                uint8_t intent[sizeof(struct journal_intent) + 4] = { JOURNAL_OP_MAP };

                memcpy(intent + sizeof(struct journal_intent), "/x/y", 4);
                switch (i) {
                case 0: h->magic[0] = 'X'; break;
                case 1: h->version++; break;
                case 2: h->session++; break;
                case 3: size = JOURNAL_ALIGN(sizeof(*h)); append(data, &size, J_DONE, "", 0); break;
                case 4: append(data, &size, J_MAP, &m, sizeof(m)); break;
                case 5: append(data, &size, J_INTENT, intent, sizeof(intent)); append(data, &size, J_INTENT, intent, sizeof(intent)); break;
                case 6: append(data, &size, J_DONE, "", 0); break;
                case 7: append(data, &size, J_UNMAP, &u, sizeof(u)); break;
                case 8: append(data, &size, J_MAP, &on_region, sizeof(on_region)); break;
                case 9: append(data, &size, J_REGION_GONE, &gone, sizeof(gone)); break;
                case 10: append(data, &size, J_VIRTIO_IOMMU, "{\"endpoints\":", 13); break;
                case 11: append_text(data, &size, J_VIRTIO_IOMMU, VIRTIO_STATE("{\"id\":1," DEV "},{\"id\":1," DEV "}", "")); break;
                case 12: append_text(data, &size, J_VIRTIO_IOMMU, VIRTIO_STATE("", "{\"id\":7,\"hwpt\":" NONE "}")); break;
                }
                memset(data + size, 0, st.st_size - size);
                if (read_data(data, st.st_size) != -EBADMSG)
                        fail_msg("a journal with %s was not refused", cases[i]);
        }

        /* Versions 1 and 2 lack entries of later ones, and are read. */
        for (uint32_t version = 1; version < JOURNAL_VERSION; version++) {
                _cleanup_free_ uint8_t *data = memdup(good, st.st_size);

                assert_non_null(data);
                ((struct journal_header *) data)->version = version;
                assert_int_equal(read_data(data, st.st_size), 0);
        }

        munmap(good, st.st_size);
        drop_journal(s);
        session_free(s);
        close(fd);
}

/* Expects the store to be given (fd >= 0) or to drop region id's memfd. */
static void expect_region(unsigned id, bool added) {
        char text[256], want[128];
        int fds[2];
        size_t n = store_receive(text, sizeof(text), fds);

        snprintf(want, sizeof(want), "%s\nFDNAME=s5-memory-%u", added ? "FDSTORE=1\nFDPOLL=0" : "FDSTOREREMOVE=1",
                 id);
        assert_string_equal(text, want);
        assert_int_equal(n, added ? 1 : 0);
        if (n > 0)
                close(fds[0]);
}

/* As ioas_map_guest() records a mapping of guest memory. */
static void map_region(Object *ioas, uint64_t iova, const GuestRegion *g) {
        struct viommu_mapping m = {
                .iova = iova,
                .length = PAGE,
                .offset = g->offset,
                .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
                .backing = g->backing,
        };

        session_backing_ref(ioas->session, g->backing);
        assert_int_equal(ioas_record_map(ioas, &m), 0);
        journal_map(ioas, &m, 0);
}

static void assert_same_regions(Session *a, Session *b) {
        assert_int_equal(a->n_regions, b->n_regions);
        for (size_t i = 0; i < a->n_regions; i++) {
                assert_int_equal(a->regions[i].id, b->regions[i].id);
                assert_int_equal(a->regions[i].backing, b->regions[i].backing);
                assert_true(a->regions[i].gpa == b->regions[i].gpa && a->regions[i].size == b->regions[i].size &&
                            a->regions[i].offset == b->regions[i].offset);
                assert_int_equal(b->regions[i].fd, -EBADF);     /* the store gives it back */
        }
}

/* Guest memory regions come back from the snapshot and from the changes,
 * with the references of the mappings made from them; one removed stays
 * removed. */
static void test_regions(void **state) {
        Daemon d = {}, e = {}, e2 = {};
        JournalIntent pending = {};
        Session *s = session_new_empty(&d), *t = NULL;
        _cleanup_close_ int memfd = memfd_create("guest", MFD_CLOEXEC);
        GuestRegion *g1, *g2, *g3;
        Object *a;
        bool torn;
        int fd, fd2;

        assert_true(memfd >= 0);
        assert_int_equal(ftruncate(memfd, 16 * PAGE), 0);
        a = ioas_new_recorded(s, 2);
        assert_int_equal(guest_memory_add(s, memfd, 0, 0x80000000, 4 * PAGE, &g1), 0);
        expect_region(1, true);
        map_region(a, 0x10000, g1);
        fd = begin_journal(s);

        assert_int_equal(guest_memory_add(s, memfd, 4 * PAGE, 0x100000000, 4 * PAGE, &g2), 0);
        expect_region(2, true);
        g1 = guest_memory_find(s, 1);
        map_region(a, 0x20000, g2);
        map_region(a, 0x30000, g1);
        assert_int_equal(guest_memory_add(s, memfd, 8 * PAGE, 0x200000000, 4 * PAGE, &g3), 0);
        expect_region(3, true);
        assert_int_equal(guest_memory_remove(s, g3), 0);
        expect_region(3, false);
        assert_int_equal(guest_memory_remove(s, guest_memory_find(s, 1)), -EBUSY);
        expect_nothing();

        assert_int_equal(read_back(fd, &e, &t, &pending, &torn), 0);
        assert_same_record(s, t);
        assert_same_regions(s, t);
        assert_int_equal(guest_memory_users(t, guest_memory_find(t, 1)), 2);
        assert_int_equal(guest_memory_users(t, guest_memory_find(t, 2)), 1);
        assert_int_equal(t->next_region, s->next_region);
        session_free(t);
        t = NULL;
        expect_region(1, false);
        expect_region(2, false);

        /* A new generation's snapshot holds them as they are now. */
        assert_int_equal(journal_start(s), 0);
        fd2 = expect_journal(2);
        expect_emptied(fd);
        assert_int_equal(read_back(fd2, &e2, &t, &pending, &torn), 0);
        assert_same_record(s, t);
        assert_same_regions(s, t);
        session_free(t);
        expect_region(1, false);
        expect_region(2, false);

        drop_journal(s);
        session_abandon(s);
        close(fd);
        close(fd2);
}

static Object *device_new_recorded(Session *s, uint32_t id) {
        Object *o;

        assert_int_equal(object_new(s, OBJECT_DEVICE, id, &o), 0);
        o->device.name = strdup("0000:00:04.0");
        assert_non_null(o->device.name);
        o->device.ops = device_ops_for(false);
        journal_object(o);
        return o;
}

/* The virtio-iommu backend's endpoints, domains (as an ATTACH leaves them,
 * with a paging HWPT or without) and fault queue come back from the
 * snapshot and from the changes, references to objects gone included. */
static void test_virtio_iommu(void **state) {
        Daemon d = {}, e = {}, e2 = {};
        JournalIntent pending = {};
        Session *s = session_new_empty(&d), *t = NULL;
        Object *ioas = ioas_new_recorded(s, 2), *dev = device_new_recorded(s, 3), *dev2 = device_new_recorded(s, 4);
        _cleanup_(json_object_putp) struct json_object *j = NULL;
        char text[512];
        bool torn;
        int fd, fd2;

        /* Before the journal: in the snapshot. */
        assert_int_equal(virtio_iommu_add_endpoint(s, dev, 1), 0);
        fd = begin_journal(s);

        /* Then: endpoints added and removed, domains and the fault queue as
         * the kernel's part left them (here, set as the journal has them). */
        assert_int_equal(virtio_iommu_add_endpoint(s, dev2, 2), 0);
        assert_int_equal(virtio_iommu_add_endpoint(s, dev2, 5), -EEXIST);
        assert_int_equal(virtio_iommu_remove_endpoint(s, 1), 0);
        assert_int_equal(virtio_iommu_add_endpoint(s, dev, 6), 0);
        assert_int_equal(virtio_iommu_to_json(s, &j), 0);
        snprintf(text, sizeof(text),
                 "{\"endpoints\":%s,\"domains\":[{\"id\":7,\"ioas\":{\"id\":2,\"created\":\"0x%llx\"},"
                 "\"hwpt\":{\"id\":8,\"created\":\"0x9\"}},{\"id\":9,\"ioas\":{\"id\":2,"
                 "\"created\":\"0x%llx\"},\"hwpt\":" NONE "}],\"fault-queue\":{\"id\":10,\"created\":\"0xa\"}}",
                 json_object_to_json_string(json_object_object_get(j, "endpoints")),
                 (unsigned long long) ioas->created, (unsigned long long) ioas->created);
        json_object_put(j);
        j = json_tokener_parse(text);
        assert_non_null(j);
        assert_int_equal(virtio_iommu_from_json(s, j), 0);
        journal_virtio_iommu(s);
        expect_nothing();

        assert_int_equal(read_back(fd, &e, &t, &pending, &torn), 0);
        assert_same_record(s, t);
        assert_same_json(s, t, virtio_iommu_to_json);
        /* The endpoints are the devices' of the run read back. */
        assert_int_equal(virtio_iommu_add_endpoint(t, object_find(t, dev->path), 11), -EEXIST);
        assert_int_equal(virtio_iommu_remove_endpoint(t, 1), -ENOENT);
        session_abandon(t);
        t = NULL;

        /* A new generation's snapshot holds it as it is now. */
        assert_int_equal(journal_start(s), 0);
        fd2 = expect_journal(2);
        expect_emptied(fd);
        assert_int_equal(read_back(fd2, &e2, &t, &pending, &torn), 0);
        assert_same_json(s, t, virtio_iommu_to_json);
        session_abandon(t);

        drop_journal(s);
        session_abandon(s);
        close(fd);
        close(fd2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_crc),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_spare_entry),
                cmocka_unit_test(test_torn_and_open),
                cmocka_unit_test(test_new_generation),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_regions),
                cmocka_unit_test(test_virtio_iommu),
        };

        return cmocka_run_group_tests_name("journal", tests, setup, teardown);
}
