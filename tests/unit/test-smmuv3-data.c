/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon/smmuv3-data.c: which guest STEs and commands the daemon passes on
 * and what it says of the others. The entries are built as the kernel's
 * structs (struct iommu_hwpt_arm_smmuv3, struct
 * iommu_viommu_arm_smmuv3_invalidate), little endian, field by field at
 * the architecture's positions. That the kernel agrees is the arm64 VM's
 * to prove.
 */

#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smmuv3-data.h"
#include "util.h"
#include "viommu-abi.h"

/* STE word 0 */
#define V                 UINT64_C(1)
#define CONFIG(c)         ((uint64_t) (c) << 1)
#define S1FMT(f)          ((uint64_t) (f) << 4)
#define S1CONTEXTPTR(a)   ((uint64_t) (a) & UINT64_C(0x000fffffffffffc0))
#define S1CDMAX(n)        ((uint64_t) (n) << 59)
/* STE word 1 */
#define S1DSS(d)          ((uint64_t) (d) << 0)
#define S1CIR(c)          ((uint64_t) (c) << 2)
#define S1COR(c)          ((uint64_t) (c) << 4)
#define S1CSH(s)          ((uint64_t) (s) << 6)
#define S1STALLD          (UINT64_C(1) << 27)
#define EATS(e)           ((uint64_t) (e) << 28)

#define CONFIG_ABORT  0
#define CONFIG_BYPASS 4
#define CONFIG_S1     5

static struct iommu_hwpt_arm_smmuv3 ste(uint64_t w0, uint64_t w1) {
        return (struct iommu_hwpt_arm_smmuv3) { .ste = { htole64(w0), htole64(w1) } };
}

/* A check's verdict: NULL if accepted, else the reason (to be freed). */
static char *verdict(int r, char *why) {
        if (r == 0) {
                assert_null(why);
                return NULL;
        }
        assert_int_equal(r, -EINVAL);
        assert_non_null(why);
        return why;
}

static char *check_ste(uint64_t w0, uint64_t w1) {
        struct iommu_hwpt_arm_smmuv3 s = ste(w0, w1);
        char *why = NULL;
        int r = smmuv3_check_ste(&s, sizeof(s), &why);

        return verdict(r, why);
}

static void assert_ste_ok(uint64_t w0, uint64_t w1) {
        char *why = check_ste(w0, w1);

        if (why)
                fail_msg("STE 0x%016llx 0x%016llx refused: %s", (unsigned long long) w0, (unsigned long long) w1,
                         why);
}

static void assert_ste_refused(uint64_t w0, uint64_t w1, const char *expect) {
        _cleanup_free_ char *why = check_ste(w0, w1);

        if (!why)
                fail_msg("STE 0x%016llx 0x%016llx accepted", (unsigned long long) w0, (unsigned long long) w1);
        assert_string_equal(why, expect);
}

static void test_ste_accepted(void **state) {
        const uint64_t cd = UINT64_C(0x8000040);      /* a context descriptor table, 64-byte aligned */

        /* Not valid: the kernel makes it an abort, whatever else it holds. */
        assert_ste_ok(0, 0);
        assert_ste_ok(CONFIG(6) | (UINT64_C(1) << 55), UINT64_C(1) << 19);
        /* Abort and bypass; the stage-1 fields mean nothing there. */
        assert_ste_ok(V | CONFIG(CONFIG_ABORT), 0);
        assert_ste_ok(V | CONFIG(CONFIG_BYPASS), 0);
        assert_ste_ok(V | CONFIG(CONFIG_BYPASS) | S1FMT(3) | S1CDMAX(31), S1DSS(3));
        /* Stage 1, one context descriptor, and every field a guest sets. */
        assert_ste_ok(V | CONFIG(CONFIG_S1) | S1CONTEXTPTR(cd), 0);
        assert_ste_ok(V | CONFIG(CONFIG_S1) | S1CONTEXTPTR(UINT64_C(0x000fffffffffffc0)),
                      S1CIR(1) | S1COR(1) | S1CSH(3) | S1STALLD | EATS(1));
        /* With one descriptor S1Fmt and S1DSS count for nothing. */
        assert_ste_ok(V | CONFIG(CONFIG_S1) | S1CONTEXTPTR(cd) | S1FMT(3), S1DSS(3));
        /* Substreams: each table format and default substream, up to 20 bits. */
        for (unsigned fmt = 0; fmt < 3; fmt++)
                for (unsigned dss = 0; dss < 3; dss++)
                        assert_ste_ok(V | CONFIG(CONFIG_S1) | S1CONTEXTPTR(cd) | S1FMT(fmt) | S1CDMAX(20),
                                      S1DSS(dss));
        assert_ste_ok(V | CONFIG(CONFIG_S1) | S1CONTEXTPTR(cd) | S1CDMAX(1), EATS(0));
}

static void test_ste_config(void **state) {
        assert_ste_refused(V | CONFIG(6), 0,
                           "STE word 0 Config 0x6 (stage 2) is not allowed in a guest STE: "
                           "only 0x0 (abort), 0x4 (bypass) and 0x5 (stage 1)");
        assert_ste_refused(V | CONFIG(7), 0,
                           "STE word 0 Config 0x7 (stages 1 and 2) is not allowed in a guest STE: "
                           "only 0x0 (abort), 0x4 (bypass) and 0x5 (stage 1)");
        for (unsigned c = 1; c < 4; c++) {
                _cleanup_free_ char *expect = NULL;

                assert_true(asprintf(&expect, "STE word 0 Config 0x%u (reserved) is not allowed in a guest STE: "
                                     "only 0x0 (abort), 0x4 (bypass) and 0x5 (stage 1)", c) > 0);
                assert_ste_refused(V | CONFIG(c), 0, expect);
        }
}

static void test_ste_fields(void **state) {
        /* Word 0 beyond S1ContextPtr and below S1CDMax. */
        assert_ste_refused(V | CONFIG(CONFIG_S1) | (UINT64_C(1) << 52), 0,
                           "STE word 0 bit 52 is outside the fields a guest STE may set "
                           "(V, Config, S1Fmt, S1ContextPtr, S1CDMax)");
        assert_ste_refused(V | CONFIG(CONFIG_ABORT) | (UINT64_C(1) << 58), 0,
                           "STE word 0 bit 58 is outside the fields a guest STE may set "
                           "(V, Config, S1Fmt, S1ContextPtr, S1CDMax)");
        /* The host's fields of word 1, named; the lowest bit set is the one told. */
        assert_ste_refused(V | CONFIG(CONFIG_S1), UINT64_C(1) << 19,
                           "STE word 1 bit 19 (MEV) is outside the fields a guest STE may set "
                           "(S1DSS, S1CIR, S1COR, S1CSH, S1STALLD, EATS)");
        assert_ste_refused(V | CONFIG(CONFIG_BYPASS), UINT64_C(1) << 25 | UINT64_C(1) << 31,
                           "STE word 1 bit 25 (S2FWB) is outside the fields a guest STE may set "
                           "(S1DSS, S1CIR, S1COR, S1CSH, S1STALLD, EATS)");
        assert_ste_refused(V | CONFIG(CONFIG_BYPASS), UINT64_C(2) << 30,
                           "STE word 1 bit 31 (STRW) is outside the fields a guest STE may set "
                           "(S1DSS, S1CIR, S1COR, S1CSH, S1STALLD, EATS)");
        assert_ste_refused(V | CONFIG(CONFIG_BYPASS), UINT64_C(1) << 44,
                           "STE word 1 bit 44 (SHCFG) is outside the fields a guest STE may set "
                           "(S1DSS, S1CIR, S1COR, S1CSH, S1STALLD, EATS)");
        assert_ste_refused(V | CONFIG(CONFIG_BYPASS), UINT64_C(1) << 63,
                           "STE word 1 bit 63 is outside the fields a guest STE may set "
                           "(S1DSS, S1CIR, S1COR, S1CSH, S1STALLD, EATS)");
        /* Split-stage ATS and the reserved EATS, in any configuration. */
        assert_ste_refused(V | CONFIG(CONFIG_S1), EATS(2),
                           "STE word 1 EATS 0x2 (split-stage ATS) is not allowed in a guest STE: "
                           "only 0x0 (ATS refused) and 0x1 (full ATS)");
        assert_ste_refused(V | CONFIG(CONFIG_ABORT), EATS(3),
                           "STE word 1 EATS 0x3 (reserved) is not allowed in a guest STE: "
                           "only 0x0 (ATS refused) and 0x1 (full ATS)");
}

static void test_ste_stage1(void **state) {
        assert_ste_refused(V | CONFIG(CONFIG_S1) | S1CDMAX(21), 0,
                           "STE word 0 S1CDMax 21 is above 20, the largest SubstreamID size");
        assert_ste_refused(V | CONFIG(CONFIG_S1) | S1CDMAX(31), 0,
                           "STE word 0 S1CDMax 31 is above 20, the largest SubstreamID size");
        assert_ste_refused(V | CONFIG(CONFIG_S1) | S1CDMAX(4) | S1FMT(3), 0, "STE word 0 S1Fmt 0x3 is reserved");
        assert_ste_refused(V | CONFIG(CONFIG_S1) | S1CDMAX(4), S1DSS(3), "STE word 1 S1DSS 0x3 is reserved");
}

static void test_ste_size(void **state) {
        struct {
                struct iommu_hwpt_arm_smmuv3 s;
                uint8_t more[8];
        } longer = { .s = ste(V | CONFIG(6), 0) };
        _cleanup_free_ char *why = NULL, *why2 = NULL;

        assert_int_equal(smmuv3_check_ste(&longer, 15, &why), -EINVAL);
        assert_string_equal(why, "An SMMUv3 STE is 16 bytes, not 15");
        /* A longer one is checked in its first 16 bytes; the rest is the kernel's. */
        assert_int_equal(smmuv3_check_ste(&longer, sizeof(longer), &why2), -EINVAL);
        assert_non_null(strstr(why2, "Config 0x6"));
        longer.s = ste(V | CONFIG(CONFIG_BYPASS), 0);
        assert_int_equal(smmuv3_check_ste(&longer, sizeof(longer), &(char *) { NULL }), 0);
}

/* ---- commands -------------------------------------------------------------- */

#define OP(o)   ((uint64_t) (o))
#define SID(s)  ((uint64_t) (s) << 32)
#define ASID(a) ((uint64_t) (a) << 48)
#define VMID(v) ((uint64_t) (v) << 32)

/* The vIOMMU's vDEVICEs: virtual StreamIDs 0x10 and 0x2a. */
static bool has_vsid(uint32_t vsid, void *userdata) {
        (*(unsigned *) userdata)++;
        return vsid == 0x10 || vsid == 0x2a;
}

static char *check_cmd_len(uint64_t w0, uint64_t w1, size_t len) {
        struct iommu_viommu_arm_smmuv3_invalidate c = { .cmd = { htole64(w0), htole64(w1) } };
        unsigned asked = 0;
        char *why = NULL;
        int r = smmuv3_check_cmd(&c, len, has_vsid, &asked, &why);

        return verdict(r, why);
}

static void assert_cmd_ok(uint64_t w0, uint64_t w1) {
        char *why = check_cmd_len(w0, w1, 16);

        if (why)
                fail_msg("command 0x%016llx 0x%016llx refused: %s", (unsigned long long) w0,
                         (unsigned long long) w1, why);
}

static void assert_cmd_refused(uint64_t w0, const char *expect) {
        _cleanup_free_ char *why = check_cmd_len(w0, 0, 16);

        if (!why)
                fail_msg("command 0x%016llx accepted", (unsigned long long) w0);
        assert_string_equal(why, expect);
}

static void test_cmd_forwarded(void **state) {
        /* The invalidations of a guest's stage 1, whatever VMID it names:
         * the kernel puts the host's there. */
        assert_cmd_ok(OP(0x10), 0);                                     /* CMD_TLBI_NH_ALL */
        assert_cmd_ok(OP(0x10) | VMID(7), 0);
        assert_cmd_ok(OP(0x11) | ASID(3), 0);                           /* CMD_TLBI_NH_ASID */
        assert_cmd_ok(OP(0x12) | ASID(3), UINT64_C(0x40001000) | 1);    /* CMD_TLBI_NH_VA, leaf */
        assert_cmd_ok(OP(0x13), UINT64_C(0x40001000));                  /* CMD_TLBI_NH_VAA */
        assert_cmd_ok(OP(0x30), 0);                                     /* CMD_TLBI_NSNH_ALL */
        /* Those naming a StreamID: a vDEVICE's. */
        assert_cmd_ok(OP(0x05) | SID(0x10), 1);                         /* CMD_CFGI_CD, leaf */
        assert_cmd_ok(OP(0x06) | SID(0x2a), 0);                         /* CMD_CFGI_CD_ALL */
        assert_cmd_ok(OP(0x40) | SID(0x10), 52);                        /* CMD_ATC_INV, everything */
}

static void test_cmd_refused(void **state) {
        unsigned asked = 0;

        assert_cmd_refused(OP(0x03) | SID(0x10),
                           "CMD_CFGI_STE (opcode 0x03) is no command a vIOMMU takes: "
                           "a guest's STE changes by a new nested HWPT and Attach");
        assert_cmd_refused(OP(0x04) | SID(0x10),
                           "CMD_CFGI_STE_RANGE (opcode 0x04) is no command a vIOMMU takes: "
                           "a guest's STE changes by a new nested HWPT and Attach");
        assert_cmd_refused(OP(0x28), "CMD_TLBI_S12_VMALL (opcode 0x28) is no command a vIOMMU takes: "
                                     "stage 2 is the host's");
        assert_cmd_refused(OP(0x2a), "CMD_TLBI_S2_IPA (opcode 0x2a) is no command a vIOMMU takes: "
                                     "stage 2 is the host's");
        assert_cmd_refused(OP(0x46), "CMD_SYNC (opcode 0x46) is no command a vIOMMU takes: "
                                     "Invalidate returns once the batch is complete");
        assert_cmd_refused(OP(0x01), "CMD_PREFETCH_CONFIG (opcode 0x01) is no command a vIOMMU takes");
        assert_cmd_refused(OP(0x02), "CMD_PREFETCH_ADDR (opcode 0x02) is no command a vIOMMU takes");
        assert_cmd_refused(OP(0x20), "CMD_TLBI_EL2_ALL (opcode 0x20) is no command a vIOMMU takes");
        assert_cmd_refused(OP(0x21), "CMD_TLBI_EL2_ASID (opcode 0x21) is no command a vIOMMU takes");
        assert_cmd_refused(OP(0x22), "CMD_TLBI_EL2_VA (opcode 0x22) is no command a vIOMMU takes");
        assert_cmd_refused(OP(0x23), "CMD_TLBI_EL2_VAA (opcode 0x23) is no command a vIOMMU takes");
        assert_cmd_refused(OP(0x41), "CMD_PRI_RESP (opcode 0x41) is no command a vIOMMU takes");
        assert_cmd_refused(OP(0x44), "CMD_RESUME (opcode 0x44) is no command a vIOMMU takes");
        assert_cmd_refused(OP(0x45), "CMD_STALL_TERM (opcode 0x45) is no command a vIOMMU takes");
        assert_cmd_refused(OP(0x00), "Opcode 0x00 is no SMMUv3 command a vIOMMU takes");
        assert_cmd_refused(OP(0xff), "Opcode 0xff is no SMMUv3 command a vIOMMU takes");
        /* A StreamID no vDEVICE has. */
        assert_cmd_refused(OP(0x05) | SID(0x11),
                           "CMD_CFGI_CD StreamID 0x11 is no vDEVICE's virtual id on this vIOMMU");
        assert_cmd_refused(OP(0x06), "CMD_CFGI_CD_ALL StreamID 0x0 is no vDEVICE's virtual id on this vIOMMU");
        assert_cmd_refused(OP(0x40) | SID(0xffffffff),
                           "CMD_ATC_INV StreamID 0xffffffff is no vDEVICE's virtual id on this vIOMMU");

        /* The TLB invalidations name no StreamID: nobody is asked. */
        struct iommu_viommu_arm_smmuv3_invalidate c = { .cmd = { htole64(OP(0x12) | SID(0x99)), 0 } };
        assert_int_equal(smmuv3_check_cmd(&c, sizeof(c), has_vsid, &asked, &(char *) { NULL }), 0);
        assert_int_equal(asked, 0);
}

static void test_cmd_len(void **state) {
        _cleanup_free_ char *why = NULL;

        /* A short entry is zero-padded: 8 bytes are word 0 alone. */
        assert_null(check_cmd_len(OP(0x10), 0, 8));
        why = check_cmd_len(OP(0x46), 0, 1);
        assert_non_null(strstr(why, "CMD_SYNC"));
        /* Longer: the first 16 bytes are the command. */
        struct {
                struct iommu_viommu_arm_smmuv3_invalidate c;
                uint8_t more[16];
        } longer = { .c.cmd = { htole64(OP(0x11)), 0 } };
        assert_int_equal(smmuv3_check_cmd(&longer, sizeof(longer), has_vsid, &(unsigned) { 0 },
                                          &(char *) { NULL }), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ste_accepted),
                cmocka_unit_test(test_ste_config),
                cmocka_unit_test(test_ste_fields),
                cmocka_unit_test(test_ste_stage1),
                cmocka_unit_test(test_ste_size),
                cmocka_unit_test(test_cmd_forwarded),
                cmocka_unit_test(test_cmd_refused),
                cmocka_unit_test(test_cmd_len),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
