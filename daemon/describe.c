/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "describe.h"
#include "mapping-index.h"
#include "session.h"
#include "util.h"
#include "viommu-topology.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put);

/* json-c's integers are signed: 64-bit quantities go as hex strings, as the
 * topology does. */
static struct json_object *json_hex(uint64_t v) {
        char buf[32];

        snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long) v);
        return json_object_new_string(buf);
}

static int add(struct json_object *o, const char *key, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int describe_object(Object *o, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *j = json_object_new_object(), *uses = NULL;
        int r = 0;

        if (!j)
                return -ENOMEM;
        r |= add(j, "path", json_object_new_string(o->path));
        r |= add(j, "type", json_object_new_string(object_type_to_string(o->type)));
        r |= add(j, "id", json_object_new_int64(o->id));
        r |= add(j, "created", json_object_new_int64((int64_t) o->created));
        uses = json_object_new_array();
        if (!uses)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(o->uses); i++)
                if (o->uses[i])
                        r |= json_object_array_add(uses, json_object_new_string(o->uses[i]->path));
        r |= add(j, "uses", TAKE_PTR(uses));

        switch (o->type) {
        case OBJECT_DEVICE:
                r |= add(j, "name", json_object_new_string(o->device.name));
                r |= add(j, "mock", json_object_new_boolean(o->device.mock));
                r |= add(j, "bound", json_object_new_boolean(o->device.bound));
                if (o->device.attached)
                        r |= add(j, "attached", json_object_new_string(o->device.attached->path));
                break;
        case OBJECT_IOAS:
                r |= add(j, "mappings", json_object_new_int64(viommu_mapping_index_count(o->ioas.mappings)));
                r |= add(j, "mapped-bytes", json_hex(viommu_mapping_index_bytes(o->ioas.mappings)));
                break;
        case OBJECT_HWPT:
                r |= add(j, "kind", json_object_new_string(o->hwpt.nested ? "nested" : "paging"));
                r |= add(j, "flags", json_object_new_int64(o->hwpt.flags));
                r |= add(j, "data-type", json_object_new_int64(o->hwpt.data_type));
                break;
        case OBJECT_VIOMMU:
                r |= add(j, "viommu-type", json_object_new_int64(o->viommu.type));
                break;
        case OBJECT_VDEVICE:
                r |= add(j, "virt-id", json_hex(o->vdevice.virt_id));
                break;
        default:
                break;
        }
        if (r < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(j);
        return 0;
}

static int describe_session(Session *s, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *j = json_object_new_object(), *objects = NULL;
        int r = 0;

        if (!j)
                return -ENOMEM;
        r |= add(j, "path", json_object_new_string(s->path));
        r |= add(j, "id", json_object_new_int64(s->id));
        r |= add(j, "owner", json_object_new_string(s->owner));
        r |= add(j, "uid", json_object_new_int64(s->uid));
        r |= add(j, "persistent", json_object_new_boolean(s->persistent));
        r |= add(j, "delegated", json_object_new_boolean(s->delegated));
        r |= add(j, "created", json_object_new_int64((int64_t) s->created));
        r |= add(j, "mapped-bytes", json_hex(s->mapped_bytes));
        objects = json_object_new_array();
        if (!objects || r < 0)
                return -ENOMEM;
        /* Oldest first, the order they were made in. */
        Object *last = s->objects;
        while (last && last->objects_next)
                last = last->objects_next;
        for (Object *o = last; o; o = o->objects_prev) {
                struct json_object *jo;

                r = describe_object(o, &jo);
                if (r < 0)
                        return r;
                if (json_object_array_add(objects, jo) < 0) {
                        json_object_put(jo);
                        return -ENOMEM;
                }
        }
        r = add(j, "objects", TAKE_PTR(objects));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

int describe_daemon(Daemon *d, char **ret) {
        _cleanup_(json_object_putp) struct json_object *j = json_object_new_object();
        struct json_object *features, *sessions, *topology;
        const struct viommu_topology *t;
        struct utsname u;
        int r = 0;

        if (!j)
                return -ENOMEM;
        r |= add(j, "version", json_object_new_string(d->version));
        if (uname(&u) == 0)
                r |= add(j, "kernel", json_object_new_string(u.release));
        r |= add(j, "mock-devices", json_object_new_boolean(d->mock_devices));

        features = json_object_new_object();
        r |= add(j, "features", features);
        for (enum viommu_feature f = 0; r == 0 && f < _VIOMMU_FEATURE_MAX; f++) {
                struct json_object *fj = json_object_new_object();

                r |= add(features, viommu_feature_to_string(f), fj);
                if (r < 0)
                        break;
                r |= add(fj, "supported", json_object_new_boolean(viommu_features_has(d->features, f)));
                r |= add(fj, "interface", json_object_new_string(viommu_feature_interface(f)));
                r |= add(fj, "since", json_object_new_string(viommu_feature_since(f)));
        }

        r = r < 0 ? r : daemon_topology(d, &t);
        if (r < 0)
                return r;
        r = viommu_topology_to_json(t, &topology);
        if (r < 0)
                return r;
        r = add(j, "topology", topology);

        sessions = json_object_new_array();
        r |= add(j, "sessions", sessions);
        if (r < 0)
                return -ENOMEM;
        for (Session *s = d->sessions; s; s = s->sessions_next) {
                struct json_object *sj;

                r = describe_session(s, &sj);
                if (r < 0)
                        return r;
                if (json_object_array_add(sessions, sj) < 0) {
                        json_object_put(sj);
                        return -ENOMEM;
                }
        }

        char *s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
