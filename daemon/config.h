/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The operator's configuration, viommud.conf(5): a JSON file that allows
 * devices to users, groups and systemd units, and sets per-session and
 * per-user limits.
 *
 *   {
 *     "allow": [
 *       { "devices": [ {"pci": "0000:01:00.0"}, {"id": "8086:10d3"}, {"group": 12} ],
 *         "users": ["alice", 1001], "groups": ["kvm"], "units": ["vmm@.service"],
 *         "bind": true }
 *     ],
 *     "restore-on-release": true,
 *     "limits": { "pinned-bytes": "64G", "objects": 4096, "devices": 64,
 *                 "sessions-per-user": 256, "persistent-sessions-per-user": 64 }
 *   }
 *
 * Drop-ins, the files PATH.d/NAME.conf in lexical order, are read over the
 * main file: a limit they set replaces the one before, a rule they give is
 * added.
 *
 * The files are taken whole or not at all: any unknown key, wrong type, bad
 * address or id, negative, fractional or overflowing number, duplicate key
 * or unknown user or group name rejects them, with a message naming the file,
 * the JSON path and the reason (and the line for syntax errors). User and
 * group names are resolved when the files are loaded.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct viommu_topology_device;

#define CONFIG_DEFAULT_PATH "/etc/viommu/viommud.conf"
/* A file (the main one or a drop-in) larger than this is refused unread:
 * about a second of parsing, which a reload spends in the event loop. */
#define CONFIG_FILE_MAX (8U << 20)

typedef enum ConfigLimit {
        CONFIG_LIMIT_PINNED_BYTES,
        CONFIG_LIMIT_OBJECTS,
        CONFIG_LIMIT_DEVICES,
        /* Per user, not per session: sessions a uid may have open at once. */
        CONFIG_LIMIT_SESSIONS_PER_USER,
        CONFIG_LIMIT_PERSISTENT_SESSIONS_PER_USER,
        /* Not a count: how long an Unmap waits for the leases it revokes
         * (lease.h), in milliseconds. */
        CONFIG_LIMIT_LEASE_DRAIN_MSEC,
        /* Translation leases a session may hold at once (lease.h). */
        CONFIG_LIMIT_LEASES,
        _CONFIG_LIMIT_MAX,
} ConfigLimit;

/* "infinity" in the file. */
#define CONFIG_LIMIT_INFINITY UINT64_MAX
/*
 * Defaults. Pinned memory is unlimited: what a session pins is guest memory
 * the VMM handed over as a memfd. Objects and devices are bounded, since
 * each costs kernel memory and a record in the daemon.
 */
#define CONFIG_DEFAULT_PINNED_BYTES CONFIG_LIMIT_INFINITY
#define CONFIG_DEFAULT_OBJECTS 4096
#define CONFIG_DEFAULT_DEVICES 64
/* A lease is the daemon's memory and a place in each drain's search: room
 * for every DMA a device model may have in flight, not for a flood. */
#define CONFIG_DEFAULT_LEASES 65536
/*
 * Every session's iommufd takes a place in systemd's fd store, whose
 * FileDescriptorStoreMax=4096 (dbus/viommud.service.in) bounds what a
 * restart keeps: one user alone fills at most a sixteenth of it, and with
 * persistent sessions, which no owner's exit ends, a sixty-fourth.
 */
#define CONFIG_DEFAULT_SESSIONS_PER_USER 256
#define CONFIG_DEFAULT_PERSISTENT_SESSIONS_PER_USER 64
/* A device model drains its in-flight DMA in microseconds; seconds leave
 * room for a loaded host without holding the VMM's Unmap for long. */
#define CONFIG_DEFAULT_LEASE_DRAIN_MSEC 2000

typedef enum DeviceSelectorType {
        DEVICE_SELECTOR_PCI,            /* {"pci": "0000:01:00.0"} */
        DEVICE_SELECTOR_ID,             /* {"id": "8086:10d3"} */
        DEVICE_SELECTOR_GROUP,          /* {"group": 12} */
        _DEVICE_SELECTOR_TYPE_MAX,
} DeviceSelectorType;

typedef struct DeviceSelector {
        DeviceSelectorType type;
        union {
                struct {
                        uint32_t domain;
                        uint8_t bus, slot, function;
                } pci;
                struct {
                        uint16_t vendor, device;
                } id;
                unsigned group;
        };
} DeviceSelector;

/* A user or group: its number, and the name it was given by (NULL when
 * it was given by number). */
typedef struct ConfigIdentity {
        uint32_t id;
        char *name;
} ConfigIdentity;

/*
 * One entry of "allow": a device any selector matches may be claimed by
 * a caller any of users, groups or units matches.
 */
typedef struct AllowRule {
        DeviceSelector *devices;
        size_t n_devices;
        ConfigIdentity *users;
        size_t n_users;
        ConfigIdentity *groups;
        size_t n_groups;
        char **units;                   /* "vmm@.service" matches every instance */
        size_t n_units;
        bool bind;                      /* "bind": they may also move the devices to vfio-pci and back */
        const char *file;               /* where it is, for logs: one of Config.files */
        unsigned line;
} AllowRule;

typedef struct Config {
        AllowRule *allow;
        size_t n_allow;
        /* "observers": who sees every session (never acts on them). */
        ConfigIdentity *observer_users;
        size_t n_observer_users;
        ConfigIdentity *observer_groups;
        size_t n_observer_groups;
        uint64_t limits[_CONFIG_LIMIT_MAX];
        /* "restore-on-release": a device the daemon bound goes back to its
         * driver when its claim ends, unless the bind said otherwise. */
        bool restore_on_release;
        char **files;                   /* what was read, in order: the main file, drop-ins */
        size_t n_files;
} Config;

/* The defaults: nothing allowed (everything goes to polkit), default limits. */
int config_new(Config **ret);

/*
 * Reads path (CONFIG_DEFAULT_PATH when NULL), then its drop-ins. A missing
 * file gives the defaults; an empty one too. On failure *ret_error (may be
 * NULL) says why, in the form "FILE: JSONPATH: reason" or, for syntax,
 * "FILE:LINE:COLUMN: reason", and the return value is -EINVAL for a bad
 * file, another negative errno when one could not be read.
 */
int config_load(const char *path, Config **ret, char **ret_error);
/* The same from memory; origin names the text in messages. */
int config_parse(const char *text, size_t size, const char *origin, Config **ret, char **ret_error);

/* Accepts NULL; returns NULL. */
Config *config_free(Config *c);

static inline void config_freep(Config **c) {
        if (*c)
                config_free(*c);
}

/*
 * 1 when a rule allows dev to a caller with this uid, any of these groups,
 * or this systemd unit (NULL when unknown); 0 otherwise, also for a NULL
 * config or device.
 */
int config_device_allowed(const Config *c, const struct viommu_topology_device *dev, uid_t uid,
                          const gid_t *gids, size_t n_gids, const char *unit);

/* The same for moving dev to vfio-pci and back: only rules with "bind". */
int config_device_bind_allowed(const Config *c, const struct viommu_topology_device *dev, uid_t uid,
                               const gid_t *gids, size_t n_gids, const char *unit);

/* Whether the user uid, in the groups gids, is an observer; c may be NULL. */
bool config_observer(const Config *c, uid_t uid, const gid_t *gids, size_t n_gids);

/* A limit, CONFIG_LIMIT_INFINITY when unlimited; c may be NULL (defaults). */
uint64_t config_limit(const Config *c, ConfigLimit l);
/* The key in "limits": "pinned-bytes", "objects", "sessions-per-user"... */
const char *config_limit_to_string(ConfigLimit l);

/*
 * What changed from old to new, for the reload log: 0 and *ret = NULL when
 * nothing did, else the number of changes and *ret holding one line per
 * change (separated by '\n', no trailing newline), e.g.
 *   limits.pinned-bytes: infinity -> 64G
 *   allow: added rule (/etc/viommu/viommud.conf:3): devices pci 0000:01:00.0; users alice (1000)
 * Rules are compared by content, so one that only moved is no change.
 */
int config_diff(const Config *old, const Config *new, char **ret);

/* Bytes exactly, with the largest binary suffix that divides them
 * ("64G", "1536M", "4097"), or "infinity". */
#define CONFIG_FORMAT_BYTES_MAX 32
const char *config_format_bytes(char buf[static CONFIG_FORMAT_BYTES_MAX], uint64_t bytes);
