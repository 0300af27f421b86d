/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "smmu-stage1.h"

static bool holds(const uint8_t *p, uint8_t pattern) {
        for (size_t i = 0; i < DMA_LEN; i++)
                if (p[i] != pattern)
                        return false;
        return true;
}

int smmu_dma_copy(const Edu *edu, uint8_t *mem, uint64_t src, uint64_t dst, uint8_t pattern) {
        int r;

        memset(mem + SRC_OFFSET, pattern, DMA_LEN);
        memset(mem + DST_OFFSET, 0, DMA_LEN);
        memset(mem + DST2_OFFSET, 0, DMA_LEN);
        r = edu_dma(edu, EDU_FROM_RAM, src, DMA_LEN);
        if (r < 0)
                return r;
        r = edu_dma(edu, EDU_TO_RAM, dst, DMA_LEN);
        if (r < 0)
                return r;
        if (holds(mem + DST_OFFSET, pattern))
                return DST_OFFSET;
        if (holds(mem + DST2_OFFSET, pattern))
                return DST2_OFFSET;
        return -1;
}

bool smmu_dma_lands(const Edu *edu, uint8_t *mem, uint8_t pattern) {
        return smmu_dma_copy(edu, mem, MEM_IOVA + SRC_OFFSET, MEM_IOVA + DST_OFFSET, pattern) == DST_OFFSET;
}

void smmu_write_stage1(uint8_t *mem, uint64_t dst_offset) {
        uint64_t *cd = (uint64_t *) (mem + CD_OFFSET), *l1 = (uint64_t *) (mem + L1_OFFSET),
                 *l2 = (uint64_t *) (mem + L2_OFFSET), *l3 = (uint64_t *) (mem + L3_OFFSET);

        memset(cd, 0, 64);
        cd[0] = CD0;
        cd[1] = MEM_IOVA + L1_OFFSET;
        cd[3] = MAIR_WB;
        l1[(S1_VA >> 30) & 511] = (MEM_IOVA + L2_OFFSET) | PTE_TABLE;
        l2[(S1_VA >> 21) & 511] = (MEM_IOVA + L3_OFFSET) | PTE_TABLE;
        l3[(S1_VA >> 12) & 511] = (MEM_IOVA + SRC_OFFSET) | PTE_PAGE;
        l3[((S1_VA >> 12) & 511) + 1] = (MEM_IOVA + dst_offset) | PTE_PAGE;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
