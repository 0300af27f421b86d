/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "viommu-abi.h"
#include "views.h"

int describe_parse(const char *text, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *j = NULL;
        struct json_object *topology;
        enum json_tokener_error e;

        j = json_tokener_parse_verbose(text, &e);
        if (!j || !json_object_is_type(j, json_type_object))
                return -EBADMSG;
        if (!json_get_array(j, "sessions") ||
            !json_object_object_get_ex(j, "topology", &topology) ||
            !json_object_is_type(topology, json_type_object))
                return -EBADMSG;
        *ret = TAKE_PTR(j);
        return 0;
}

const char *json_get_string(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

bool json_get_bool(struct json_object *o, const char *key) {
        struct json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
               json_object_get_boolean(v);
}

int json_get_u64(struct json_object *o, const char *key, uint64_t *ret) {
        struct json_object *v;
        const char *s;

        if (!json_object_object_get_ex(o, key, &v))
                return -ENOENT;
        if (json_object_is_type(v, json_type_int)) {
                int64_t i = json_object_get_int64(v);

                if (i < 0)
                        return -ERANGE;
                *ret = (uint64_t) i;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return -EINVAL;
        s = json_object_get_string(v);
        if (!startswith(s, "0x"))
                return -EINVAL;
        return safe_atox64(s, ret);
}

struct json_object *json_get_array(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
                return NULL;
        return v;
}

static uint64_t json_get_u64_or(struct json_object *o, const char *key, uint64_t def) {
        uint64_t v;

        return json_get_u64(o, key, &v) < 0 ? def : v;
}

#define CONCATENATE_(a, b) a##b
#define CONCATENATE(a, b) CONCATENATE_(a, b)
#define ARRAY_FOREACH_IMPL(item, array, a, i, n)                                                \
        for (struct json_object *a = (array); a; a = NULL)                                      \
                for (size_t i = 0, n = json_object_array_length(a);                             \
                     i < n && ((item) = json_object_array_get_idx(a, i), true); i++)
/* Nests: each loop has its own variables. */
#define ARRAY_FOREACH(item, array)                                                              \
        ARRAY_FOREACH_IMPL(item, array, CONCATENATE(_a_, __COUNTER__), CONCATENATE(_i_, __COUNTER__), \
                           CONCATENATE(_n_, __COUNTER__))

struct json_object *describe_find_session(struct json_object *describe, const char *path) {
        struct json_object *s;

        ARRAY_FOREACH(s, json_get_array(describe, "sessions"))
                if (streq_ptr(json_get_string(s, "path"), path))
                        return s;
        return NULL;
}

/* The session (path) that claimed a host device, if any. */
static struct json_object *find_claim(struct json_object *describe, const char *name) {
        struct json_object *s, *o;

        ARRAY_FOREACH(s, json_get_array(describe, "sessions"))
                ARRAY_FOREACH(o, json_get_array(s, "objects"))
                        if (streq_ptr(json_get_string(o, "type"), "device") &&
                            streq_ptr(json_get_string(o, "name"), name))
                                return s;
        return NULL;
}

static const Column status_column_list[] = {
        { "Version",      "version",            0 },
        { "Kernel",       "kernel",             0 },
        { "Mock devices", "mock-devices",       0 },
        { "Features",     "features-supported", 0 },
        { "Devices",      "devices",            0 },
        { "Claimed",      "claimed-devices",    0 },
        { "Sessions",     "sessions",           0 },
        { "Objects",      "objects",            0 },
        { "Mapped",       "mapped-bytes",       0 },
};
const Columns status_columns = { status_column_list, ELEMENTSOF(status_column_list) };

int status_table(struct json_object *describe, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        struct json_object *features, *topology, *s, *o;
        uint64_t n_features = 0, n_supported = 0, n_objects = 0, n_claimed = 0, mapped = 0;
        size_t n_devices = 0;
        char buf[64];
        int r;

        if (json_object_object_get_ex(describe, "features", &features) &&
            json_object_is_type(features, json_type_object)) {
                json_object_object_foreach(features, name, f) {
                        (void) name;
                        n_features++;
                        n_supported += json_get_bool(f, "supported");
                }
        }
        if (json_object_object_get_ex(describe, "topology", &topology))
                n_devices = json_get_array(topology, "devices") ?
                            json_object_array_length(json_get_array(topology, "devices")) : 0;
        ARRAY_FOREACH(s, json_get_array(describe, "sessions")) {
                mapped += json_get_u64_or(s, "mapped-bytes", 0);
                ARRAY_FOREACH(o, json_get_array(s, "objects")) {
                        n_objects++;
                        /* Mock devices are no host device: "Claimed" counts host devices. */
                        n_claimed += streq_ptr(json_get_string(o, "type"), "device") &&
                                     !json_get_bool(o, "mock");
                }
        }

        r = table_new(TABLE_RECORD, status_columns.list, status_columns.n, &t);
        if (r < 0)
                return r;
        r = table_add_string(t, json_get_string(describe, "version"));
        if (r >= 0)
                r = table_add_string(t, json_get_string(describe, "kernel"));
        if (r >= 0)
                r = table_add_bool(t, json_get_bool(describe, "mock-devices"));
        if (r >= 0)
                r = table_set_text(t, json_get_bool(describe, "mock-devices") ? "on (testing only)" : "off");
        if (r >= 0 && json_get_bool(describe, "mock-devices"))
                r = table_set_color(t, "yellow");
        if (r >= 0)
                r = table_add_uint(t, n_supported);
        if (r >= 0) {
                snprintf(buf, sizeof(buf), "%" PRIu64 " of %" PRIu64 " supported", n_supported, n_features);
                r = table_set_text(t, buf);
        }
        if (r >= 0)
                r = table_add_uint(t, n_devices);
        if (r >= 0)
                r = table_add_uint(t, n_claimed);
        if (r >= 0)
                r = table_add_uint(t, json_object_array_length(json_get_array(describe, "sessions")));
        if (r >= 0)
                r = table_add_uint(t, n_objects);
        if (r >= 0)
                r = table_add_size(t, mapped);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

static const Column devices_column_list[] = {
        { "DEVICE",  "name",         0                },
        { "BUS",     "bus",          COLUMN_JSON_ONLY },
        { "DRIVER",  "driver",       0                },
        { "GROUP",   "iommu-group",  COLUMN_RIGHT     },
        { "IOMMU",   "iommu",        COLUMN_JSON_ONLY },
        { "VFIO",    "vfio-cdev",    0                },
        { "SESSION", "session",      COLUMN_RIGHT     },
        { "PATH",    "session-path", COLUMN_JSON_ONLY },
};
const Columns devices_columns = { devices_column_list, ELEMENTSOF(devices_column_list) };

int devices_table(struct json_object *describe, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        struct json_object *topology = NULL, *d;
        int r;

        r = table_new(TABLE_ROWS, devices_columns.list, devices_columns.n, &t);
        if (r < 0)
                return r;
        (void) json_object_object_get_ex(describe, "topology", &topology);
        ARRAY_FOREACH(d, json_get_array(topology, "devices")) {
                const char *name = json_get_string(d, "name");
                struct json_object *vfio = NULL, *claim;
                uint64_t group;

                (void) json_object_object_get_ex(d, "vfio", &vfio);
                claim = name ? find_claim(describe, name) : NULL;

                r = table_add_string(t, name);
                if (r >= 0)
                        r = table_add_string(t, json_get_string(d, "bus"));
                if (r >= 0)
                        r = table_add_string(t, json_get_string(d, "driver"));
                if (r >= 0)
                        r = json_get_u64(d, "iommu_group", &group) >= 0 ? table_add_uint(t, group) :
                                                                           table_add_null(t);
                if (r >= 0)
                        r = table_add_string(t, json_get_string(d, "iommu"));
                if (r >= 0)
                        r = table_add_string(t, json_get_string(vfio, "cdev"));
                if (r >= 0)
                        r = claim ? table_add_uint(t, json_get_u64_or(claim, "id", 0)) : table_add_null(t);
                if (r >= 0)
                        r = table_add_string(t, claim ? json_get_string(claim, "path") : NULL);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

static int compare_sessions(const void *a, const void *b) {
        uint64_t x = json_get_u64_or(*(struct json_object * const *) a, "id", 0),
                 y = json_get_u64_or(*(struct json_object * const *) b, "id", 0);

        return x < y ? -1 : x > y;
}

static const Column sessions_column_list[] = {
        { "ID",         "id",           COLUMN_RIGHT     },
        { "PATH",       "path",         COLUMN_JSON_ONLY },
        { "OWNER",      "owner",        0                },
        { "UID",        "uid",          COLUMN_RIGHT     },
        { "PERSISTENT", "persistent",   0                },
        { "DELEGATED",  "delegated",    0                },
        { "OBJECTS",    "objects",      COLUMN_RIGHT     },
        { "MAPPED",     "mapped-bytes", COLUMN_RIGHT     },
};
const Columns sessions_columns = { sessions_column_list, ELEMENTSOF(sessions_column_list) };

int sessions_table(struct json_object *describe, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ struct json_object **sorted = NULL;
        struct json_object *sessions = json_get_array(describe, "sessions");
        size_t n = sessions ? json_object_array_length(sessions) : 0;
        int r;

        r = table_new(TABLE_ROWS, sessions_columns.list, sessions_columns.n, &t);
        if (r < 0)
                return r;
        /* The daemon lists the newest first; people count up. */
        sorted = calloc(n ?: 1, sizeof(*sorted));
        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                sorted[i] = json_object_array_get_idx(sessions, i);
        qsort(sorted, n, sizeof(*sorted), compare_sessions);

        for (size_t i = 0; i < n; i++) {
                struct json_object *s = sorted[i], *objects = json_get_array(s, "objects");

                r = table_add_uint(t, json_get_u64_or(s, "id", 0));
                if (r >= 0)
                        r = table_add_string(t, json_get_string(s, "path"));
                if (r >= 0)
                        r = table_add_string(t, json_get_string(s, "owner"));
                if (r >= 0)
                        r = table_add_uint(t, json_get_u64_or(s, "uid", 0));
                if (r >= 0)
                        r = table_add_bool(t, json_get_bool(s, "persistent"));
                if (r >= 0)
                        r = table_add_bool(t, json_get_bool(s, "delegated"));
                if (r >= 0)
                        r = table_add_uint(t, objects ? json_object_array_length(objects) : 0);
                if (r >= 0)
                        r = table_add_size(t, json_get_u64_or(s, "mapped-bytes", 0));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

/* Describe's times are CLOCK_REALTIME in µs. */
static int add_timestamp(Table *t, struct json_object *o, const char *key) {
        char buf[64];
        uint64_t usec;
        struct tm tm;
        time_t sec;
        int r;

        if (json_get_u64(o, key, &usec) < 0)
                return table_add_null(t);
        r = table_add_uint(t, usec);
        if (r < 0)
                return r;
        sec = (time_t) (usec / 1000000);
        if (!localtime_r(&sec, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                return 0;
        return table_set_text(t, buf);
}

static const Column session_column_list[] = {
        { "Session",    "id",           0 },
        { "Path",       "path",         0 },
        { "Owner",      "owner",        0 },
        { "UID",        "uid",          0 },
        { "Persistent", "persistent",   0 },
        { "Delegated",  "delegated",    0 },
        { "Created",    "created",      0 },
        { "Objects",    "objects",      0 },
        { "Mapped",     "mapped-bytes", 0 },
};
const Columns session_columns = { session_column_list, ELEMENTSOF(session_column_list) };

int session_table(struct json_object *session, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        struct json_object *objects = json_get_array(session, "objects");
        int r;

        r = table_new(TABLE_RECORD, session_columns.list, session_columns.n, &t);
        if (r < 0)
                return r;
        r = table_add_uint(t, json_get_u64_or(session, "id", 0));
        if (r >= 0)
                r = table_add_string(t, json_get_string(session, "path"));
        if (r >= 0)
                r = table_add_string(t, json_get_string(session, "owner"));
        if (r >= 0)
                r = table_add_uint(t, json_get_u64_or(session, "uid", 0));
        if (r >= 0)
                r = table_add_bool(t, json_get_bool(session, "persistent"));
        if (r >= 0)
                r = table_add_bool(t, json_get_bool(session, "delegated"));
        if (r >= 0)
                r = add_timestamp(t, session, "created");
        if (r >= 0)
                r = table_add_uint(t, objects ? json_object_array_length(objects) : 0);
        if (r >= 0)
                r = table_add_size(t, json_get_u64_or(session, "mapped-bytes", 0));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

/* The order of kinds, for roots and for siblings alike. Fault queues go
 * before IOASes: the nested HWPTs below an IOAS use them. */
static unsigned kind_rank(const char *type) {
        static const char *const order[] = {
                "device", "fault-queue", "ioas", "hwpt", "viommu", "vdevice", "veventq",
        };

        for (size_t i = 0; type && i < ELEMENTSOF(order); i++)
                if (streq(type, order[i]))
                        return i;
        return ELEMENTSOF(order);
}

static struct json_object *find_object(struct json_object *objects, const char *path) {
        struct json_object *o;

        ARRAY_FOREACH(o, objects)
                if (path && streq_ptr(json_get_string(o, "path"), path))
                        return o;
        return NULL;
}

/* What an object hangs below: the first object of its session it uses that
 * is not a device. Devices are used by nearly everything, so hanging things
 * below them would say little. */
static struct json_object *primary_use(struct json_object *object, struct json_object *objects) {
        struct json_object *u;

        ARRAY_FOREACH(u, json_get_array(object, "uses")) {
                struct json_object *dep;

                if (!json_object_is_type(u, json_type_string))
                        continue;
                dep = find_object(objects, json_object_get_string(u));
                if (dep && dep != object && !streq_ptr(json_get_string(dep, "type"), "device"))
                        return dep;
        }
        return NULL;
}

typedef struct TreeBuild {
        struct json_object *objects;
        struct json_object **sorted;    /* by kind, then id */
        struct json_object **parent;    /* per sorted index */
        bool *visited;
        size_t n;
        TreeNode *nodes;
        size_t n_nodes;
} TreeBuild;

static int compare_objects(const void *a, const void *b) {
        struct json_object *x = *(struct json_object * const *) a, *y = *(struct json_object * const *) b;
        unsigned kx = kind_rank(json_get_string(x, "type")), ky = kind_rank(json_get_string(y, "type"));
        uint64_t ix = json_get_u64_or(x, "id", 0), iy = json_get_u64_or(y, "id", 0);

        if (kx != ky)
                return kx < ky ? -1 : 1;
        if (ix != iy)
                return ix < iy ? -1 : 1;
        return strcmp(json_get_string(x, "path") ?: "", json_get_string(y, "path") ?: "");
}

static int tree_add(TreeBuild *b, size_t i, unsigned depth, size_t parent_node) {
        size_t node = b->n_nodes++;

        b->visited[i] = true;
        b->nodes[node] = (TreeNode) {
                .object = b->sorted[i],
                .path = json_get_string(b->sorted[i], "path"),
                .parent = b->parent[i] ? json_get_string(b->parent[i], "path") : NULL,
                .parent_node = parent_node,
                .depth = depth,
        };
        for (size_t c = 0; c < b->n; c++) {
                int r;

                if (b->visited[c] || b->parent[c] != b->sorted[i])
                        continue;
                r = tree_add(b, c, depth + 1, node);
                if (r < 0)
                        return r;
        }
        return 0;
}

int session_tree(struct json_object *session, TreeNode **ret, size_t *ret_n) {
        _cleanup_free_ struct json_object **sorted = NULL, **parent = NULL;
        _cleanup_free_ bool *visited = NULL;
        struct json_object *objects = json_get_array(session, "objects");
        TreeBuild b = { .objects = objects };
        int r = 0;

        b.n = objects ? json_object_array_length(objects) : 0;
        b.sorted = sorted = calloc(b.n + 1, sizeof(*sorted));
        b.parent = parent = calloc(b.n + 1, sizeof(*parent));
        b.visited = visited = calloc(b.n + 1, sizeof(*visited));
        b.nodes = calloc(b.n + 1, sizeof(TreeNode));
        if (!sorted || !parent || !visited || !b.nodes) {
                free(b.nodes);
                return -ENOMEM;
        }
        for (size_t i = 0; i < b.n; i++)
                sorted[i] = json_object_array_get_idx(objects, i);
        qsort(sorted, b.n, sizeof(*sorted), compare_objects);
        for (size_t i = 0; i < b.n; i++)
                parent[i] = primary_use(sorted[i], objects);

        /* Roots first; then whatever a malformed record left unreachable
         * (a cycle), each becoming a root, so nothing is ever left out. */
        for (int pass = 0; pass < 2 && r >= 0; pass++)
                for (size_t i = 0; i < b.n && r >= 0; i++) {
                        if (visited[i] || (pass == 0 && parent[i]))
                                continue;
                        parent[i] = NULL;
                        r = tree_add(&b, i, 0, SIZE_MAX);
                }
        if (r < 0) {
                free(b.nodes);
                return r;
        }
        *ret = b.nodes;
        *ret_n = b.n_nodes;
        return 0;
}

/* How an object is named on another's line: devices by their name. */
static char *object_label(struct json_object *o, const char *path) {
        const char *type, *name;
        char *s;

        if (!o)
                return strdup(path ?: "?");
        type = json_get_string(o, "type");
        name = json_get_string(o, "name");
        if (streq_ptr(type, "device") && name)
                return strdup(name);
        if (asprintf(&s, "%s %" PRIu64, type ?: "object", json_get_u64_or(o, "id", 0)) < 0)
                return NULL;
        return s;
}

static void put_sep(FILE *f, bool *first) {
        fputs(*first ? ": " : ", ", f);
        *first = false;
}

/* The daemon names the kernel's constants; a value it has no name for is
 * shown as a number. */
static void put_hwpt(FILE *f, struct json_object *o, bool *first) {
        struct json_object *names;
        const char *kind = json_get_string(o, "kind"), *data_name = json_get_string(o, "data-type-name");
        uint64_t data = json_get_u64_or(o, "data-type", 0), unknown = json_get_u64_or(o, "unknown-flags", 0);

        put_sep(f, first);
        fputs(kind ?: "hwpt", f);
        if (json_object_object_get_ex(o, "flag-names", &names) && json_object_is_type(names, json_type_array))
                for (size_t i = 0, n = json_object_array_length(names); i < n; i++)
                        fprintf(f, ", %s", json_object_get_string(json_object_array_get_idx(names, i)));
        if (unknown)
                fprintf(f, ", flags 0x%" PRIx64, unknown);
        if (data == 0)
                return;
        if (data_name)
                fprintf(f, ", %s data", data_name);
        else
                fprintf(f, ", data type 0x%" PRIx64, data);
}

static void put_viommu(FILE *f, struct json_object *o, bool *first) {
        const char *name = json_get_string(o, "viommu-type-name");
        uint64_t type;

        if (json_get_u64(o, "viommu-type", &type) < 0)
                return;
        put_sep(f, first);
        if (name)
                fputs(name, f);
        else
                fprintf(f, "type 0x%" PRIx64, type);
}

int object_summary(struct json_object *o, struct json_object *objects, char **ret) {
        _cleanup_free_ char *buf = NULL, *attached = NULL;
        const char *type = json_get_string(o, "type");
        struct json_object *primary = primary_use(o, objects), *u;
        bool first = true;
        size_t size = 0;
        uint64_t v;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%s %" PRIu64, type ?: "object", json_get_u64_or(o, "id", 0));

        if (streq_ptr(type, "device")) {
                const char *path = json_get_string(o, "attached");

                put_sep(f, &first);
                fputs(json_get_string(o, "name") ?: "?", f);
                if (json_get_bool(o, "mock"))
                        fputs(", mock", f);
                if (!json_get_bool(o, "bound"))
                        fputs(", not bound", f);
                if (path) {
                        attached = object_label(find_object(objects, path), path);
                        fprintf(f, ", attached to %s", attached ?: path);
                } else if (json_get_bool(o, "bound"))
                        fputs(", detached", f);
                ARRAY_FOREACH(u, json_get_array(o, "pasids")) {
                        const char *hwpt = json_get_string(u, "hwpt");
                        _cleanup_free_ char *label = NULL;

                        label = object_label(find_object(objects, hwpt), hwpt);
                        fprintf(f, ", pasid %" PRIu64 " on %s", json_get_u64_or(u, "pasid", 0), label ?: "?");
                }
        } else if (streq_ptr(type, "ioas")) {
                char b[FORMAT_BYTES_MAX];
                uint64_t n = json_get_u64_or(o, "mappings", 0);

                put_sep(f, &first);
                fprintf(f, "%" PRIu64 " mapping%s, %s", n, n == 1 ? "" : "s",
                        format_bytes(b, json_get_u64_or(o, "mapped-bytes", 0)));
        } else if (streq_ptr(type, "hwpt"))
                put_hwpt(f, o, &first);
        else if (streq_ptr(type, "viommu"))
                put_viommu(f, o, &first);
        else if (streq_ptr(type, "vdevice") && json_get_u64(o, "virt-id", &v) >= 0) {
                put_sep(f, &first);
                fprintf(f, "virt-id 0x%" PRIx64, v);
        }

        /* What it uses besides the parent the tree shows. */
        bool any = false;
        ARRAY_FOREACH(u, json_get_array(o, "uses")) {
                const char *p = json_object_is_type(u, json_type_string) ? json_object_get_string(u) : NULL;
                struct json_object *dep = find_object(objects, p);
                _cleanup_free_ char *label = NULL;

                if (!p || (primary && dep == primary))
                        continue;
                label = object_label(dep, p);
                if (!any)
                        put_sep(f, &first);
                fprintf(f, "%s%s", any ? ", " : "uses ", label ?: p);
                any = true;
        }

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static const Column tree_column_list[] = {
        { "OBJECT", "object", 0 },
};

int session_format(struct json_object *session, unsigned flags, char **ret) {
        _cleanup_(table_freep) Table *t = NULL, *tree = NULL;
        _cleanup_free_ char *record = NULL, *lines = NULL;
        _cleanup_free_ TreeNode *nodes = NULL;
        struct json_object *objects = json_get_array(session, "objects");
        size_t n = 0;
        int r;

        r = session_table(session, &t);
        if (r >= 0) {
                table_set_flags(t, flags);
                r = table_format(t, &record);
        }
        if (r >= 0)
                r = session_tree(session, &nodes, &n);
        if (r >= 0)
                r = table_new(TABLE_TREE, tree_column_list, ELEMENTSOF(tree_column_list), &tree);
        if (r < 0)
                return r;
        table_set_flags(tree, flags);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *line = NULL;

                r = object_summary(nodes[i].object, objects, &line);
                if (r >= 0)
                        r = table_add_string(tree, line);
                if (r >= 0 && nodes[i].parent_node != SIZE_MAX)
                        r = table_set_parent(tree, nodes[i].parent_node);
                if (r < 0)
                        return r;
        }
        if (n > 0) {
                r = table_format(tree, &lines);
                if (r < 0)
                        return r;
        }
        if (asprintf(ret, "%s\n%s", record, n > 0 ? lines : "No objects.\n") < 0)
                return -ENOMEM;
        return 0;
}

int session_to_json(struct json_object *session, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *copy = NULL, *ordered = NULL;
        _cleanup_free_ TreeNode *nodes = NULL;
        size_t n = 0;
        int r;

        r = session_tree(session, &nodes, &n);
        if (r < 0)
                return r;
        if (json_object_deep_copy(session, &copy, NULL) < 0 || !(ordered = json_object_new_array()))
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                struct json_object *o = NULL;

                if (json_object_deep_copy(nodes[i].object, &o, NULL) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (json_object_object_add(o, "parent", nodes[i].parent ?
                                           json_object_new_string(nodes[i].parent) : NULL) < 0 ||
                    json_object_object_add(o, "depth", json_object_new_int(nodes[i].depth)) < 0 ||
                    json_object_array_add(ordered, o) < 0) {
                        json_object_put(o);
                        r = -ENOMEM;
                }
        }
        if (r < 0)
                return r;
        if (json_object_object_add(copy, "objects", TAKE_PTR(ordered)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(copy);
        return 0;
}

static const Column viommus_column_list[] = {
        { "SESSION",  "session",  COLUMN_RIGHT     },
        { "ID",       "id",       COLUMN_RIGHT     },
        { "PATH",     "path",     COLUMN_JSON_ONLY },
        { "TYPE",     "type",     0                },
        { "TYPE-ID",  "type-id",  COLUMN_JSON_ONLY },
        { "PARENT",   "parent",   0                },
        { "DEVICE",   "device",   0                },
        { "VDEVICES", "vdevices", 0                },
};
const Columns viommus_columns = { viommus_column_list, ELEMENTSOF(viommus_column_list) };

/* The path of an object's i-th use, or NULL. */
static const char *use_path(struct json_object *o, size_t i) {
        struct json_object *uses = json_get_array(o, "uses"), *u;

        u = uses && i < json_object_array_length(uses) ? json_object_array_get_idx(uses, i) : NULL;
        return json_object_is_type(u, json_type_string) ? json_object_get_string(u) : NULL;
}

/* An object's i-th use as its label ("hwpt 7", "mock0") and as JSON: the
 * name of a device, else the path. */
static int add_use(Table *t, struct json_object *o, size_t i, struct json_object *objects) {
        const char *path = use_path(o, i);
        struct json_object *dep = find_object(objects, path), *j;
        _cleanup_free_ char *label = NULL;

        if (!path)
                return table_add_null(t);
        label = object_label(dep, path);
        if (!label)
                return -ENOMEM;
        j = json_object_new_string(dep && streq_ptr(json_get_string(dep, "type"), "device") ? label : path);
        if (!j)
                return -ENOMEM;
        return table_add_json(t, j, label);
}

/* One vDEVICE: {"path", "id", "device" (its name), "virt-id"}. */
static struct json_object *vdevice_to_json(struct json_object *o, const char *device, const char *virt_id) {
        _cleanup_(json_object_putp) struct json_object *j = json_object_new_object();
        int r = 0;

        if (!j)
                return NULL;
        r |= json_object_object_add(j, "path", json_object_new_string(json_get_string(o, "path") ?: ""));
        r |= json_object_object_add(j, "id", json_object_new_int64((int64_t) json_get_u64_or(o, "id", 0)));
        r |= json_object_object_add(j, "device", device ? json_object_new_string(device) : NULL);
        r |= json_object_object_add(j, "virt-id", json_object_new_string(virt_id));
        return r < 0 ? NULL : TAKE_PTR(j);
}

/* The vIOMMU's vDEVICEs: "mock0 0x99, mock1 0x2a" and a JSON array. */
static int add_vdevices(Table *t, struct json_object *viommu, struct json_object *objects) {
        _cleanup_(json_object_putp) struct json_object *a = json_object_new_array();
        _cleanup_free_ char *text = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        struct json_object *o;
        size_t size = 0;

        if (!a || !(f = open_memstream(&text, &size)))
                return -ENOMEM;
        ARRAY_FOREACH(o, objects) {
                struct json_object *dev, *j;
                const char *name;
                char virt_id[24];

                if (!streq_ptr(json_get_string(o, "type"), "vdevice") ||
                    !streq_ptr(use_path(o, 0), json_get_string(viommu, "path")))
                        continue;
                dev = find_object(objects, use_path(o, 1));
                name = dev ? json_get_string(dev, "name") : NULL;
                snprintf(virt_id, sizeof(virt_id), "0x%" PRIx64, json_get_u64_or(o, "virt-id", 0));
                j = vdevice_to_json(o, name, virt_id);
                if (!j || json_object_array_add(a, j) < 0) {
                        json_object_put(j);
                        return -ENOMEM;
                }
                fprintf(f, "%s%s %s", json_object_array_length(a) > 1 ? ", " : "", name ?: "?", virt_id);
        }
        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;
        return table_add_json(t, TAKE_PTR(a), text);
}

int viommus_table(struct json_object *describe, struct json_object *session, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        struct json_object *s, *o;
        int r;

        r = table_new(TABLE_ROWS, viommus_columns.list, viommus_columns.n, &t);
        if (r < 0)
                return r;
        ARRAY_FOREACH(s, json_get_array(describe, "sessions")) {
                struct json_object *objects = json_get_array(s, "objects");

                if (session && s != session)
                        continue;
                ARRAY_FOREACH(o, objects) {
                        const char *name = json_get_string(o, "viommu-type-name");
                        uint64_t type = json_get_u64_or(o, "viommu-type", 0);
                        char buf[24];

                        if (!streq_ptr(json_get_string(o, "type"), "viommu"))
                                continue;
                        snprintf(buf, sizeof(buf), "0x%" PRIx64, type);
                        r = table_add_uint(t, json_get_u64_or(s, "id", 0));
                        if (r >= 0)
                                r = table_add_uint(t, json_get_u64_or(o, "id", 0));
                        if (r >= 0)
                                r = table_add_string(t, json_get_string(o, "path"));
                        /* A type the daemon has no name for shows as its number. */
                        if (r >= 0)
                                r = table_add_string(t, name);
                        if (r >= 0 && !name)
                                r = table_set_text(t, buf);
                        if (r >= 0)
                                r = table_add_uint(t, type);
                        if (r >= 0)
                                r = add_use(t, o, 0, objects);
                        if (r >= 0)
                                r = add_use(t, o, 1, objects);
                        if (r >= 0)
                                r = add_vdevices(t, o, objects);
                        if (r < 0)
                                return r;
                }
        }
        *ret = TAKE_PTR(t);
        return 0;
}

int viommus_none(struct json_object *describe, char **ret) {
        struct json_object *features, *f;
        const char *since = "?";
        int r;

        if (json_object_object_get_ex(describe, "features", &features) &&
            json_object_object_get_ex(features, "viommu", &f) && !json_get_bool(f, "supported")) {
                since = json_get_string(f, "since") ?: since;
                r = asprintf(ret, "No vIOMMUs: this kernel has none (they came with Linux %s).", since);
        } else
                r = asprintf(ret, "No vIOMMUs.");
        return r < 0 ? -ENOMEM : 0;
}
