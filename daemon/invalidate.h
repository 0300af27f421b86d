/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "session.h"

/* Room for why a batch stopped: an errno name, or an SMMUv3 command's refusal. */
#define INVALIDATE_FAILURE_MAX 512

/* Invalidate(u data_type, u entry_len, ay entries) -> (u handled, s error):
 * the same method on nested HWPTs and on vIOMMUs. */
int method_invalidate(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* The invalidation of size bytes of entries on o (a nested HWPT or a vIOMMU),
 * for the bus and the frame channel alike: refused with error set when the
 * batch is malformed or the kernel lacks the feature; else 0, with how many
 * entries the kernel handled and in failure why it stopped there ("" when it
 * handled all). */
int invalidate_batch(Object *o, uint32_t data_type, uint32_t entry_len, const void *entries, size_t size,
                     uint32_t *ret_handled, char *failure, size_t failure_size, sd_bus_error *error);
