/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <unistd.h>

#include "entry-pool.h"
#include "journal.h"
#include "util.h"

unsigned entry_pool_new_slot(EntryPool *p) {
        return ++p->last_slot;
}

void entry_pool_seen_slot(EntryPool *p, unsigned slot) {
        p->last_slot = MAX(p->last_slot, slot);
}

int entry_pool_take(EntryPool *p, unsigned *ret_slot, int *ret_iommufd, Journal **ret_journal) {
        SpareEntry *e;

        if (p->n_spares == 0)
                return 0;
        e = &p->spares[--p->n_spares];
        *ret_slot = e->slot;
        *ret_iommufd = e->iommufd;
        *ret_journal = e->journal;
        return 1;
}

int entry_pool_put(EntryPool *p, unsigned slot, int iommufd, Journal *journal) {
        if (p->n_spares == ENTRY_POOL_MAX)
                return 0;
        journal_mark_spare(journal);
        p->spares[p->n_spares++] = (SpareEntry) { .slot = slot, .iommufd = iommufd, .journal = journal };
        return 1;
}

void entry_pool_free(EntryPool *p) {
        for (size_t i = 0; i < p->n_spares; i++) {
                (void) close(p->spares[i].iommufd);
                journal_free(p->spares[i].journal);
        }
        p->n_spares = 0;
}
