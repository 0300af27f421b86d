/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon.h"

/* The daemon's whole state as JSON: version, kernel features, topology,
 * and the sessions the caller of m may see, with their objects; the spare
 * fd store entries for root and the observers.
 * Manager.Describe returns it and viommuctl's --json output is made from it. */
int describe_daemon(Daemon *d, sd_bus_message *m, char **ret);
