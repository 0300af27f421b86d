/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The mapping index's compact encoding (lib/mapping-index.c), the part of a
 * session's journal that holds an IOAS's mappings, on its own. What decodes
 * is a sound tree holding every mapping where it should be, and encodes to
 * the same bytes it came from (the encoding has one form per index).
 */

#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "mapping-index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = NULL;
        _cleanup_free_ uint8_t *written = NULL;
        const struct viommu_mapping *m;
        struct viommu_mapping_iter it;
        size_t written_size;
        int r;

        r = viommu_mapping_index_decode(data, size, &idx);
        if (r < 0) {
                fuzz_check(r == -EINVAL && !idx);
                return 0;
        }

        fuzz_check(viommu_mapping_index_verify(idx) == 0);
        VIOMMU_MAPPING_INDEX_FOREACH(m, idx, it)
                fuzz_check(viommu_mapping_index_lookup(idx, m->iova) == m &&
                           viommu_mapping_index_lookup(idx, m->iova + (m->length - 1)) == m);

        fuzz_check(viommu_mapping_index_encode(idx, &written, &written_size) == 0);
        /* Numbers may come in with redundant continuation bytes: equal once
         * written out again. */
        if (written_size == size)
                fuzz_check(memcmp(written, data, size) == 0);
        fuzz_check(written_size <= size);
        return 0;
}
