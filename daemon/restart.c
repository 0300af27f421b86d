/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "channel.h"
#include "device.h"
#include "fdstore.h"
#include "frame-channel.h"
#include "guest-memory.h"
#include "hotplug.h"
#include "json-util.h"
#include "journal-format.h"
#include "journal.h"
#include "log.h"
#include "reconcile.h"
#include "restart.h"
#include "session-dbus.h"
#include "util.h"
#include "viommu-features.h"
#include "viommu-iommufd.h"
#include "virtio-iommu.h"

int restart_hand_over(Daemon *d) {
        int n = 0;

        /* Each session's journal is current: the next run reads it. Its
         * VMM's channels end with this run and point at it: they go first. */
        while (d->sessions) {
                Session *s = d->sessions;

                log_session(s, "handed over to the next run");
                channels_drop_session(d, s);
                frame_channels_drop_session(d, s);
                session_abandon(s);
                n++;
        }
        return n;
}

/* The fd the store gave back under name, taken out of the list; -ENOENT. */
static int take_fd(int n_fds, char **names, bool *taken, const char *name) {
        for (int i = 0; i < n_fds; i++)
                if (!taken[i] && streq(names[i], name)) {
                        taken[i] = true;
                        return SD_LISTEN_FDS_START + i;
                }
        return -ENOENT;
}

/* Gives the session's devices their cdevs back, its guest memory its memfds,
 * its virtio-iommu backend its fault queue, and the session its owner. */
static int session_resume(Session *s, int n_fds, char **names, bool *taken) {
        char name[FDSTORE_NAME_MAX];
        Object *fq;
        int r;

        for (Object *o = s->objects; o; o = o->objects_next) {
                if (o->type != OBJECT_DEVICE || device_is_mock(o))
                        continue;
                r = take_fd(n_fds, names, taken, fdstore_name(s, o, name));
                if (r < 0)
                        return log_error_errno(r, "session %u: no fd for device %s in the store", s->id,
                                               o->device.name);
                o->device.fd = r;
                if (o->device.bound && hotplug_watch_device(o) < 0)
                        log_warning("session %u: %s: no unplug notification; an unplug waits for the session "
                                    "to end", s->id, o->device.name);
        }
        for (size_t i = 0; i < s->n_regions; i++) {
                GuestRegion *g = &s->regions[i];

                r = take_fd(n_fds, names, taken, guest_memory_fdstore_name(s, g, name, sizeof(name)));
                if (r < 0)
                        return log_error_errno(r, "session %u: no memfd for guest memory region %u in the store",
                                               s->id, g->id);
                r = guest_memory_resume(s, g, r);
                if (r < 0)
                        return log_error_errno(r, "session %u: cannot map guest memory region %u: %m", s->id,
                                               g->id);
        }
        fq = virtio_iommu_fault_queue(s);
        if (fq) {
                r = take_fd(n_fds, names, taken, fdstore_name(s, fq, name));
                if (r < 0)
                        return log_error_errno(r, "session %u: no fd for its virtio-iommu fault queue in the store",
                                               s->id);
                r = virtio_iommu_resume(s, r);
                if (r < 0)
                        return log_error_errno(r, "session %u: cannot read its virtio-iommu fault queue: %m", s->id);
        }
        r = session_owner_reclaim(s);
        if (r == -ESRCH)
                return log_error_errno(r, "session %u: its owner %s left the bus during the restart (the name "
                                       "is gone, or another user's)", s->id, s->owner);
        if (r < 0)
                return log_error_errno(r, "session %u: cannot ask the bus for its owner %s: %m", s->id,
                                       s->owner);
        return 0;
}

static bool have_ipc_lock(void) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

        /* Unknown: taken as there, which leaves the pins where they are. */
        if (syscall(SYS_capget, &header, data) < 0)
                return true;
        return data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK);
}

/*
 * The kernel charges pinned pages to the process that mapped them (its
 * VmPin, and unless it has CAP_IPC_LOCK its user's locked memory), here the
 * previous run, gone. IOMMU_IOAS_CHANGE_PROCESS (Linux 6.13) charges them to
 * the caller instead, but only pins charged to a locked-memory limit: those
 * of a run with CAP_IPC_LOCK it would hand over without their charge, and
 * unpinning them later would take from this run what it never had. The
 * previous run had what this one has. Says once why the pins stay.
 */
static bool pins_can_move(Daemon *d) {
        const enum viommu_feature f = VIOMMU_FEATURE_IOAS_CHANGE_PROCESS;
        const char *stay = "The pinned pages of the sessions taken over stay charged to the previous run (its "
                           "VmPin) until they are unmapped";

        if (!viommu_features_has(d->features, f)) {
                log_notice("%s: charging them to this run needs %s, which Linux %s brings", stay,
                           viommu_feature_interface(f), viommu_feature_since(f));
                return false;
        }
        if (have_ipc_lock()) {
                log_notice("%s: with CAP_IPC_LOCK they are charged to no locked-memory limit, and %s moves only "
                           "pins that are", stay, viommu_feature_interface(f));
                return false;
        }
        return true;
}

/* It moves file mappings only, and refuses (changing nothing) an iommufd
 * with any other. A delegated session's pages are its VMM's, charged to the
 * VMM, which is still there. The limit "pinned-bytes" needs nothing: it
 * counts what the record says is mapped. */
static void take_over_pins(Session *s) {
        int r;

        if (s->delegated)
                return;
        r = viommu_ioas_change_process(s->iommufd);
        if (r == -EINVAL)
                log_warning("session %u: its pinned pages stay charged to the previous run: it has mappings not "
                            "made from a file, which IOMMU_IOAS_CHANGE_PROCESS cannot move", s->id);
        else if (r < 0)
                log_warning_errno(r, "session %u: its pinned pages stay charged to the previous run: "
                                  "IOMMU_IOAS_CHANGE_PROCESS failed: %m", s->id);
        else
                log_debug("session %u: its pinned pages are charged to this run", s->id);
}

/* The fd of the session's newest journal generation: the first, which came
 * with its iommufd (entry_journal, -EBADF if none), or one stored on its
 * own. Older ones are taken out of the store and closed, the first emptied.
 * -ENOENT if there is none. */
static int take_journal(unsigned id, int entry_journal, int n_fds, char **names, bool *taken,
                        uint64_t *ret_generation) {
        char prefix[FDSTORE_NAME_MAX];
        uint64_t best_generation = 0;
        struct stat st;
        int best = -ENOENT;

        /* Emptied to its header: a later generation replaced it. */
        if (entry_journal >= 0 && fstat(entry_journal, &st) >= 0 && st.st_size > (off_t) sizeof(struct journal_header)) {
                best = entry_journal;
                best_generation = 1;
        }
        snprintf(prefix, sizeof(prefix), "s%u-journal-", id);
        for (int i = 0; i < n_fds; i++) {
                const char *g = startswith(names[i], prefix);
                uint64_t generation;

                if (taken[i] || !g || safe_atou64(g, &generation) < 0)
                        continue;
                taken[i] = true;
                if (best >= 0 && generation < best_generation) {
                        fdstore_remove(names[i]);
                        (void) close(SD_LISTEN_FDS_START + i);
                        continue;
                }
                if (best == entry_journal)
                        journal_empty(entry_journal);
                else if (best >= 0) {
                        fdstore_remove(names[best - SD_LISTEN_FDS_START]);
                        (void) close(best);
                }
                best = SD_LISTEN_FDS_START + i;
                best_generation = generation;
        }
        *ret_generation = best_generation;
        return best;
}

static int read_journal(Daemon *d, unsigned id, int journal_fd, int iommufd, Session **ret,
                        JournalIntent *ret_pending) {
        uint64_t generation;
        struct stat st;
        bool torn;
        void *data;
        int r;

        if (fstat(journal_fd, &st) < 0)
                return -errno;
        if (st.st_size == 0)
                return -EBADMSG;
        data = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, journal_fd, 0);
        if (data == MAP_FAILED)
                return -errno;
        r = journal_read(d, data, st.st_size, iommufd, ret, ret_pending, &generation, &torn);
        munmap(data, st.st_size);
        if (r < 0)
                return r;
        if (torn)
                log_notice("session %u: its journal ends in an entry the previous run did not finish writing; "
                           "dropped", id);
        (*ret)->journal_generation = generation;
        return 0;
}

/* A first journal named on its own is an older run's ("sN-journal-1"):
 * read, then replaced or ended, it leaves the store. */
static void forget_older_journal(unsigned id, uint64_t generation, bool in_entry) {
        char name[FDSTORE_NAME_MAX];

        if (generation == 1 && !in_entry)
                fdstore_remove(fdstore_journal_name(id, generation, name));
}

/* Session id from its entry in the store, entry_name (slot, or 0 for an
 * older run's "sN"): its iommufd, and the first generation of its journal
 * if the entry still holds one (else -EBADF). */
static int take_over_one(Daemon *d, unsigned id, unsigned slot, const char *entry_name, int fd, int entry_journal,
                         int n_fds, char **names, bool *taken, bool move_pins) {
        _cleanup_(journal_intent_done) JournalIntent pending = {};
        _cleanup_close_ int first = entry_journal, journal_fd = -EBADF;
        char name[FDSTORE_NAME_MAX];
        uint64_t generation;
        bool in_entry;
        Session *s = NULL;
        int r;

        journal_fd = take_journal(id, first, n_fds, names, taken, &generation);
        in_entry = journal_fd >= 0 && journal_fd == first;
        if (in_entry)
                first = -EBADF;
        if (journal_fd < 0)
                r = log_error_errno(journal_fd, "session %u: no journal in the fd store; it ends", id);
        else {
                r = read_journal(d, id, journal_fd, fd, &s, &pending);
                if (r == -ENODATA)
                        log_notice("session %u ended as the previous run went; its fd store entry is dropped", id);
                else if (r < 0)
                        log_error_errno(r, "session %u: its journal (generation %" PRIu64 ") is not usable (%m); "
                                        "it ends", id, generation);
                else {
                        s->slot = slot;
                        s->older_entry = !streq(entry_name, fdstore_name(s, NULL, name));
                }
        }
        if (r < 0) {
                if (journal_fd >= 0 && !in_entry)
                        fdstore_remove(fdstore_journal_name(id, generation, name));
                /* Closing the last copy of the iommufd ends it in the kernel. */
                fdstore_remove(entry_name);
                (void) close(fd);
                return r;
        }

        r = session_resume(s, n_fds, names, taken);
        if (r >= 0)
                r = reconcile_session(s, &pending);
        if (r < 0) {
                session_free(s);
                forget_older_journal(id, generation, in_entry);
                return r;
        }
        /* A new generation, without what was left open: the old one goes. */
        r = journal_start(s);
        if (r < 0)
                log_warning_errno(r, "session %u: cannot start its journal anew: %m", id);
        /* The first generation, read or stale, cannot leave the session's
         * entry: emptied, no later take-over mistakes it for the newest. */
        if (in_entry)
                journal_empty(journal_fd);
        forget_older_journal(id, generation, in_entry);
        if (move_pins)
                take_over_pins(s);
        log_session(s, "taken over: %u objects, %u devices", s->n_objects, s->n_devices);
        return 0;
}

/* Of the fds the store gave back under the name at index i (a session's
 * entry), the iommufd (a character device) and the journal (a memfd), each
 * -EBADF if missing; all of them marked taken. -EBADMSG for anything else,
 * which is closed. */
static int take_entry(int n_fds, char **names, bool *taken, int i, int *ret_iommufd, int *ret_journal) {
        int iommufd = -EBADF, journal = -EBADF, r = 0;

        for (int k = i; k < n_fds; k++) {
                int fd = SD_LISTEN_FDS_START + k;
                struct stat st;

                if (taken[k] || !streq(names[k], names[i]))
                        continue;
                taken[k] = true;
                if (fstat(fd, &st) < 0)
                        r = -errno;
                else if (S_ISCHR(st.st_mode) && iommufd < 0)
                        iommufd = fd;
                else if (S_ISREG(st.st_mode) && journal < 0)
                        journal = fd;
                else
                        r = -EBADMSG;
                if (fd != iommufd && fd != journal)
                        (void) close(fd);
        }
        *ret_iommufd = iommufd;
        *ret_journal = journal;
        return r;
}

int restart_take_over(Daemon *d) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ bool *taken = NULL;
        int n_fds, n = 0;
        int move_pins = -1;

        n_fds = sd_listen_fds_with_names(true, &names);
        if (n_fds <= 0)
                return n_fds;
        taken = calloc(n_fds, sizeof(bool));
        if (!taken)
                return log_error_errno(-ENOMEM, "Out of memory");

        for (int i = 0; i < n_fds; i++) {
                int iommufd, journal, r;
                unsigned id, slot = 0;
                int end = 0;

                if (taken[i])
                        continue;
                /* sscanf() says 1 for "s2-journal-1" too: the name must end
                 * where the match did, or be an older run's "sN-iommufd". */
                if (sscanf(names[i], "slot%u%n", &slot, &end) == 1 && end > 0 && names[i][end] == 0 && slot > 0)
                        entry_pool_seen_slot(&d->entry_pool, slot);
                else if (sscanf(names[i], "s%u%n", &id, &end) != 1 || end == 0 ||
                         (names[i][end] != 0 && !streq(names[i] + end, "-iommufd")))
                        continue;
                r = take_entry(n_fds, names, taken, i, &iommufd, &journal);
                /* A slot's journal, emptied or not, names its session. */
                if (r >= 0 && slot > 0 && (journal < 0 || journal_entry_session(journal, &id) < 0))
                        r = -EBADMSG;
                if (r < 0 || iommufd < 0) {
                        log_warning("fd store entry %s is not a session's iommufd and journal; dropped", names[i]);
                        fdstore_remove(names[i]);
                        closep(&iommufd);
                        closep(&journal);
                        continue;
                }
                if (slot > 0 && id == 0) {
                        _cleanup_(journal_freep) Journal *spare = NULL;

                        if (journal_from_spare(journal, &spare) >= 0 &&
                            entry_pool_put(&d->entry_pool, slot, iommufd, spare) > 0)
                                TAKE_PTR(spare);
                        else {
                                fdstore_remove(names[i]);
                                closep(&iommufd);
                        }
                        continue;
                }
                /* Asked once there is a session: spares have no pins. */
                if (move_pins < 0)
                        move_pins = pins_can_move(d);
                /* On failure the session ended, and with its fd closed the
                 * kernel let go of whatever it held. */
                if (take_over_one(d, id, slot, names[i], iommufd, journal, n_fds, names, taken, move_pins) >= 0)
                        n++;
        }

        /* What no session claimed is stale: out of the store, and closed. */
        for (int i = 0; i < n_fds; i++)
                if (!taken[i]) {
                        log_warning("fd store entry %s belongs to no session taken over; dropped", names[i]);
                        fdstore_remove(names[i]);
                        (void) close(SD_LISTEN_FDS_START + i);
                }
        return n;
}
