/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The session record a restarted viommud reads back (daemon/record.c): any
 * JSON gives a session or -EBADMSG, which leaves nothing behind. A session
 * read back writes out a record that reads back in turn and writes out the
 * same again. The sessions have no iommufd, so nothing reaches the kernel.
 */

#include <errno.h>

#include "fuzz.h"
#include "json-util.h"
#include "record.h"
#include "session.h"

/* Reads j into a session of a daemon of its own and writes that out. */
static int read_write(struct json_object *j, struct json_object **ret) {
        Daemon d = {};
        Session *s = NULL;
        int r;

        r = session_record_from_json(&d, j, -EBADF, &s);
        if (r < 0) {
                fuzz_check(r == -EBADMSG && !s && !d.sessions);
                return r;
        }
        fuzz_check(session_record_to_json(s, ret) == 0);
        session_free(s);
        fuzz_check(!d.sessions);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(json_object_putp) struct json_object *j = fuzz_parse_json(data, size), *written = NULL,
                                                       *rewritten = NULL;

        if (!j || read_write(j, &written) < 0)
                return 0;
        if (read_write(written, &rewritten) < 0 || !json_object_equal(written, rewritten)) {
                fprintf(stderr, "written:\n%s\n", json_object_to_json_string_ext(written, JSON_C_TO_STRING_PRETTY));
                if (rewritten)
                        fprintf(stderr, "read back and written again:\n%s\n",
                                json_object_to_json_string_ext(rewritten, JSON_C_TO_STRING_PRETTY));
                abort();
        }
        return 0;
}
