/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "entry-pool.h"
#include "viommu-features.h"

typedef struct Session Session;
typedef struct Channel Channel;
typedef struct FrameChannel FrameChannel;
typedef struct Config Config;
typedef struct AuthQuery AuthQuery;
typedef struct Binding Binding;
typedef struct Object Object;
typedef struct Journal Journal;
typedef struct Subscriber Subscriber;
typedef struct UserGroups UserGroups;
typedef struct UserGroupsLookup UserGroupsLookup;
struct viommu_topology;
struct lh_table;

typedef struct Daemon {
        const char *version;
        sd_event *event;
        sd_bus *bus;

        viommu_features_t features;
        /* Test only: sessions may create the kernel's mock devices. */
        bool mock_devices;
        /* Test only: die by SIGKILL instead of recording the next outcome
         * in a journal (Testing.DieBeforeRecording). */
        bool die_before_recording;

        /* The host's devices as sysfs shows them; re-read after a uevent. */
        struct viommu_topology *topology;
        bool topology_stale;
        struct udev *udev;
        struct udev_monitor *monitor;
        sd_event_source *monitor_source;

        Session *sessions;
        unsigned next_session_id;
        /* Ended sessions' entries in the fd store, kept for new ones. */
        EntryPool entry_pool;
        Channel *channels;
        FrameChannel *frame_channels;
        /* Sessions and objects by path, for the vtables' find callbacks;
         * there while any session is (session.c). */
        struct lh_table *session_paths, *object_paths;

        /* viommud.conf(5); replaced whole on SIGHUP, never NULL once loaded. */
        Config *config;
        char *config_path;
        /* Devices the daemon moved to vfio-pci, see binding.c. */
        Binding *bindings;
        /* polkit queries in flight or answered, see auth.c. */
        AuthQuery *auth_queries;
        /* Callers on the bus by unique name, see caller-uid.c. */
        struct lh_table *caller_uids;
        sd_bus_slot *name_owner_changed;
        sd_bus_slot *caller_filter;
        /* Their groups being looked up, see user-groups.c. */
        UserGroupsLookup *user_group_lookups;
        /* Ends sessions whose owner left the bus, see session-dbus.c. */
        sd_bus_slot *owners_watch;
        /* Who follows the sessions' signals, see subscribers.c. */
        Subscriber *subscribers;

        /* Properties changed and not announced yet, see bus-signals.c. */
        Session *dirty_sessions;
        Object *dirty_objects;
        sd_event_source *signals_timer;
        sd_bus_slot *signals_filter;
} Daemon;

/* The cached topology, read afresh when stale. */
int daemon_topology(Daemon *d, const struct viommu_topology **ret);

#define VIOMMU_BUS_NAME         "org.viommu1"
#define VIOMMU_MANAGER_PATH     "/org/viommu1"
#define VIOMMU_SESSION_PREFIX   "/org/viommu1/session"
#define VIOMMU_DEVICE_PREFIX    "/org/viommu1/device"

/* Every vtable, one per D-Bus interface, each in its own file. */
extern const sd_bus_vtable manager_vtable[];
extern const sd_bus_vtable session_vtable[];
extern const sd_bus_vtable ioas_vtable[];
extern const sd_bus_vtable hwpt_vtable[];
extern const sd_bus_vtable device_vtable[];
extern const sd_bus_vtable object_vtable[];
extern const sd_bus_vtable viommu_vtable[];
extern const sd_bus_vtable claimed_device_vtable[];
/* Test only: built with --enable-test-hooks, served with --test-mock-devices. */
extern const sd_bus_vtable testing_vtable[];

int device_dbus_register(Daemon *d, sd_bus *bus);
int session_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                        void **found, sd_bus_error *error);
int session_node_enumerator(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                            sd_bus_error *error);
