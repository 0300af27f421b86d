/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's D-Bus errors. Every failure a client sees is one of these,
 * with a message a person understands.
 */

#include <systemd/sd-bus.h>

#include "viommu-features.h"

#define VIOMMU_ERROR_INVALID_ARGUMENT   "org.viommu1.Error.InvalidArgument"
#define VIOMMU_ERROR_NO_SUCH_OBJECT     "org.viommu1.Error.NoSuchObject"
#define VIOMMU_ERROR_NOT_OWNER          "org.viommu1.Error.NotOwner"
#define VIOMMU_ERROR_PERMISSION_DENIED  "org.viommu1.Error.PermissionDenied"
#define VIOMMU_ERROR_NOT_SUPPORTED      "org.viommu1.Error.NotSupported"
#define VIOMMU_ERROR_BUSY               "org.viommu1.Error.Busy"
#define VIOMMU_ERROR_LIMIT_EXCEEDED     "org.viommu1.Error.LimitExceeded"
#define VIOMMU_ERROR_DEVICE_GONE        "org.viommu1.Error.DeviceGone"
#define VIOMMU_ERROR_KERNEL             "org.viommu1.Error.Kernel"

/* Lets sd-bus turn these names back into errnos for clients of our own. */
extern const sd_bus_error_map viommu_bus_errors[];

/* Sets a Kernel error naming the operation and the errno; returns r. */
int bus_error_kernel(sd_bus_error *error, int r, const char *operation);
/* Sets NotSupported naming the feature and the kernel version that has it. */
int bus_error_not_supported(sd_bus_error *error, enum viommu_feature f);
