/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Devices the daemon moved to vfio-pci for its callers (BindVfio, or a claim
 * with CLAIM_BIND_VFIO), each with the driver it had, to give it back: on
 * UnbindVfio, or when the claim of a device bound with restore-on-release
 * ends. Both moves run in a child process, so that the event loop never
 * waits for a driver: a host driver's unbind may take seconds (a GPU's, an
 * NVMe's), and vfio-pci's waits until every open of the VFIO device is
 * closed, which a VMM can put off forever. The record lives as long as the
 * daemon runs.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "daemon.h"

/* BindVfio's flags. */
#define BIND_FORCE              (UINT64_C(1) << 0)      /* even if the host uses it */
#define BIND_RESTORE_ON_RELEASE (UINT64_C(1) << 1)      /* give it back when a claim of it ends */
#define BIND_KEEP_ON_RELEASE    (UINT64_C(1) << 2)      /* keep it on vfio-pci when a claim ends */
#define BIND_FLAGS_ALL          (BIND_FORCE | BIND_RESTORE_ON_RELEASE | BIND_KEEP_ON_RELEASE)
/* UnbindVfio's flags. */
#define UNBIND_NO_RESTORE       (UINT64_C(1) << 0)      /* leave it without a driver */
#define UNBIND_FLAGS_ALL        UNBIND_NO_RESTORE

struct Binding {
        Daemon *daemon;
        char *name;
        char *previous;                 /* its driver before; NULL when it had none */
        bool previous_known;            /* false: viommud did not bind it, the kernel picks */
        bool restore_on_release;
        /* A move under way: what watches the child doing it (its exit,
         * or a timer asking after pid), and for a give-back the call to
         * answer. */
        sd_event_source *child;
        pid_t child_pid;
        sd_bus_message *request;
        /* A bind's call, which comes back for the outcome (binding_bind()),
         * the outcome once the child is done, and what gives the device
         * back should the call not come. */
        sd_bus_message *bind_call;
        int bind_result;
        sd_event_source *uncollected;
        Binding *next;
};

Binding *binding_find(Daemon *d, const char *name);
/* Whether device name is being moved between drivers, or was bound for a
 * call other than m that has not come back for it: it is not to be
 * claimed, bound or given back meanwhile. */
bool binding_busy(Daemon *d, const char *name, sd_bus_message *m);
/* Whether m is back from a bind it started: it was authorized then. */
bool binding_started_by(Daemon *d, sd_bus_message *m);

/*
 * Checks device name and starts moving it to vfio-pci in a child process,
 * recording its driver: 0, and m comes back (bus_call_resume()) when the
 * child is done, to call this again for the outcome: 1 when bound, else
 * the error. The refusals of pci_bind_check() as AlreadyBound,
 * GroupNotViable, InUse, NotSupported, or DeviceGone; Busy while the
 * device is being moved. When the call ends before it comes back (its
 * session closed), the device is given back. Marks the topology stale.
 */
int binding_bind(Daemon *d, sd_bus_message *m, const char *name, uint64_t flags, sd_bus_error *error);

/*
 * Starts giving device name back: off vfio-pci, to the driver it had before
 * (or the kernel's choice when the daemon did not bind it) unless
 * no_restore. request (may be NULL) is answered when done. Busy while the
 * device is being moved.
 */
int binding_give_back(Daemon *d, const char *name, bool no_restore, sd_bus_message *request, sd_bus_error *error);

/* A claim of device name ended: gives it back if it was bound so. */
void binding_claim_ended(Daemon *d, const char *name);

/* The host removed device name: nothing to give back. */
void binding_device_removed(Daemon *d, const char *name);

/* Forgets every record; give-backs under way go on in their children. */
void bindings_free(Daemon *d);
