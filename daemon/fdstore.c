/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "fdstore.h"

bool fdstore_available(void) {
        return getenv("NOTIFY_SOCKET");
}

const char *fdstore_name(Session *s, Object *o, char buf[static FDSTORE_NAME_MAX]) {
        const char *leaf;

        if (!o) {
                snprintf(buf, FDSTORE_NAME_MAX, "s%u-iommufd", s->id);
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

int fdstore_add(const char *name, int fd) {
        char msg[32 + FDSTORE_NAME_MAX];

        if (!fdstore_available())
                return 0;
        snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
        return sd_pid_notify_with_fds(0, false, msg, &fd, 1);
}

void fdstore_remove(const char *name) {
        char msg[32 + FDSTORE_NAME_MAX];

        if (!fdstore_available())
                return;
        snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
        (void) sd_pid_notify(0, false, msg);
}
