/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "kernel-names.h"
#include "mock/iommufd-test-abi.h"
#include "util.h"
#include "viommu-iommufd.h"

typedef struct Name {
        uint32_t value;
        const char *name;
} Name;

static const char *lookup(const Name *table, size_t n, uint32_t value) {
        for (size_t i = 0; i < n; i++)
                if (table[i].value == value)
                        return table[i].name;
        return NULL;
}

const char *hwpt_data_type_to_string(uint32_t type) {
        static const Name types[] = {
                { IOMMU_HWPT_DATA_NONE,       "none"       },
                { IOMMU_HWPT_DATA_VTD_S1,     "vtd-s1"     },
                { IOMMU_HWPT_DATA_ARM_SMMUV3, "arm-smmuv3" },
                { IOMMU_HWPT_DATA_AMD_GUEST,  "amd-guest"  },
                { IOMMU_HWPT_DATA_SELFTEST,   "selftest"   },
        };

        return lookup(types, ELEMENTSOF(types), type);
}

const char *viommu_type_to_string(uint32_t type) {
        static const Name types[] = {
                { IOMMU_VIOMMU_TYPE_DEFAULT,        "default"        },
                { IOMMU_VIOMMU_TYPE_ARM_SMMUV3,     "arm-smmuv3"     },
                { IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV, "tegra241-cmdqv" },
                { IOMMU_VIOMMU_TYPE_SELFTEST,       "selftest"       },
        };

        return lookup(types, ELEMENTSOF(types), type);
}

struct json_object *hwpt_flags_to_json(uint32_t flags, uint32_t *ret_unknown) {
        static const Name names[] = {
                { IOMMU_HWPT_ALLOC_NEST_PARENT,    "nest-parent"    },
                { IOMMU_HWPT_ALLOC_DIRTY_TRACKING, "dirty-tracking" },
                { IOMMU_HWPT_ALLOC_PASID,          "pasid"          },
        };
        struct json_object *a = json_object_new_array();

        flags &= ~(uint32_t) IOMMU_HWPT_FAULT_ID_VALID;
        for (size_t i = 0; a && i < ELEMENTSOF(names); i++) {
                if (!(flags & names[i].value))
                        continue;
                flags &= ~names[i].value;
                if (json_object_array_add(a, json_object_new_string(names[i].name)) < 0)
                        a = (json_object_put(a), NULL);
        }
        *ret_unknown = flags;
        return a;
}
