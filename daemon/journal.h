/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A session's journal: what a restart needs to take the session over, kept
 * current as the session changes, so that it survives the daemon's death
 * (kill -9, an abort, the OOM killer) and not only a clean stop. It lives in
 * a memfd that systemd's fd store keeps beside the session's iommufd: no
 * disk, and it goes when the session's kernel objects go. The first
 * generation shares the session's entry "slotK" with the iommufd, so that
 * opening a session costs one message to the store, or none on a spare
 * entry (entry-pool.h); later ones are "sN-journal-G", and the first, which
 * cannot leave the entry alone, is emptied down to its header when one
 * replaces it.
 *
 * The memfd holds a header and checksummed entries: a snapshot (the
 * session's record, its backings, its guest memory regions, each IOAS's
 * mappings in compact form and its virtio-iommu backend's state),
 * then every change since, written before the reply that reports it. A
 * change that asks the kernel is announced by an intent before the kernel
 * call and closed after it; a take-over (restart.c) reconciles an intent a
 * crash left open with the kernel. When the changes outgrow the snapshot, a
 * new generation with a fresh snapshot takes the old one's place in the
 * store. Without a service manager there is no store and no journal.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

struct viommu_mapping;

typedef enum JournalOp {
        JOURNAL_OP_MAP = 1,     /* into an IOAS: iova (with FIXED_IOVA), length, flags */
        JOURNAL_OP_UNMAP,       /* from an IOAS: iova, length */
        JOURNAL_OP_COPY,        /* into an IOAS: iova (with FIXED_IOVA), length, flags */
        JOURNAL_OP_DEVICE,      /* an attachment of a device: the whole device, or pasid */
        JOURNAL_OP_DESTROY,     /* of an object */
        _JOURNAL_OP_MAX,
} JournalOp;

#define JOURNAL_NO_PASID UINT32_MAX

/* What an operation is about to do; read back, one no outcome closed. */
typedef struct JournalIntent {
        JournalOp op;
        uint32_t flags;         /* MAP, COPY: IOMMU_IOAS_MAP_* */
        uint32_t pasid;         /* DEVICE: the PASID, or JOURNAL_NO_PASID for the whole device */
        uint32_t target;        /* DEVICE: the IOAS or HWPT it attaches to (kernel id); 0 detaches */
        uint64_t iova, length;
        char *path;             /* read back: the object it concerns */
} JournalIntent;

void journal_intent_done(JournalIntent *i);

/* ---- writing, as the session changes ------------------------------------ */

/* A new session goes into the fd store: its iommufd and the first
 * generation of its journal, under one name. Without a journal (it could not
 * be made; logged) the iommufd goes alone and a crash would end the
 * session. A session on a spare entry (entry-pool.h) writes its journal into
 * the spare's, spare, which it takes, and sends the store nothing. A no-op
 * without a fd store; on failure neither is stored. */
int journal_begin(Session *s, Journal *spare);
/* Starts the session's journal anew: a new generation holding a snapshot of
 * the session goes into the fd store, and the one it replaces out. A no-op
 * without a fd store. On failure the session goes on with its old journal,
 * or none (and logs why: a crash would then end it). */
int journal_start(Session *s);
/* Lets go of the journal, leaving the store's copy for the next run. */
Journal *journal_free(Journal *j);
static inline void journal_freep(Journal **j) {
        journal_free(*j);
}
/* The session ends: its journal leaves the store, so that a crash from here
 * on ends the session in the next run instead of taking it over. With
 * keep_first, a first generation is returned instead, wiped (its header
 * still names the session, which a take-over then ends), for a spare entry;
 * NULL when there is none. */
Journal *journal_end(Session *s, bool keep_first);

/* An entry's first journal memfd, emptied: only its header is left, which
 * still names the session, for a take-over to find its later generations. */
void journal_empty(int fd);
/* Marks j, a first journal journal_end() returned, spare: a header naming
 * no session (0). */
void journal_mark_spare(Journal *j);
/* A spare's journal memfd, taken over: the Journal that holds it, wiped.
 * The fd is the Journal's, or closed on failure. */
int journal_from_spare(int fd, Journal **ret);
/* The session an entry's first journal names, 0 for a spare; -EBADMSG if
 * the memfd holds no header. */
int journal_entry_session(int fd, unsigned *ret);

/* Before a kernel call that changes the session, about object o. Intents
 * nest: an operation made of others is one intent, closed by the outermost
 * journal_done(). */
void journal_intent(Object *o, JournalIntent i);
void journal_done(Session *s);

/* What changed: an object's record (made, or a device's attachments), an
 * object gone, the session's counters, mappings. */
void journal_object(Object *o);
void journal_forget(Object *o);
void journal_counters(Session *s);
void journal_map(Object *ioas, const struct viommu_mapping *m, uint64_t backing_length);
void journal_unmap(Object *ioas, uint64_t iova, uint64_t length);
void journal_copy(Object *dst, Object *src, uint64_t src_iova, uint64_t length, uint64_t dst_iova,
                  uint32_t flags);
void journal_region(Session *s, const GuestRegion *g);
void journal_region_removed(Session *s, uint32_t id);
/* The virtio-iommu backend's state, whole, as it is now. */
void journal_virtio_iommu(Session *s);

#if ENABLE_TEST_HOOKS
/* Test only: makes the journal one a take-over refuses. */
void journal_damage(Journal *j);
/* Test only: stores the session as a run before journal_begin() did, for
 * a restart to take it over from there: its iommufd alone as "sN-iommufd",
 * a first journal as "sN-journal-1" (later ones are stored so already). The
 * daemon must restart next. */
int journal_store_as_older_run(Session *s);
#endif

/* ---- reading, at take-over ---------------------------------------------- */

/*
 * Rebuilds the session that the journal in data records, around iommufd,
 * asking the kernel nothing, as record.c does; takes iommufd on success.
 * A torn last entry (the daemon died writing it) ends the journal there,
 * and *ret_torn says so. *ret_pending gets the intent left open, if any
 * (op 0 otherwise), *ret_generation the journal's generation. -ENODATA for
 * a journal wiped as its session ended, -EBADMSG for one that is not one,
 * from another version, or does not hold together.
 */
int journal_read(Daemon *d, const void *data, size_t size, int iommufd, Session **ret, JournalIntent *ret_pending,
                 uint64_t *ret_generation, bool *ret_torn);
