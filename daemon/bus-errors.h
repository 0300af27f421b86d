/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's D-Bus errors. Every failure a client sees is one of these,
 * with a message a person understands; viommu_bus_errors is the one table
 * that ties each name to its errno, both ways.
 */

#include <systemd/sd-bus.h>

#include "util.h"
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
/* A DMA reached an IOVA that nothing maps: the message names it. */
#define VIOMMU_ERROR_NOT_MAPPED         "org.viommu1.Error.NotMapped"
/* Device binding's refusals: the device is on vfio-pci already; its IOMMU
 * group holds devices on host drivers; the host uses it. */
#define VIOMMU_ERROR_ALREADY_BOUND      "org.viommu1.Error.AlreadyBound"
#define VIOMMU_ERROR_GROUP_NOT_VIABLE   "org.viommu1.Error.GroupNotViable"
#define VIOMMU_ERROR_IN_USE             "org.viommu1.Error.InUse"
/* The daemon itself failed (out of memory, a lost connection): no fault of
 * the call's. */
#define VIOMMU_ERROR_FAILED             "org.viommu1.Error.Failed"

/* Never sent: a handler that set it has put the call aside until an answer
 * is in (bus_put_aside() in bus-util.h); the call is dispatched again then. */
#define VIOMMU_ERROR_PUT_ASIDE          "org.viommu1.Private.PutAside"

/* Lets sd-bus turn these names back into errnos for clients of our own. */
extern const sd_bus_error_map viommu_bus_errors[];

/* Sets the error the table names for -r (Failed for an errno it does not
 * name), with a message; returns r. */
int bus_error_errno(sd_bus_error *error, int r, const char *format, ...) _printf_(3, 4);
/* Sets a Kernel error naming the operation and the errno; returns r. */
int bus_error_kernel(sd_bus_error *error, int r, const char *operation);
/* Sets NotSupported naming the feature and the kernel version that has it. */
int bus_error_not_supported(sd_bus_error *error, enum viommu_feature f);

/* What a method handler's result becomes: a bare errno, which sd-bus would
 * send as a System.Error, becomes Failed; a call put aside, 1 (handled, the
 * reply to come). */
int bus_error_named(sd_bus_error *error, int r);

/*
 * Defines a method handler whose failures always reach the caller as
 * org.viommu1.Error.*:
 *
 *     BUS_METHOD(method_map) { ... return sd_bus_reply_method_return(m, ...); }
 */
#define BUS_METHOD(name)                                                                        \
        static int name##_body(sd_bus_message *m, void *userdata, sd_bus_error *error);         \
        static int name(sd_bus_message *m, void *userdata, sd_bus_error *error) {               \
                return bus_error_named(error, name##_body(m, userdata, error));                 \
        }                                                                                       \
        static int name##_body(sd_bus_message *m, void *userdata, sd_bus_error *error)
