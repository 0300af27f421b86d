/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * I/O address spaces: creation, guest memory mapped into them, copies
 * between them, the IOVA windows they allow, and the record of each mapping
 * (the mapping index, and the backings a mapping holds).
 */

#include <stdbool.h>
#include <stdint.h>

#include "session.h"
#include "viommu-iommufd.h"

struct viommu_mapping;

int ioas_new(Session *s, Object **ret);

/* Maps [offset, offset+length) of the memory fd at *iova (flags as
 * IOMMU_IOAS_MAP_*; without FIXED_IOVA the kernel chooses and *iova is set).
 * The fd was checked by the caller. */
int ioas_map(Object *ioas, int fd, uint64_t offset, uint64_t length, uint32_t flags, uint64_t *iova);
/* The same for guest memory: [gpa, gpa+length), which the region holds
 * (checked by the caller). */
int ioas_map_guest(Object *ioas, const GuestRegion *g, uint64_t gpa, uint64_t length, uint32_t flags,
                   uint64_t *iova);
/* One mapping of a batch: of a memfd at offset, or of guest memory (region
 * set, fd and offset the region's memfd and where in it). */
typedef struct IoasMapEntry {
        int fd;
        uint64_t offset, length, iova;
        uint32_t flags;
        const GuestRegion *region;
} IoasMapEntry;

/* Maps the entries in order, each as ioas_map() does, their IOVAs into
 * iovas; *ret_done is how many were mapped. On a failure the earlier ones
 * stay, or with all_or_nothing are unmapped again (*ret_done is then the
 * index of the one that failed); returns that failure. */
int ioas_map_batch(Object *ioas, const IoasMapEntry *entries, size_t n, bool all_or_nothing, uint64_t *iovas,
                   size_t *ret_done);
/* Unmaps whole mappings in [iova, iova+length) (0, UINT64_MAX: all).
 * -ENOENT if nothing is mapped there, -EINVAL if the range cuts through a
 * mapping. */
int ioas_unmap(Object *ioas, uint64_t iova, uint64_t length, uint64_t *ret_unmapped);
/* Whether the record would take [iova, iova+length) off (ioas_unmap()
 * would not refuse it): whole mappings, at least one. */
bool ioas_range_removable(struct viommu_mapping_index *idx, uint64_t iova, uint64_t length);
/* Maps what src maps at [src_iova, src_iova+length) into dst at *dst_iova.
 * -ENOENT if the source range is not wholly mapped. */
/* Unmaps the ranges (iova, length pairs) in order, each as ioas_unmap()
 * does, until one fails; *ret_done is how many went, *ret_unmapped their
 * bytes. */
int ioas_unmap_batch(Object *ioas, const uint64_t (*ranges)[2], size_t n, size_t *ret_done,
                     uint64_t *ret_unmapped);
int ioas_copy(Object *dst, Object *src, uint64_t src_iova, uint64_t length, uint32_t flags, uint64_t *dst_iova);
int ioas_allow_iovas(Object *ioas, const struct iommu_iova_range *ranges, size_t n);
int ioas_iova_ranges(Object *ioas, struct iommu_iova_range **ret, size_t *ret_n, uint64_t *ret_alignment);

/* The record alone, without the kernel: for the journal's replay and for
 * the calls above once the kernel has done its part. ioas_record_copy()
 * returns the bytes it recorded. */
int ioas_record_map(Object *ioas, const struct viommu_mapping *m);
int ioas_record_unmap(Object *ioas, uint64_t iova, uint64_t length, uint64_t *ret_removed);
uint64_t ioas_record_copy(Object *dst, Object *src, uint64_t src_iova, uint64_t length, uint64_t dst_iova,
                          uint32_t flags);

/* DMA of an emulated device: copies length bytes between buf and the
 * guest memory mapped at [iova, iova+length), through the mapping index.
 * Every mapping of the range must allow the access (READABLE to read,
 * WRITEABLE to write) and be made from guest memory. Nothing is copied
 * unless the whole range is: -EFAULT with *ret_iova the first IOVA not
 * mapped, -EACCES (*ret_iova the first IOVA without the permission),
 * -EOPNOTSUPP (*ret_iova the first IOVA of a mapping not of guest memory,
 * whose memfd the daemon does not keep). */
int ioas_dma(Object *ioas, uint64_t iova, void *buf, size_t length, bool write, uint64_t *ret_iova);

/* Where [iova, iova+length) lies in guest memory, for a lease: the region
 * and the offset in its memfd. Every mapping of the range must allow need
 * (IOMMU_IOAS_MAP_READABLE and/or WRITEABLE); errors as ioas_dma()'s, and
 * -EXDEV (*ret_iova where) when the range is not one contiguous piece of
 * one region's memfd. */
int ioas_translate(Object *ioas, uint64_t iova, uint64_t length, uint32_t need, GuestRegion **ret_region,
                   uint64_t *ret_offset, uint64_t *ret_iova);

/* The mapping covering iova; NULL if none. */
const struct viommu_mapping *ioas_lookup(Object *ioas, uint64_t iova);

/* For object_free(): lets go of the index and what its mappings hold. */
void ioas_free_mappings(Object *ioas);

/* Backings are referenced by index from struct viommu_mapping.backing;
 * VIOMMU_MAPPING_NO_BACKING marks a mapping the kernel took from a file. */
#define VIOMMU_MAPPING_NO_BACKING UINT32_MAX
int session_backing_add(Session *s, void *addr, uint64_t length, uint32_t *ret);
void session_backing_ref(Session *s, uint32_t i);
void session_backing_unref(Session *s, uint32_t i);
/* Backing slot i, of length, as a journal recorded it: the daemon that
 * mapped it is gone, the kernel holds its pages. Held by no mapping yet.
 * -EBADMSG if the slot is taken. */
int session_backing_restore(Session *s, uint32_t i, uint64_t length);
void session_backings_free(Session *s);
