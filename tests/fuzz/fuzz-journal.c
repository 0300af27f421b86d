/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A session's journal as a restarted viommud reads it from the fd store
 * (daemon/journal-read.c): any bytes give a session, -EBADMSG or, for a
 * header and no entry, -ENODATA, which leave nothing behind; and a session
 * read back holds together: its record writes out, its mapped bytes are
 * what its IOASes map, and each backing is held by a mapping. The sessions have no iommufd, so nothing
 * reaches the kernel.
 */

#include <errno.h>

#include "fuzz.h"
#include "journal.h"
#include "json-util.h"
#include "mapping-index.h"
#include "record.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(json_object_putp) struct json_object *record = NULL;
        JournalIntent pending = {};
        uint64_t generation, mapped = 0;
        Daemon d = {};
        Session *s = NULL;
        bool torn;
        int r;

        r = journal_read(&d, data, size, -EBADF, &s, &pending, &generation, &torn);
        if (r < 0) {
                fuzz_check((r == -EBADMSG || r == -EEXIST || r == -ENODATA) && !s && !d.sessions && !pending.path);
                return 0;
        }

        fuzz_check(!pending.op == !pending.path);
        fuzz_check(session_record_to_json(s, &record) == 0);
        for (Object *o = s->objects; o; o = o->objects_next)
                if (o->type == OBJECT_IOAS) {
                        fuzz_check(viommu_mapping_index_verify(o->ioas.mappings) == 0);
                        mapped += viommu_mapping_index_bytes(o->ioas.mappings);
                }
        fuzz_check(mapped == s->mapped_bytes);
        for (size_t i = 0; i < s->n_backings; i++)
                fuzz_check((s->backings[i].length == 0) == (s->backings[i].refs == 0));
        journal_intent_done(&pending);
        session_free(s);
        fuzz_check(!d.sessions);
        return 0;
}
