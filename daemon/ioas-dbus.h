/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "session.h"

/* IOAS.Map and IOAS.Unmap after their arguments are read, for the bus and
 * the frame channel alike: checks, the change, its signal; error set when
 * refused. *iova is the IOVA asked for (with IOMMU_IOAS_MAP_FIXED_IOVA) and
 * the one mapped. An Unmap over leases waits (-EINPROGRESS) as the bus
 * call m does, or, m being NULL, as the frame channel's request. */
int ioas_map_call(Object *ioas, int fd, uint64_t offset, uint64_t length, uint32_t flags, uint64_t *iova,
                  sd_bus_error *error);
int ioas_unmap_call(Object *ioas, sd_bus_message *m, FrameChannel *frame, uint64_t iova, uint64_t length,
                    uint64_t *ret_unmapped, sd_bus_error *error);
