/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The SMMUv3 vendor data a VMM passes on for its guest, checked before the
 * kernel sees it: a guest's stream table entry (struct iommu_hwpt_arm_smmuv3,
 * for a nested HWPT) and its command queue entries (struct
 * iommu_viommu_arm_smmuv3_invalidate, for VIOMMU.Invalidate). Both are
 * little-endian 64-bit words. What is refused is what the architecture
 * forbids and what Linux would refuse anyway, with a plain EIO that names
 * nothing: this says which field. Pure functions, no bus.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* data is what AllocHWPT got (size bytes; the kernel reads the first 16 and
 * judges the rest). 0, or -EINVAL with *ret_why a sentence naming the
 * field, to be freed; -ENOMEM. */
int smmuv3_check_ste(const void *data, size_t size, char **ret_why);

/* One command of entry_len bytes (a shorter one is zero-padded, as the
 * kernel pads it). has_vsid says whether a virtual StreamID is a vDEVICE's
 * of the vIOMMU: the kernel refuses the commands that name any other. 0, or
 * -EINVAL with *ret_why; -ENOMEM. */
int smmuv3_check_cmd(const void *entry, size_t entry_len, bool (*has_vsid)(uint32_t vsid, void *userdata),
                     void *userdata, char **ret_why);
