/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A session's record as JSON: what a restart needs to take over a session
 * whose iommufd and device fds systemd's fd store kept open meanwhile, so
 * guest DMA need not stop. The journal (journal.h) holds it, whole in its
 * snapshot and one object at a time as objects change.
 *
 * Unlike Describe, the record has the daemon's own counters and the state
 * that points from one object to another, by object path. Mappings are not
 * in it (the journal keeps them compact), nor fds: they travel through the
 * fd store.
 */

#include <json-c/json.h>

#include "session.h"

int session_record_to_json(Session *s, struct json_object **ret);

/*
 * Rebuilds the session j records, around iommufd, asking the kernel nothing;
 * takes iommufd on success. Devices come back without their fds
 * (device.fd is -EBADF) and its owner not yet looked for on the bus:
 * both are the caller's to restore. -EBADMSG for a record that does not hold
 * together (an object used before it is recorded, a mapping on a backing
 * that does not exist, ...), -EEXIST if the session's id is taken; nothing
 * is left behind then.
 */
int session_record_from_json(Daemon *d, struct json_object *j, int iommufd, Session **ret);

/* One object's record, as object_to_json() writes it: a new object of s, or
 * the attachments of a device s has. -EBADMSG if it does not fit. */
int session_record_object(Session *s, struct json_object *j);
