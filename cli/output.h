/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * viommuctl's output: every view is a Table whose cells carry both their
 * text and their JSON value, so one print call serves --json and the text
 * a person reads, and the two cannot drift apart. A table lays out as rows
 * (one line per row under a header; a JSON array of objects), as a record
 * (one "Label: value" line per column; a JSON object) or as a tree (rows
 * below their parent row, drawn in the first column). libsmartcols lays out
 * the text (display widths, tree drawing, colour); json-c writes the JSON,
 * whose keys and types are viommuctl's documented interface.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json-util.h"
#include "util.h"

typedef enum JsonMode {
        JSON_OFF,
        JSON_PRETTY,
        JSON_SHORT,
} JsonMode;

/* "0 B", "512 B", "4.0 KiB", "1.5 GiB": IEC units, one decimal, rounded down
 * so that a size never shows as more than it is. */
#define FORMAT_BYTES_MAX 32
const char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes);

enum {
        COLUMN_RIGHT     = 1 << 0,      /* right-aligned text: numbers */
        COLUMN_JSON_ONLY = 1 << 1,      /* in JSON only */
        COLUMN_TEXT_ONLY = 1 << 2,      /* in text only */
};

typedef struct Column {
        const char *header;     /* text: column header, or the record's label */
        const char *key;        /* JSON key */
        unsigned flags;
} Column;

/* A view's columns, for -o and --help. */
typedef struct Columns {
        const Column *list;
        size_t n;
} Columns;

typedef enum TableLayout {
        TABLE_ROWS,
        TABLE_RECORD,
        TABLE_TREE,             /* text only */
} TableLayout;

enum {
        TABLE_COLOR     = 1 << 0,       /* the cells' colours */
        TABLE_NO_LEGEND = 1 << 1,       /* no header line */
        TABLE_ASCII     = 1 << 2,       /* trees drawn in ASCII */
};

typedef struct Table Table;

/* The columns must outlive the table (they are static arrays in practice). */
int table_new(TableLayout layout, const Column *columns, size_t n_columns, Table **ret);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free)

/* Cells fill rows left to right. Unknown values are NULL strings or
 * table_add_null(): "-" as text, null in JSON. */
int table_add_string(Table *t, const char *s);
int table_add_bool(Table *t, bool b);                   /* yes/no; true/false */
int table_add_int(Table *t, int64_t i);
int table_add_uint(Table *t, uint64_t u);
int table_add_size(Table *t, uint64_t bytes);           /* format_bytes(); "0x…" as Describe has it */
int table_add_hex(Table *t, uint64_t v);                /* "0x…" in both */
int table_add_null(Table *t);
/* A cell of any JSON value (taken; NULL: null) with its own text. */
int table_add_json(Table *t, struct json_object *json, const char *text);
/* Replaces the text of the cell added last, keeping its JSON value. */
int table_set_text(Table *t, const char *text);
/* Colours the text of the cell added last (an ANSI sequence or a name that
 * libsmartcols knows, "green"), shown with TABLE_COLOR. */
int table_set_color(Table *t, const char *color);
/* In a tree, the row being filled hangs below this earlier row. */
int table_set_parent(Table *t, size_t row);
void table_set_flags(Table *t, unsigned flags);

/* Which column a name given to -o means: its header or JSON key, in any
 * case; -ENOENT if none. */
int column_lookup(const Column *columns, size_t n_columns, const char *name, size_t *ret);
/* Checks a comma-separated list of column names; on an unknown one returns
 * -ENOENT and (if ret_bad) that name, to be freed. */
int columns_check(const Column *columns, size_t n_columns, const char *list, char **ret_bad);
/* Shows exactly these columns, in this order, in text and JSON alike;
 * errors as columns_check(). */
int table_select(Table *t, const char *list, char **ret_bad);

size_t table_n_rows(const Table *t);
int table_format(const Table *t, char **ret);
int table_to_json(const Table *t, struct json_object **ret);
/* Text or JSON (by mode) to f. */
int table_print(const Table *t, JsonMode mode, FILE *f);

/* One JSON document and a newline; '/' stays unescaped (object paths). */
int json_print(struct json_object *j, JsonMode mode, FILE *f);


