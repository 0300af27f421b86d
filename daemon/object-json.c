/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "device.h"
#include "json-util.h"
#include "kernel-names.h"
#include "mapping-index.h"
#include "object-json.h"
#include "util.h"

/* json-c's null is a NULL object, which json_add() would take for a failed
 * allocation. */
static int json_add_path_or_null(struct json_object *j, const char *key, Object *o) {
        if (!o)
                return json_object_object_add(j, key, NULL) < 0 ? -ENOMEM : 0;
        return json_add(j, key, json_object_new_string(o->path));
}

/* A name the daemon may not have: absent then. */
static int json_add_string_if(struct json_object *j, const char *key, const char *s) {
        return s ? json_add(j, key, json_object_new_string(s)) : 0;
}

static int device_to_json(Object *o, ObjectJson what, struct json_object *j) {
        _cleanup_(json_object_putp) struct json_object *pasids = json_object_new_array();
        int r = 0;

        if (!pasids)
                return -ENOMEM;
        for (size_t i = 0; i < o->device.n_pasids; i++) {
                struct json_object *p = json_object_new_object();

                if (!p || json_object_array_add(pasids, p) < 0) {
                        json_object_put(p);
                        return -ENOMEM;
                }
                r |= json_add(p, "pasid", json_object_new_int64(o->device.pasids[i].pasid));
                r |= json_add(p, "hwpt", json_object_new_string(o->device.pasids[i].hwpt->path));
        }
        r |= json_add(j, "name", json_object_new_string(o->device.name));
        r |= json_add(j, "mock", json_object_new_boolean(device_is_mock(o)));
        r |= json_add(j, "bound", json_object_new_boolean(o->device.bound));
        if (what == OBJECT_JSON_RECORD) {
                if (o->device.ops->record_save && o->device.ops->record_save(o, j) < 0)
                        return -ENOMEM;
                r |= json_add_path_or_null(j, "attached", o->device.attached);
                r |= json_add(j, "attached-pt", json_object_new_int64(o->device.attached_pt));
                r |= json_add(j, "pasids", TAKE_PTR(pasids));
        } else {
                if (o->device.attached)
                        r |= json_add(j, "attached", json_object_new_string(o->device.attached->path));
                /* A delegated session's VMM attaches PASIDs unseen. */
                if (o->device.bound)
                        r |= json_add(j, "pasids", TAKE_PTR(pasids));
        }
        return r < 0 ? -ENOMEM : 0;
}

int object_to_json(Object *o, ObjectJson what, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *j = json_object_new_object(), *uses = NULL;
        int r = 0;

        uses = json_object_new_array();
        if (!j || !uses)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(o->uses); i++)
                if (o->uses[i])
                        r |= json_object_array_add(uses, json_object_new_string(o->uses[i]->path));
        r |= json_add(j, "path", json_object_new_string(o->path));
        r |= json_add(j, "type", json_object_new_string(object_type_to_string(o->type)));
        r |= json_add(j, "id", json_object_new_int64(o->id));
        /* Describe's readers take microseconds as a number; the record keeps
         * all 64 bits. */
        r |= json_add(j, "created", what == OBJECT_JSON_RECORD ? json_new_hex(o->created, 0) :
                                                                  json_object_new_int64((int64_t) o->created));
        r |= json_add(j, "uses", TAKE_PTR(uses));
        if (r < 0)
                return -ENOMEM;

        switch (o->type) {
        case OBJECT_DEVICE:
                r = device_to_json(o, what, j);
                break;
        case OBJECT_IOAS:
                /* The journal keeps mappings in a compact form of their own. */
                if (what == OBJECT_JSON_RECORD)
                        break;
                r |= json_add(j, "mappings", json_object_new_int64(viommu_mapping_index_count(o->ioas.mappings)));
                r |= json_add(j, "mapped-bytes", json_new_hex(viommu_mapping_index_bytes(o->ioas.mappings), 0));
                break;
        case OBJECT_HWPT:
                if (what == OBJECT_JSON_RECORD)
                        r |= json_add(j, "nested", json_object_new_boolean(o->hwpt.nested));
                else
                        r |= json_add(j, "kind", json_object_new_string(o->hwpt.nested ? "nested" : "paging"));
                r |= json_add(j, "flags", json_object_new_int64(o->hwpt.flags));
                r |= json_add(j, "data-type", json_object_new_int64(o->hwpt.data_type));
                if (what == OBJECT_JSON_DESCRIBE) {
                        uint32_t unknown;

                        r |= json_add(j, "flag-names", hwpt_flags_to_json(o->hwpt.flags, &unknown));
                        if (unknown)
                                r |= json_add(j, "unknown-flags", json_object_new_int64(unknown));
                        r |= json_add_string_if(j, "data-type-name", hwpt_data_type_to_string(o->hwpt.data_type));
                }
                break;
        case OBJECT_VIOMMU:
                r = json_add(j, "viommu-type", json_object_new_int64(o->viommu.type));
                if (what == OBJECT_JSON_DESCRIBE)
                        r |= json_add_string_if(j, "viommu-type-name", viommu_type_to_string(o->viommu.type));
                break;
        case OBJECT_VDEVICE:
                r = json_add(j, "virt-id", json_new_hex(o->vdevice.virt_id, 0));
                break;
        default:
                break;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

int json_add_session_objects(struct json_object *j, Session *s, ObjectJson what) {
        _cleanup_(json_object_putp) struct json_object *a = json_object_new_array();
        Object *last;
        int r;

        if (!a)
                return -ENOMEM;
        for (last = s->objects; last && last->objects_next; last = last->objects_next)
                ;
        for (Object *o = last; o; o = o->objects_prev) {
                struct json_object *jo;

                r = object_to_json(o, what, &jo);
                if (r < 0)
                        return r;
                if (json_object_array_add(a, jo) < 0) {
                        json_object_put(jo);
                        return -ENOMEM;
                }
        }
        return json_add(j, "objects", TAKE_PTR(a));
}
