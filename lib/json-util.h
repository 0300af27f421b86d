/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* json-c helpers shared by the project's JSON writers. */

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_tokener *, json_tokener_free)

/* json-c's lh_table_free() does not take NULL. */
static inline struct lh_table *lh_table_free_safe(struct lh_table *t) {
        if (t)
                lh_table_free(t);
        return NULL;
}

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

/* Readers for what the writers above wrote: -EINVAL for a missing key or a
 * value of another type or range. */
static inline int json_hex_value(struct json_object *v, uint64_t *ret) {
        const char *s, *p;
        uint64_t x = 0;

        if (!json_object_is_type(v, json_type_string))
                return -EINVAL;
        s = json_object_get_string(v);
        p = startswith(s, "0x");
        if (!p || !p[0] || strlen(p) > 16 || p[strspn(p, "0123456789abcdefABCDEF")])
                return -EINVAL;

        for (; *p; p++)
                x = (x << 4) | (uint64_t) (*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
        *ret = x;
        return 0;
}

static inline int json_read_hex(struct json_object *o, const char *key, uint64_t *ret) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return -EINVAL;
        return json_hex_value(v, ret);
}

static inline int json_read_int_range(struct json_object *o, const char *key, int64_t min, int64_t max,
                                     int64_t *ret) {
        struct json_object *v;
        int64_t i;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return -EINVAL;
        /* json-c clamps what int64 cannot hold, which lands out of range too. */
        i = json_object_get_int64(v);
        if (i < min || i > max)
                return -EINVAL;
        *ret = i;
        return 0;
}

static inline int json_read_u32(struct json_object *o, const char *key, uint32_t *ret) {
        int64_t i;
        int r = json_read_int_range(o, key, 0, UINT32_MAX, &i);

        if (r >= 0)
                *ret = (uint32_t) i;
        return r;
}

static inline int json_read_bool(struct json_object *o, const char *key, bool *ret) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean))
                return -EINVAL;
        *ret = json_object_get_boolean(v);
        return 0;
}

static inline int json_read_string(struct json_object *o, const char *key, const char **ret) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return -EINVAL;
        *ret = json_object_get_string(v);
        return 0;
}
