/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "auth.h"
#include "bus-util.h"
#include "describe.h"
#include "json-util.h"
#include "object-json.h"
#include "session.h"
#include "util.h"
#include "viommu-topology.h"

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
        r = json_add_session_objects(j, s, OBJECT_JSON_DESCRIBE);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

int describe_daemon(Daemon *d, sd_bus_message *m, char **ret) {
        const CallerCreds *creds = caller_creds(d, m);
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
        /* A spare is a session that ended: only for those who may see all. */
        if (creds && (creds->uid == 0 || auth_observer(d, creds)))
                r |= json_add(j, "spare-entries", json_object_new_int64(d->entry_pool.n_spares));

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
