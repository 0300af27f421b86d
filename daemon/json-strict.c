/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-strict.h"
#include "json-util.h"

#define MAX_DEPTH JSON_TOKENER_DEFAULT_DEPTH
#define LETTERS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

/*
 * json-c parses, but even in strict mode lets through single-quoted
 * keys, NaN and Infinity, raw control characters, NUL and lone surrogates in
 * \u escapes, duplicate keys (it keeps the last) and integers out of range
 * (it saturates them: 18446744073709551616 would read as "infinity"). One pass
 * over the text refuses the first ones and notes what the tree cannot tell:
 * where each object starts and how many keys it has, and which value, counted
 * in document order, json-c would misread. A walk of the tree in the same
 * order then finds a duplicate as an object with fewer keys than its text,
 * and the misread value by its number, both with their JSON path.
 */

typedef struct TextObject {
        size_t offset, n_keys;
        unsigned line;
} TextObject;

typedef struct Parser {
        const char *origin, *text;
        size_t size;

        TextObject *objects;
        size_t n_objects, allocated;
        size_t n_values;
        /* The first value json-c would misread: its number, where, and why. */
        size_t bad_value, bad_offset;
        char *bad_message;

        char *error;
} Parser;

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
        for (char *c = *ret; *c; c++)
                if ((unsigned char) *c < 0x20)
                        *c = '?';
        return 0;
}

/* Records the first error; returns -EINVAL (or -ENOMEM). */
_printf_(4, 5)
static int parser_error_at(Parser *p, size_t offset, const char *path, const char *fmt, ...) {
        va_list ap;
        int r;

        if (p->error)
                return -EINVAL;
        va_start(ap, fmt);
        r = json_format_error(&p->error, p->origin, p->text, MIN(offset, p->size), path, fmt, ap);
        va_end(ap);
        return r < 0 ? r : -EINVAL;
}

static unsigned hex4(const char *s) {
        char buf[5] = { s[0], s[1], s[2], s[3], 0 };

        return (unsigned) strtoul(buf, NULL, 16);
}

/* The string json-c accepted at i; its closing quote in *ret_end. */
static int scan_string(Parser *p, size_t i, size_t *ret_end) {
        for (i++; p->text[i] != '"'; i++) {
                unsigned char c = p->text[i];
                unsigned u;

                if (c < 0x20)
                        return parser_error_at(p, i, NULL, "control character in a string (escape it)");
                if (c != '\\')
                        continue;
                if (p->text[++i] != 'u')
                        continue;
                /* json-c checked that four hex digits follow every \u. */
                u = hex4(p->text + i + 1);
                if (u == 0)
                        return parser_error_at(p, i - 1, NULL, "NUL characters are not allowed in strings");
                if ((u & 0xfc00) == 0xdc00)
                        return parser_error_at(p, i - 1, NULL, "lone UTF-16 low surrogate");
                if ((u & 0xfc00) == 0xd800) {
                        if (p->text[i + 5] != '\\' || p->text[i + 6] != 'u' || (hex4(p->text + i + 7) & 0xfc00) != 0xdc00)
                                return parser_error_at(p, i - 1, NULL, "lone UTF-16 high surrogate");
                        i += 6;
                }
                i += 4;
        }
        *ret_end = i;
        return 0;
}

static bool is_key(const Parser *p, size_t end) {
        return p->text[end + 1 + strspn(p->text + end + 1, " \t\r\n")] == ':';
}

/* Notes the value being counted as the first json-c misreads. */
_printf_(3, 4)
static int flag_value(Parser *p, size_t offset, const char *fmt, ...) {
        va_list ap;
        int r;

        if (p->bad_message)
                return 0;
        va_start(ap, fmt);
        r = vasprintf(&p->bad_message, fmt, ap);
        va_end(ap);
        if (r < 0) {
                p->bad_message = NULL;
                return -ENOMEM;
        }
        p->bad_value = p->n_values;
        p->bad_offset = offset;
        return 0;
}

/* The number json-c accepted at i, ending before *ret_end. */
static int scan_number(Parser *p, size_t i, size_t *ret_end) {
        bool negative = p->text[i] == '-';
        const char *digits = p->text + i + negative, *max = negative ? "9223372036854775808" : "18446744073709551615";
        size_t n = strspn(digits, "0123456789"), rest = strspn(digits + n, "0123456789.eE+-");

        *ret_end = digits + n + rest - p->text;
        if (n == 0) {   /* -Infinity */
                *ret_end += strspn(digits, LETTERS);
                return flag_value(p, i, "expected a value");
        }
        if (n > 1 && digits[0] == '0')
                return parser_error_at(p, i, NULL, "leading zero in a number");
        /* What json-c saturates, its limits (which read right) included. */
        if (rest == 0 && (n > strlen(max) || (n == strlen(max) && memcmp(digits, max, n) > 0)))
                return flag_value(p, i, "%.*s is out of range", (int) (*ret_end - i), p->text + i);
        return 0;
}

static int add_object(Parser *p, size_t offset, unsigned line) {
        if (p->n_objects == p->allocated) {
                size_t a = MAX(p->allocated * 2, (size_t) 16);
                TextObject *o = reallocarray(p->objects, a, sizeof(TextObject));

                if (!o)
                        return -ENOMEM;
                p->objects = o;
                p->allocated = a;
        }
        p->objects[p->n_objects++] = (TextObject) { .offset = offset, .line = line };
        return 0;
}

static int scan_text(Parser *p) {
        size_t stack[MAX_DEPTH + 1], depth = 0;      /* the index in objects, SIZE_MAX for an array */
        unsigned line = 1;
        int r = 0;

        for (size_t i = 0; i < p->size && r >= 0; i++) {
                char c = p->text[i];
                size_t end;

                switch (c) {
                case '\n':
                        line++;
                        break;
                case '\v':
                case '\f':
                        return parser_error_at(p, i, NULL, "unexpected character");
                case '\'':
                        return parser_error_at(p, i, NULL, "expected a key in double quotes");
                case '{':
                case '[':
                        if (depth == ELEMENTSOF(stack))
                                return -EINVAL;         /* json-c's limit is lower */
                        p->n_values++;
                        stack[depth++] = c == '{' ? p->n_objects : SIZE_MAX;
                        if (c == '{')
                                r = add_object(p, i, line);
                        break;
                case '}':
                case ']':
                        depth--;
                        break;
                case ':':
                        p->objects[stack[depth - 1]].n_keys++;
                        break;
                case '"':
                        r = scan_string(p, i, &end);
                        if (r < 0)
                                return r;
                        if (!is_key(p, end))
                                p->n_values++;
                        i = end;
                        break;
                case '-':
                case '0' ... '9':
                        r = scan_number(p, i, &end);
                        p->n_values++;
                        i = end - 1;
                        break;
                case 'a' ... 'z':
                case 'A' ... 'Z':
                        if (c == 'N' || c == 'I')       /* NaN, Infinity */
                                r = flag_value(p, i, "expected a value");
                        p->n_values++;
                        i += strspn(p->text + i, LETTERS) - 1;
                        break;
                }
        }
        return r;
}

/* Where the walk is: the keys and indexes down to the current value. */
typedef struct Walk {
        Parser *p;
        size_t n_objects, n_values;
        unsigned depth;
        struct {
                const char *key;
                size_t index;
        } path[MAX_DEPTH + 1];
} Walk;

/* The JSON path of where the walk is, with key appended when not NULL. */
static int walk_path(const Walk *w, const char *key, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (unsigned k = 0; k < w->depth; k++)
                if (w->path[k].key)
                        fprintf(f, "%s%s", k > 0 ? "." : "", w->path[k].key);
                else
                        fprintf(f, "[%zu]", w->path[k].index);
        if (key)
                fprintf(f, "%s%s", w->depth > 0 ? "." : "", key);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* The key of o's text that json-c kept only once. */
static int find_duplicate(const Walk *w, const TextObject *o) {
        _cleanup_(json_object_putp) struct json_object *seen = json_object_new_object();
        Parser *p = w->p;
        unsigned depth = 0;
        int r;

        if (!seen)
                return -ENOMEM;
        for (size_t i = o->offset, end; i < p->size; i++) {
                _cleanup_(json_object_putp) struct json_object *key = NULL;
                _cleanup_free_ char *literal = NULL, *path = NULL;
                const char *k;

                if (p->text[i] == '{' || p->text[i] == '[')
                        depth++;
                else if ((p->text[i] == '}' || p->text[i] == ']') && --depth == 0)
                        break;
                if (p->text[i] != '"')
                        continue;
                r = scan_string(p, i, &end);
                if (r < 0)
                        return r;
                if (depth == 1 && is_key(p, end)) {
                        literal = strndup(p->text + i, end + 1 - i);
                        key = literal ? json_tokener_parse(literal) : NULL;
                        if (!key)
                                return -ENOMEM;
                        k = json_object_get_string(key);
                        if (json_object_object_get_ex(seen, k, NULL)) {
                                r = walk_path(w, k, &path);
                                return r < 0 ? r : parser_error_at(p, i, path, "duplicate key");
                        }
                        if (json_object_object_add(seen, k, NULL) < 0)
                                return -ENOMEM;
                }
                i = end;
        }
        return parser_error_at(p, o->offset, NULL, "duplicate key");
}

/* Notes on each object the line it starts on, for the rules. */
static int walk_value(Walk *w, struct json_object *v) {
        Parser *p = w->p;
        int r = 0;

        if (w->n_values++ == p->bad_value) {
                _cleanup_free_ char *path = NULL;

                r = walk_path(w, NULL, &path);
                return r < 0 ? r : parser_error_at(p, p->bad_offset, path, "%s", p->bad_message);
        }

        if (json_object_is_type(v, json_type_object)) {
                const TextObject *o;

                if (w->n_objects >= p->n_objects)
                        return -EINVAL;
                o = &p->objects[w->n_objects++];
                if ((size_t) json_object_object_length(v) != o->n_keys)
                        return find_duplicate(w, o);
                json_object_set_userdata(v, (void *) (uintptr_t) o->line, NULL);

                json_object_object_foreach(v, key, value) {
                        w->path[w->depth++].key = key;
                        r = walk_value(w, value);
                        w->depth--;
                        if (r < 0)
                                return r;
                }
        } else if (json_object_is_type(v, json_type_array))
                for (size_t i = 0; i < json_object_array_length(v) && r >= 0; i++) {
                        w->path[w->depth].key = NULL;
                        w->path[w->depth++].index = i;
                        r = walk_value(w, json_object_array_get_idx(v, i));
                        w->depth--;
                }
        return r;
}


int json_parse_strict(const char *text, size_t size, const char *origin, struct json_object **ret, char **ret_error) {
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        _cleanup_free_ char *copy = NULL;
        struct json_tokener *tok;
        enum json_tokener_error jerr;
        Parser p = {
                .origin = origin,
                .text = text,
                .size = size,
                .bad_value = SIZE_MAX,
        };
        Walk w = { .p = &p };
        size_t end;
        int r;

        if (size >= INT_MAX)
                r = parser_error_at(&p, 0, NULL, "larger than 2 GiB");
        else if (memchr(text, 0, size))
                r = parser_error_at(&p, (const char *) memchr(text, 0, size) - text, NULL,
                                    "NUL byte: this is not a text file");
        else {
                /* With its NUL, so that json-c knows the text ends there: else a
                 * lone literal ("null") stays incomplete. */
                copy = malloc(size + 1);
                tok = json_tokener_new_ex(MAX_DEPTH);
                if (!copy || !tok) {
                        if (tok)
                                json_tokener_free(tok);
                        return -ENOMEM;
                }
                memcpy(copy, text, size);
                copy[size] = 0;
                p.text = copy;
                json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
                root = json_tokener_parse_ex(tok, copy, (int) size + 1);
                jerr = json_tokener_get_error(tok);
                end = json_tokener_get_parse_end(tok);
                json_tokener_free(tok);

                if (jerr == json_tokener_continue || (jerr != json_tokener_success && end >= size))
                        r = parser_error_at(&p, size, NULL, "unexpected end of file");
                else if (jerr != json_tokener_success)
                        r = parser_error_at(&p, end, NULL, "%s", json_tokener_error_desc(jerr));
                else {
                        r = scan_text(&p);
                        if (r >= 0)
                                r = walk_value(&w, root);
                        /* Never let a misread value through, even were the walk out of step. */
                        if (r >= 0 && p.bad_message)
                                r = parser_error_at(&p, p.bad_offset, NULL, "%s", p.bad_message);
                }
        }

        free(p.objects);
        free(p.bad_message);
        if (r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(p.error);
                free(p.error);
                return r;
        }
        *ret = TAKE_PTR(root);
        return 0;
}
