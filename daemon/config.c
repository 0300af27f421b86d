/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config.h"
#include "json-strict.h"
#include "json-util.h"
#include "util.h"
#include "viommu-topology.h"

static const char *const limit_keys[_CONFIG_LIMIT_MAX] = {
        [CONFIG_LIMIT_PINNED_BYTES] = "pinned-bytes",
        [CONFIG_LIMIT_OBJECTS]      = "objects",
        [CONFIG_LIMIT_DEVICES]      = "devices",
        [CONFIG_LIMIT_SESSIONS_PER_USER] = "sessions-per-user",
        [CONFIG_LIMIT_PERSISTENT_SESSIONS_PER_USER] = "persistent-sessions-per-user",
        [CONFIG_LIMIT_LEASE_DRAIN_MSEC] = "lease-drain-msec",
        [CONFIG_LIMIT_LEASES]       = "leases",
};

static const uint64_t limit_defaults[_CONFIG_LIMIT_MAX] = {
        [CONFIG_LIMIT_PINNED_BYTES] = CONFIG_DEFAULT_PINNED_BYTES,
        [CONFIG_LIMIT_OBJECTS]      = CONFIG_DEFAULT_OBJECTS,
        [CONFIG_LIMIT_DEVICES]      = CONFIG_DEFAULT_DEVICES,
        [CONFIG_LIMIT_SESSIONS_PER_USER] = CONFIG_DEFAULT_SESSIONS_PER_USER,
        [CONFIG_LIMIT_PERSISTENT_SESSIONS_PER_USER] = CONFIG_DEFAULT_PERSISTENT_SESSIONS_PER_USER,
        [CONFIG_LIMIT_LEASE_DRAIN_MSEC] = CONFIG_DEFAULT_LEASE_DRAIN_MSEC,
        [CONFIG_LIMIT_LEASES]       = CONFIG_DEFAULT_LEASES,
};

const char *config_limit_to_string(ConfigLimit l) {
        if ((unsigned) l >= _CONFIG_LIMIT_MAX)
                return NULL;
        return limit_keys[l];
}

uint64_t config_limit(const Config *c, ConfigLimit l) {
        if ((unsigned) l >= _CONFIG_LIMIT_MAX)
                return 0;
        return c ? c->limits[l] : limit_defaults[l];
}

static void identities_free(ConfigIdentity *ids, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(ids[i].name);
        free(ids);
}

static void allow_rule_done(AllowRule *r) {
        free(r->devices);
        identities_free(r->users, r->n_users);
        identities_free(r->groups, r->n_groups);
        for (size_t i = 0; i < r->n_units; i++)
                free(r->units[i]);
        free(r->units);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_allow; i++)
                allow_rule_done(&c->allow[i]);
        free(c->allow);
        identities_free(c->observer_users, c->n_observer_users);
        identities_free(c->observer_groups, c->n_observer_groups);
        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i]);
        free(c->files);
        free(c);
        return NULL;
}

int config_new(Config **ret) {
        Config *c;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        memcpy(c->limits, limit_defaults, sizeof(c->limits));
        *ret = c;
        return 0;
}

/* Reading: the tree json_parse_strict() gives, against the format. */

typedef struct Parser {
        const char *origin;
        char *error;
} Parser;

/* Records the first error, about the value at path; returns -EINVAL (or -ENOMEM). */
_printf_(3, 4)
static int parser_error(Parser *p, const char *path, const char *fmt, ...) {
        va_list ap;
        int r;

        if (p->error)
                return -EINVAL;
        va_start(ap, fmt);
        r = json_format_error(&p->error, p->origin, NULL, 0, path, fmt, ap);
        va_end(ap);
        return r < 0 ? r : -EINVAL;
}

static const char *json_type_description(const struct json_object *v) {
        switch (json_object_get_type(v)) {
        case json_type_null:    return "null";
        case json_type_boolean: return "a boolean";
        case json_type_double:  return "a fractional number";
        case json_type_int:     return "an integer";
        case json_type_object:  return "an object";
        case json_type_array:   return "an array";
        case json_type_string:  return "a string";
        }
        return "something else";
}

static const char *json_text(struct json_object *v) {
        return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static int expect_type(Parser *p, const char *path, struct json_object *v, enum json_type type, const char *what) {
        if (json_object_get_type(v) == type)
                return 0;
        return parser_error(p, path, "must be %s, not %s", what, json_type_description(v));
}

/* A non-negative integer no larger than max. */
static int parse_unsigned(Parser *p, const char *path, struct json_object *v, uint64_t max, uint64_t *ret) {
        uint64_t u;

        if (json_object_get_type(v) == json_type_double)
                return parser_error(p, path, "%s is not a whole number", json_text(v));
        if (json_object_get_type(v) != json_type_int)
                return parser_error(p, path, "must be a number, not %s", json_type_description(v));
        if (json_object_get_int64(v) < 0)
                return parser_error(p, path, "%s is negative", json_text(v));
        u = json_object_get_uint64(v);
        if (u > max)
                return parser_error(p, path, "%s is too large (at most %" PRIu64 ")", json_text(v), max);
        *ret = u;
        return 0;
}

static int child_path(const char *parent, const char *key, size_t index, char **ret) {
        int r;

        if (key)
                r = asprintf(ret, "%s%s%s", parent, isempty(parent) ? "" : ".", key);
        else
                r = asprintf(ret, "%s[%zu]", parent, index);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* "8086:10d3", any case. */
static int parse_pci_id(const char *s, DeviceSelector *ret) {
        static const char hex[] = "0123456789abcdefABCDEF";

        if (strlen(s) != 9 || s[4] != ':' || strspn(s, hex) != 4 || strspn(s + 5, hex) != 4)
                return -EINVAL;
        ret->type = DEVICE_SELECTOR_ID;
        ret->id.vendor = (uint16_t) strtoul(s, NULL, 16);
        ret->id.device = (uint16_t) strtoul(s + 5, NULL, 16);
        return 0;
}

static int parse_selector(Parser *p, const char *path, struct json_object *v, bool group _unused_, void *item) {
        DeviceSelector *ret = item;
        bool seen = false;
        int r;

        r = expect_type(p, path, v, json_type_object, "an object such as {\"pci\": \"0000:01:00.0\"}");
        if (r < 0)
                return r;

        json_object_object_foreach(v, key, value) {
                _cleanup_free_ char *cp = NULL;

                r = child_path(path, key, 0, &cp);
                if (r < 0)
                        return r;
                if (seen)
                        return parser_error(p, cp, "a device selector has exactly one key: one selector per device");
                seen = true;

                if (streq(key, "pci")) {
                        r = expect_type(p, cp, value, json_type_string, "a string");
                        if (r < 0)
                                return r;
                        ret->type = DEVICE_SELECTOR_PCI;
                        if (pci_address_parse(json_object_get_string(value), &ret->pci.domain, &ret->pci.bus,
                                              &ret->pci.slot, &ret->pci.function) < 0)
                                return parser_error(p, cp, "%s is not a PCI address (DOMAIN:BUS:SLOT.FUNCTION, e.g. \"0000:01:00.0\")",
                                                    json_text(value));
                } else if (streq(key, "id")) {
                        r = expect_type(p, cp, value, json_type_string, "a string");
                        if (r < 0)
                                return r;
                        if (parse_pci_id(json_object_get_string(value), ret) < 0)
                                return parser_error(p, cp, "%s is not a PCI vendor:device id (e.g. \"8086:10d3\")",
                                                    json_text(value));
                } else if (streq(key, "group")) {
                        uint64_t g;

                        r = parse_unsigned(p, cp, value, INT_MAX, &g);
                        if (r < 0)
                                return r;
                        ret->type = DEVICE_SELECTOR_GROUP;
                        ret->group = (unsigned) g;
                } else
                        return parser_error(p, cp, "unknown key: a device selector is \"pci\", \"id\" or \"group\"");
        }
        if (!seen)
                return parser_error(p, path, "empty device selector: give \"pci\", \"id\" or \"group\"");
        return 0;
}

static int parse_identity(Parser *p, const char *path, struct json_object *v, bool group, void *item) {
        _cleanup_free_ struct passwd *pw = NULL;
        _cleanup_free_ struct group *gr = NULL;
        const char *what = group ? "group" : "user";
        ConfigIdentity *ret = item;
        const char *s;
        int r;

        if (json_object_get_type(v) != json_type_string) {
                uint64_t id;

                if (json_object_get_type(v) != json_type_int && json_object_get_type(v) != json_type_double)
                        return parser_error(p, path, "must be a %s name or number, not %s", what,
                                            json_type_description(v));
                /* (uid_t) -1 means "no user" to the kernel. */
                r = parse_unsigned(p, path, v, UINT32_MAX - 1, &id);
                if (r < 0)
                        return r;
                ret->id = (uint32_t) id;
                ret->name = NULL;
                return 0;
        }

        s = json_object_get_string(v);
        if (s[0] && s[strspn(s, "0123456789")] == 0) {
                char *end;
                unsigned long long id;

                errno = 0;
                id = strtoull(s, &end, 10);
                if (errno != 0 || *end || id >= UINT32_MAX)
                        return parser_error(p, path, "%s is not a valid %s number", json_text(v), what);
                ret->id = (uint32_t) id;
                ret->name = NULL;
                return 0;
        }
        if (isempty(s) || strlen(s) > 256 || strpbrk(s, ":/\n\t "))
                return parser_error(p, path, "%s is not a valid %s name", json_text(v), what);

        r = group ? user_db_group(s, &gr) : user_db_passwd(s, 0, &pw);
        if (r == -ENOMEM)
                return r;
        if (r == -ESRCH)
                return parser_error(p, path, "no such %s %s", what, json_text(v));
        if (r < 0)
                return parser_error(p, path, "cannot look up %s %s: %s", what, json_text(v), strerror(-r));
        ret->id = group ? gr->gr_gid : pw->pw_uid;
        ret->name = strdup(s);
        if (!ret->name)
                return -ENOMEM;
        return 0;
}

/* An array whose elements parse() reads into *ret (set also on failure), n_ret
 * counting them as they are read, so that a half-read array is freed whole. */
static int parse_array(Parser *p, const char *path, struct json_object *v, const char *what, size_t size,
                       int (*parse)(Parser *p, const char *path, struct json_object *v, bool group, void *item),
                       bool group, void **ret, size_t *n_ret) {
        size_t n;
        int r;

        r = expect_type(p, path, v, json_type_array, what);
        if (r < 0)
                return r;
        n = json_object_array_length(v);
        *ret = calloc(n ?: 1, size);
        if (!*ret)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *cp = NULL;

                r = child_path(path, NULL, i, &cp);
                if (r < 0)
                        return r;
                r = parse(p, cp, json_object_array_get_idx(v, i), group, (uint8_t *) *ret + i * size);
                if (r < 0)
                        return r;
                (*n_ret)++;
        }
        return 0;
}

/* As systemd names units: "name.type", "template@instance.type", or a
 * template "template@.type", which matches all its instances. */
static bool unit_name_is_valid(const char *s) {
        static const char *const types[] = {
                ".service", ".socket", ".scope", ".slice", ".target", ".timer", ".path",
                ".mount", ".automount", ".swap", ".device",
        };
        const char *dot = strrchr(s, '.'), *at;
        bool type_ok = false;

        if (isempty(s) || strlen(s) > 255 || !dot || dot == s)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (streq(dot, types[i]))
                        type_ok = true;
        if (!type_ok)
                return false;
        for (const char *c = s; c < dot; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr(":-_.\\@", *c)))
                        return false;
        at = strchr(s, '@');
        if (at && (at == s || strchr(at + 1, '@')))
                return false;
        return true;
}

static int parse_unit(Parser *p, const char *path, struct json_object *v, bool group _unused_, void *item) {
        char **ret = item;
        int r;

        r = expect_type(p, path, v, json_type_string, "a string");
        if (r < 0)
                return r;
        if (!unit_name_is_valid(json_object_get_string(v)))
                return parser_error(p, path, "%s is not a systemd unit name (e.g. \"vmm@guest1.service\")",
                                    json_text(v));
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

static int parse_rule(Parser *p, const char *path, struct json_object *v, AllowRule *rule) {
        bool has_devices = false;
        int r;

        r = expect_type(p, path, v, json_type_object, "an object (a rule)");
        if (r < 0)
                return r;

        json_object_object_foreach(v, key, value) {
                _cleanup_free_ char *cp = NULL;
                void *items = NULL;

                r = child_path(path, key, 0, &cp);
                if (r < 0)
                        return r;

                if (streq(key, "devices")) {
                        r = parse_array(p, cp, value, "an array of device selectors", sizeof(DeviceSelector),
                                        parse_selector, false, &items, &rule->n_devices);
                        rule->devices = items;
                        if (r >= 0 && rule->n_devices == 0)
                                return parser_error(p, cp, "empty: a rule names at least one device");
                        has_devices = true;
                } else if (streq(key, "users")) {
                        r = parse_array(p, cp, value, "an array of user names or numbers", sizeof(ConfigIdentity),
                                        parse_identity, false, &items, &rule->n_users);
                        rule->users = items;
                } else if (streq(key, "groups")) {
                        r = parse_array(p, cp, value, "an array of group names or numbers", sizeof(ConfigIdentity),
                                        parse_identity, true, &items, &rule->n_groups);
                        rule->groups = items;
                } else if (streq(key, "units")) {
                        r = parse_array(p, cp, value, "an array of systemd unit names", sizeof(char *), parse_unit,
                                        false, &items, &rule->n_units);
                        rule->units = items;
                } else if (streq(key, "bind")) {
                        r = expect_type(p, cp, value, json_type_boolean, "a boolean");
                        rule->bind = r >= 0 && json_object_get_boolean(value);
                } else
                        return parser_error(p, cp, "unknown key: a rule has \"devices\", \"users\", \"groups\", \"units\" and \"bind\"");
                if (r < 0)
                        return r;
        }

        if (!has_devices)
                return parser_error(p, path, "the rule names no \"devices\"");
        if (rule->n_users + rule->n_groups + rule->n_units == 0)
                return parser_error(p, path, "the rule allows nobody: give \"users\", \"groups\" or \"units\"");
        return 0;
}

/* Adds the identities of array v to *ids: drop-ins add observers. */
static int parse_identities_into(Parser *p, const char *path, struct json_object *v, bool group,
                                 ConfigIdentity **ids, size_t *n) {
        void *items = NULL;
        size_t n_items = 0;
        ConfigIdentity *a;
        int r;

        r = parse_array(p, path, v, group ? "an array of group names or numbers" : "an array of user names or numbers",
                        sizeof(ConfigIdentity), parse_identity, group, &items, &n_items);
        if (r < 0) {
                identities_free(items, n_items);
                return r;
        }
        a = reallocarray(*ids, *n + n_items ?: 1, sizeof(ConfigIdentity));
        if (!a) {
                identities_free(items, n_items);
                return -ENOMEM;
        }
        memcpy(a + *n, items, n_items * sizeof(ConfigIdentity));
        free(items);
        *ids = a;
        *n += n_items;
        return 0;
}

static int parse_observers(Parser *p, const char *path, struct json_object *v, Config *c) {
        int r;

        r = expect_type(p, path, v, json_type_object, "an object with \"users\" and \"groups\"");
        if (r < 0)
                return r;
        json_object_object_foreach(v, key, value) {
                _cleanup_free_ char *cp = NULL;

                r = child_path(path, key, 0, &cp);
                if (r < 0)
                        return r;
                if (streq(key, "users"))
                        r = parse_identities_into(p, cp, value, false, &c->observer_users, &c->n_observer_users);
                else if (streq(key, "groups"))
                        r = parse_identities_into(p, cp, value, true, &c->observer_groups, &c->n_observer_groups);
                else
                        return parser_error(p, cp, "unknown key: observers are \"users\" and \"groups\"");
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Bytes, or a whole number with a binary suffix: "64G". */
static int parse_size(const char *s, uint64_t *ret) {
        static const char suffixes[] = "KMGTPE";
        uint64_t v = 0;
        const char *c = s;

        if (!(*c >= '0' && *c <= '9'))
                return -EINVAL;
        for (; *c >= '0' && *c <= '9'; c++) {
                if (v > (UINT64_MAX - (*c - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (*c - '0');
        }
        if (*c) {
                const char *sfx = strchr(suffixes, *c);

                if (!sfx || c[1])
                        return -EINVAL;
                for (long k = 0; k <= sfx - suffixes; k++) {
                        if (v > UINT64_MAX / 1024)
                                return -ERANGE;
                        v *= 1024;
                }
        }
        *ret = v;
        return 0;
}

static int parse_limits(Parser *p, const char *path, struct json_object *v, Config *c) {
        int r;

        r = expect_type(p, path, v, json_type_object, "an object");
        if (r < 0)
                return r;

        json_object_object_foreach(v, key, value) {
                _cleanup_free_ char *cp = NULL;
                ConfigLimit l;
                const char *s;

                r = child_path(path, key, 0, &cp);
                if (r < 0)
                        return r;
                for (l = 0; l < _CONFIG_LIMIT_MAX; l++)
                        if (streq(key, limit_keys[l]))
                                break;
                if (l == _CONFIG_LIMIT_MAX)
                        return parser_error(p, cp, "unknown key: limits are \"pinned-bytes\", \"objects\", \"devices\", "
                                            "\"sessions-per-user\", \"persistent-sessions-per-user\", \"lease-drain-msec\" "
                                            "and \"leases\"");

                if (json_object_get_type(value) != json_type_string) {
                        r = parse_unsigned(p, cp, value, UINT64_MAX, &c->limits[l]);
                        if (r < 0)
                                return r;
                        continue;
                }

                s = json_object_get_string(value);
                if (streq(s, "infinity"))
                        c->limits[l] = CONFIG_LIMIT_INFINITY;
                else if (l != CONFIG_LIMIT_PINNED_BYTES)
                        return parser_error(p, cp, "%s is not a number or \"infinity\"", json_text(value));
                else {
                        r = parse_size(s, &c->limits[l]);
                        if (r == -ERANGE)
                                return parser_error(p, cp, "%s is too large", json_text(value));
                        if (r < 0)
                                return parser_error(p, cp, "%s is not a size (bytes, or a whole number with K, M, G, T, P or E for powers of 1024, or \"infinity\")",
                                                    json_text(value));
                }
        }
        return 0;
}

static int parse_root(Parser *p, struct json_object *root, Config *c) {
        int r;

        if (json_object_get_type(root) != json_type_object)
                return parser_error(p, "", "the configuration must be a JSON object, not %s",
                                    json_type_description(root));

        json_object_object_foreach(root, key, value) {
                if (streq(key, "allow")) {
                        size_t n;
                        AllowRule *a;

                        r = expect_type(p, key, value, json_type_array, "an array of rules");
                        if (r < 0)
                                return r;
                        n = json_object_array_length(value);
                        a = reallocarray(c->allow, c->n_allow + n ?: 1, sizeof(AllowRule));
                        if (!a)
                                return -ENOMEM;
                        c->allow = a;
                        for (size_t i = 0; i < n; i++) {
                                _cleanup_free_ char *cp = NULL;
                                struct json_object *rule = json_object_array_get_idx(value, i);

                                r = child_path(key, NULL, i, &cp);
                                if (r < 0)
                                        return r;
                                /* Counted first, so that config_free() sees a half-parsed rule. */
                                a[c->n_allow] = (AllowRule) {
                                        .file = p->origin,
                                        .line = (unsigned) (uintptr_t) json_object_get_userdata(rule),
                                };
                                r = parse_rule(p, cp, rule, &a[c->n_allow++]);
                                if (r < 0)
                                        return r;
                        }
                } else if (streq(key, "limits")) {
                        r = parse_limits(p, key, value, c);
                        if (r < 0)
                                return r;
                } else if (streq(key, "observers")) {
                        r = parse_observers(p, key, value, c);
                        if (r < 0)
                                return r;
                } else if (streq(key, "restore-on-release")) {
                        r = expect_type(p, key, value, json_type_boolean, "a boolean");
                        if (r < 0)
                                return r;
                        c->restore_on_release = json_object_get_boolean(value);
                } else
                        return parser_error(p, key,
                                            "unknown key: the configuration has \"allow\", \"limits\", \"observers\" "
                                            "and \"restore-on-release\"");
        }
        return 0;
}

static int set_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        string_replace_control(*ret_error);
        return r;
}

/* Parses one file over what c holds: its limits replace c's, its rules are added. */
static int parse_into(Config *c, const char *text, size_t size, const char *origin, char **ret_error) {
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        Parser p = {};
        size_t blank = 0;
        char **files;
        int r;

        files = reallocarray(c->files, c->n_files + 1, sizeof(char *));
        if (!files)
                return -ENOMEM;
        c->files = files;
        files[c->n_files] = string_replace_control(strdup(origin));
        if (!files[c->n_files])
                return -ENOMEM;
        p.origin = files[c->n_files++];

        /* An empty file is the defaults, as a missing one is. */
        while (blank < size && memchr(" \t\r\n", text[blank], 4))
                blank++;
        if (blank == size)
                return 0;

        r = json_parse_strict(text, size, p.origin, &root, ret_error);
        if (r < 0)
                return r;
        r = parse_root(&p, root, c);
        if (r < 0 && ret_error)
                *ret_error = TAKE_PTR(p.error);
        free(p.error);
        return r;
}

int config_parse(const char *text, size_t size, const char *origin, Config **ret, char **ret_error) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        if (ret_error)
                *ret_error = NULL;
        r = config_new(&c);
        if (r >= 0)
                r = parse_into(c, text, size, origin ?: "(configuration)", ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

static int load_file(Config *c, const char *path, bool missing_ok, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        size_t size;
        int r;

        /* Not blocking: whatever the name holds, the type and size are
         * known before a byte is read. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT && missing_ok)
                        return 0;
                return set_error(ret_error, -errno, "%s: cannot open: %m", path);
        }
        if (fstat(fd, &st) < 0)
                return set_error(ret_error, -errno, "%s: cannot open: %m", path);
        /* A link to /dev/null masks the file, as it does systemd's drop-ins. */
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
                return 0;
        if (!S_ISREG(st.st_mode))
                return set_error(ret_error, -EINVAL, "%s: not a regular file", path);
        r = st.st_size > CONFIG_FILE_MAX ? -EFBIG : read_full_fd(fd, CONFIG_FILE_MAX, &text, &size);
        if (r == -EFBIG)
                return set_error(ret_error, r, "%s: larger than %u MiB, not read", path, CONFIG_FILE_MAX >> 20);
        if (r < 0)
                return set_error(ret_error, r, "%s: cannot read: %s", path, strerror(-r));
        return parse_into(c, text, size, path, ret_error);
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* The drop-ins, PATH.d/NAME.conf, in lexical order. */
static int load_dropins(Config *c, const char *path, char **ret_error) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        int r;

        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : set_error(ret_error, -errno, "%s: cannot open: %m", dir);

        for (errno = 0; (de = readdir(d)); errno = 0) {
                size_t l = strlen(de->d_name);
                char **a;

                /* Not hidden files: editors leave them. */
                if (de->d_name[0] == '.' || l <= 5 || !streq(de->d_name + l - 5, ".conf"))
                        continue;
                a = reallocarray(names, n + 2, sizeof(char *));
                if (!a)
                        return -ENOMEM;
                names = a;
                names[n] = strdup(de->d_name);
                names[++n] = NULL;
                if (!names[n - 1])
                        return -ENOMEM;
        }
        if (errno != 0)
                return set_error(ret_error, -errno, "%s: cannot read: %m", dir);
        if (n > 0)
                qsort(names, n, sizeof(char *), compare_strings);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *file = NULL;

                if (asprintf(&file, "%s/%s", dir, names[i]) < 0)
                        return -ENOMEM;
                r = load_file(c, file, false, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_load(const char *path, Config **ret, char **ret_error) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!path)
                path = CONFIG_DEFAULT_PATH;

        r = config_new(&c);
        if (r >= 0)
                r = load_file(c, path, true, ret_error);
        if (r >= 0)
                r = load_dropins(c, path, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}
