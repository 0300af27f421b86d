/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * viommud.conf(5) as the operator wrote it: any text gives a configuration
 * or an error message of one line that names the file. A configuration that
 * loaded also goes through the reload log, which prints what the file held
 * one line per change, and against itself has nothing to say.
 */

#include <errno.h>
#include <string.h>

/* Not "config.h": that names autoconf's in the build directory. */
#include "daemon/config.h"
#include "fuzz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *error = NULL, *diff = NULL;
        int r;

        r = config_parse((const char *) data, size, "fuzz.conf", &c, &error);
        if (r < 0) {
                fuzz_check(r == -EINVAL && !c);
                fuzz_check(error && startswith(error, "fuzz.conf:"));
                for (const char *p = error; *p; p++)
                        fuzz_check((unsigned char) *p >= 0x20);
                return 0;
        }
        fuzz_check(c && !error);

        /* One line per change: nothing from the file breaks a line of the log. */
        r = config_diff(NULL, c, &diff);
        fuzz_check(r >= 0);
        if (r > 0) {
                size_t lines = 1;

                for (const char *p = diff; *p; p++) {
                        fuzz_check((unsigned char) *p >= 0x20 || *p == '\n');
                        lines += *p == '\n';
                }
                fuzz_check(lines == (size_t) r);
        }
        diff = mfree(diff);

        fuzz_check(config_diff(c, c, &diff) == 0 && !diff);
        return 0;
}
