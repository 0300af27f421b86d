/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon.h"

#include "session.h"

int hotplug_start(Daemon *d);
/* Lets a claimed device go with everything made for it and tells its
 * session (Session.DeviceGone). */
void hotplug_release_device(Object *dev, const char *why);
/* Asks the kernel to say when it wants dev back; the device is then let go. */
int hotplug_watch_device(Object *dev);
void hotplug_stop(Daemon *d);
