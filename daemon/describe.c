/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "describe.h"
#include "json-util.h"
#include "mapping-index.h"
#include "record.h"
#include "bus-util.h"
#include "device.h"
#include "session.h"
#include "util.h"
#include "viommu-topology.h"

static int describe_pasids(Object *dev, struct json_object *j) {
        struct json_object *pasids = json_object_new_array();
        int r;

        r = json_add(j, "pasids", pasids);
        if (r < 0)
                return r;
        for (size_t i = 0; i < dev->device.n_pasids; i++) {
                struct json_object *p = json_object_new_object();

                if (!p || json_object_array_add(pasids, p) < 0) {
                        json_object_put(p);
                        return -ENOMEM;
                }
                r |= json_add(p, "pasid", json_object_new_int64(dev->device.pasids[i].pasid));
                r |= json_add(p, "hwpt", json_object_new_string(dev->device.pasids[i].hwpt->path));
        }
        return r < 0 ? -ENOMEM : 0;
}

static int describe_object(Object *o, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *j = json_object_new_object(), *uses = NULL;
        int r = 0;

        if (!j)
                return -ENOMEM;
        r |= json_add(j, "path", json_object_new_string(o->path));
        r |= json_add(j, "type", json_object_new_string(object_type_to_string(o->type)));
        r |= json_add(j, "id", json_object_new_int64(o->id));
        r |= json_add(j, "created", json_object_new_int64((int64_t) o->created));
        uses = json_object_new_array();
        if (!uses)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(o->uses); i++)
                if (o->uses[i])
                        r |= json_object_array_add(uses, json_object_new_string(o->uses[i]->path));
        r |= json_add(j, "uses", TAKE_PTR(uses));

        switch (o->type) {
        case OBJECT_DEVICE:
                r |= json_add(j, "name", json_object_new_string(o->device.name));
                r |= json_add(j, "mock", json_object_new_boolean(device_is_mock(o)));
                r |= json_add(j, "bound", json_object_new_boolean(o->device.bound));
                if (o->device.attached)
                        r |= json_add(j, "attached", json_object_new_string(o->device.attached->path));
                /* A delegated session's VMM attaches PASIDs unseen. */
                if (o->device.bound)
                        r |= describe_pasids(o, j);
                break;
        case OBJECT_IOAS:
                r |= json_add(j, "mappings", json_object_new_int64(viommu_mapping_index_count(o->ioas.mappings)));
                r |= json_add(j, "mapped-bytes", json_new_hex(viommu_mapping_index_bytes(o->ioas.mappings), 0));
                break;
        case OBJECT_HWPT:
                r |= json_add(j, "kind", json_object_new_string(o->hwpt.nested ? "nested" : "paging"));
                r |= json_add(j, "flags", json_object_new_int64(o->hwpt.flags));
                r |= json_add(j, "data-type", json_object_new_int64(o->hwpt.data_type));
                break;
        case OBJECT_VIOMMU:
                r |= json_add(j, "viommu-type", json_object_new_int64(o->viommu.type));
                break;
        case OBJECT_VDEVICE:
                r |= json_add(j, "virt-id", json_new_hex(o->vdevice.virt_id, 0));
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
        _cleanup_(json_object_putp) struct json_object *j = json_object_new_object();
        int r = 0;

        if (!j)
                return -ENOMEM;
        r |= json_add(j, "path", json_object_new_string(s->path));
        r |= json_add(j, "id", json_object_new_int64(s->id));
        r |= json_add(j, "owner", json_object_new_string(s->owner));
        r |= json_add(j, "uid", json_object_new_int64(s->uid));
        r |= json_add(j, "persistent", json_object_new_boolean(s->persistent));
        r |= json_add(j, "delegated", json_object_new_boolean(s->delegated));
        r |= json_add(j, "created", json_object_new_int64((int64_t) s->created));
        r |= json_add(j, "mapped-bytes", json_new_hex(s->mapped_bytes, 0));
        if (r < 0)
                return -ENOMEM;
        r = json_add_session_objects(j, s, describe_object);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

int describe_daemon(Daemon *d, sd_bus_message *m, char **ret) {
        _cleanup_(json_object_putp) struct json_object *j = json_object_new_object();
        struct json_object *features, *sessions, *topology;
        const struct viommu_topology *t;
        struct utsname u;
        int r = 0;

        if (!j)
                return -ENOMEM;
        r |= json_add(j, "version", json_object_new_string(d->version));
        if (uname(&u) == 0)
                r |= json_add(j, "kernel", json_object_new_string(u.release));
        r |= json_add(j, "mock-devices", json_object_new_boolean(d->mock_devices));

        features = json_object_new_object();
        r |= json_add(j, "features", features);
        for (enum viommu_feature f = 0; r == 0 && f < _VIOMMU_FEATURE_MAX; f++) {
                struct json_object *fj = json_object_new_object();

                r |= json_add(features, viommu_feature_to_string(f), fj);
                if (r < 0)
                        break;
                r |= json_add(fj, "supported", json_object_new_boolean(viommu_features_has(d->features, f)));
                r |= json_add(fj, "interface", json_object_new_string(viommu_feature_interface(f)));
                r |= json_add(fj, "since", json_object_new_string(viommu_feature_since(f)));
        }

        r = r < 0 ? r : daemon_topology(d, &t);
        if (r < 0)
                return r;
        r = viommu_topology_to_json(t, &topology);
        if (r < 0)
                return r;
        r = json_add(j, "topology", topology);

        sessions = json_object_new_array();
        r |= json_add(j, "sessions", sessions);
        if (r < 0)
                return -ENOMEM;
        for (Session *s = d->sessions; s; s = s->sessions_next) {
                struct json_object *sj;

                if (!session_visible_to(s, m))
                        continue;
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
