/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

typedef struct Cell {
        char *text;
        struct json_object *json;       /* NULL is JSON null */
} Cell;

struct Table {
        TableLayout layout;
        const Column *columns;
        size_t n_columns;
        Cell *cells;
        size_t n_cells, allocated;
};

const char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes) {
        static const char units[] = "KMGTPE";
        uint64_t unit = 1024;
        size_t i = 0;

        if (bytes < 1024) {
                snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64 " B", bytes);
                return buf;
        }
        /* The largest unit not above the value; stops at EiB, whose 16 is the
         * most a uint64_t holds, and so the tenths cannot overflow. */
        while (i + 1 < sizeof(units) - 1 && bytes / unit >= 1024) {
                unit *= 1024;
                i++;
        }
        snprintf(buf, FORMAT_BYTES_MAX, "%u.%u %ciB",
                 (unsigned) (bytes / unit), (unsigned) ((bytes % unit) * 10 / unit), units[i]);
        return buf;
}

size_t utf8_width(const char *s) {
        size_t n = 0;

        for (; s && *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}

const char *glyph(Glyph g, bool utf8) {
        static const char *const table[_GLYPH_MAX][2] = {
                [GLYPH_TREE_VERTICAL] = { "| ",  "\342\224\202 " },             /* │ */
                [GLYPH_TREE_BRANCH]   = { "|-",  "\342\224\234\342\224\200" },  /* ├─ */
                [GLYPH_TREE_RIGHT]    = { "`-",  "\342\224\224\342\224\200" },  /* └─ */
                [GLYPH_TREE_SPACE]    = { "  ",  "  " },
        };

        return g >= 0 && g < _GLYPH_MAX ? table[g][utf8] : "";
}

int table_new(TableLayout layout, const Column *columns, size_t n_columns, Table **ret) {
        Table *t;

        if (n_columns == 0)
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->layout = layout;
        t->columns = columns;
        t->n_columns = n_columns;
        *ret = t;
        return 0;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++) {
                free(t->cells[i].text);
                json_object_put(t->cells[i].json);
        }
        free(t->cells);
        free(t);
        return NULL;
}

/* Takes json (NULL: null) and text (NULL: "-"); text is copied with its
 * control characters replaced, so that a row stays one line. */
static int table_add(Table *t, struct json_object *json, const char *text) {
        char *copy;

        if (t->layout == TABLE_RECORD && t->n_cells >= t->n_columns) {
                json_object_put(json);
                return -E2BIG;
        }
        if (t->n_cells == t->allocated) {
                size_t n = t->allocated ? t->allocated * 2 : 16;
                Cell *c = reallocarray(t->cells, n, sizeof(Cell));

                if (!c) {
                        json_object_put(json);
                        return -ENOMEM;
                }
                t->cells = c;
                t->allocated = n;
        }
        copy = strdup(text ?: "-");
        if (!copy) {
                json_object_put(json);
                return -ENOMEM;
        }
        for (char *p = copy; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = '?';
        t->cells[t->n_cells++] = (Cell) { .text = copy, .json = json };
        return 0;
}

int table_add_string(Table *t, const char *s) {
        struct json_object *j = NULL;

        if (s) {
                j = json_object_new_string(s);
                if (!j)
                        return -ENOMEM;
        }
        return table_add(t, j, isempty(s) ? NULL : s);
}

int table_add_bool(Table *t, bool b) {
        struct json_object *j = json_object_new_boolean(b);

        return j ? table_add(t, j, b ? "yes" : "no") : -ENOMEM;
}

int table_add_int(Table *t, int64_t i) {
        struct json_object *j = json_object_new_int64(i);
        char buf[24];

        if (!j)
                return -ENOMEM;
        snprintf(buf, sizeof(buf), "%" PRIi64, i);
        return table_add(t, j, buf);
}

int table_add_uint(Table *t, uint64_t u) {
        struct json_object *j = json_object_new_uint64(u);
        char buf[24];

        if (!j)
                return -ENOMEM;
        snprintf(buf, sizeof(buf), "%" PRIu64, u);
        return table_add(t, j, buf);
}

int table_add_hex(Table *t, uint64_t v) {
        char buf[24];

        snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
        struct json_object *j = json_object_new_string(buf);
        return j ? table_add(t, j, buf) : -ENOMEM;
}

int table_add_size(Table *t, uint64_t bytes) {
        char buf[FORMAT_BYTES_MAX], hex[24];
        struct json_object *j;

        /* The daemon gives 64-bit quantities as hex strings (readers whose
         * numbers are doubles lose precision); --json keeps its convention. */
        snprintf(hex, sizeof(hex), "0x%" PRIx64, bytes);
        j = json_object_new_string(hex);
        return j ? table_add(t, j, format_bytes(buf, bytes)) : -ENOMEM;
}

int table_add_null(Table *t) {
        return table_add(t, NULL, NULL);
}

int table_set_text(Table *t, const char *text) {
        char *copy;

        if (t->n_cells == 0)
                return -EINVAL;
        copy = strdup(isempty(text) ? "-" : text);
        if (!copy)
                return -ENOMEM;
        for (char *p = copy; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = '?';
        free(t->cells[t->n_cells - 1].text);
        t->cells[t->n_cells - 1].text = copy;
        return 0;
}

size_t table_n_rows(const Table *t) {
        return DIV_ROUND_UP(t->n_cells, t->n_columns);
}

size_t table_column_width(const Table *t, size_t column) {
        size_t w;

        if (column >= t->n_columns)
                return 0;
        w = utf8_width(t->columns[column].header);
        for (size_t i = column; i < t->n_cells; i += t->n_columns)
                w = MAX(w, utf8_width(t->cells[i].text));
        return w;
}

static void pad(FILE *f, size_t n) {
        while (n-- > 0)
                fputc(' ', f);
}

static void format_record(const Table *t, FILE *f) {
        size_t width = 0;

        for (size_t c = 0; c < t->n_columns; c++)
                if (!(t->columns[c].flags & COLUMN_JSON_ONLY))
                        width = MAX(width, utf8_width(t->columns[c].header));
        for (size_t c = 0; c < t->n_columns && c < t->n_cells; c++) {
                const char *h = t->columns[c].header;

                if (t->columns[c].flags & COLUMN_JSON_ONLY)
                        continue;
                pad(f, width - utf8_width(h));
                fprintf(f, "%s: %s\n", h, t->cells[c].text);
        }
}

static void format_line(const Table *t, FILE *f, const size_t *widths, size_t row) {
        size_t last = 0;

        for (size_t c = 0; c < t->n_columns; c++)
                if (!(t->columns[c].flags & COLUMN_JSON_ONLY))
                        last = c;

        bool first = true;
        for (size_t c = 0; c < t->n_columns; c++) {
                const Column *col = &t->columns[c];
                const char *s;
                size_t w;

                if (col->flags & COLUMN_JSON_ONLY)
                        continue;
                if (row == SIZE_MAX)
                        s = col->header;
                else {
                        size_t i = row * t->n_columns + c;
                        s = i < t->n_cells ? t->cells[i].text : "-";
                }
                w = utf8_width(s);

                if (!first)
                        fputs("  ", f);
                first = false;
                if (col->flags & COLUMN_RIGHT)
                        pad(f, widths[c] - w);
                fputs(s, f);
                /* No trailing blanks after the last column. */
                if (!(col->flags & COLUMN_RIGHT) && c != last)
                        pad(f, widths[c] - w);
        }
        fputc('\n', f);
}

int table_format(const Table *t, char **ret) {
        _cleanup_free_ size_t *widths = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        if (t->layout == TABLE_RECORD)
                format_record(t, f);
        else {
                widths = calloc(t->n_columns, sizeof(size_t));
                if (!widths) {
                        fclose(f);
                        return -ENOMEM;
                }
                for (size_t c = 0; c < t->n_columns; c++)
                        widths[c] = table_column_width(t, c);
                format_line(t, f, widths, SIZE_MAX);
                for (size_t r = 0; r < table_n_rows(t); r++)
                        format_line(t, f, widths, r);
        }

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int row_to_json(const Table *t, size_t row, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_columns; c++) {
                size_t i = row * t->n_columns + c;
                struct json_object *v;

                if (t->columns[c].flags & COLUMN_TEXT_ONLY)
                        continue;
                v = i < t->n_cells ? json_object_get(t->cells[i].json) : NULL;
                if (json_object_object_add(o, t->columns[c].key, v) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int table_to_json(const Table *t, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *a = NULL;
        int r;

        if (t->layout == TABLE_RECORD)
                return row_to_json(t, 0, ret);

        a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        for (size_t row = 0; row < table_n_rows(t); row++) {
                struct json_object *o;

                r = row_to_json(t, row, &o);
                if (r < 0)
                        return r;
                if (json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(a);
        return 0;
}

int table_print(const Table *t, JsonMode mode, FILE *f) {
        int r;

        if (mode != JSON_OFF) {
                _cleanup_(json_object_putp) struct json_object *j = NULL;

                r = table_to_json(t, &j);
                if (r < 0)
                        return r;
                return json_print(j, mode, f);
        }

        _cleanup_free_ char *text = NULL;
        r = table_format(t, &text);
        if (r < 0)
                return r;
        fputs(text, f);
        return 0;
}

int json_print(struct json_object *j, JsonMode mode, FILE *f) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
        const char *s;

        flags |= mode == JSON_SHORT ? JSON_C_TO_STRING_PLAIN : JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
        s = json_object_to_json_string_ext(j, flags);
        if (!s)
                return -ENOMEM;
        fputs(s, f);
        fputc('\n', f);
        return 0;
}
