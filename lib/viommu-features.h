/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libviommu: what the running kernel's iommufd can do, found without side
 * effects, and which kernel version brings what it cannot.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

enum viommu_feature {
        VIOMMU_FEATURE_IOAS,                  /* IOAS alloc/map/unmap/copy, options */
        VIOMMU_FEATURE_HWPT_ALLOC,
        VIOMMU_FEATURE_GET_HW_INFO,
        VIOMMU_FEATURE_VFIO_CDEV,
        VIOMMU_FEATURE_NESTING,               /* NEST_PARENT, nested stage-1 HWPTs */
        VIOMMU_FEATURE_DIRTY_TRACKING,
        VIOMMU_FEATURE_HWPT_INVALIDATE,
        VIOMMU_FEATURE_FAULT_QUEUE,
        VIOMMU_FEATURE_IOAS_MAP_FILE,
        VIOMMU_FEATURE_IOAS_CHANGE_PROCESS,
        VIOMMU_FEATURE_VIOMMU,
        VIOMMU_FEATURE_VDEVICE,
        VIOMMU_FEATURE_VEVENTQ,
        VIOMMU_FEATURE_PASID_ATTACH,
        VIOMMU_FEATURE_HW_QUEUE,
        VIOMMU_FEATURE_PAGING_IOPF,           /* a paging HWPT with a fault queue */
        _VIOMMU_FEATURE_MAX,
        _VIOMMU_FEATURE_INVALID = -EINVAL,
};

/* A bit per enum viommu_feature. */
typedef uint64_t viommu_features_t;

/* Probes the kernel behind iommufd; never creates or changes an object. */
int viommu_features_probe(int iommufd, viommu_features_t *ret);

static inline bool viommu_features_has(viommu_features_t f, enum viommu_feature which) {
        return which >= 0 && which < _VIOMMU_FEATURE_MAX && (f & (UINT64_C(1) << which));
}

/* "ioas-map-file" and back. */
const char *viommu_feature_to_string(enum viommu_feature f);
enum viommu_feature viommu_feature_from_string(const char *s);
/* The kernel interface behind a feature ("IOMMU_IOAS_MAP_FILE") and the first
 * Linux version that has it ("6.13"). */
const char *viommu_feature_interface(enum viommu_feature f);
const char *viommu_feature_since(enum viommu_feature f);
