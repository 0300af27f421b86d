/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"
#include "viommu-topology.h"

static const char *const limit_keys[_CONFIG_LIMIT_MAX] = {
        [CONFIG_LIMIT_PINNED_BYTES] = "pinned-bytes",
        [CONFIG_LIMIT_OBJECTS]      = "objects",
        [CONFIG_LIMIT_DEVICES]      = "devices",
};

static const uint64_t limit_defaults[_CONFIG_LIMIT_MAX] = {
        [CONFIG_LIMIT_PINNED_BYTES] = CONFIG_DEFAULT_PINNED_BYTES,
        [CONFIG_LIMIT_OBJECTS]      = CONFIG_DEFAULT_OBJECTS,
        [CONFIG_LIMIT_DEVICES]      = CONFIG_DEFAULT_DEVICES,
};

const char *config_limit_to_string(ConfigLimit l) {
        if ((unsigned) l >= _CONFIG_LIMIT_MAX)
                return NULL;
        return limit_keys[l];
}

uint64_t config_limit(const Config *c, ConfigLimit l) {
        if ((unsigned) l >= _CONFIG_LIMIT_MAX)
                return 0;
        return c ? c->limits[l] : limit_defaults[l];
}

static void allow_rule_done(AllowRule *r) {
        free(r->devices);
        for (size_t i = 0; i < r->n_users; i++)
                free(r->users[i].name);
        free(r->users);
        for (size_t i = 0; i < r->n_groups; i++)
                free(r->groups[i].name);
        free(r->groups);
        for (size_t i = 0; i < r->n_units; i++)
                free(r->units[i]);
        free(r->units);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_allow; i++)
                allow_rule_done(&c->allow[i]);
        free(c->allow);
        free(c);
        return NULL;
}

int config_new(Config **ret) {
        Config *c;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        memcpy(c->limits, limit_defaults, sizeof(c->limits));
        *ret = c;
        return 0;
}

/*
 * Where things are in the text. json-c keeps no positions, so a second, strict
 * pass over the text records the offset of every value by its JSON path
 * ("allow[1].devices[0].pci": the offset of that key). The same pass refuses
 * what json-c would let through silently even in strict mode: duplicate keys
 * (json-c keeps the last), single-quoted strings, NaN and Infinity, integers
 * it would saturate, and NUL characters in strings.
 */

typedef struct Position {
        char *path;
        size_t offset;
} Position;

typedef struct Parser {
        const char *origin;
        const char *text;
        size_t size;
        size_t i;

        Position *positions;
        size_t n_positions;

        char *error;
} Parser;

static void parser_done(Parser *p) {
        for (size_t i = 0; i < p->n_positions; i++)
                free(p->positions[i].path);
        free(p->positions);
        free(p->error);
}

static void offset_to_line_column(const char *text, size_t size, size_t offset, unsigned *ret_line,
                                  unsigned *ret_column) {
        unsigned line = 1, column = 1;

        for (size_t i = 0; i < offset && i < size; i++) {
                if (text[i] == '\n') {
                        line++;
                        column = 1;
                } else if (((unsigned char) text[i] & 0xc0) != 0x80)
                        column++;       /* count characters, not UTF-8 continuation bytes */
        }
        *ret_line = line;
        *ret_column = column;
}

/* Records the first error only; returns -EINVAL (or -ENOMEM). */
_printf_(4, 5)
static int parser_error_at(Parser *p, size_t offset, const char *path, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        unsigned line, column;
        va_list ap;
        int r;

        if (p->error)
                return -EINVAL;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        offset_to_line_column(p->text, p->size, offset, &line, &column);
        if (isempty(path))
                r = asprintf(&p->error, "%s:%u:%u: %s", p->origin, line, column, msg);
        else
                r = asprintf(&p->error, "%s:%u:%u: %s: %s", p->origin, line, column, path, msg);
        if (r < 0) {
                p->error = NULL;
                return -ENOMEM;
        }
        /* One line for the log, whatever keys the file had. */
        for (char *c = p->error; *c; c++)
                if ((unsigned char) *c < 0x20)
                        *c = '?';
        return -EINVAL;
}

static size_t parser_offset_of(const Parser *p, const char *path) {
        size_t best = 0, best_len = 0;

        /* The path itself, else its nearest recorded ancestor. */
        for (size_t i = 0; i < p->n_positions; i++) {
                const char *q = p->positions[i].path;
                size_t l = strlen(q);

                if (streq(q, path))
                        return p->positions[i].offset;
                if (l >= best_len && strncmp(path, q, l) == 0 && (l == 0 || path[l] == '.' || path[l] == '['))
                        best = p->positions[i].offset, best_len = l;
        }
        return best;
}

/* An error about the value at path: names its line. */
#define parser_error(p, path, fmt, ...) \
        parser_error_at((p), parser_offset_of((p), (path)), (path), fmt, ##__VA_ARGS__)

static int parser_record(Parser *p, const char *path, size_t offset) {
        Position *n;

        n = reallocarray(p->positions, p->n_positions + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        p->positions = n;
        n[p->n_positions].path = strdup(path);
        if (!n[p->n_positions].path)
                return -ENOMEM;
        n[p->n_positions++].offset = offset;
        return 0;
}

static void scan_whitespace(Parser *p) {
        while (p->i < p->size && strchr(" \t\r\n", p->text[p->i]) && p->text[p->i] != 0)
                p->i++;
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int scan_hex4(Parser *p, size_t at, unsigned *ret) {
        unsigned v = 0;

        if (at + 4 > p->size)
                return -1;
        for (size_t k = 0; k < 4; k++) {
                int h = hex_value(p->text[at + k]);
                if (h < 0)
                        return -1;
                v = v << 4 | (unsigned) h;
        }
        *ret = v;
        return 0;
}

static int append_utf8(FILE *f, unsigned cp) {
        if (cp < 0x80)
                fputc((int) cp, f);
        else if (cp < 0x800) {
                fputc((int) (0xc0 | cp >> 6), f);
                fputc((int) (0x80 | (cp & 0x3f)), f);
        } else if (cp < 0x10000) {
                fputc((int) (0xe0 | cp >> 12), f);
                fputc((int) (0x80 | ((cp >> 6) & 0x3f)), f);
                fputc((int) (0x80 | (cp & 0x3f)), f);
        } else {
                fputc((int) (0xf0 | cp >> 18), f);
                fputc((int) (0x80 | ((cp >> 12) & 0x3f)), f);
                fputc((int) (0x80 | ((cp >> 6) & 0x3f)), f);
                fputc((int) (0x80 | (cp & 0x3f)), f);
        }
        return 0;
}

/* A string at p->i; decoded into *ret when ret is not NULL. */
static int scan_string(Parser *p, const char *path, char **ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t start = p->i, buf_size;

        if (p->text[p->i] != '"')
                return parser_error_at(p, p->i, path, "strings are in double quotes");
        p->i++;

        if (ret) {
                f = open_memstream(&buf, &buf_size);
                if (!f)
                        return -ENOMEM;
        }

        for (;;) {
                unsigned char c;

                if (p->i >= p->size)
                        return parser_error_at(p, start, path, "unterminated string");
                c = p->text[p->i];
                if (c == '"') {
                        p->i++;
                        break;
                }
                if (c < 0x20)
                        return parser_error_at(p, p->i, path, "control character in a string (escape it)");
                if (c != '\\') {
                        if (f)
                                fputc(c, f);
                        p->i++;
                        continue;
                }

                if (p->i + 1 >= p->size)
                        return parser_error_at(p, start, path, "unterminated string");
                c = p->text[p->i + 1];
                if (c == 'u') {
                        unsigned cp, low;

                        if (scan_hex4(p, p->i + 2, &cp) < 0)
                                return parser_error_at(p, p->i, path, "\\u needs four hex digits");
                        if (cp == 0)
                                return parser_error_at(p, p->i, path, "NUL characters are not allowed in strings");
                        p->i += 6;
                        if (cp >= 0xdc00 && cp <= 0xdfff)
                                return parser_error_at(p, p->i - 6, path, "lone UTF-16 low surrogate");
                        if (cp >= 0xd800 && cp <= 0xdbff) {
                                if (p->i + 1 >= p->size || p->text[p->i] != '\\' || p->text[p->i + 1] != 'u' ||
                                    scan_hex4(p, p->i + 2, &low) < 0 || low < 0xdc00 || low > 0xdfff)
                                        return parser_error_at(p, p->i - 6, path, "lone UTF-16 high surrogate");
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                                p->i += 6;
                        }
                        if (f)
                                append_utf8(f, cp);
                        continue;
                }

                {
                        static const char escapes[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
                        const char *e = c ? strchr(escapes, c) : NULL;

                        if (!e)
                                return parser_error_at(p, p->i, path, "unknown escape \\%c", c);
                        if (f)
                                fputc(decoded[e - escapes], f);
                        p->i += 2;
                }
        }

        if (f) {
                /* Closing the stream finishes buf. */
                if (fclose(TAKE_PTR(f)) != 0)
                        return -ENOMEM;
                *ret = TAKE_PTR(buf);
        }
        return 0;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static int scan_number(Parser *p, const char *path) {
        size_t start = p->i, digits;
        bool negative = false, integer = true;
        uint64_t v = 0;
        bool overflow = false;

        if (p->text[p->i] == '-') {
                negative = true;
                p->i++;
        }
        digits = p->i;
        if (p->i < p->size && p->text[p->i] == '0')
                p->i++;
        else if (p->i < p->size && is_digit(p->text[p->i]))
                while (p->i < p->size && is_digit(p->text[p->i]))
                        p->i++;
        else
                return parser_error_at(p, start, path, "expected a value");

        for (size_t k = digits; k < p->i; k++) {
                unsigned d = p->text[k] - '0';
                if (v > (UINT64_MAX - d) / 10)
                        overflow = true;
                else
                        v = v * 10 + d;
        }

        if (p->i < p->size && p->text[p->i] == '.') {
                integer = false;
                p->i++;
                if (p->i >= p->size || !is_digit(p->text[p->i]))
                        return parser_error_at(p, p->i, path, "expected digits after '.'");
                while (p->i < p->size && is_digit(p->text[p->i]))
                        p->i++;
        }
        if (p->i < p->size && (p->text[p->i] == 'e' || p->text[p->i] == 'E')) {
                integer = false;
                p->i++;
                if (p->i < p->size && (p->text[p->i] == '+' || p->text[p->i] == '-'))
                        p->i++;
                if (p->i >= p->size || !is_digit(p->text[p->i]))
                        return parser_error_at(p, p->i, path, "expected digits in the exponent");
                while (p->i < p->size && is_digit(p->text[p->i]))
                        p->i++;
        }

        /* json-c would quietly saturate these. */
        if (integer && (overflow || (negative && v > (uint64_t) INT64_MAX + 1)))
                return parser_error_at(p, start, path, "%.*s is out of range", (int) (p->i - start), p->text + start);
        return 0;
}

static int scan_value(Parser *p, const char *path, unsigned depth);

static int scan_object(Parser *p, const char *path, unsigned depth) {
        _cleanup_free_ char **keys = NULL;
        size_t n_keys = 0;
        int r = 0;

        p->i++;         /* '{' */
        scan_whitespace(p);
        if (p->i < p->size && p->text[p->i] == '}') {
                p->i++;
                return 0;
        }

        for (;;) {
                _cleanup_free_ char *key = NULL, *child = NULL;
                size_t key_offset;
                char **n;

                scan_whitespace(p);
                key_offset = p->i;
                if (p->i >= p->size || p->text[p->i] != '"') {
                        r = parser_error_at(p, p->i, path, "expected a key in double quotes");
                        break;
                }
                r = scan_string(p, path, &key);
                if (r < 0)
                        break;
                if (asprintf(&child, "%s%s%s", path, isempty(path) ? "" : ".", key) < 0) {
                        child = NULL;
                        r = -ENOMEM;
                        break;
                }
                for (size_t k = 0; k < n_keys; k++)
                        if (streq(keys[k], key)) {
                                r = parser_error_at(p, key_offset, child, "duplicate key");
                                goto finish;
                        }
                r = parser_record(p, child, key_offset);
                if (r < 0)
                        break;

                scan_whitespace(p);
                if (p->i >= p->size || p->text[p->i] != ':') {
                        r = parser_error_at(p, p->i, child, "expected ':' after the key");
                        break;
                }
                p->i++;
                scan_whitespace(p);
                r = scan_value(p, child, depth + 1);
                if (r < 0)
                        break;

                n = reallocarray(keys, n_keys + 1, sizeof(char *));
                if (!n) {
                        r = -ENOMEM;
                        break;
                }
                keys = n;
                keys[n_keys++] = TAKE_PTR(key);

                scan_whitespace(p);
                if (p->i < p->size && p->text[p->i] == ',') {
                        p->i++;
                        continue;
                }
                if (p->i < p->size && p->text[p->i] == '}') {
                        p->i++;
                        break;
                }
                r = parser_error_at(p, p->i, path, "expected ',' or '}'");
                break;
        }
finish:
        for (size_t k = 0; k < n_keys; k++)
                free(keys[k]);
        return r;
}

static int scan_array(Parser *p, const char *path, unsigned depth) {
        p->i++;         /* '[' */
        scan_whitespace(p);
        if (p->i < p->size && p->text[p->i] == ']') {
                p->i++;
                return 0;
        }

        for (size_t n = 0;; n++) {
                _cleanup_free_ char *child = NULL;
                int r;

                if (asprintf(&child, "%s[%zu]", path, n) < 0) {
                        child = NULL;
                        return -ENOMEM;
                }
                scan_whitespace(p);
                r = parser_record(p, child, p->i);
                if (r < 0)
                        return r;
                r = scan_value(p, child, depth + 1);
                if (r < 0)
                        return r;

                scan_whitespace(p);
                if (p->i < p->size && p->text[p->i] == ',') {
                        p->i++;
                        continue;
                }
                if (p->i < p->size && p->text[p->i] == ']') {
                        p->i++;
                        return 0;
                }
                return parser_error_at(p, p->i, path, "expected ',' or ']'");
        }
}

static int scan_value(Parser *p, const char *path, unsigned depth) {
        static const char *const literals[] = { "true", "false", "null" };

        if (depth > 64)
                return parser_error_at(p, p->i, path, "nested too deeply");
        if (p->i >= p->size)
                return parser_error_at(p, p->i, path, "unexpected end of file");

        switch (p->text[p->i]) {
        case '{':
                return scan_object(p, path, depth);
        case '[':
                return scan_array(p, path, depth);
        case '"':
        case '\'':
                return scan_string(p, path, NULL);
        case '-':
        case '0' ... '9':
                return scan_number(p, path);
        }

        for (size_t k = 0; k < ELEMENTSOF(literals); k++) {
                size_t l = strlen(literals[k]);

                if (p->size - p->i >= l && strncmp(p->text + p->i, literals[k], l) == 0) {
                        p->i += l;
                        return 0;
                }
        }
        return parser_error_at(p, p->i, path, "expected a value");
}

/* Semantics: the json-c tree against the format, with positions from above. */

static const char *json_type_description(const struct json_object *v) {
        switch (json_object_get_type(v)) {
        case json_type_null:    return "null";
        case json_type_boolean: return "a boolean";
        case json_type_double:  return "a fractional number";
        case json_type_int:     return "an integer";
        case json_type_object:  return "an object";
        case json_type_array:   return "an array";
        case json_type_string:  return "a string";
        }
        return "something else";
}

static const char *json_text(struct json_object *v) {
        return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static int expect_type(Parser *p, const char *path, struct json_object *v, enum json_type type, const char *what) {
        if (json_object_get_type(v) == type)
                return 0;
        return parser_error(p, path, "must be %s, not %s", what, json_type_description(v));
}

/* A non-negative integer no larger than max. */
static int parse_unsigned(Parser *p, const char *path, struct json_object *v, uint64_t max, uint64_t *ret) {
        uint64_t u;

        if (json_object_get_type(v) == json_type_double)
                return parser_error(p, path, "%s is not a whole number", json_text(v));
        if (json_object_get_type(v) != json_type_int)
                return parser_error(p, path, "must be a number, not %s", json_type_description(v));
        if (json_object_get_int64(v) < 0)
                return parser_error(p, path, "%s is negative", json_text(v));
        u = json_object_get_uint64(v);
        if (u > max)
                return parser_error(p, path, "%s is too large (at most %" PRIu64 ")", json_text(v), max);
        *ret = u;
        return 0;
}

static int child_path(const char *parent, const char *key, size_t index, char **ret) {
        int r;

        if (key)
                r = asprintf(ret, "%s%s%s", parent, isempty(parent) ? "" : ".", key);
        else
                r = asprintf(ret, "%s[%zu]", parent, index);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int parse_hex(const char *s, size_t n, uint32_t *ret) {
        uint32_t v = 0;

        if (n == 0 || n > 8)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int h = hex_value(s[i]);
                if (h < 0)
                        return -EINVAL;
                v = v << 4 | (uint32_t) h;
        }
        *ret = v;
        return 0;
}

/* "DDDD:BB:SS.F" (a domain of 4 to 8 hex digits) or "BB:SS.F" (domain 0), any case. */
static int parse_pci_address(const char *s, DeviceSelector *ret) {
        uint32_t domain = 0, bus, slot, function;
        size_t l = strlen(s);
        const char *tail;

        if (l < 7)
                return -EINVAL;
        tail = s + l - 7;       /* "BB:SS.F" */
        if (l > 7 && (l < 12 || l > 16 || s[l - 8] != ':' || parse_hex(s, l - 8, &domain) < 0))
                return -EINVAL;
        if (tail[2] != ':' || tail[5] != '.' ||
            parse_hex(tail, 2, &bus) < 0 || parse_hex(tail + 3, 2, &slot) < 0 ||
            parse_hex(tail + 6, 1, &function) < 0 || slot > 0x1f || function > 7)
                return -EINVAL;

        ret->type = DEVICE_SELECTOR_PCI;
        ret->pci.domain = domain;
        ret->pci.bus = bus;
        ret->pci.slot = slot;
        ret->pci.function = function;
        return 0;
}

/* "8086:10d3", any case. */
static int parse_pci_id(const char *s, DeviceSelector *ret) {
        uint32_t vendor, device;

        if (strlen(s) != 9 || s[4] != ':' || parse_hex(s, 4, &vendor) < 0 || parse_hex(s + 5, 4, &device) < 0)
                return -EINVAL;
        ret->type = DEVICE_SELECTOR_ID;
        ret->id.vendor = vendor;
        ret->id.device = device;
        return 0;
}

static int parse_selector(Parser *p, const char *path, struct json_object *v, DeviceSelector *ret) {
        bool seen = false;
        int r;

        r = expect_type(p, path, v, json_type_object, "an object such as {\"pci\": \"0000:01:00.0\"}");
        if (r < 0)
                return r;

        json_object_object_foreach(v, key, value) {
                _cleanup_free_ char *cp = NULL;
                const char *s;

                r = child_path(path, key, 0, &cp);
                if (r < 0)
                        return r;
                if (seen)
                        return parser_error(p, cp, "a device selector has exactly one key: one selector per device");
                seen = true;

                if (streq(key, "pci") || streq(key, "id")) {
                        bool pci = streq(key, "pci");

                        r = expect_type(p, cp, value, json_type_string, "a string");
                        if (r < 0)
                                return r;
                        s = json_object_get_string(value);
                        r = pci ? parse_pci_address(s, ret) : parse_pci_id(s, ret);
                        if (r < 0)
                                return parser_error(p, cp, pci ? "%s is not a PCI address (DOMAIN:BUS:SLOT.FUNCTION, e.g. \"0000:01:00.0\")"
                                                               : "%s is not a PCI vendor:device id (e.g. \"8086:10d3\")",
                                                    json_text(value));
                } else if (streq(key, "group")) {
                        uint64_t g;

                        r = parse_unsigned(p, cp, value, INT_MAX, &g);
                        if (r < 0)
                                return r;
                        ret->type = DEVICE_SELECTOR_GROUP;
                        ret->group = (unsigned) g;
                } else
                        return parser_error(p, cp, "unknown key: a device selector is \"pci\", \"id\" or \"group\"");
        }
        if (!seen)
                return parser_error(p, path, "empty device selector: give \"pci\", \"id\" or \"group\"");
        return 0;
}

static int lookup_name(bool group, const char *name, uint32_t *ret) {
        _cleanup_free_ char *buf = NULL;
        long suggested = sysconf(group ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);
        size_t size = suggested > 0 ? (size_t) suggested : 4096;

        for (;;) {
                struct passwd pw, *pwr = NULL;
                struct group gr, *grr = NULL;
                int e;

                free(buf);
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                if (group)
                        e = getgrnam_r(name, &gr, buf, size, &grr);
                else
                        e = getpwnam_r(name, &pw, buf, size, &pwr);
                if (e == ERANGE && size < 1024 * 1024) {
                        size *= 2;
                        continue;
                }
                if (e != 0)
                        return -e;
                if (group ? !grr : !pwr)
                        return -ESRCH;
                *ret = group ? grr->gr_gid : pwr->pw_uid;
                return 0;
        }
}

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!is_digit(*s))
                        return false;
        return true;
}

static int parse_identity(Parser *p, const char *path, struct json_object *v, bool group, ConfigIdentity *ret) {
        const char *what = group ? "group" : "user";
        const char *s;
        int r;

        if (json_object_get_type(v) != json_type_string) {
                uint64_t id;

                if (json_object_get_type(v) != json_type_int && json_object_get_type(v) != json_type_double)
                        return parser_error(p, path, "must be a %s name or number, not %s", what,
                                            json_type_description(v));
                /* (uid_t) -1 means "no user" to the kernel. */
                r = parse_unsigned(p, path, v, UINT32_MAX - 1, &id);
                if (r < 0)
                        return r;
                ret->id = (uint32_t) id;
                ret->name = NULL;
                return 0;
        }

        s = json_object_get_string(v);
        if (all_digits(s)) {
                char *end;
                unsigned long long id;

                errno = 0;
                id = strtoull(s, &end, 10);
                if (errno != 0 || *end || id >= UINT32_MAX)
                        return parser_error(p, path, "%s is not a valid %s number", json_text(v), what);
                ret->id = (uint32_t) id;
                ret->name = NULL;
                return 0;
        }
        if (isempty(s) || strlen(s) > 256 || strpbrk(s, ":/\n\t "))
                return parser_error(p, path, "%s is not a valid %s name", json_text(v), what);

        r = lookup_name(group, s, &ret->id);
        if (r == -ENOMEM)
                return r;
        if (r == -ESRCH)
                return parser_error(p, path, "no such %s %s", what, json_text(v));
        if (r < 0)
                return parser_error(p, path, "cannot look up %s %s: %s", what, json_text(v), strerror(-r));
        ret->name = strdup(s);
        if (!ret->name)
                return -ENOMEM;
        return 0;
}

static int parse_identities(Parser *p, const char *path, struct json_object *v, bool group,
                            ConfigIdentity **ret, size_t *ret_n) {
        size_t n;
        int r;

        r = expect_type(p, path, v, json_type_array, group ? "an array of group names or numbers"
                                                           : "an array of user names or numbers");
        if (r < 0)
                return r;
        n = json_object_array_length(v);
        *ret = calloc(n ?: 1, sizeof(ConfigIdentity));
        if (!*ret)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *cp = NULL;

                r = child_path(path, NULL, i, &cp);
                if (r < 0)
                        return r;
                r = parse_identity(p, cp, json_object_array_get_idx(v, i), group, &(*ret)[i]);
                if (r < 0)
                        return r;
                (*ret_n)++;
        }
        return 0;
}

/* As systemd names units: "name.type", "template@instance.type", or a
 * template "template@.type", which matches all its instances. */
static bool unit_name_is_valid(const char *s) {
        static const char *const types[] = {
                ".service", ".socket", ".scope", ".slice", ".target", ".timer", ".path",
                ".mount", ".automount", ".swap", ".device",
        };
        const char *dot = strrchr(s, '.'), *at;
        bool type_ok = false;

        if (isempty(s) || strlen(s) > 255 || !dot || dot == s)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (streq(dot, types[i]))
                        type_ok = true;
        if (!type_ok)
                return false;
        for (const char *c = s; c < dot; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || is_digit(*c) || strchr(":-_.\\@", *c)))
                        return false;
        at = strchr(s, '@');
        if (at && (at == s || strchr(at + 1, '@')))
                return false;
        return true;
}

static int parse_units(Parser *p, const char *path, struct json_object *v, char ***ret, size_t *ret_n) {
        size_t n;
        int r;

        r = expect_type(p, path, v, json_type_array, "an array of systemd unit names");
        if (r < 0)
                return r;
        n = json_object_array_length(v);
        *ret = calloc(n ?: 1, sizeof(char *));
        if (!*ret)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *cp = NULL;
                struct json_object *u = json_object_array_get_idx(v, i);

                r = child_path(path, NULL, i, &cp);
                if (r < 0)
                        return r;
                r = expect_type(p, cp, u, json_type_string, "a string");
                if (r < 0)
                        return r;
                if (!unit_name_is_valid(json_object_get_string(u)))
                        return parser_error(p, cp, "%s is not a systemd unit name (e.g. \"vmm@guest1.service\")",
                                            json_text(u));
                (*ret)[i] = strdup(json_object_get_string(u));
                if (!(*ret)[i])
                        return -ENOMEM;
                (*ret_n)++;
        }
        return 0;
}

static int parse_rule(Parser *p, const char *path, struct json_object *v, AllowRule *rule) {
        bool has_devices = false;
        int r;

        r = expect_type(p, path, v, json_type_object, "an object (a rule)");
        if (r < 0)
                return r;

        json_object_object_foreach(v, key, value) {
                _cleanup_free_ char *cp = NULL;

                r = child_path(path, key, 0, &cp);
                if (r < 0)
                        return r;

                if (streq(key, "devices")) {
                        size_t n;

                        r = expect_type(p, cp, value, json_type_array, "an array of device selectors");
                        if (r < 0)
                                return r;
                        n = json_object_array_length(value);
                        if (n == 0)
                                return parser_error(p, cp, "empty: a rule names at least one device");
                        rule->devices = calloc(n, sizeof(DeviceSelector));
                        if (!rule->devices)
                                return -ENOMEM;
                        for (size_t i = 0; i < n; i++) {
                                _cleanup_free_ char *ep = NULL;

                                r = child_path(cp, NULL, i, &ep);
                                if (r < 0)
                                        return r;
                                r = parse_selector(p, ep, json_object_array_get_idx(value, i), &rule->devices[i]);
                                if (r < 0)
                                        return r;
                                rule->n_devices++;
                        }
                        has_devices = true;
                } else if (streq(key, "users"))
                        r = parse_identities(p, cp, value, false, &rule->users, &rule->n_users);
                else if (streq(key, "groups"))
                        r = parse_identities(p, cp, value, true, &rule->groups, &rule->n_groups);
                else if (streq(key, "units"))
                        r = parse_units(p, cp, value, &rule->units, &rule->n_units);
                else
                        return parser_error(p, cp, "unknown key: a rule has \"devices\", \"users\", \"groups\" and \"units\"");
                if (r < 0)
                        return r;
        }

        if (!has_devices)
                return parser_error(p, path, "the rule names no \"devices\"");
        if (rule->n_users + rule->n_groups + rule->n_units == 0)
                return parser_error(p, path, "the rule allows nobody: give \"users\", \"groups\" or \"units\"");
        return 0;
}

/* Bytes, or a whole number with a binary suffix: "64G". */
static int parse_size(const char *s, uint64_t *ret) {
        static const char suffixes[] = "KMGTPE";
        uint64_t v = 0;
        const char *c = s;

        if (!is_digit(*c))
                return -EINVAL;
        for (; is_digit(*c); c++) {
                if (v > (UINT64_MAX - (*c - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (*c - '0');
        }
        if (*c) {
                const char *sfx = strchr(suffixes, *c);

                if (!sfx || c[1])
                        return -EINVAL;
                for (long k = 0; k <= sfx - suffixes; k++) {
                        if (v > UINT64_MAX / 1024)
                                return -ERANGE;
                        v *= 1024;
                }
        }
        *ret = v;
        return 0;
}

static int parse_limits(Parser *p, const char *path, struct json_object *v, Config *c) {
        int r;

        r = expect_type(p, path, v, json_type_object, "an object");
        if (r < 0)
                return r;

        json_object_object_foreach(v, key, value) {
                _cleanup_free_ char *cp = NULL;
                ConfigLimit l;
                const char *s;

                r = child_path(path, key, 0, &cp);
                if (r < 0)
                        return r;
                for (l = 0; l < _CONFIG_LIMIT_MAX; l++)
                        if (streq(key, limit_keys[l]))
                                break;
                if (l == _CONFIG_LIMIT_MAX)
                        return parser_error(p, cp, "unknown key: limits are \"pinned-bytes\", \"objects\" and \"devices\"");

                if (json_object_get_type(value) != json_type_string) {
                        r = parse_unsigned(p, cp, value, UINT64_MAX, &c->limits[l]);
                        if (r < 0)
                                return r;
                        continue;
                }

                s = json_object_get_string(value);
                if (streq(s, "infinity"))
                        c->limits[l] = CONFIG_LIMIT_INFINITY;
                else if (l != CONFIG_LIMIT_PINNED_BYTES)
                        return parser_error(p, cp, "%s is not a number or \"infinity\"", json_text(value));
                else {
                        r = parse_size(s, &c->limits[l]);
                        if (r == -ERANGE)
                                return parser_error(p, cp, "%s is too large", json_text(value));
                        if (r < 0)
                                return parser_error(p, cp, "%s is not a size (bytes, or a whole number with K, M, G, T, P or E for powers of 1024, or \"infinity\")",
                                                    json_text(value));
                }
        }
        return 0;
}

static int parse_root(Parser *p, struct json_object *root, Config *c) {
        int r;

        if (json_object_get_type(root) != json_type_object)
                return parser_error(p, "", "the configuration must be a JSON object, not %s",
                                    json_type_description(root));

        json_object_object_foreach(root, key, value) {
                if (streq(key, "allow")) {
                        size_t n;

                        r = expect_type(p, key, value, json_type_array, "an array of rules");
                        if (r < 0)
                                return r;
                        n = json_object_array_length(value);
                        c->allow = calloc(n ?: 1, sizeof(AllowRule));
                        if (!c->allow)
                                return -ENOMEM;
                        for (size_t i = 0; i < n; i++) {
                                _cleanup_free_ char *cp = NULL;
                                unsigned column;

                                r = child_path(key, NULL, i, &cp);
                                if (r < 0)
                                        return r;
                                /* Counted first, so that config_free() sees a half-parsed rule. */
                                c->n_allow++;
                                r = parse_rule(p, cp, json_object_array_get_idx(value, i), &c->allow[i]);
                                if (r < 0)
                                        return r;
                                offset_to_line_column(p->text, p->size, parser_offset_of(p, cp),
                                                      &c->allow[i].line, &column);
                        }
                } else if (streq(key, "limits")) {
                        r = parse_limits(p, key, value, c);
                        if (r < 0)
                                return r;
                } else
                        return parser_error(p, key, "unknown key: the configuration has \"allow\" and \"limits\"");
        }
        return 0;
}

static int set_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return r;
}

int config_parse(const char *text, size_t size, const char *origin, Config **ret, char **ret_error) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *copy = NULL;
        struct json_tokener *tok = NULL;
        struct json_object *root = NULL;
        enum json_tokener_error jerr;
        const char *nul;
        Parser p = {
                .origin = origin ?: "(configuration)",
                .text = text,
                .size = size,
        };
        bool blank = true;
        int r;

        if (ret_error)
                *ret_error = NULL;

        r = config_new(&c);
        if (r < 0)
                return r;

        if (size > CONFIG_MAX_SIZE)
                return set_error(ret_error, -EINVAL, "%s: larger than %u bytes", p.origin, CONFIG_MAX_SIZE);
        nul = memchr(text, 0, size);
        if (nul) {
                r = parser_error_at(&p, nul - text, NULL, "NUL byte: this is not a text file");
                goto finish;
        }
        for (size_t i = 0; i < size; i++)
                if (!strchr(" \t\r\n", text[i]))
                        blank = false;
        if (blank) {
                /* An empty file is the defaults, as a missing one is. */
                *ret = TAKE_PTR(c);
                return 0;
        }

        /* With its NUL, so that json-c knows the text ends there: else a
         * lone literal ("null") stays incomplete. */
        copy = malloc(size + 1);
        tok = json_tokener_new();
        if (!copy || !tok) {
                r = -ENOMEM;
                goto finish;
        }
        memcpy(copy, text, size);
        copy[size] = 0;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, copy, (int) size + 1);
        jerr = json_tokener_get_error(tok);
        if (jerr != json_tokener_success) {
                size_t end = json_tokener_get_parse_end(tok);

                if (jerr == json_tokener_continue || end >= size)
                        r = parser_error_at(&p, size, NULL, "unexpected end of file");
                else
                        r = parser_error_at(&p, end, NULL, "%s", json_tokener_error_desc(jerr));
                goto finish;
        }

        /* Positions, and what json-c let through. */
        r = parser_record(&p, "", 0);
        if (r < 0)
                goto finish;
        scan_whitespace(&p);
        p.positions[0].offset = p.i;
        r = scan_value(&p, "", 0);
        if (r < 0)
                goto finish;
        scan_whitespace(&p);
        if (p.i < p.size) {
                r = parser_error_at(&p, p.i, NULL, "unexpected text after the JSON object");
                goto finish;
        }

        r = parse_root(&p, root, c);

finish:
        json_object_put(root);
        if (tok)
                json_tokener_free(tok);
        if (r < 0) {
                if (ret_error && p.error)
                        *ret_error = TAKE_PTR(p.error);
                parser_done(&p);
                return r;
        }
        parser_done(&p);
        *ret = TAKE_PTR(c);
        return 0;
}

int config_load(const char *path, Config **ret, char **ret_error) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0;
        struct stat st;

        if (ret_error)
                *ret_error = NULL;
        if (!path)
                path = CONFIG_DEFAULT_PATH;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return config_new(ret);
                return set_error(ret_error, -errno, "%s: cannot open: %m", path);
        }
        if (fstat(fd, &st) < 0)
                return set_error(ret_error, -errno, "%s: cannot stat: %m", path);
        if (!S_ISREG(st.st_mode))
                return set_error(ret_error, -EINVAL, "%s: not a regular file", path);
        if (st.st_size > (off_t) CONFIG_MAX_SIZE)
                return set_error(ret_error, -EINVAL, "%s: larger than %u bytes", path, CONFIG_MAX_SIZE);

        /* One byte more than allowed, to notice a file that grew meanwhile. */
        buf = malloc(CONFIG_MAX_SIZE + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + size, CONFIG_MAX_SIZE + 1 - size);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return set_error(ret_error, -errno, "%s: cannot read: %m", path);
                }
                if (n == 0)
                        break;
                size += n;
                if (size > CONFIG_MAX_SIZE)
                        return set_error(ret_error, -EINVAL, "%s: larger than %u bytes", path, CONFIG_MAX_SIZE);
        }

        return config_parse(buf, size, path, ret, ret_error);
}

/* Matching. */

static bool selector_matches(const DeviceSelector *s, const struct viommu_topology_device *dev) {
        switch (s->type) {
        case DEVICE_SELECTOR_PCI:
                return dev->is_pci && dev->pci.domain == s->pci.domain && dev->pci.bus == s->pci.bus &&
                        dev->pci.slot == s->pci.slot && dev->pci.function == s->pci.function;
        case DEVICE_SELECTOR_ID:
                return dev->is_pci && dev->pci.vendor == (int32_t) s->id.vendor &&
                        dev->pci.device == (int32_t) s->id.device;
        case DEVICE_SELECTOR_GROUP:
                return dev->iommu_group >= 0 && (unsigned) dev->iommu_group == s->group;
        default:
                return false;
        }
}

static bool unit_matches(const char *pattern, const char *unit) {
        const char *at = strchr(pattern, '@');

        if (streq(pattern, unit))
                return true;
        /* "vmm@.service" matches "vmm@guest1.service". */
        if (at && at[1] == '.') {
                size_t prefix = at - pattern + 1;
                const char *type = at + 1, *u_type = strrchr(unit, '.');

                return strncmp(unit, pattern, prefix) == 0 && u_type && u_type > unit + prefix &&
                        streq(u_type, type);
        }
        return false;
}

static bool rule_matches_caller(const AllowRule *r, uid_t uid, const gid_t *gids, size_t n_gids, const char *unit) {
        for (size_t i = 0; i < r->n_users; i++)
                if (r->users[i].id == uid)
                        return true;
        for (size_t i = 0; i < r->n_groups; i++)
                for (size_t k = 0; k < n_gids; k++)
                        if (r->groups[i].id == gids[k])
                                return true;
        if (unit)
                for (size_t i = 0; i < r->n_units; i++)
                        if (unit_matches(r->units[i], unit))
                                return true;
        return false;
}

int config_device_allowed(const Config *c, const struct viommu_topology_device *dev, uid_t uid,
                          const gid_t *gids, size_t n_gids, const char *unit) {
        if (!c || !dev)
                return 0;

        for (size_t i = 0; i < c->n_allow; i++) {
                const AllowRule *r = &c->allow[i];
                bool device = false;

                for (size_t k = 0; k < r->n_devices && !device; k++)
                        device = selector_matches(&r->devices[k], dev);
                if (device && rule_matches_caller(r, uid, gids, n_gids, unit))
                        return 1;
        }
        return 0;
}

/* The reload log. */

const char *config_format_bytes(char buf[static CONFIG_FORMAT_BYTES_MAX], uint64_t bytes) {
        static const char suffixes[] = "KMGTPE";
        int k = -1;

        if (bytes == CONFIG_LIMIT_INFINITY)
                return "infinity";
        while (bytes != 0 && bytes % 1024 == 0 && k < (int) sizeof(suffixes) - 2) {
                bytes /= 1024;
                k++;
        }
        if (k < 0)
                snprintf(buf, CONFIG_FORMAT_BYTES_MAX, "%" PRIu64, bytes);
        else
                snprintf(buf, CONFIG_FORMAT_BYTES_MAX, "%" PRIu64 "%c", bytes, suffixes[k]);
        return buf;
}

static const char *format_limit(char buf[static CONFIG_FORMAT_BYTES_MAX], ConfigLimit l, uint64_t v) {
        if (l == CONFIG_LIMIT_PINNED_BYTES || v == CONFIG_LIMIT_INFINITY)
                return config_format_bytes(buf, v);
        snprintf(buf, CONFIG_FORMAT_BYTES_MAX, "%" PRIu64, v);
        return buf;
}

static void print_identities(FILE *f, const char *what, const ConfigIdentity *ids, size_t n) {
        if (n == 0)
                return;
        fprintf(f, "; %s ", what);
        for (size_t i = 0; i < n; i++) {
                if (ids[i].name)
                        fprintf(f, "%s%s (%" PRIu32 ")", i > 0 ? ", " : "", ids[i].name, ids[i].id);
                else
                        fprintf(f, "%s%" PRIu32, i > 0 ? ", " : "", ids[i].id);
        }
}

/* One line for a rule, the same for rules that allow the same. */
static int rule_to_string(const AllowRule *r, char **ret) {
        _cleanup_free_ char *buf = NULL;
        FILE *f;
        size_t size;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fputs("devices ", f);
        for (size_t i = 0; i < r->n_devices; i++) {
                const DeviceSelector *s = &r->devices[i];

                if (i > 0)
                        fputs(", ", f);
                switch (s->type) {
                case DEVICE_SELECTOR_PCI:
                        fprintf(f, "pci %04x:%02x:%02x.%x", s->pci.domain, s->pci.bus, s->pci.slot, s->pci.function);
                        break;
                case DEVICE_SELECTOR_ID:
                        fprintf(f, "id %04x:%04x", s->id.vendor, s->id.device);
                        break;
                case DEVICE_SELECTOR_GROUP:
                        fprintf(f, "group %u", s->group);
                        break;
                default:
                        break;
                }
        }
        print_identities(f, "users", r->users, r->n_users);
        print_identities(f, "groups", r->groups, r->n_groups);
        if (r->n_units > 0) {
                fputs("; units ", f);
                for (size_t i = 0; i < r->n_units; i++)
                        fprintf(f, "%s%s", i > 0 ? ", " : "", r->units[i]);
        }

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static void free_strings(char **l, size_t n) {
        if (!l)
                return;
        for (size_t i = 0; i < n; i++)
                free(l[i]);
        free(l);
}

static int rules_to_strings(const Config *c, char ***ret) {
        char **l;
        int r;

        l = calloc(c->n_allow ?: 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_allow; i++) {
                r = rule_to_string(&c->allow[i], &l[i]);
                if (r < 0) {
                        free_strings(l, c->n_allow);
                        return r;
                }
        }
        *ret = l;
        return 0;
}

int config_diff(const Config *old, const Config *new, char **ret) {
        _cleanup_(config_freep) Config *defaults = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ bool *old_kept = NULL, *new_kept = NULL;
        char **old_rules = NULL, **new_rules = NULL;
        FILE *f = NULL;
        size_t size;
        int r, changes = 0;

        if (!old || !new) {
                r = config_new(&defaults);
                if (r < 0)
                        return r;
                old = old ?: defaults;
                new = new ?: defaults;
        }

        r = rules_to_strings(old, &old_rules);
        if (r < 0)
                goto finish;
        r = rules_to_strings(new, &new_rules);
        if (r < 0)
                goto finish;
        old_kept = calloc(old->n_allow ?: 1, sizeof(bool));
        new_kept = calloc(new->n_allow ?: 1, sizeof(bool));
        f = open_memstream(&buf, &size);
        if (!old_kept || !new_kept || !f) {
                r = -ENOMEM;
                goto finish;
        }

        /* Rules that stayed, pairwise, so that a rule given twice and kept once still shows. */
        for (size_t i = 0; i < old->n_allow; i++)
                for (size_t k = 0; k < new->n_allow; k++)
                        if (!new_kept[k] && streq(old_rules[i], new_rules[k])) {
                                old_kept[i] = new_kept[k] = true;
                                break;
                        }

        for (ConfigLimit l = 0; l < _CONFIG_LIMIT_MAX; l++) {
                char a[CONFIG_FORMAT_BYTES_MAX], b[CONFIG_FORMAT_BYTES_MAX];

                if (old->limits[l] == new->limits[l])
                        continue;
                fprintf(f, "%slimits.%s: %s -> %s", changes++ > 0 ? "\n" : "", limit_keys[l],
                        format_limit(a, l, old->limits[l]), format_limit(b, l, new->limits[l]));
        }
        for (size_t i = 0; i < old->n_allow; i++)
                if (!old_kept[i])
                        fprintf(f, "%sallow: removed rule (was line %u): %s", changes++ > 0 ? "\n" : "",
                                old->allow[i].line, old_rules[i]);
        for (size_t k = 0; k < new->n_allow; k++)
                if (!new_kept[k])
                        fprintf(f, "%sallow: added rule (line %u): %s", changes++ > 0 ? "\n" : "",
                                new->allow[k].line, new_rules[k]);

        r = fclose(f) == 0 ? 0 : -ENOMEM;
        f = NULL;
        if (r < 0)
                goto finish;

        *ret = changes > 0 ? TAKE_PTR(buf) : NULL;
        r = changes;
finish:
        if (f)
                fclose(f);
        free_strings(old_rules, old->n_allow);
        free_strings(new_rules, new->n_allow);
        return r;
}
