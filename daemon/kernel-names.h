/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Names of the kernel's constants that Describe shows beside the numbers,
 * so that clients need not know the kernel's ABI to read them.
 */

#include <json-c/json.h>
#include <stdint.h>

/* NULL for a value without a name (a newer kernel's). */
const char *hwpt_data_type_to_string(uint32_t type);
const char *viommu_type_to_string(uint32_t type);
/* The names of the IOMMU_HWPT_ALLOC_* flags set in flags, as a JSON array;
 * FAULT_ID_VALID is not among them: the fault queue is one of the uses.
 * *ret_unknown is what is left without a name. */
struct json_object *hwpt_flags_to_json(uint32_t flags, uint32_t *ret_unknown);
