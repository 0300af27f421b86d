/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "ioas.h"
#include "json-util.h"
#include "object-json.h"
#include "record.h"
#include "util.h"

#define RECORD_VERSION 2

/* ---- writing ------------------------------------------------------------- */

int session_record_to_json(Session *s, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *j = json_object_new_object();
        int r = 0;

        if (!j)
                return -ENOMEM;
        r |= json_add(j, "record-version", json_object_new_int(RECORD_VERSION));
        r |= json_add(j, "id", json_object_new_int64(s->id));
        r |= json_add(j, "uid", json_object_new_int64(s->uid));
        r |= json_add(j, "owner", json_object_new_string(s->owner));
        r |= json_add(j, "persistent", json_object_new_boolean(s->persistent));
        r |= json_add(j, "delegated", json_object_new_boolean(s->delegated));
        r |= json_add(j, "created", json_new_hex(s->created, 0));
        r |= json_add(j, "next-unbound", json_object_new_int64(s->next_unbound));
        if (r < 0)
                return -ENOMEM;

        r = json_add_session_objects(j, s, OBJECT_JSON_RECORD);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

/* ---- reading ------------------------------------------------------------- */

/* An object of the session, of type a or b (any, with a negative a). */
static int record_object_arg(Session *s, struct json_object *v, ObjectType a, ObjectType b, Object **ret) {
        Object *o;

        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        o = object_find(s, json_object_get_string(v));
        if (!o || (a >= 0 && o->type != a && o->type != b))
                return -EBADMSG;
        *ret = o;
        return 0;
}

static int read_device(Object *o, struct json_object *j) {
        const DeviceOps *ops;
        const char *name;
        bool mock;
        int r;

        if (json_read_string(j, "name", &name) < 0 || json_read_bool(j, "mock", &mock) < 0 ||
            json_read_bool(j, "bound", &o->device.bound) < 0)
                return -EBADMSG;
        /* A mock device needs a build with test hooks. */
        ops = device_ops_for(mock);
        if (!ops)
                return -EBADMSG;
        o->device.ops = ops;
        if (ops->record_load) {
                r = ops->record_load(o, j);
                if (r < 0)
                        return r;
        }
        o->device.name = strdup(name);
        return o->device.name ? 0 : -ENOMEM;
}

/* What a device is attached to may be younger than the device: read once
 * every object is back. */
static int read_device_attachments(Session *s, Object *o, struct json_object *j) {
        struct json_object *attached, *pasids;
        uint32_t attached_pt;
        int r;

        if (json_read_u32(j, "attached-pt", &attached_pt) < 0 || !json_object_object_get_ex(j, "attached", &attached) ||
            !json_object_object_get_ex(j, "pasids", &pasids) || !json_object_is_type(pasids, json_type_array))
                return -EBADMSG;

        if (!json_object_is_type(attached, json_type_null)) {
                Object *pt;

                r = record_object_arg(s, attached, OBJECT_IOAS, OBJECT_HWPT, &pt);
                if (r < 0)
                        return r;
                device_set_attached(o, pt, attached_pt);
        }

        for (size_t i = 0, n = json_object_array_length(pasids); i < n; i++) {
                struct json_object *p = json_object_array_get_idx(pasids, i), *hwpt;
                uint32_t pasid;
                Object *pt;

                if (json_read_u32(p, "pasid", &pasid) < 0 || !json_object_object_get_ex(p, "hwpt", &hwpt) ||
                    device_pasid_hwpt(o, pasid))
                        return -EBADMSG;
                r = record_object_arg(s, hwpt, OBJECT_HWPT, OBJECT_HWPT, &pt);
                if (r < 0)
                        return r;
                r = device_record_pasid(o, pasid, pt);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_object(Session *s, struct json_object *j) {
        struct json_object *uses;
        const char *type_name, *path;
        ObjectType type;
        Object *o;
        uint32_t id;
        int r;

        if (json_read_string(j, "type", &type_name) < 0 || json_read_u32(j, "id", &id) < 0 ||
            json_read_string(j, "path", &path) < 0 || !json_object_object_get_ex(j, "uses", &uses) ||
            !json_object_is_type(uses, json_type_array) || json_object_array_length(uses) > ELEMENTSOF(o->uses))
                return -EBADMSG;
        type = object_type_from_string(type_name);
        if (type < 0)
                return -EBADMSG;
        /* Paths are names clients hold: they come back as they were. */
        if (!sd_bus_object_path_is_valid(path) || !startswith(path, s->path) || path[strlen(s->path)] != '/' ||
            object_find(s, path))
                return -EBADMSG;
        /* Nor two objects with one kernel id: an iommufd gives each its own. */
        if (id != 0 && object_find_by_id(s, id))
                return -EBADMSG;

        r = object_new_at(s, type, id, path, &o);
        if (r < 0)
                return r;
        if (r >= 0 && json_read_hex(j, "created", &o->created) < 0)
                r = -EBADMSG;
        for (size_t i = 0, n = json_object_array_length(uses); r >= 0 && i < n; i++) {
                Object *dependency;

                /* Only what is older: an object is made after what it uses. */
                r = record_object_arg(s, json_object_array_get_idx(uses, i), _OBJECT_TYPE_INVALID,
                                      _OBJECT_TYPE_INVALID, &dependency);
                if (r >= 0 && dependency == o)
                        r = -EBADMSG;
                if (r >= 0)
                        object_use(o, dependency);
        }
        if (r < 0)
                return r;

        switch (type) {
        case OBJECT_DEVICE:
                return read_device(o, j);
        case OBJECT_HWPT:
                if (json_read_u32(j, "flags", &o->hwpt.flags) < 0 || json_read_bool(j, "nested", &o->hwpt.nested) < 0 ||
                    json_read_u32(j, "data-type", &o->hwpt.data_type) < 0)
                        return -EBADMSG;
                return 0;
        case OBJECT_VIOMMU:
                return json_read_u32(j, "viommu-type", &o->viommu.type) < 0 ? -EBADMSG : 0;
        case OBJECT_VDEVICE:
                return json_read_hex(j, "virt-id", &o->vdevice.virt_id) < 0 ? -EBADMSG : 0;
        default:
                return 0;
        }
}

int session_record_object(Session *s, struct json_object *j) {
        const char *path;
        Object *o;
        int r;

        if (json_read_string(j, "path", &path) < 0)
                return -EBADMSG;
        o = object_find(s, path);
        if (o) {
                /* What changes of an object once made: a device's attachments. */
                if (o->type != OBJECT_DEVICE)
                        return -EBADMSG;
                device_forget_attachments_to(o, NULL);
                return read_device_attachments(s, o, j);
        }
        r = read_object(s, j);
        if (r < 0)
                return r;
        o = object_find(s, path);
        return o->type == OBJECT_DEVICE ? read_device_attachments(s, o, j) : 0;
}

int session_record_from_json(Daemon *d, struct json_object *j, int iommufd, Session **ret) {
        _cleanup_(session_freep) Session *s = NULL;
        struct json_object *objects;
        const char *owner;
        bool persistent, delegated;
        uint32_t id, uid, version, next_unbound;
        uint64_t created;
        int r;

        if (json_read_u32(j, "record-version", &version) < 0 || version != RECORD_VERSION ||
            json_read_u32(j, "id", &id) < 0 || id == 0 || json_read_u32(j, "uid", &uid) < 0 ||
            json_read_string(j, "owner", &owner) < 0 || json_read_bool(j, "persistent", &persistent) < 0 ||
            json_read_bool(j, "delegated", &delegated) < 0 || json_read_hex(j, "created", &created) < 0 ||
            !json_object_object_get_ex(j, "objects", &objects) || !json_object_is_type(objects, json_type_array))
                return -EBADMSG;

        r = session_adopt(d, id, -EBADF, uid, owner, persistent, delegated, created, &s);
        if (r < 0)
                return r;
        if (json_read_u32(j, "next-unbound", &next_unbound) < 0)
                return -EBADMSG;
        for (size_t i = 0, n = json_object_array_length(objects); i < n; i++) {
                r = read_object(s, json_object_array_get_idx(objects, i));
                if (r < 0)
                        return r;
        }
        for (size_t i = 0, n = json_object_array_length(objects); i < n; i++) {
                struct json_object *jo = json_object_array_get_idx(objects, i);
                const char *path;
                Object *o;

                if (json_read_string(jo, "path", &path) < 0 || !(o = object_find(s, path)))
                        return -EBADMSG;
                if (o->type != OBJECT_DEVICE)
                        continue;
                r = read_device_attachments(s, o, jo);
                if (r < 0)
                        return r;
        }
        /* Counted on as the objects came back; now as recorded. */
        s->next_unbound = next_unbound;
        s->iommufd = iommufd;
        *ret = TAKE_PTR(s);
        return 0;
}
