/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* json-c helpers shared by the project's JSON writers. */

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>

#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)

/* Adds v under key, taking v; a NULL v means its allocation failed. */
static inline int json_add(struct json_object *o, const char *key, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* json-c's integers are signed 64-bit: unsigned 64-bit values travel as
 * "0x..." strings, zero-padded to digits (0: no padding). */
static inline struct json_object *json_new_hex(uint64_t v, int digits) {
        char buf[2 + 16 + 1];

        snprintf(buf, sizeof(buf), "0x%0*" PRIx64, digits, v);
        return json_object_new_string(buf);
}
