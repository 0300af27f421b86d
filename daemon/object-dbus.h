/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "session.h"

/* An interface of the tree below /org/viommu1/session and what a path must
 * name to have it: an object of a type, any object (_OBJECT_TYPE_INVALID)
 * or a session itself (_OBJECT_TYPE_MAX). org.viommu1.Testing, for tests
 * alone, is not among them. */
typedef struct SessionInterface {
        const char *interface;
        const sd_bus_vtable *vtable;
        ObjectType type;
} SessionInterface;

extern const SessionInterface session_interfaces[];
extern const size_t n_session_interfaces;

/* The entry of interface; NULL if it is none of them. */
const SessionInterface *session_interface_find(const char *interface);
/* Whether what is of type (_OBJECT_TYPE_MAX: a session) has i. */
bool session_interface_serves(const SessionInterface *i, ObjectType type);
