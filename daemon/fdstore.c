/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdstore.h"
#include "notify.h"
#include "util.h"

bool fdstore_available(void) {
        return getenv("NOTIFY_SOCKET");
}

const char *fdstore_name(Session *s, Object *o, char buf[static FDSTORE_NAME_MAX]) {
        const char *leaf;

        if (!o) {
                if (s->older_entry)
                        snprintf(buf, FDSTORE_NAME_MAX, "s%u-iommufd", s->id);
                else if (s->slot > 0)
                        snprintf(buf, FDSTORE_NAME_MAX, "slot%u", s->slot);
                else
                        snprintf(buf, FDSTORE_NAME_MAX, "s%u", s->id);
                return buf;
        }
        /* The last element of the object path: the kernel id, or "unboundN"
         * for a device of a delegated session, which has none. */
        leaf = strrchr(o->path, '/');
        snprintf(buf, FDSTORE_NAME_MAX, "s%u-%s-%s", s->id, object_type_to_string(o->type),
                 leaf ? leaf + 1 : o->path);
        return buf;
}

const char *fdstore_journal_name(unsigned session, uint64_t generation, char buf[static FDSTORE_NAME_MAX]) {
        snprintf(buf, FDSTORE_NAME_MAX, "s%u-journal-%" PRIu64, session, generation);
        return buf;
}

int fdstore_add_many(const char *name, const int *fds, size_t n_fds) {
        char msg[32 + FDSTORE_NAME_MAX];

        assert(n_fds > 0 && n_fds <= FDSTORE_FDS_MAX);
        if (!fdstore_available())
                return 0;
        /* FDPOLL=0: the daemon removes each entry itself, so the manager
         * need not watch the fds for a hang-up, which an iommufd cannot
         * report and a memfd never has. A manager that does not know the
         * key ignores it. */
        snprintf(msg, sizeof(msg), "FDSTORE=1\nFDPOLL=0\nFDNAME=%s", name);
        return notify_now(msg, fds, n_fds);
}

int fdstore_add(const char *name, int fd) {
        return fdstore_add_many(name, &fd, 1);
}

void fdstore_remove(const char *name) {
        char msg[32 + FDSTORE_NAME_MAX];

        if (!fdstore_available())
                return;
        snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
        notify_in_order(msg);
}
