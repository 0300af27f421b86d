/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The mapping index's part of the session record (lib/mapping-index.c) on
 * its own: the record reaches it only through an IOAS whose mappings hold
 * the record's backings, and with the rest of a session in front of it;
 * here each input is mappings alone, inserted in whatever order it gives.
 * What reads back is a sound tree holding every mapping where it should be,
 * and writes out a record that reads back and writes out the same again.
 */

#include <errno.h>

#include "fuzz.h"
#include "json-util.h"
#include "mapping-index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(json_object_putp) struct json_object *j = fuzz_parse_json(data, size), *written = NULL,
                                                       *rewritten = NULL;
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = NULL, *again = NULL;
        const struct viommu_mapping *m;
        struct viommu_mapping_iter it;
        int r;

        if (!j)
                return 0;
        r = viommu_mapping_index_from_json(j, &idx);
        if (r < 0) {
                fuzz_check(r == -EINVAL && !idx);
                return 0;
        }

        fuzz_check(viommu_mapping_index_verify(idx) == 0);
        fuzz_check(viommu_mapping_index_count(idx) == json_object_array_length(j));
        VIOMMU_MAPPING_INDEX_FOREACH(m, idx, it)
                fuzz_check(viommu_mapping_index_lookup(idx, m->iova) == m &&
                           viommu_mapping_index_lookup(idx, m->iova + (m->length - 1)) == m);

        fuzz_check(viommu_mapping_index_to_json(idx, &written) == 0);
        fuzz_check(viommu_mapping_index_from_json(written, &again) == 0);
        fuzz_check(viommu_mapping_index_to_json(again, &rewritten) == 0);
        fuzz_check(json_object_equal(written, rewritten));
        return 0;
}
