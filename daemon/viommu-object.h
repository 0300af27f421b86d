/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vIOMMU objects (Linux 6.13) and what hangs off them: vDEVICEs, the
 * virtual ids a guest gives devices, and vEVENTQs, the queues of events the
 * hardware reports for the guest.
 */

#include <stdbool.h>
#include <stdint.h>

#include "session.h"

/* data is the vendor data, in and out: the kernel writes its outputs back. */
int viommu_object_new(Session *s, Object *dev, Object *hwpt, uint32_t type, void *data, size_t data_len,
                      Object **ret);
/* Whether a vDEVICE of the vIOMMU has this virtual id. */
bool viommu_has_vdevice(Object *viommu, uint64_t virt_id);
int vdevice_new(Session *s, Object *viommu, Object *dev, uint64_t virt_id, Object **ret);
/* *ret_fd is the queue's fd, for the VMM: the daemon keeps no copy. */
int veventq_new(Session *s, Object *viommu, uint32_t type, uint32_t depth, Object **ret, int *ret_fd);
