/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The mapping index: what one IOAS has mapped, as the daemon recorded it.
 * The kernel cannot list an IOAS's mappings, so the daemon keeps this to
 * answer "what is mapped at this IOVA", to check an unmap before issuing it,
 * and to write and restore its state record.
 *
 * Ranges never overlap. Insert, lookup, find and removal of one mapping are
 * O(log n); count and byte total are kept as the index changes. Guest IOMMU
 * drivers map page by page, so the index is built for a million 4 KiB
 * mappings: a B+ tree whose leaves hold mappings inline, about 33 bytes per
 * mapping when filled in order, 45-50 in random order.
 *
 * Pointers to mappings (lookup, find, iteration) stay valid only until the
 * index is next changed: leaves move their contents when they split or merge.
 *
 * Internal to the project; not part of libviommu's ABI.
 */

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct viommu_mapping {
        uint64_t iova;
        uint64_t length;
        uint64_t offset;        /* into the backing file */
        uint32_t flags;         /* IOMMU_IOAS_MAP_* */
        uint32_t backing;       /* index of the backing memfd in the daemon's table */
};

struct viommu_mapping_index;

int viommu_mapping_index_new(struct viommu_mapping_index **ret);
struct viommu_mapping_index *viommu_mapping_index_free(struct viommu_mapping_index *idx);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct viommu_mapping_index *, viommu_mapping_index_free)

/*
 * Adds a copy of *m. -EINVAL for a zero length or a range past 2^64-1 (a
 * mapping may end exactly there), -EEXIST if it overlaps a mapping, -ENOMEM;
 * the index is unchanged on failure.
 */
int viommu_mapping_index_insert(struct viommu_mapping_index *idx, const struct viommu_mapping *m);

/* The mapping holding this IOVA, or NULL. */
const struct viommu_mapping *viommu_mapping_index_lookup(const struct viommu_mapping_index *idx, uint64_t iova);

/* The lowest mapping with any byte in [iova, iova+length), or NULL. A range
 * running past 2^64-1 stops there; a zero length finds nothing. */
const struct viommu_mapping *viommu_mapping_index_find_first(
                const struct viommu_mapping_index *idx, uint64_t iova, uint64_t length);

/*
 * Removes every mapping inside [iova, iova+length), as IOMMU_IOAS_UNMAP
 * would, and stores the bytes removed in *ret_bytes (may be NULL). As for
 * the kernel, iova 0 with length UINT64_MAX means everything. Mappings are
 * never cut: -EINVAL, with nothing removed, if one straddles either end of
 * the range; -ENOENT if nothing was inside; -EINVAL for a zero length or a
 * range past 2^64-1.
 */
int viommu_mapping_index_remove(struct viommu_mapping_index *idx, uint64_t iova, uint64_t length, uint64_t *ret_bytes);

/* Empties the index; returns the bytes that were mapped. */
uint64_t viommu_mapping_index_remove_all(struct viommu_mapping_index *idx);

size_t viommu_mapping_index_count(const struct viommu_mapping_index *idx);

/* Total length of all mappings, modulo 2^64: only a full 64-bit space of
 * mappings (at least two of them) reads 0 with a nonzero count. */
uint64_t viommu_mapping_index_bytes(const struct viommu_mapping_index *idx);

/* Bytes held by the index's nodes, without the allocator's own overhead. */
size_t viommu_mapping_index_memory(const struct viommu_mapping_index *idx);

/*
 * Iteration in IOVA order. _iter_init() positions the iterator at the first
 * mapping holding or following iova (0: from the start); _iter_next() returns
 * each mapping in turn, then NULL. Changing the index ends the iteration.
 */
struct viommu_mapping_iter {
        const void *leaf;
        unsigned pos;
};

void viommu_mapping_index_iter_init(const struct viommu_mapping_index *idx, uint64_t iova, struct viommu_mapping_iter *ret);
const struct viommu_mapping *viommu_mapping_iter_next(struct viommu_mapping_iter *it);

#define VIOMMU_MAPPING_INDEX_FOREACH(m, idx, it)                                \
        for (viommu_mapping_index_iter_init((idx), 0, &(it));                   \
             ((m) = viommu_mapping_iter_next(&(it)));)

/*
 * For the daemon's journal: the mappings in IOVA order, as LEB128 numbers
 * (the count, then per mapping the gap since the previous one's end, length,
 * offset, flags and backing + 1), so that a million guest pages mapped in a
 * row take a few bytes each. Decoding gives -EINVAL for anything malformed,
 * out of order, overlapping or followed by more bytes.
 */
int viommu_mapping_index_encode(const struct viommu_mapping_index *idx, uint8_t **ret, size_t *ret_size);
int viommu_mapping_index_decode(const void *data, size_t size, struct viommu_mapping_index **ret);

/* Checks the tree's internal invariants, for tests: 0 or -EUCLEAN. */
int viommu_mapping_index_verify(const struct viommu_mapping_index *idx);
