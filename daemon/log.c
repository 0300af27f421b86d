/* SPDX-License-Identifier: LGPL-2.1-or-later */

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "log.h"

/* -v: every mapping and object is logged. */
int log_verbose;

/* Whether stderr is the stream systemd connected to the journal: it says so
 * in $JOURNAL_STREAM ("DEVICE:INODE"), which a child with another stderr
 * inherits too, hence the comparison. */
static bool stderr_is_journal(void) {
        static int cached = -1;
        const char *e;
        struct stat st;
        unsigned long long dev, ino;

        if (cached >= 0)
                return cached;
        e = getenv("JOURNAL_STREAM");
        cached = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
                 st.st_dev == dev && st.st_ino == ino;
        return cached;
}

void log_session_full(int priority, unsigned session, const char *object, const char *fmt, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&message, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;

        if (stderr_is_journal() &&
            sd_journal_send("MESSAGE=%s", message, "PRIORITY=%i", priority, "SESSION=%u", session,
                            "OBJECT=%s", object ?: "", "SYSLOG_IDENTIFIER=%s", program_invocation_short_name,
                            NULL) >= 0)
                return;
        /* SD_INFO and the others are "<N>" with N the priority. */
        fprintf(stderr, "<%i>%s\n", priority, message);
}
