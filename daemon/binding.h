/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Devices the daemon moved to vfio-pci for its callers (BindVfio, or a claim
 * with CLAIM_BIND_VFIO), each with the driver it had, to give it back: on
 * UnbindVfio, or when the claim of a device bound with restore-on-release
 * ends. Giving back runs in a child process: vfio-pci's unbind waits until
 * every open of the VFIO device is closed, which a VMM can put off forever.
 * The record lives as long as the daemon runs.
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
        /* A give-back under way: the child doing it, and the call to answer. */
        int pidfd;
        sd_event_source *child;
        sd_bus_message *request;
        Binding *next;
};

Binding *binding_find(Daemon *d, const char *name);
/* Whether a give-back of device name is under way: it is not to be claimed
 * or bound meanwhile. */
bool binding_giving_back(Daemon *d, const char *name);

/*
 * Checks and moves device name to vfio-pci, recording its driver; the
 * refusals of pci_bind_check() as AlreadyBound, GroupNotViable, InUse,
 * NotSupported, or DeviceGone. Marks the topology stale.
 */
int binding_bind(Daemon *d, const char *name, uint64_t flags, sd_bus_error *error);

/*
 * Starts giving device name back: off vfio-pci, to the driver it had before
 * (or the kernel's choice when the daemon did not bind it) unless
 * no_restore. request (may be NULL) is answered when done. Busy when a
 * give-back of it is under way.
 */
int binding_give_back(Daemon *d, const char *name, bool no_restore, sd_bus_message *request, sd_bus_error *error);

/* A claim of device name ended: gives it back if it was bound so. */
void binding_claim_ended(Daemon *d, const char *name);

/* The host removed device name: nothing to give back. */
void binding_device_removed(Daemon *d, const char *name);

/* Forgets every record; give-backs under way go on in their children. */
void bindings_free(Daemon *d);
