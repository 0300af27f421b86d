/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * viommud's SMMUv3 nested flow on the real arm-smmu-v3 driver, in the arm64
 * test VM (run-vm.sh --profile smmu, tests/integration/smmu-guest.sh), with
 * edu's DMA as the oracle of each step: a VMM's session claims edu, maps a
 * memfd as guest memory, builds a NEST_PARENT HWPT, a vIOMMU of type
 * ARM_SMMUV3 and a vDEVICE, nested HWPTs from a guest's STEs, and brokers
 * the guest's invalidation commands and the events of its vEVENTQ.
 *
 * The tests run in order on one session: each builds on the one before.
 */

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "itest.h"
#include "json-util.h"
#include "smmu-stage1.h"

/* SMMU_IDR0: stage 1 (bit 1) and stage 2 (bit 0) translation. */
#define IDR0_S1P (UINT32_C(1) << 1)
#define IDR0_S2P (UINT32_C(1) << 0)

typedef struct Smmu {
        sd_bus *bus;
        char *session, *dev, *ioas, *parent, *viommu, *abort, *bypass, *stage1;
        int memfd, dev_fd;
        uint8_t *mem;
        Edu edu;
} Smmu;

static Smmu smmu = { .memfd = -EBADF, .dev_fd = -EBADF };

static int setup(void **state) {
        VfioDevice devices[2];
        uint32_t dev_id;
        int r;

        vfio_devices(devices, 1);
        smmu.bus = bus_open();
        smmu.session = open_session(smmu.bus, false);
        smmu.dev = claim_with_fd(smmu.bus, smmu.session, devices[0].bdf, &dev_id, &smmu.dev_fd);
        r = edu_open(smmu.dev_fd, &smmu.edu);
        if (r < 0)
                fail_msg("%s is not a working edu device: %s", devices[0].bdf, strerror(-r));
        smmu.memfd = memfd_new("smmu-guest-ram", MEM_SIZE, 0);
        smmu.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, smmu.memfd, 0);
        assert_true(smmu.mem != MAP_FAILED);
        *state = &smmu;
        return 0;
}

static int teardown(void **state) {
        Smmu *s = *state;

        close_session(s->bus, s->session);
        munmap(s->mem, MEM_SIZE);
        close(s->memfd);
        close(s->dev_fd);
        sd_bus_flush_close_unref(s->bus);
        return 0;
}

/* Where DMA from src to dst lands, failing if edu's engine hangs. */
static int dma_copy(Smmu *s, uint64_t src, uint64_t dst, uint8_t pattern) {
        int r = smmu_dma_copy(&s->edu, s->mem, src, dst, pattern);

        if (r < -1)
                fail_msg("edu's DMA engine did not finish: %s", strerror(-r));
        return r;
}

static bool dma_lands(Smmu *s, uint8_t pattern) {
        return dma_copy(s, MEM_IOVA + SRC_OFFSET, MEM_IOVA + DST_OFFSET, pattern) == DST_OFFSET;
}

/* GetHWInfo names the real driver's SMMUv3 with both stages. */
static void test_hw_info(void **state) {
        Smmu *s = *state;
        _cleanup_free_ char *hwpt = NULL;
        sd_bus_message *reply;
        struct iommu_hw_info_arm_smmuv3 idr = {};
        const void *data;
        size_t size;
        uint64_t caps;
        uint32_t type;
        uint8_t pasid;

        s->ioas = create_ioas(s->bus, s->session, NULL);
        hwpt = alloc_hwpt(s->bus, s->session, s->dev, s->ioas, NULL, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        reply = CALL(s->bus, hwpt, I_HWPT, "GetHWInfo", NULL);
        assert_true(sd_bus_message_read(reply, "uty", &type, &caps, &pasid) > 0);
        assert_true(sd_bus_message_read_array(reply, 'y', &data, &size) > 0);
        assert_int_equal(type, IOMMU_HW_INFO_TYPE_ARM_SMMUV3);
        assert_true(size >= sizeof(idr));
        memcpy(&idr, data, sizeof(idr));
        print_message("hw info: ARM_SMMUV3, IDR0 %#x, IDR3 %#x, IDR5 %#x\n", idr.idr[0], idr.idr[3], idr.idr[5]);
        assert_true(idr.idr[0] & IDR0_S1P);
        assert_true(idr.idr[0] & IDR0_S2P);
        sd_bus_message_unref(reply);
        destroy(s->bus, s->session, hwpt);
}

/* Stage 2 alone: DMA lands after Map, and faults after Unmap, writing
 * nothing. */
static void test_stage2_map_unmap(void **state) {
        Smmu *s = *state;
        const uint64_t other = MEM_IOVA + MEM_SIZE;

        assert_int_equal(map(s->bus, s->ioas, s->memfd, 0, MEM_SIZE, MEM_IOVA, MAP_FIXED_RW), MEM_IOVA);
        s->parent = alloc_hwpt(s->bus, s->session, s->dev, s->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                               IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        attach(s->bus, s->session, s->dev, s->parent);
        assert_true(dma_lands(s, 0xa5));

        /* A second view of the destination page, then gone again. */
        assert_int_equal(map(s->bus, s->ioas, s->memfd, DST2_OFFSET, PAGE, other, MAP_FIXED_RW), other);
        assert_int_equal(dma_copy(s, MEM_IOVA + SRC_OFFSET, other, 0xa6), DST2_OFFSET);
        assert_int_equal(unmap(s->bus, s->ioas, other, PAGE), PAGE);
        assert_int_equal(dma_copy(s, MEM_IOVA + SRC_OFFSET, other, 0xa7), -1);
}

static char *nested_hwpt(Smmu *s, uint64_t ste0) {
        struct iommu_hwpt_arm_smmuv3 ste = { .ste = { htole64(ste0), 0 } };

        return alloc_hwpt(s->bus, s->session, s->dev, s->viommu, NULL, 0, IOMMU_HWPT_DATA_ARM_SMMUV3, &ste,
                          sizeof(ste), NULL);
}

/* The vIOMMU over the NEST_PARENT HWPT, the device's virtual StreamID, and
 * nested HWPTs from the guest's STEs in abort, bypass and stage-1
 * translate. */
static void test_viommu_vdevice_nested(void **state) {
        Smmu *s = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *vdev = NULL;

        m = new_call(s->bus, s->session, I_SESSION, "AllocVIOMMU");
        assert_true(sd_bus_message_append(m, "oouay", s->dev, s->parent, (uint32_t) IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
                                          0) >= 0);
        s->viommu = reply_object(SEND(s->bus, m), NULL);
        assert_int_equal(get_u32(s->bus, s->viommu, I_VIOMMU, "Type"), IOMMU_VIOMMU_TYPE_ARM_SMMUV3);
        vdev = reply_object(CALL(s->bus, s->session, I_SESSION, "AllocVDevice", "oot", s->viommu, s->dev,
                                 (uint64_t) VIRTUAL_SID), NULL);
        CALL_FAILS(E_BUSY, s->bus, s->session, I_SESSION, "AllocVDevice", "oot", s->viommu, s->dev,
                   (uint64_t) VIRTUAL_SID + 1);

        s->abort = nested_hwpt(s, STE_V | STE_CFG_ABORT);
        s->bypass = nested_hwpt(s, STE_V | STE_CFG_BYPASS);
        smmu_write_stage1(s->mem, DST_OFFSET);
        s->stage1 = nested_hwpt(s, STE_V | STE_CFG_S1 | (MEM_IOVA + CD_OFFSET));

        /* A stage-2 STE is the daemon's to refuse, by name, before the kernel. */
        {
                struct iommu_hwpt_arm_smmuv3 ste = { .ste = { htole64(STE_V | STE_CFG_S2), 0 } };

                alloc_hwpt_fails(E_INVALID_ARGUMENT, s->bus, s->session, s->dev, s->viommu, NULL, 0,
                                 IOMMU_HWPT_DATA_ARM_SMMUV3, &ste, sizeof(ste));
                assert_error_mentions("STE word 0 Config 0x6 (stage 2) is not allowed in a guest STE");
        }
}

/* Attached to each, DMA goes where the guest's STE says. */
static void test_attach_abort_bypass_stage1(void **state) {
        Smmu *s = *state;

        attach(s->bus, s->session, s->dev, s->abort);
        assert_false(dma_lands(s, 0x5a));
        attach(s->bus, s->session, s->dev, s->bypass);
        assert_true(dma_lands(s, 0x3c));
        attach(s->bus, s->session, s->dev, s->stage1);
        assert_int_equal(dma_copy(s, S1_VA, S1_VA + PAGE, 0x11), DST_OFFSET);
}

static uint32_t invalidate_cmds(sd_bus *bus, const char *viommu, const uint64_t *cmd0, size_t n,
                                char **ret_error) {
        struct iommu_viommu_arm_smmuv3_invalidate cmds[4] = {};

        assert_true(n <= 4);
        for (size_t i = 0; i < n; i++)
                cmds[i].cmd[0] = htole64(cmd0[i]);
        return invalidate(bus, viommu, I_VIOMMU, IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, sizeof(cmds[0]), cmds,
                          n * sizeof(cmds[0]), ret_error);
}

/* The guest changes its stage 1: the SMMU's TLB keeps the old translation
 * until the guest's CMD_TLBI_NH_ASID, which the VMM forwards over its direct
 * channel; then DMA follows the new one. */
static void test_stage1_change_and_invalidation(void **state) {
        Smmu *s = *state;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *ch = channel_open(s->bus, s->session);
        _cleanup_free_ char *error = NULL;
        int r;

        smmu_write_stage1(s->mem, DST2_OFFSET);
        r = dma_copy(s, S1_VA, S1_VA + PAGE, 0x22);
        /* What the emulated SMMU does without the invalidation: a cached
         * walk lands at the old page. Recorded, not required: caching is
         * the SMMU's choice. */
        print_message("stage 1 changed, no invalidation: DMA lands at %s\n",
                      r == DST_OFFSET ? "the old page" : r == DST2_OFFSET ? "the new page" : "neither page");
        assert_int_equal(invalidate_cmds(ch, s->viommu, (const uint64_t[]) {
                CMD_TLBI_NH_ASID | (uint64_t) CD_ASID << 48 }, 1, &error), 1);
        assert_string_equal(error, "");
        assert_int_equal(dma_copy(s, S1_VA, S1_VA + PAGE, 0x33), DST2_OFFSET);
}

/* Batches: all legal commands handled; an illegal one after a legal one is
 * a partial failure, the count of those handled, and why: the daemon
 * refuses it by name before the kernel sees the batch, and the kernel
 * gets (and issues) the legal one alone. */
static void test_invalidate_batches(void **state) {
        Smmu *s = *state;
        _cleanup_free_ char *error = NULL, *error2 = NULL;

        assert_int_equal(invalidate_cmds(s->bus, s->viommu, (const uint64_t[]) {
                CMD_TLBI_NH_ALL,
                CMD_CFGI_CD | (uint64_t) VIRTUAL_SID << 32,
                CMD_TLBI_NH_ASID | (uint64_t) CD_ASID << 48,
        }, 3, &error), 3);
        assert_string_equal(error, "");
        assert_int_equal(invalidate_cmds(s->bus, s->viommu, (const uint64_t[]) {
                CMD_TLBI_NH_ALL, CMD_TLBI_S12_VMALL }, 2, &error2), 1);
        assert_string_equal(error2, "EINVAL: Entry 1: CMD_TLBI_S12_VMALL (opcode 0x28) is no command a vIOMMU "
                                    "takes: stage 2 is the host's");
}

/* viommuctl, as an operator runs it, shows the session's vIOMMU over the
 * NEST_PARENT HWPT and its vDEVICE with the virtual StreamID. */
static void test_viommuctl_shows_viommu(void **state) {
        Smmu *s = *state;
        _cleanup_(json_object_putp) struct json_object *all = NULL;
        struct json_object *v, *vdevs;
        char out[8192];
        size_t n;
        FILE *p;

        p = popen("viommuctl --no-pager --json=short viommus", "r");
        assert_non_null(p);
        n = fread(out, 1, sizeof(out) - 1, p);
        assert_int_equal(pclose(p), 0);
        out[n] = 0;
        print_message("viommuctl viommus: %s", out);
        all = json_tokener_parse(out);
        assert_non_null(all);
        assert_int_equal(json_object_array_length(all), 1);
        v = json_object_array_get_idx(all, 0);
        assert_string_equal(json_string(v, "path"), s->viommu);
        assert_string_equal(json_string(v, "type"), "arm-smmuv3");
        assert_string_equal(json_string(v, "parent"), s->parent);
        vdevs = json_array(v, "vdevices");
        assert_int_equal(json_object_array_length(vdevs), 1);
        assert_string_equal(json_string(json_object_array_get_idx(vdevs, 0), "virt-id"), "0x42");
}

/* A DMA to an address the guest's stage 1 leaves unmapped: the SMMU records
 * a translation fault (the context descriptor asks for it), and the host
 * driver forwards it, with the virtual StreamID, to the vEVENTQ the VMM
 * holds. */
static void test_veventq_translation_fault(void **state) {
        Smmu *s = *state;
        _cleanup_free_ char *q = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct {
                struct iommufd_vevent_header hdr;
                struct iommu_vevent_arm_smmuv3 ev;
        } ev;
        uint64_t evt0;
        int r;

        q = reply_object_fd(CALL(s->bus, s->session, I_SESSION, "AllocVEventQ", "ouu", s->viommu,
                                 (uint32_t) IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 16), NULL, &fd);
        r = dma_copy(s, S1_UNMAPPED_VA, S1_VA + PAGE, 0x44);
        assert_int_not_equal(r, DST_OFFSET);
        assert_int_not_equal(r, DST2_OFFSET);
        assert_int_equal(poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, 5000), 1);
        assert_int_equal(read(fd, &ev, sizeof(ev)), sizeof(ev));
        evt0 = le64toh(ev.ev.evt[0]);
        print_message("vEVENTQ: event %#llx, StreamID %#llx, address %#llx, sequence %u\n",
                      (unsigned long long) (evt0 & 0xff), (unsigned long long) (evt0 >> 32),
                      (unsigned long long) le64toh(ev.ev.evt[2]), ev.hdr.sequence);
        assert_int_equal(evt0 & 0xff, EVT_ID_TRANSLATION_FAULT);
        assert_int_equal(evt0 >> 32, VIRTUAL_SID);
        assert_false(ev.hdr.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hw_info),
                cmocka_unit_test(test_stage2_map_unmap),
                cmocka_unit_test(test_viommu_vdevice_nested),
                cmocka_unit_test(test_attach_abort_bypass_stage1),
                cmocka_unit_test(test_stage1_change_and_invalidation),
                cmocka_unit_test(test_invalidate_batches),
                cmocka_unit_test(test_viommuctl_shows_viommu),
                cmocka_unit_test(test_veventq_translation_fault),
        };

        return cmocka_run_group_tests_name("smmu", tests, setup, teardown);
}
