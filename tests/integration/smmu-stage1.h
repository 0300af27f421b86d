/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A guest's SMMUv3 stage 1, as the smmu profile's tests (smmu-nested.c,
 * without the daemon, and test-smmu.c, through it) build it in guest memory
 * mapped at MEM_IOVA, and edu's DMA through it as the oracle of where a
 * device's accesses land. Values from the SMMUv3 architecture: STEs, context
 * descriptors, VMSAv8-64 descriptors and commands.
 */

#include <stdbool.h>
#include <stdint.h>

#include "edu-dma.h"

/* STE word 0: V (bit 0), Config (bits 3:1), S1ContextPtr (bits 51:6). */
#define STE_V           UINT64_C(1)
#define STE_CFG_ABORT   (UINT64_C(0) << 1)
#define STE_CFG_BYPASS  (UINT64_C(4) << 1)
#define STE_CFG_S1      (UINT64_C(5) << 1)
#define STE_CFG_S2      (UINT64_C(6) << 1)
/* Context descriptor word 0: a 39-bit VA space (T0SZ 25) with 4 KiB pages,
 * write-back inner shareable walks, no TTB1 (EPD1), valid, AArch64, faults
 * recorded and aborted (R, A), and its ASID; word 1 TTB0, word 3 MAIR. */
#define CD_ASID         1
#define CD0             (25 | 1 << 8 | 1 << 10 | 3 << 12 | UINT64_C(1) << 30 | UINT64_C(1) << 31 | \
                         UINT64_C(1) << 41 | UINT64_C(1) << 45 | UINT64_C(1) << 46 | (uint64_t) CD_ASID << 48)
#define MAIR_WB         0xff
/* Table and page descriptors: valid and table/page (bits 1:0), inner
 * shareable (9:8), access flag (10); AttrIndx 0, read-write. */
#define PTE_TABLE       UINT64_C(3)
#define PTE_PAGE        (UINT64_C(3) | 3 << 8 | 1 << 10)
/* Command opcodes (bits 7:0 of word 0); StreamID in 63:32, ASID in 63:48. */
#define CMD_CFGI_CD             0x05
#define CMD_TLBI_NH_ALL         0x10
#define CMD_TLBI_NH_ASID        0x11
#define CMD_TLBI_S12_VMALL      0x28
/* Event records: the type in bits 7:0 of word 0, the StreamID in 63:32. */
#define EVT_ID_TRANSLATION_FAULT 0x10

#define VIRTUAL_SID     0x42
#define MEM_SIZE        (UINT64_C(2) << 20)
/* Below edu's 28-bit DMA mask and clear of the SMMU's MSI window (128 MiB). */
#define MEM_IOVA        (UINT64_C(16) << 20)
#define SRC_OFFSET      0x1000
#define DST_OFFSET      0x3000
#define DST2_OFFSET     0x8000
/* The stage-1 tables, and the two pages stage 1 maps (at S1_VA and after);
 * the third page after S1_VA stage 1 leaves unmapped (S1_UNMAPPED_VA). */
#define CD_OFFSET       0x10000
#define L1_OFFSET       0x11000
#define L2_OFFSET       0x12000
#define L3_OFFSET       0x13000
#define S1_VA           (UINT64_C(2) << 20)
#define S1_UNMAPPED_VA  (S1_VA + 2 * 4096)
#define DMA_LEN         256

/* Puts pattern at SRC_OFFSET of mem, clears the destination pages, and has
 * edu copy DMA_LEN bytes from src to dst, device addresses: reads, then
 * writes through the IOMMU. Returns the offset in mem where the pattern
 * arrived, -1 if nowhere, or a negative errno of edu's (-ETIMEDOUT: its
 * engine did not finish). */
int smmu_dma_copy(const Edu *edu, uint8_t *mem, uint64_t src, uint64_t dst, uint8_t pattern);
/* The same with stage 1 bypassed: device addresses are IOVAs of the IOAS.
 * Whether the pattern arrived at DST_OFFSET. */
bool smmu_dma_lands(const Edu *edu, uint8_t *mem, uint8_t pattern);
/* A guest's stage 1 in mem: its context descriptor at CD_OFFSET, and page
 * tables that map S1_VA to the source page and the page after it to
 * dst_offset. */
void smmu_write_stage1(uint8_t *mem, uint64_t dst_offset);
