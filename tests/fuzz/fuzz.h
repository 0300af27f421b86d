/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Fuzz targets: each defines LLVMFuzzerTestOneInput(). Linked with libFuzzer
 * (configure --enable-libfuzzer, tests/fuzz/run-fuzzers) they are fuzzed;
 * linked with fuzz-main.c they replay files, their corpus under make check.
 */

#include <json-c/json.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Not assert(): a broken invariant is the finding, whatever NDEBUG says.
 * Allocations do not fail here (ASan aborts instead, and inputs are small),
 * so an -ENOMEM is a finding too.
 */
#define fuzz_check(expr)                                                                        \
        do {                                                                                    \
                if (!(expr)) {                                                                  \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
                        abort();                                                                \
                }                                                                               \
        } while (0)

/* The input as JSON, or NULL when it is not. */
static inline struct json_object *fuzz_parse_json(const uint8_t *data, size_t size) {
        struct json_tokener *tok;
        struct json_object *j;

        if (size > INT_MAX)
                return NULL;
        tok = json_tokener_new();
        if (!tok)
                return NULL;
        j = json_tokener_parse_ex(tok, (const char *) data, (int) size);
        json_tokener_free(tok);
        return j;
}
