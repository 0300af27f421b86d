/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SMMUv3 nested flow through libviommu on the real arm-smmu-v3 driver,
 * without the daemon: run in the arm64 test VM (run-vm.sh --profile smmu)
 * on edu, cross-built by tests/vm/smmu-build-tests.sh.
 *
 *   smmu-nested /dev/vfio/devices/vfioN
 *
 * GET_HW_INFO (ARM_SMMUV3), a NEST_PARENT HWPT, a vIOMMU of type ARM_SMMUV3,
 * a vDEVICE, nested HWPTs from STEs in abort, bypass and stage-1 translate
 * (a context descriptor and page tables in memory the IOAS maps), attach to
 * each with edu's DMA as the oracle, a stage-1 change that DMA follows only
 * after CMD_TLBI_NH_ASID, and invalidation batches on the vIOMMU. Prints
 * one line a step; exits 1 at the first step that does not do what it must.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "smmu-stage1.h"
#include "viommu-iommufd.h"
#include "viommu-vfio.h"

static int step(const char *what, int r) {
        if (r < 0)
                printf("smmu-nested: %s: %s\n", what, strerror(-r));
        else
                printf("smmu-nested: %s: ok\n", what);
        return r;
}

static void die(const char *what) {
        printf("smmu-nested: FAILED: %s\n", what);
        exit(EXIT_FAILURE);
}

/* smmu_dma_copy(), dying if edu's engine did not finish. */
static int dma_copy(const Edu *edu, uint8_t *mem, uint64_t src, uint64_t dst, uint8_t pattern) {
        int r = smmu_dma_copy(edu, mem, src, dst, pattern);

        if (r < -1)
                die("edu's DMA engine did not finish");
        return r;
}

static uint32_t nested_hwpt(int iommufd, uint32_t dev_id, uint32_t viommu_id, const char *what, uint64_t ste0) {
        struct iommu_hwpt_arm_smmuv3 ste = { .ste = { ste0, 0 } };
        uint32_t id;

        if (step(what, viommu_hwpt_alloc(iommufd, 0, dev_id, viommu_id, 0, IOMMU_HWPT_DATA_ARM_SMMUV3,
                                   &ste, sizeof(ste), &id)) < 0)
                die(what);
        return id;
}

static int invalidate(int iommufd, uint32_t viommu_id, const uint64_t *cmd0, uint32_t n, uint32_t *handled) {
        struct iommu_viommu_arm_smmuv3_invalidate cmds[4] = {};

        for (uint32_t i = 0; i < n; i++)
                cmds[i].cmd[0] = cmd0[i];
        *handled = n;
        return viommu_hwpt_invalidate(iommufd, viommu_id, IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
                                      sizeof(cmds[0]), cmds, handled);
}

int main(int argc, char **argv) {
        struct iommu_hw_info_arm_smmuv3 idr = {};
        struct viommu_hw_info info;
        uint32_t dev_id, ioas_id, s2_id, viommu_id, vdev_id, abort_id, bypass_id, s1_id, handled;
        uint64_t iova = MEM_IOVA;
        int iommufd, device_fd, r;
        uint8_t *mem;
        Edu edu;

        if (argc != 2) {
                fprintf(stderr, "usage: smmu-nested /dev/vfio/devices/vfioN\n");
                return 2;
        }
        iommufd = viommu_iommufd_open();
        device_fd = viommu_vfio_open(argv[1]);
        if (iommufd < 0 || device_fd < 0)
                die("opening /dev/iommu and the device");
        if (step("bind", viommu_vfio_bind(device_fd, iommufd, &dev_id)) < 0)
                die("bind");
        if (edu_open(device_fd, &edu) < 0)
                die("the device is not edu");

        if (step("GET_HW_INFO", viommu_get_hw_info(iommufd, dev_id, 0, &idr, sizeof(idr), &info)) < 0)
                die("GET_HW_INFO");
        printf("smmu-nested: hw info type %" PRIu32 ", IDR0 %#" PRIx32 ", IDR3 %#" PRIx32 ", IDR5 %#" PRIx32 "\n",
               info.type, idr.idr[0], idr.idr[3], idr.idr[5]);
        if (info.type != IOMMU_HW_INFO_TYPE_ARM_SMMUV3)
                die("hw info type is not ARM_SMMUV3");

        mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED)
                die("mmap");
        if (step("IOAS", viommu_ioas_alloc(iommufd, &ioas_id)) < 0 ||
            step("map", viommu_ioas_map(iommufd, ioas_id, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
                                        IOMMU_IOAS_MAP_WRITEABLE, mem, MEM_SIZE, &iova)) < 0)
                die("IOAS");
        if (step("NEST_PARENT HWPT", viommu_hwpt_alloc(iommufd, IOMMU_HWPT_ALLOC_NEST_PARENT, dev_id, ioas_id, 0,
                                                       IOMMU_HWPT_DATA_NONE, NULL, 0, &s2_id)) < 0 ||
            step("attach to the NEST_PARENT HWPT", viommu_vfio_attach(device_fd, s2_id, NULL)) < 0)
                die("NEST_PARENT HWPT");
        if (!smmu_dma_lands(&edu, mem, 0xa5))
                die("DMA through stage 2 did not land");
        printf("smmu-nested: DMA through stage 2 lands\n");

        if (step("vIOMMU ARM_SMMUV3", viommu_viommu_alloc(iommufd, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, dev_id, s2_id,
                                                         NULL, 0, &viommu_id)) < 0)
                die("vIOMMU");
        if (step("vDEVICE", viommu_vdevice_alloc(iommufd, viommu_id, dev_id, VIRTUAL_SID, &vdev_id)) < 0)
                die("vDEVICE");

        abort_id = nested_hwpt(iommufd, dev_id, viommu_id, "nested HWPT from an abort STE", STE_V | STE_CFG_ABORT);
        bypass_id = nested_hwpt(iommufd, dev_id, viommu_id, "nested HWPT from a bypass STE", STE_V | STE_CFG_BYPASS);
        smmu_write_stage1(mem, DST_OFFSET);
        s1_id = nested_hwpt(iommufd, dev_id, viommu_id, "nested HWPT from a stage-1 translate STE",
                            STE_V | STE_CFG_S1 | (MEM_IOVA + CD_OFFSET));
        if (step("attach to the abort HWPT", viommu_vfio_attach(device_fd, abort_id, NULL)) < 0)
                die("attach abort");
        if (smmu_dma_lands(&edu, mem, 0x5a))
                die("DMA landed through an abort STE");
        printf("smmu-nested: DMA through the abort STE is blocked\n");
        if (step("attach to the bypass HWPT", viommu_vfio_attach(device_fd, bypass_id, NULL)) < 0)
                die("attach bypass");
        if (!smmu_dma_lands(&edu, mem, 0x3c))
                die("DMA through the bypass STE did not land");
        printf("smmu-nested: DMA through the bypass STE and stage 2 lands\n");

        if (step("attach to the stage-1 HWPT", viommu_vfio_attach(device_fd, s1_id, NULL)) < 0)
                die("attach stage 1");
        if (dma_copy(&edu, mem, S1_VA, S1_VA + 4096, 0x11) != DST_OFFSET)
                die("DMA through the guest's stage 1 and stage 2 did not land where stage 1 maps");
        printf("smmu-nested: DMA through the guest's stage 1 and stage 2 lands where stage 1 maps\n");
        smmu_write_stage1(mem, DST2_OFFSET);
        r = dma_copy(&edu, mem, S1_VA, S1_VA + 4096, 0x22);
        printf("smmu-nested: stage 1 changed, no invalidation: DMA lands at %s\n",
               r == DST_OFFSET ? "the old page" : r == DST2_OFFSET ? "the new page" : "neither page");
        r = invalidate(iommufd, viommu_id, (const uint64_t[]) { CMD_TLBI_NH_ASID | (uint64_t) CD_ASID << 48 }, 1,
                       &handled);
        if (step("invalidate TLBI_NH_ASID", r) < 0)
                die("TLBI_NH_ASID");
        if (dma_copy(&edu, mem, S1_VA, S1_VA + 4096, 0x33) != DST2_OFFSET)
                die("after TLBI_NH_ASID DMA did not follow the new stage-1 mapping");
        printf("smmu-nested: after TLBI_NH_ASID DMA lands at the new page\n");

        r = invalidate(iommufd, viommu_id, (const uint64_t[]) {
                CMD_TLBI_NH_ALL,
                CMD_CFGI_CD | (uint64_t) VIRTUAL_SID << 32,
                CMD_TLBI_NH_ASID | UINT64_C(1) << 48,
        }, 3, &handled);
        printf("smmu-nested: invalidate TLBI_NH_ALL, CFGI_CD, TLBI_NH_ASID: %s, %" PRIu32 " of 3 handled\n",
               r < 0 ? strerror(-r) : "ok", handled);
        if (r < 0 || handled != 3)
                die("invalidation");
        r = invalidate(iommufd, viommu_id, (const uint64_t[]) { CMD_TLBI_NH_ALL, CMD_TLBI_S12_VMALL }, 2, &handled);
        printf("smmu-nested: invalidate TLBI_NH_ALL, TLBI_S12_VMALL: %s, %" PRIu32 " of 2 handled\n",
               r < 0 ? strerror(-r) : "ok", handled);
        if (r != -EIO || handled != 1)
                die("the illegal command was not refused after the legal one");

        printf("smmu-nested: PASS\n");
        return EXIT_SUCCESS;
}
