/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.viommu1.VIOMMU: a vIOMMU object (Linux 6.13), /org/viommu1/session/N/
 * viommu/ID. SMMUv3 nesting invalidates through it rather than a HWPT.
 */

#include <stddef.h>

#include "invalidate.h"
#include "session.h"

const sd_bus_vtable viommu_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Type", "u", NULL, offsetof(Object, viommu.type), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Invalidate",
                                SD_BUS_ARGS("u", data_type, "u", entry_len, "ay", entries),
                                SD_BUS_RESULT("u", handled, "s", error),
                                method_invalidate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
