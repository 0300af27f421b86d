/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What viommuctl shows of one Manager.Describe document (layout: daemon/
 * describe.c). Pure functions of the JSON, no bus, so that the unit tests
 * can run them on a recorded sample.
 */

#include <json-c/json.h>
#include <stdbool.h>

#include "output.h"

/* Parses Describe's reply; -EBADMSG unless it is an object with "sessions"
 * and "topology" of the right types. */
int describe_parse(const char *text, struct json_object **ret);

/* Accessors that take missing keys and wrong types as "unknown". */
const char *json_get_string(struct json_object *o, const char *key);
bool json_get_bool(struct json_object *o, const char *key);
/* Numbers, or the hex strings the daemon uses for 64-bit values. */
int json_get_u64(struct json_object *o, const char *key, uint64_t *ret);
struct json_object *json_get_array(struct json_object *o, const char *key);

/* The session with this object path, or NULL. */
struct json_object *describe_find_session(struct json_object *describe, const char *path);

extern const Columns status_columns, devices_columns, sessions_columns, session_columns, viommus_columns;

int status_table(struct json_object *describe, Table **ret);
int devices_table(struct json_object *describe, Table **ret);
int sessions_table(struct json_object *describe, Table **ret);
int session_table(struct json_object *session, Table **ret);
/* The vIOMMUs of every session, or of this one: a row each, with its
 * vDEVICEs. */
int viommus_table(struct json_object *describe, struct json_object *session, Table **ret);
/* What the text says for no vIOMMUs: whether the kernel has them at all. */
int viommus_none(struct json_object *describe, char **ret);

/*
 * A session's objects as a tree ordered by dependency. Each object hangs
 * below the first object it uses that is not a device (an HWPT below its
 * IOAS or parent HWPT, a vIOMMU below its HWPT, vDEVICE and vEVENTQ below
 * their vIOMMU); the rest are roots: devices, then fault queues, then
 * IOASes. Siblings go by kind in that same order (HWPT, vIOMMU, vDEVICE,
 * vEVENTQ) and then by id. So every object comes after all the objects it
 * uses: the list is an order in which they could have been made. The uses
 * the tree does not show (the device of an HWPT, the fault queue of a
 * nested HWPT) are named on the object's line.
 */
typedef struct TreeNode {
        struct json_object *object;     /* borrowed from the session */
        const char *path;
        const char *parent;             /* path; NULL for a root */
        size_t parent_node;             /* its index in the list; SIZE_MAX for a root */
        unsigned depth;
} TreeNode;

/* The list is to be freed with free(). */
int session_tree(struct json_object *session, TreeNode **ret, size_t *ret_n);

/* "hwpt 5: nested, selftest data, uses mock0, fault-queue 3" */
int object_summary(struct json_object *object, struct json_object *objects, char **ret);

/* The text of `viommuctl session`: the record, a blank line, the tree;
 * flags as table_set_flags(). */
int session_format(struct json_object *session, unsigned flags, char **ret);
/* Its JSON: Describe's session object, objects in tree order, each with
 * "parent" (path or null) and "depth" added. */
int session_to_json(struct json_object *session, struct json_object **ret);
