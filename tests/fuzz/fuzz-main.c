/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Runs a fuzz target over given inputs, without libFuzzer:
 *
 *   fuzz-NAME [FILE|DIR...]
 *
 * A directory stands for the files in it, in name order. With no arguments
 * the target replays its checked-in corpus (FUZZ_CORPUS), as make check
 * does. Each input sits in a buffer of exactly its size, so that a read past
 * its end is one ASan sees.
 */

#include <dirent.h>
#include <fcntl.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"

/* Far above libFuzzer's default -max_len of 4096. */
#define FUZZ_INPUT_MAX (16U * 1024U * 1024U)

static int run_file(const char *path) {
        _cleanup_free_ char *text = NULL, *data = NULL;
        size_t size;
        int r;

        r = read_full_file_at(AT_FDCWD, path, FUZZ_INPUT_MAX, &text, &size);
        if (r < 0) {
                fprintf(stderr, "%s: cannot read: %s\n", path, strerror(-r));
                return r;
        }
        data = memdup(text, size);
        if (!data)
                return -ENOMEM;

        /* Named first: if the target crashes, the log ends with the culprit. */
        printf("%s\n", path);
        fflush(stdout);
        (void) LLVMFuzzerTestOneInput((const uint8_t *) data, size);
        return 0;
}

static int skip_hidden(const struct dirent *de) {
        return de->d_name[0] != '.';
}

static int run_path(const char *path, unsigned *n_inputs) {
        struct dirent **entries = NULL;
        int n, r = 0;

        n = scandir(path, &entries, skip_hidden, alphasort);
        if (n < 0) {
                if (errno != ENOTDIR) {
                        r = -errno;
                        fprintf(stderr, "%s: cannot read: %s\n", path, strerror(-r));
                        return r;
                }
                r = run_file(path);
                if (r >= 0)
                        (*n_inputs)++;
                return r;
        }

        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *child = NULL;

                if (r >= 0 && asprintf(&child, "%s/%s", path, entries[i]->d_name) < 0) {
                        child = NULL;
                        r = -ENOMEM;
                }
                if (r >= 0)
                        r = run_file(child);
                if (r >= 0)
                        (*n_inputs)++;
                free(entries[i]);
        }
        free(entries);
        return r;
}

int main(int argc, char *argv[]) {
        char *corpus[] = { (char *) FUZZ_CORPUS, NULL };
        char **paths = argc > 1 ? argv + 1 : corpus;
        unsigned n_inputs = 0;

        for (char **p = paths; *p; p++)
                if (run_path(*p, &n_inputs) < 0)
                        return EXIT_FAILURE;
        if (n_inputs == 0) {
                fprintf(stderr, "no inputs\n");
                return EXIT_FAILURE;
        }
        printf("%u inputs, no crash\n", n_inputs);
        return EXIT_SUCCESS;
}
