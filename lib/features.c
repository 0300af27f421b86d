/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Feature probing. iommufd rejects a command whose size field is smaller than
 * the command's minimum with EINVAL before it looks at anything else, and an
 * unknown command with ENOTTY; a size of zero thus asks "do you know this
 * ioctl?" without creating or changing anything. Flags that arrived with a
 * new ioctl are inferred from that ioctl.
 */

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util.h"
#include "viommu-features.h"
#include "viommu-iommufd.h"

struct feature_info {
        const char *name;
        const char *interface;
        const char *since;
        unsigned long ioctl;    /* probed with a zero size; 0: inferred */
};

static const struct feature_info features[_VIOMMU_FEATURE_MAX] = {
        [VIOMMU_FEATURE_IOAS]               = { "ioas",               "IOMMU_IOAS_ALLOC",              "6.2",  IOMMU_IOAS_ALLOC },
        [VIOMMU_FEATURE_HWPT_ALLOC]         = { "hwpt-alloc",         "IOMMU_HWPT_ALLOC",              "6.6",  IOMMU_HWPT_ALLOC },
        [VIOMMU_FEATURE_GET_HW_INFO]        = { "get-hw-info",        "IOMMU_GET_HW_INFO",             "6.6",  IOMMU_GET_HW_INFO },
        [VIOMMU_FEATURE_VFIO_CDEV]          = { "vfio-cdev",          "VFIO_DEVICE_BIND_IOMMUFD",      "6.6",  0 },
        [VIOMMU_FEATURE_NESTING]            = { "nesting",            "IOMMU_HWPT_ALLOC_NEST_PARENT",  "6.7",  0 },
        [VIOMMU_FEATURE_DIRTY_TRACKING]     = { "dirty-tracking",     "IOMMU_HWPT_SET_DIRTY_TRACKING", "6.7",  IOMMU_HWPT_SET_DIRTY_TRACKING },
        [VIOMMU_FEATURE_HWPT_INVALIDATE]    = { "hwpt-invalidate",    "IOMMU_HWPT_INVALIDATE",         "6.8",  IOMMU_HWPT_INVALIDATE },
        [VIOMMU_FEATURE_FAULT_QUEUE]        = { "fault-queue",        "IOMMU_FAULT_QUEUE_ALLOC",       "6.11", IOMMU_FAULT_QUEUE_ALLOC },
        [VIOMMU_FEATURE_IOAS_MAP_FILE]      = { "ioas-map-file",      "IOMMU_IOAS_MAP_FILE",           "6.13", IOMMU_IOAS_MAP_FILE },
        [VIOMMU_FEATURE_IOAS_CHANGE_PROCESS]= { "ioas-change-process","IOMMU_IOAS_CHANGE_PROCESS",     "6.13", IOMMU_IOAS_CHANGE_PROCESS },
        [VIOMMU_FEATURE_VIOMMU]             = { "viommu",             "IOMMU_VIOMMU_ALLOC",            "6.13", IOMMU_VIOMMU_ALLOC },
        [VIOMMU_FEATURE_VDEVICE]            = { "vdevice",            "IOMMU_VDEVICE_ALLOC",           "6.13", IOMMU_VDEVICE_ALLOC },
        [VIOMMU_FEATURE_VEVENTQ]            = { "veventq",            "IOMMU_VEVENTQ_ALLOC",           "6.15", IOMMU_VEVENTQ_ALLOC },
        [VIOMMU_FEATURE_PASID_ATTACH]       = { "pasid-attach",       "VFIO_DEVICE_ATTACH_PASID",      "6.15", 0 },
        [VIOMMU_FEATURE_HW_QUEUE]           = { "hw-queue",           "IOMMU_HW_QUEUE_ALLOC",          "6.17", IOMMU_HW_QUEUE_ALLOC },
        [VIOMMU_FEATURE_PAGING_IOPF]        = { "paging-iopf",        "IOMMU_HWPT_FAULT_ID_VALID on an IOAS", "6.13", 0 },
};

static int probe_ioctl(int iommufd, unsigned long cmd) {
        uint32_t size = 0;

        if (ioctl(iommufd, cmd, &size) == 0)
                return -EIO;    /* a zero-sized command must never succeed */
        if (errno == EINVAL)
                return 1;
        if (errno == ENOTTY)
                return 0;
        return -errno;
}

_public_ int viommu_features_probe(int iommufd, viommu_features_t *ret) {
        viommu_features_t f = 0;
        int r;

        if (iommufd < 0)
                return -EBADF;
        if (!ret)
                return -EINVAL;

        for (enum viommu_feature i = 0; i < _VIOMMU_FEATURE_MAX; i++) {
                if (features[i].ioctl == 0)
                        continue;
                r = probe_ioctl(iommufd, features[i].ioctl);
                if (r < 0)
                        return r;
                if (r > 0)
                        f |= UINT64_C(1) << i;
        }

        /* The vfio-dev class exists once VFIO is built with device cdevs. */
        if (access("/sys/class/vfio-dev", F_OK) == 0)
                f |= UINT64_C(1) << VIOMMU_FEATURE_VFIO_CDEV;
        /* Nesting arrived with SET_DIRTY_TRACKING, fault queues for paging
         * HWPTs with vIOMMUs, PASID attach with vEVENTQs. */
        if (viommu_features_has(f, VIOMMU_FEATURE_DIRTY_TRACKING))
                f |= UINT64_C(1) << VIOMMU_FEATURE_NESTING;
        if (viommu_features_has(f, VIOMMU_FEATURE_VIOMMU))
                f |= UINT64_C(1) << VIOMMU_FEATURE_PAGING_IOPF;
        if (viommu_features_has(f, VIOMMU_FEATURE_VEVENTQ))
                f |= UINT64_C(1) << VIOMMU_FEATURE_PASID_ATTACH;

        *ret = f;
        return 0;
}

_public_ const char *viommu_feature_to_string(enum viommu_feature f) {
        return f >= 0 && f < _VIOMMU_FEATURE_MAX ? features[f].name : NULL;
}

_public_ enum viommu_feature viommu_feature_from_string(const char *s) {
        if (!s)
                return _VIOMMU_FEATURE_INVALID;
        for (enum viommu_feature i = 0; i < _VIOMMU_FEATURE_MAX; i++)
                if (streq(features[i].name, s))
                        return i;
        return _VIOMMU_FEATURE_INVALID;
}

_public_ const char *viommu_feature_interface(enum viommu_feature f) {
        return f >= 0 && f < _VIOMMU_FEATURE_MAX ? features[f].interface : NULL;
}

_public_ const char *viommu_feature_since(enum viommu_feature f) {
        return f >= 0 && f < _VIOMMU_FEATURE_MAX ? features[f].since : NULL;
}
