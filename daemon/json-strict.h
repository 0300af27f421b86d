/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * JSON (RFC 8259) read strictly with json-c: besides what json-c refuses in
 * strict mode, refuses what it would let through or quietly change
 * (duplicate keys, integers out of range, NaN, single-quoted keys, control
 * characters, NUL and lone surrogates in strings, invalid UTF-8), in time
 * linear in the size of the text.
 */

#include <stdarg.h>
#include <stddef.h>

#include "util.h"

struct json_object;

/*
 * Parses text (size bytes, no NUL among them). On success *ret is the tree,
 * each object's userdata (json_object_get_userdata()) the line it starts on,
 * cast to a pointer. On failure -EINVAL and *ret_error (may be NULL) says
 * why: "ORIGIN:LINE:COLUMN: reason", or "ORIGIN:LINE:COLUMN: PATH: reason"
 * with the JSON path of a duplicate key or of a number out of range.
 */
int json_parse_strict(const char *text, size_t size, const char *origin, struct json_object **ret, char **ret_error);

/*
 * "ORIGIN: [PATH: ]reason", or with ":LINE:COLUMN" after ORIGIN for offset
 * in text when text is not NULL, in one line: control characters from keys
 * and values become '?'.
 */
_printf_(6, 0)
int json_format_error(char **ret, const char *origin, const char *text, size_t offset, const char *path,
                      const char *fmt, va_list ap);
