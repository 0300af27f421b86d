/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Who may do what. The operator's configuration (viommud.conf(5)) allows
 * devices to users, groups and systemd units; what it does not allow goes to
 * polkit, asked asynchronously. Per-session and per-user limits come from
 * the configuration too.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "caller-uid.h"
#include "config.h"
#include "daemon.h"
#include "session.h"

struct viommu_topology_device;


/*
 * May the caller of m claim dev into s? 1: yes. 0: polkit was asked; the
 * method call is dispatched again when the answer is in, and this returns
 * the answer then. Negative: no, with error set (PermissionDenied); or the
 * caller's uid is being asked of the bus (bus_put_aside in bus-util.h),
 * which BUS_METHOD turns into "reply to come".
 *
 * On 0 the method handler returns 1 (handled, reply to come): a handler
 * that returns 0 tells sd-bus it did not handle the call, and sd-bus
 * answers UnknownMethod at once.
 */
int auth_claim_device(Daemon *d, sd_bus_message *m, Session *s, const struct viommu_topology_device *dev,
                      sd_bus_error *error);

/* The same for moving dev to vfio-pci and back (BindVfio, UnbindVfio, a
 * claim that binds): viommud.conf rules with "bind", else polkit's
 * org.viommu1.bind-device. */
int auth_bind_device(Daemon *d, sd_bus_message *m, const struct viommu_topology_device *dev, sd_bus_error *error);

/* 0 if s may have `more` of what; LimitExceeded otherwise. */
int auth_check_limit(Daemon *d, Session *s, ConfigLimit what, uint64_t more, sd_bus_error *error);

/* 0 if uid may open one more session (persistent or not); LimitExceeded,
 * naming the limit, otherwise. Sessions taken over from a previous run
 * count. */
int auth_check_sessions(Daemon *d, uid_t uid, bool persistent, sd_bus_error *error);

/* Whether viommud.conf makes a caller an observer, who sees every session. */
bool auth_observer(Daemon *d, const CallerCreds *creds);

/* Drops the polkit queries still in flight or unclaimed; before the bus goes. */
void auth_queries_free(Daemon *d);
