/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libsmartcols.h>

#include "output.h"

typedef struct Cell {
        char *text;
        struct json_object *json;       /* NULL is JSON null */
        const char *color;              /* static; NULL: none */
} Cell;

struct Table {
        TableLayout layout;
        unsigned flags;
        const Column *columns;
        size_t n_columns;
        Cell *cells;
        size_t n_cells, allocated;
        size_t *parents;                /* TABLE_TREE: per row, SIZE_MAX for a root */
        size_t n_parents;
        size_t *shown;                  /* -o: these columns; NULL: the default ones */
        size_t n_shown;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libscols_table *, scols_unref_table)

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
        free(t->parents);
        free(t->shown);
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

/* The row being filled: the one the cell added last is in. */
static size_t current_row(const Table *t) {
        return t->n_cells == 0 ? 0 : (t->n_cells - 1) / t->n_columns;
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

int table_add_json(Table *t, struct json_object *json, const char *text) {
        return table_add(t, json, isempty(text) ? NULL : text);
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

int table_set_color(Table *t, const char *color) {
        if (t->n_cells == 0)
                return -EINVAL;
        t->cells[t->n_cells - 1].color = color;
        return 0;
}

int table_set_parent(Table *t, size_t row) {
        size_t current = current_row(t);

        if (t->layout != TABLE_TREE || t->n_cells == 0 || row >= current)
                return -EINVAL;
        if (current >= t->n_parents) {
                size_t n = MAX(current + 1, t->n_parents * 2);
                size_t *p = reallocarray(t->parents, n, sizeof(size_t));

                if (!p)
                        return -ENOMEM;
                for (size_t i = t->n_parents; i < n; i++)
                        p[i] = SIZE_MAX;
                t->parents = p;
                t->n_parents = n;
        }
        t->parents[current] = row;
        return 0;
}

void table_set_flags(Table *t, unsigned flags) {
        t->flags = flags;
}

int column_lookup(const Column *columns, size_t n_columns, const char *name, size_t *ret) {
        for (size_t c = 0; c < n_columns; c++)
                if (strcasecmp(columns[c].header, name) == 0 || strcasecmp(columns[c].key, name) == 0) {
                        *ret = c;
                        return 0;
                }
        return -ENOENT;
}

/* The columns of a list as indexes; *ret may be NULL for an empty list. */
static int columns_parse(const Column *columns, size_t n_columns, const char *list, size_t **ret, size_t *ret_n,
                         char **ret_bad) {
        _cleanup_free_ size_t *shown = NULL;
        _cleanup_free_ char *copy = strdup(list);
        size_t n = 0;
        char *state = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, ",", &state); w; w = strtok_r(NULL, ",", &state)) {
                size_t *p, c;

                if (column_lookup(columns, n_columns, w, &c) < 0) {
                        if (ret_bad && !(*ret_bad = strdup(w)))
                                return -ENOMEM;
                        return -ENOENT;
                }
                p = reallocarray(shown, n + 1, sizeof(size_t));
                if (!p)
                        return -ENOMEM;
                shown = p;
                shown[n++] = c;
        }
        if (ret) {
                *ret = TAKE_PTR(shown);
                *ret_n = n;
        }
        return 0;
}

int columns_check(const Column *columns, size_t n_columns, const char *list, char **ret_bad) {
        return columns_parse(columns, n_columns, list, NULL, NULL, ret_bad);
}

int table_select(Table *t, const char *list, char **ret_bad) {
        size_t *shown = NULL, n = 0;
        int r;

        r = columns_parse(t->columns, t->n_columns, list, &shown, &n, ret_bad);
        if (r < 0)
                return r;
        if (n == 0) {
                free(shown);
                return -EINVAL;
        }
        free(t->shown);
        t->shown = shown;
        t->n_shown = n;
        return 0;
}

size_t table_n_rows(const Table *t) {
        return DIV_ROUND_UP(t->n_cells, t->n_columns);
}

/* The columns shown, in order: -o's, or the table's own for text or JSON. */
static size_t shown_columns(const Table *t, bool json, size_t *ret) {
        unsigned hidden = json ? COLUMN_TEXT_ONLY : COLUMN_JSON_ONLY;
        size_t n = 0;

        if (t->shown) {
                memcpy(ret, t->shown, t->n_shown * sizeof(size_t));
                return t->n_shown;
        }
        for (size_t c = 0; c < t->n_columns; c++)
                if (!(t->columns[c].flags & hidden))
                        ret[n++] = c;
        return n;
}

static const char *cell_text(const Table *t, size_t row, size_t c) {
        size_t i = row * t->n_columns + c;

        return i < t->n_cells ? t->cells[i].text : "-";
}

static const char *cell_color(const Table *t, size_t row, size_t c) {
        size_t i = row * t->n_columns + c;

        return i < t->n_cells && (t->flags & TABLE_COLOR) ? t->cells[i].color : NULL;
}

static int set_cell(struct libscols_line *line, size_t n, const char *text, const char *color) {
        int r = scols_line_set_data(line, n, text);

        if (r >= 0 && color)
                r = scols_cell_set_color(scols_line_get_cell(line, n), color);
        return r;
}

/* A record: one "Label: value" line per column, the labels right-aligned. */
static int fill_record(const Table *t, struct libscols_table *tb, const size_t *shown, size_t n_shown) {
        if (!scols_table_new_column(tb, "LABEL", 0, SCOLS_FL_RIGHT) || !scols_table_new_column(tb, "VALUE", 0, 0))
                return -ENOMEM;
        scols_table_enable_noheadings(tb, true);
        for (size_t i = 0; i < n_shown; i++) {
                struct libscols_line *line = scols_table_new_line(tb, NULL);
                _cleanup_free_ char *label = NULL;
                int r;

                if (!line || asprintf(&label, "%s:", t->columns[shown[i]].header) < 0)
                        return -ENOMEM;
                r = set_cell(line, 0, label, NULL);
                if (r >= 0)
                        r = set_cell(line, 1, cell_text(t, 0, shown[i]), cell_color(t, 0, shown[i]));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Rows under a header, or a tree drawn in the first column shown. */
static int fill_rows(const Table *t, struct libscols_table *tb, const size_t *shown, size_t n_shown) {
        _cleanup_free_ struct libscols_line **lines = NULL;
        size_t n_rows = table_n_rows(t);

        scols_table_set_column_separator(tb, "  ");
        scols_table_enable_noheadings(tb, !!(t->flags & TABLE_NO_LEGEND) || t->layout == TABLE_TREE);
        for (size_t i = 0; i < n_shown; i++) {
                const Column *col = &t->columns[shown[i]];
                int flags = col->flags & COLUMN_RIGHT ? SCOLS_FL_RIGHT : 0;

                if (t->layout == TABLE_TREE && i == 0)
                        flags |= SCOLS_FL_TREE;
                if (!scols_table_new_column(tb, col->header, 0, flags))
                        return -ENOMEM;
        }
        lines = calloc(n_rows ?: 1, sizeof(*lines));
        if (!lines)
                return -ENOMEM;
        for (size_t row = 0; row < n_rows; row++) {
                size_t parent = row < t->n_parents ? t->parents[row] : SIZE_MAX;

                lines[row] = scols_table_new_line(tb, parent < row ? lines[parent] : NULL);
                if (!lines[row])
                        return -ENOMEM;
                for (size_t i = 0; i < n_shown; i++) {
                        int r = set_cell(lines[row], i, cell_text(t, row, shown[i]), cell_color(t, row, shown[i]));

                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int table_format(const Table *t, char **ret) {
        _cleanup_(scols_unref_tablep) struct libscols_table *tb = NULL;
        _cleanup_free_ size_t *shown = NULL;
        size_t n_shown;
        char *text = NULL;
        int r;

        shown = calloc(t->shown ? t->n_shown : t->n_columns, sizeof(size_t));
        tb = scols_new_table();
        if (!shown || !tb)
                return -ENOMEM;
        n_shown = shown_columns(t, false, shown);
        scols_table_enable_colors(tb, !!(t->flags & TABLE_COLOR));
        scols_table_enable_ascii(tb, !!(t->flags & TABLE_ASCII));

        r = t->layout == TABLE_RECORD ? fill_record(t, tb, shown, n_shown) : fill_rows(t, tb, shown, n_shown);
        if (r < 0)
                return r;
        r = scols_print_table_to_string(tb, &text);
        if (r < 0)
                return r;
        if (!text)
                return (*ret = strdup("")) ? 0 : -ENOMEM;
        /* libsmartcols ends the last line without a newline. */
        if (*text && text[strlen(text) - 1] != '\n') {
                char *s = NULL;

                r = asprintf(&s, "%s\n", text);
                free(text);
                if (r < 0)
                        return -ENOMEM;
                text = s;
        }
        *ret = text;
        return 0;
}

static int row_to_json(const Table *t, size_t row, const size_t *shown, size_t n_shown, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < n_shown; i++) {
                size_t c = shown[i], cell = row * t->n_columns + c;
                struct json_object *v = cell < t->n_cells ? json_object_get(t->cells[cell].json) : NULL;

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
        _cleanup_free_ size_t *shown = calloc(t->shown ? t->n_shown : t->n_columns, sizeof(size_t));
        size_t n_shown;
        int r;

        if (!shown)
                return -ENOMEM;
        n_shown = shown_columns(t, true, shown);
        if (t->layout == TABLE_RECORD)
                return row_to_json(t, 0, shown, n_shown, ret);

        a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        for (size_t row = 0; row < table_n_rows(t); row++) {
                struct json_object *o;

                r = row_to_json(t, row, shown, n_shown, &o);
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
