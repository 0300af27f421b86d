/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Hardware page tables (paging and nested) and the fault queues nested ones
 * report to: allocation, stage-1 cache invalidation, dirty tracking, and the
 * hardware information of the device a HWPT was made for.
 */

#include <stdbool.h>
#include <stdint.h>

#include "session.h"
#include "viommu-iommufd.h"

/* A HWPT for dev on parent (an IOAS, a paging HWPT or a vIOMMU); with fault
 * (optional) its page faults go to that queue. */
int hwpt_new(Session *s, Object *dev, Object *parent, Object *fault, uint32_t flags, uint32_t data_type,
             const void *data, size_t data_len, Object **ret);
/* *ret_fd is the queue's fd, for the VMM: the daemon keeps no copy. */
int fault_queue_new(Session *s, Object **ret, int *ret_fd);

/* Invalidates a batch of entries in a nested HWPT's or a vIOMMU's caches;
 * *n is the number of entries in, and how many the kernel handled out. */
int hwpt_invalidate(Object *o, uint32_t data_type, uint32_t entry_len, const void *entries, uint32_t *n);
int hwpt_set_dirty_tracking(Object *hwpt, bool enable);
/* One bit per page, into bitmap (DIV_ROUND_UP(length / page_size, 64) words). */
int hwpt_read_dirty_bitmap(Object *hwpt, uint64_t iova, uint64_t length, uint64_t page_size, bool clear,
                           uint64_t *bitmap);
/* -ENODEV if the device the HWPT was made for is gone. */
int hwpt_get_hw_info(Object *hwpt, void *data, size_t size, struct viommu_hw_info *ret);
