/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Spare fd store entries. A session's iommufd and the first generation of
 * its journal share an entry, "slotK" (fdstore.h). When a session ends with
 * every object it made destroyed, its iommufd is as empty as a new one: the
 * entry stays in the store, its journal marked spare, for the next session
 * to open. Under systemd each fd taken out of the store costs the service
 * manager a process (it closes them in a child) and each fd put in two
 * reads of /proc; a session on a spare costs it neither. A restart takes
 * the spares over with the sessions (restart.c).
 *
 * Only an iommufd that nothing outside the daemon's record ever held is
 * reused: not a delegated session's (its VMM has a copy), not one that
 * bound a device (the store's copy of the cdev keeps the binding until the
 * service manager gets round to closing it).
 */

#include <stddef.h>

typedef struct Journal Journal;

#define ENTRY_POOL_MAX 16

typedef struct SpareEntry {
        unsigned slot;
        int iommufd;
        Journal *journal;       /* marked spare (journal_mark_spare()) */
} SpareEntry;

typedef struct EntryPool {
        SpareEntry spares[ENTRY_POOL_MAX];
        size_t n_spares;
        unsigned last_slot;     /* the highest in the store */
} EntryPool;

/* A slot no entry in the store has. */
unsigned entry_pool_new_slot(EntryPool *p);
/* A slot the store holds, seen at a take-over. */
void entry_pool_seen_slot(EntryPool *p, unsigned slot);
/* 1 with a spare's slot, iommufd and journal, now the caller's; 0 when
 * there is none. */
int entry_pool_take(EntryPool *p, unsigned *ret_slot, int *ret_iommufd, Journal **ret_journal);
/* Keeps the entry of slot, whose iommufd holds no object, for the next
 * session, its journal (journal_end()'s first) marked spare: 1, both now
 * the pool's; 0 when the pool is full, both still the caller's, who takes
 * the entry out of the store. */
int entry_pool_put(EntryPool *p, unsigned slot, int iommufd, Journal *journal);
/* Closes the daemon's copies of the spares; the store keeps its own. */
void entry_pool_free(EntryPool *p);
