/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon.h"

int hotplug_start(Daemon *d);
void hotplug_stop(Daemon *d);
