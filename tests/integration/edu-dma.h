/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * QEMU's edu device (-device edu, 1234:11e8) as a DMA engine, driven through
 * its vfio-pci device fd: the tests' oracle of where a device's DMA really
 * lands. Its engine copies between guest memory, at an IOVA the IOMMU
 * translates, and a 4 KiB buffer of its own. BAR0 registers (QEMU's
 * docs/specs/edu): identification 0x00, DMA source 0x80, destination
 * 0x88, count 0x90, command 0x98 (bit 0 runs, bit 1 is the direction). The
 * buffer sits at device address 0x40000; a transfer outside it aborts QEMU,
 * and so does one of the whole buffer (QEMU 7.2 wants its end inside), so
 * edu_dma() refuses either: at most EDU_DMA_MAX bytes. edu masks DMA
 * addresses to 28 bits: IOVAs must stay below 256 MiB. A DMA the IOMMU
 * refuses is not reported by edu: it just ends.
 */

#include <stddef.h>
#include <stdint.h>

#define EDU_DMA_MAX     (4096u - 1)
#define EDU_IOVA_LIMIT  (UINT64_C(1) << 28)

typedef enum EduDirection {
        EDU_FROM_RAM,           /* guest memory to edu's buffer: a DMA read */
        EDU_TO_RAM,             /* edu's buffer to guest memory: a DMA write */
} EduDirection;

typedef struct Edu {
        int fd;                 /* the vfio-pci device fd, the caller's */
        uint64_t bar0;          /* offsets of the regions in it */
        uint64_t config;
} Edu;

/* Finds BAR0 and config space, checks that the device is edu (-ENODEV if
 * not) and turns on bus mastering, which vfio-pci turns off when the device
 * is opened. */
int edu_open(int device_fd, Edu *ret);
/* Copies len bytes between edu's buffer (from its start) and iova, and
 * waits up to 5 s for the engine to finish (-ETIMEDOUT). */
int edu_dma(const Edu *edu, EduDirection direction, uint64_t iova, size_t len);
