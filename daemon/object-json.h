/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One writer of an object as JSON, for the two readers of it: Describe, the
 * view clients get, and the record a restart reads back, which also holds
 * what only the daemon needs (every mapping, the kernel's own ids).
 */

#include <json-c/json.h>

#include "session.h"

typedef enum ObjectJson {
        OBJECT_JSON_DESCRIBE,
        OBJECT_JSON_RECORD,
} ObjectJson;

int object_to_json(Object *o, ObjectJson what, struct json_object **ret);
/* Adds the session's objects to j as the array "objects", oldest first:
 * every object comes after what it uses. */
int json_add_session_objects(struct json_object *j, Session *s, ObjectJson what);
