/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-strict.h"
#include "json-util.h"

/*
 * json-c reads the text. What it lets through even in strict mode (duplicate
 * keys, of which it keeps the last; integers out of range, which it
 * saturates; NaN, Infinity, single-quoted keys, raw control characters, NUL
 * and lone surrogates in \u escapes) is refused while it reads: the text is
 * fed to its tokener in pieces that end at a character that may start or end
 * a token, and after each piece the top of the tokener's stack says what
 * json-c made of that character. json-c decides every token; this file only
 * looks. The fields it looks at are published in json_tokener.h, and
 * configure checks they still are.
 */

#define MAX_DEPTH JSON_TOKENER_DEFAULT_DEPTH

/* Where a piece may end outside a string; inside one only at a quote. */
#define STOPS "{\"':-0123456789NI"

typedef struct Reader {
        const char *origin, *text;      /* text ends in a NUL at size */
        size_t size;
        struct json_tokener *tok;

        size_t fed;             /* bytes given to json-c so far */
        size_t resume;          /* where to look for the next stop */
        unsigned line;          /* of text[fed - 1] */
        size_t string_start;    /* the quote of the string being read, or SIZE_MAX */
        size_t key_start;       /* the quote of the last key */

        char *error;
} Reader;

static void offset_to_line_column(const char *text, size_t offset, unsigned *ret_line, unsigned *ret_column) {
        unsigned line = 1, column = 1;

        for (size_t i = 0; i < offset; i++) {
                if (text[i] == '\n') {
                        line++;
                        column = 1;
                } else if (((unsigned char) text[i] & 0xc0) != 0x80)
                        column++;       /* count characters, not UTF-8 continuation bytes */
        }
        *ret_line = line;
        *ret_column = column;
}

int json_format_error(char **ret, const char *origin, const char *text, size_t offset, const char *path,
                      const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = NULL, *where = NULL;
        unsigned line, column;
        int r;

        if (vasprintf(&msg, fmt, ap) < 0)
                return -ENOMEM;
        if (text) {
                offset_to_line_column(text, offset, &line, &column);
                r = asprintf(&where, "%s:%u:%u", origin, line, column);
        } else
                r = asprintf(&where, "%s", origin);
        if (r < 0)
                return -ENOMEM;
        if (asprintf(ret, "%s: %s%s%s", where, path ?: "", isempty(path) ? "" : ": ", msg) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        string_replace_control(*ret);
        return 0;
}

/* Records the first error; returns -EINVAL (or -ENOMEM). */
_printf_(4, 5)
static int reader_error_at(Reader *r, size_t offset, const char *path, const char *fmt, ...) {
        va_list ap;
        int k;

        if (r->error)
                return -EINVAL;
        va_start(ap, fmt);
        k = json_format_error(&r->error, r->origin, r->text, MIN(offset, r->size), path, fmt, ap);
        va_end(ap);
        return k < 0 ? k : -EINVAL;
}

/*
 * The JSON path of the value being read in the tokener's level depth, from
 * the keys and array lengths of the levels that contain it; key appended
 * when not NULL.
 */
static int reader_path(const Reader *r, int depth, const char *key, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (int k = 0; k < depth; k++) {
                const struct json_tokener_srec *s = &r->tok->stack[k];

                if (json_object_is_type(s->current, json_type_array))
                        fprintf(f, "[%zu]", json_object_array_length(s->current));
                else
                        fprintf(f, "%s%s", k > 0 ? "." : "", s->obj_field_name);
        }
        if (key)
                fprintf(f, "%s%s", depth > 0 ? "." : "", key);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

_printf_(5, 6)
static int reader_error_in(Reader *r, size_t offset, int depth, const char *key, const char *fmt, ...) {
        _cleanup_free_ char *path = NULL, *msg = NULL;
        va_list ap;
        int k;

        k = reader_path(r, depth, key, &path);
        if (k < 0)
                return k;
        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return reader_error_at(r, offset, path, "%s", msg);
}

static unsigned hex4(const char *s) {
        char buf[5] = { s[0], s[1], s[2], s[3], 0 };

        return (unsigned) strtoul(buf, NULL, 16);
}

/*
 * Whether the UTF-8 sequence at p, whose shape json-c checked, is one RFC
 * 3629 allows: not overlong, no UTF-16 surrogate, nothing past U+10FFFF.
 */
static bool utf8_valid(const unsigned char *p) {
        return p[0] >= 0xc2 && p[0] <= 0xf4 &&
                !(p[0] == 0xe0 && p[1] < 0xa0) && !(p[0] == 0xed && p[1] >= 0xa0) &&
                !(p[0] == 0xf0 && p[1] < 0x90) && !(p[0] == 0xf4 && p[1] >= 0x90);
}

/* A string json-c has read, from its opening to its closing quote. */
static int check_string(Reader *r, size_t start, size_t end) {
        for (size_t i = start + 1; i < end; i++) {
                unsigned char c = r->text[i];
                unsigned u, low;

                if (c < 0x20)
                        return reader_error_at(r, i, NULL, "control character in a string (escape it)");
                if (c >= 0x80) {
                        if (!utf8_valid((const unsigned char *) r->text + i))
                                return reader_error_at(r, i, NULL, "invalid UTF-8");
                        i += c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
                        continue;
                }
                if (c != '\\')
                        continue;
                if (r->text[++i] != 'u')
                        continue;
                /* json-c checked that four hex digits follow every \u. */
                u = hex4(r->text + i + 1);
                if (u == 0)
                        return reader_error_at(r, i - 1, NULL, "NUL characters are not allowed in strings");
                if ((u & 0xfc00) == 0xdc00)
                        return reader_error_at(r, i - 1, NULL, "lone UTF-16 low surrogate");
                if ((u & 0xfc00) == 0xd800) {
                        low = r->text[i + 5] == '\\' && r->text[i + 6] == 'u' ? hex4(r->text + i + 7) : 0;
                        if ((low & 0xfc00) != 0xdc00)
                                return reader_error_at(r, i - 1, NULL, "lone UTF-16 high surrogate");
#if JSON_C_VERSION_NUM < ((0 << 16) | (19 << 8))
                        /* Before 0.19 json-c turns the characters whose low
                         * 16 bits look like a surrogate into U+FFFD. */
                        u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
                        if ((u & 0xf800) == 0xd800)
                                return reader_error_at(r, i - 1, NULL,
                                                       "json-c %s misreads this escape of U+%X: write the character itself",
                                                       json_c_version(), u);
#endif
                        i += 6;
                }
                i += 4;
        }
        return 0;
}

/* A number json-c has begun at i: what it would misread. */
static int check_number(Reader *r, size_t i) {
        bool negative = r->text[i] == '-';
        const char *digits = r->text + i + negative, *max = negative ? "9223372036854775808" : "18446744073709551615";
        size_t n = strspn(digits, "0123456789"), rest = strspn(digits + n, "0123456789.eE+-");
        int depth = r->tok->depth;
        const char *c;

        r->resume = digits + n + rest - r->text;
        if (n == 0)     /* -Infinity */
                return reader_error_in(r, i, depth, NULL, "expected a value");
        if (n > 1 && digits[0] == '0')
                return reader_error_at(r, i, NULL, "leading zero in a number");
        /* The rest as RFC 8259 has it. json-c takes "1." and "1.e5", and,
         * given "1-2" in two pieces, reads 1. */
        c = digits + n;
        if (c[0] == '.' && isdigit(c[1]))
                c += 1 + strspn(c + 1, "0123456789");
        if (c[0] == 'e' || c[0] == 'E') {
                const char *x = c + 1 + (c[1] == '+' || c[1] == '-');

                if (isdigit(*x))
                        c = x + strspn(x, "0123456789");
        }
        if (c != digits + n + rest)
                return reader_error_at(r, c - r->text, NULL, "%s",
                                       json_tokener_error_desc(json_tokener_error_parse_number));
        /* What json-c saturates; its limits read right. */
        if (rest == 0 && (n > strlen(max) || (n == strlen(max) && memcmp(digits, max, n) > 0)))
                return reader_error_in(r, i, depth, NULL, "%.*s is out of range", (int) (negative + n), r->text + i);
        return 0;
}

static bool in_string(enum json_tokener_state s) {
        switch (s) {
        case json_tokener_state_string:
        case json_tokener_state_string_escape:
        case json_tokener_state_escape_unicode:
        case json_tokener_state_escape_unicode_need_escape:
        case json_tokener_state_escape_unicode_need_u:
        case json_tokener_state_object_field:
                return true;
        default:
                return false;
        }
}

/* What json-c made of the character at i, the last it was given. */
static int look(Reader *r, size_t i) {
        struct json_tokener_srec *top = &r->tok->stack[r->tok->depth];

        if (r->string_start != SIZE_MAX) {
                size_t start = r->string_start;

                if (in_string(top->state))
                        return 0;       /* an escaped quote */
                r->string_start = SIZE_MAX;
                return check_string(r, start, i);
        }

        switch (r->text[i]) {
        case '"':
                if (top->state == json_tokener_state_object_field)
                        r->key_start = i;
                r->string_start = i;
                break;
        case '\'':
                if (top->state == json_tokener_state_object_field)
                        return reader_error_at(r, i, NULL, "expected a key in double quotes");
                break;
        case ':':
                if (top->state == json_tokener_state_eatws && top->saved_state == json_tokener_state_object_value &&
                    json_object_object_get_ex(top->current, top->obj_field_name, NULL))
                        return reader_error_in(r, r->key_start, r->tok->depth, top->obj_field_name, "duplicate key");
                break;
        case '{':
                /* For the rules: the line each object starts on. */
                if (top->state == json_tokener_state_eatws && json_object_is_type(top->current, json_type_object))
                        json_object_set_userdata(top->current, (void *) (uintptr_t) r->line, NULL);
                break;
        case 'N':
        case 'I':
                if (IN_SET(top->state, json_tokener_state_null, json_tokener_state_inf))
                        return reader_error_in(r, i, r->tok->depth, NULL, "expected a value");
                break;
        default:
                if (top->state == json_tokener_state_number)
                        return check_number(r, i);
        }
        return 0;
}

static size_t next_stop(const Reader *r) {
        size_t from = MAX(r->fed, r->resume);
        const char *q;

        if (r->string_start == SIZE_MAX)
                return from + strcspn(r->text + from, STOPS);
        q = memchr(r->text + from, '"', r->size - from);
        return q ? (size_t) (q - r->text) : r->size;
}

/* Gives json-c the text up to and including the next stop, then looks. */
static int reader_step(Reader *r, struct json_object **ret_root, bool *ret_done) {
        size_t end = next_stop(r), from = r->fed;
        enum json_tokener_error jerr;
        struct json_object *root;

        root = json_tokener_parse_ex(r->tok, r->text + from, (int) (end + 1 - from));
        jerr = json_tokener_get_error(r->tok);
        if (jerr != json_tokener_success && jerr != json_tokener_continue) {
                size_t at = from + json_tokener_get_parse_end(r->tok);

                if (at >= r->size)
                        return reader_error_at(r, r->size, NULL, "unexpected end of file");
                return reader_error_at(r, at, NULL, "%s", json_tokener_error_desc(jerr));
        }
        for (const char *n = r->text + from; (n = memchr(n, '\n', r->text + end - n)); n++)
                r->line++;
        r->fed = end + 1;
        if (jerr == json_tokener_success) {
                /* A string at the top ends the text: no stop after it. */
                if (r->string_start != SIZE_MAX) {
                        int k = check_string(r, r->string_start, end);

                        if (k < 0) {
                                json_object_put(root);
                                return k;
                        }
                }
                *ret_root = root;
                *ret_done = true;
                return 0;
        }
        if (end >= r->size)
                return reader_error_at(r, r->size, NULL, "unexpected end of file");
        return look(r, end);
}

int json_parse_strict(const char *text, size_t size, const char *origin, struct json_object **ret, char **ret_error) {
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        _cleanup_free_ char *copy = NULL;
        Reader r = {
                .origin = origin,
                .text = text,
                .size = size,
                .line = 1,
                .string_start = SIZE_MAX,
        };
        bool done = false;
        int k;

        if (size >= INT_MAX)
                k = reader_error_at(&r, 0, NULL, "larger than 2 GiB");
        else if (memchr(text, 0, size))
                k = reader_error_at(&r, (const char *) memchr(text, 0, size) - text, NULL,
                                    "NUL byte: this is not a text file");
        else {
                /* With its NUL, so that json-c knows the text ends there: else a
                 * lone literal ("null") stays incomplete. */
                copy = malloc(size + 1);
                r.tok = json_tokener_new_ex(MAX_DEPTH);
                if (!copy || !r.tok) {
                        if (r.tok)
                                json_tokener_free(r.tok);
                        return -ENOMEM;
                }
                memcpy(copy, text, size);
                copy[size] = 0;
                r.text = copy;
                json_tokener_set_flags(r.tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

                do
                        k = reader_step(&r, &root, &done);
                while (k >= 0 && !done);
                /* A value that ended before the text: only blanks may follow. */
                if (k >= 0 && r.fed < size) {
                        size_t rest = r.fed + strspn(copy + r.fed, " \t\r\n");

                        if (rest < size)
                                k = reader_error_at(&r, rest, NULL, "%s",
                                                    json_tokener_error_desc(json_tokener_error_parse_unexpected));
                }
                json_tokener_free(r.tok);
        }

        if (k < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(r.error);
                free(r.error);
                return k;
        }
        *ret = TAKE_PTR(root);
        return 0;
}
