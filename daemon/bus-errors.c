/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bus-errors.h"

const sd_bus_error_map viommu_bus_errors[] = {
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_INVALID_ARGUMENT,  EINVAL),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_NO_SUCH_OBJECT,    ENOENT),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_NOT_OWNER,         EPERM),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_PERMISSION_DENIED, EACCES),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_NOT_SUPPORTED,     EOPNOTSUPP),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_BUSY,              EBUSY),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_LIMIT_EXCEEDED,    EDQUOT),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_DEVICE_GONE,       ENODEV),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_KERNEL,            EIO),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_NOT_MAPPED,        EFAULT),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_ALREADY_BOUND,     EALREADY),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_GROUP_NOT_VIABLE,  EXDEV),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_IN_USE,            ETXTBSY),
        SD_BUS_ERROR_MAP(VIOMMU_ERROR_FAILED,            ENOMEM),
        SD_BUS_ERROR_MAP_END
};

static const char *error_name(int r) {
        for (const sd_bus_error_map *e = viommu_bus_errors; e->name; e++)
                if (e->code == -r)
                        return e->name;
        return VIOMMU_ERROR_FAILED;
}

int bus_error_errno(sd_bus_error *error, int r, const char *format, ...) {
        char message[512];
        va_list ap;

        errno = -r;
        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        sd_bus_error_set(error, error_name(r), message);
        return r;
}

int bus_error_kernel(sd_bus_error *error, int r, const char *operation) {
        const char *name = strerrorname_np(-r);

        /* ENOTTY from iommufd means the kernel lacks the ioctl; callers that
         * know which feature it is use bus_error_not_supported() instead. */
        sd_bus_error_setf(error, VIOMMU_ERROR_KERNEL, "%s failed: %s (%s)",
                          operation, name ?: "unknown error", strerror(-r));
        return r;
}

int bus_error_not_supported(sd_bus_error *error, enum viommu_feature f) {
        sd_bus_error_setf(error, VIOMMU_ERROR_NOT_SUPPORTED,
                          "%s is not supported by this kernel: it needs Linux %s (%s)",
                          viommu_feature_to_string(f), viommu_feature_since(f),
                          viommu_feature_interface(f));
        return -EOPNOTSUPP;
}

int bus_error_named(sd_bus_error *error, int r) {
        if (r < 0 && sd_bus_error_has_name(error, VIOMMU_ERROR_PUT_ASIDE)) {
                sd_bus_error_free(error);
                return 1;
        }
        if (r >= 0 || sd_bus_error_is_set(error))
                return r;
        /* What the handler had no words for (out of memory, a message it
         * could not build) is the daemon's failure, whatever the errno. */
        sd_bus_error_setf(error, VIOMMU_ERROR_FAILED, "viommud failed to serve the call: %s", strerror(-r));
        return r;
}
