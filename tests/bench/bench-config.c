/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * How fast viommud.conf(5) is read at a size no operator writes by hand: a
 * file of rules (default 1 MiB; each rule a PCI address, an IOMMU group, a
 * uid and a unit template) is parsed and checked R times (default 5), as at
 * start and on every SIGHUP, then written to a temporary directory and loaded
 * with as many drop-ins, one rule each. Prints the time per MiB, rules per
 * second, and the time of the load. A benchmark to run by hand, not a test:
 * it checks only that every rule was read.
 *
 *   bench-config [-s MIB] [-r RUNS]
 */

#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

/* Not "config.h": that names autoconf's in the build directory. */
#include "daemon/config.h"
#include "util.h"

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int r, const char *error) {
        fprintf(stderr, "%s: %s\n", what, error ?: strerror(-r));
        exit(EXIT_FAILURE);
}

static void rule(FILE *f, size_t n, bool first) {
        fprintf(f, "%s    { \"devices\": [ { \"pci\": \"0000:%02zx:%02zx.%zu\" }, { \"group\": %zu } ], "
                "\"users\": [ %zu ], \"units\": [ \"vm%zu@.service\" ] }",
                first ? "" : ",\n", n % 256, n / 256 % 32, n / 8192 % 8, n, 1000 + n, n);
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *text = NULL, *dir = NULL, *path = NULL;
        size_t size = 0, n = 0, mib = 1, runs = 5;
        double best = 1e9, t;
        FILE *f;
        int c, r;

        while ((c = getopt(argc, argv, "s:r:")) >= 0)
                switch (c) {
                case 's':
                        mib = strtoul(optarg, NULL, 0);
                        break;
                case 'r':
                        runs = strtoul(optarg, NULL, 0);
                        break;
                default:
                        fprintf(stderr, "usage: %s [-s MIB] [-r RUNS]\n", argv[0]);
                        return EXIT_FAILURE;
                }
        if (mib == 0 || runs == 0)
                die("arguments", -EINVAL, NULL);

        f = open_memstream(&text, &size);
        if (!f)
                die("open_memstream", -errno, NULL);
        fputs("{\n  \"allow\": [\n", f);
        for (; (size_t) ftell(f) < mib * 1024 * 1024; n++)
                rule(f, n, n == 0);
        fputs("\n  ],\n  \"limits\": { \"objects\": 100000 }\n}\n", f);
        if (fclose(f) != 0)
                die("fclose", -ENOMEM, NULL);

        for (size_t i = 0; i < runs; i++) {
                _cleanup_(config_freep) Config *cfg = NULL;
                _cleanup_free_ char *error = NULL;

                t = now();
                r = config_parse(text, size, "bench.conf", &cfg, &error);
                t = now() - t;
                if (r < 0)
                        die("config_parse", r, error);
                if (cfg->n_allow != n)
                        die("config_parse", -EBADMSG, "rules lost");
                best = MIN(best, t);
        }
        printf("parse: %zu bytes, %zu rules, best of %zu: %.3f s, %.1f ms per MiB, %.0f rules/s\n",
               size, n, runs, best, best * 1e3 * 1024 * 1024 / size, n / best);

        /* The same rules as drop-ins: the main file, then one file per rule. */
        dir = strdup("/tmp/bench-config-XXXXXX");
        if (!dir || !mkdtemp(dir) || asprintf(&path, "%s/viommud.conf", dir) < 0)
                die("mkdtemp", -errno, NULL);
        {
                _cleanup_free_ char *dropins = NULL;
                _cleanup_(config_freep) Config *cfg = NULL;
                _cleanup_free_ char *error = NULL, *cmd = NULL;
                size_t n_dropins = MIN(n, (size_t) 2000);

                f = fopen(path, "we");
                if (!f || fwrite(text, 1, size, f) != size || fclose(f) != 0)
                        die(path, -errno, NULL);
                if (asprintf(&dropins, "%s.d", path) < 0 || mkdir(dropins, 0755) < 0)
                        die("mkdir", -errno, NULL);
                for (size_t i = 0; i < n_dropins; i++) {
                        _cleanup_free_ char *p = NULL;

                        if (asprintf(&p, "%s/%05zu.conf", dropins, i) < 0 || !(f = fopen(p, "we")))
                                die("drop-in", -errno, NULL);
                        fputs("{ \"allow\": [\n", f);
                        rule(f, i, true);
                        fputs("\n] }\n", f);
                        if (fclose(f) != 0)
                                die(p, -errno, NULL);
                }

                t = now();
                r = config_load(path, &cfg, &error);
                t = now() - t;
                if (r < 0)
                        die("config_load", r, error);
                if (cfg->n_allow != n + n_dropins)
                        die("config_load", -EBADMSG, "rules lost");
                printf("load: the file and %zu drop-ins: %.3f s\n", n_dropins, t);

                if (asprintf(&cmd, "rm -rf '%s'", dir) < 0 || system(cmd) != 0)
                        die("rm", -EIO, NULL);
        }
        return EXIT_SUCCESS;
}
