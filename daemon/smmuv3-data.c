/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smmuv3-data.h"
#include "util.h"

/* A field of a 64-bit word, bits hi..lo. */
typedef struct Field {
        const char *name;
        unsigned hi, lo;
} Field;

static uint64_t field_mask(const Field *f) {
        return (~UINT64_C(0) >> (63 - f->hi)) & ~((UINT64_C(1) << f->lo) - 1);
}

static uint64_t field_get(uint64_t word, const Field *f) {
        return (word & field_mask(f)) >> f->lo;
}

/* The STE fields Linux takes from a guest, word by word: it builds the rest
 * of the entry itself, around the host's stage 2. */
enum { STE_V, STE_CONFIG, STE_S1FMT, STE_S1CONTEXTPTR, STE_S1CDMAX };
enum { STE_S1DSS, STE_S1CIR, STE_S1COR, STE_S1CSH, STE_S1STALLD, STE_EATS };
static const Field ste_word0[] = {
        [STE_V]            = { "V",            0,  0  },
        [STE_CONFIG]       = { "Config",       3,  1  },
        [STE_S1FMT]        = { "S1Fmt",        5,  4  },
        [STE_S1CONTEXTPTR] = { "S1ContextPtr", 51, 6  },
        [STE_S1CDMAX]      = { "S1CDMax",      63, 59 },
};
static const Field ste_word1[] = {
        [STE_S1DSS]    = { "S1DSS",    1,  0  },
        [STE_S1CIR]    = { "S1CIR",    3,  2  },
        [STE_S1COR]    = { "S1COR",    5,  4  },
        [STE_S1CSH]    = { "S1CSH",    7,  6  },
        [STE_S1STALLD] = { "S1STALLD", 27, 27 },
        [STE_EATS]     = { "EATS",     29, 28 },
};
/* Fields of word 1 that belong to the host, named when a guest sets them. */
static const Field ste_word1_host[] = {
        { "MEV",   19, 19 },
        { "S2FWB", 25, 25 },
        { "STRW",  31, 30 },
        { "SHCFG", 45, 44 },
};

enum {
        CONFIG_ABORT = 0,
        CONFIG_BYPASS = 4,
        CONFIG_S1 = 5,
};
static const char *const config_names[8] = {
        "abort", "reserved", "reserved", "reserved", "bypass", "stage 1", "stage 2", "stages 1 and 2",
};
static const char *const eats_names[4] = {
        "ATS refused", "full ATS", "split-stage ATS", "reserved",
};
/* The largest SubstreamID size there is, in bits (SMMU_IDR1.SSIDSIZE). */
#define SSID_BITS_MAX 20

static int why(char **ret, const char *fmt, ...) _printf_(2, 3);
static int why(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret, fmt, ap);
        va_end(ap);
        return r < 0 ? -ENOMEM : -EINVAL;
}

static uint64_t fields_mask(const Field *fields, size_t n) {
        uint64_t m = 0;

        for (size_t i = 0; i < n; i++)
                m |= field_mask(&fields[i]);
        return m;
}

/* A bit outside the guest's fields: named after the host's field it is in,
 * if it is in one the guest might mean to set. */
static int refuse_bits(unsigned word, uint64_t bits, const Field *guest, size_t n_guest, char **ret) {
        _cleanup_free_ char *allowed = NULL;
        unsigned bit = __builtin_ctzll(bits);
        const char *name = NULL;
        size_t size = 0;
        FILE *f;

        for (size_t i = 0; word == 1 && i < ELEMENTSOF(ste_word1_host); i++)
                if (field_mask(&ste_word1_host[i]) & (UINT64_C(1) << bit))
                        name = ste_word1_host[i].name;
        f = open_memstream(&allowed, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n_guest; i++)
                fprintf(f, "%s%s", i == 0 ? "" : ", ", guest[i].name);
        if (fclose(f) != 0)
                return -ENOMEM;
        return why(ret, "STE word %u bit %u%s%s%s is outside the fields a guest STE may set (%s)", word, bit,
                   name ? " (" : "", name ?: "", name ? ")" : "", allowed);
}

int smmuv3_check_ste(const void *data, size_t size, char **ret_why) {
        uint64_t w[2], v, cdmax;

        if (size < sizeof(w))
                return why(ret_why, "An SMMUv3 STE is %zu bytes, not %zu", sizeof(w), size);
        memcpy(w, data, sizeof(w));
        w[0] = le64toh(w[0]);
        w[1] = le64toh(w[1]);

        /* An invalid STE: its other fields mean nothing, and the kernel
         * makes it an abort. */
        if (!(w[0] & field_mask(&ste_word0[STE_V])))
                return 0;

        v = w[0] & ~fields_mask(ste_word0, ELEMENTSOF(ste_word0));
        if (v)
                return refuse_bits(0, v, ste_word0, ELEMENTSOF(ste_word0), ret_why);
        v = w[1] & ~fields_mask(ste_word1, ELEMENTSOF(ste_word1));
        if (v)
                return refuse_bits(1, v, ste_word1, ELEMENTSOF(ste_word1), ret_why);

        /* Stage 2 is the host's: a guest's STE aborts, bypasses its own
         * stage 1, or translates through it. */
        v = field_get(w[0], &ste_word0[STE_CONFIG]);
        if (v != CONFIG_ABORT && v != CONFIG_BYPASS && v != CONFIG_S1)
                return why(ret_why, "STE word 0 Config 0x%" PRIx64 " (%s) is not allowed in a guest STE: "
                           "only 0x0 (abort), 0x4 (bypass) and 0x5 (stage 1)", v, config_names[v]);
        v = field_get(w[1], &ste_word1[STE_EATS]);
        if (v > 1)
                return why(ret_why, "STE word 1 EATS 0x%" PRIx64 " (%s) is not allowed in a guest STE: "
                           "only 0x0 (ATS refused) and 0x1 (full ATS)", v, eats_names[v]);
        if (field_get(w[0], &ste_word0[STE_CONFIG]) != CONFIG_S1)
                return 0;

        /* The context descriptor table. Its format and the default
         * substream's fate count only when there are substreams. */
        cdmax = field_get(w[0], &ste_word0[STE_S1CDMAX]);
        if (cdmax > SSID_BITS_MAX)
                return why(ret_why, "STE word 0 S1CDMax %" PRIu64 " is above %u, the largest SubstreamID size",
                           cdmax, SSID_BITS_MAX);
        if (cdmax == 0)
                return 0;
        v = field_get(w[0], &ste_word0[STE_S1FMT]);
        if (v == 3)
                return why(ret_why, "STE word 0 S1Fmt 0x3 is reserved");
        v = field_get(w[1], &ste_word1[STE_S1DSS]);
        if (v == 3)
                return why(ret_why, "STE word 1 S1DSS 0x3 is reserved");
        return 0;
}

typedef struct Opcode {
        uint8_t op;
        const char *name;
        bool forwarded;         /* the kernel takes it from a guest */
        bool sid;               /* it names a StreamID, bits 63:32 of word 0 */
        const char *hint;       /* for one that is refused */
} Opcode;

/* Refused, with what to do instead if there is something. */
#define REFUSED(o, n, ...) { .op = (o), .name = (n), __VA_ARGS__ }
/* What the kernel forwards, and whether it names a StreamID. */
#define FORWARDED(o, n, s) { .op = (o), .name = (n), .forwarded = true, .sid = (s) }
static const Opcode opcodes[] = {
        REFUSED(0x01, "CMD_PREFETCH_CONFIG"),
        REFUSED(0x02, "CMD_PREFETCH_ADDR"),
        REFUSED(0x03, "CMD_CFGI_STE", .hint = "a guest's STE changes by a new nested HWPT and Attach"),
        REFUSED(0x04, "CMD_CFGI_STE_RANGE", .hint = "a guest's STE changes by a new nested HWPT and Attach"),
        FORWARDED(0x05, "CMD_CFGI_CD", true),
        FORWARDED(0x06, "CMD_CFGI_CD_ALL", true),
        FORWARDED(0x10, "CMD_TLBI_NH_ALL", false),
        FORWARDED(0x11, "CMD_TLBI_NH_ASID", false),
        FORWARDED(0x12, "CMD_TLBI_NH_VA", false),
        FORWARDED(0x13, "CMD_TLBI_NH_VAA", false),
        REFUSED(0x20, "CMD_TLBI_EL2_ALL"),
        REFUSED(0x21, "CMD_TLBI_EL2_ASID"),
        REFUSED(0x22, "CMD_TLBI_EL2_VA"),
        REFUSED(0x23, "CMD_TLBI_EL2_VAA"),
        REFUSED(0x28, "CMD_TLBI_S12_VMALL", .hint = "stage 2 is the host's"),
        REFUSED(0x2a, "CMD_TLBI_S2_IPA", .hint = "stage 2 is the host's"),
        FORWARDED(0x30, "CMD_TLBI_NSNH_ALL", false),
        FORWARDED(0x40, "CMD_ATC_INV", true),
        REFUSED(0x41, "CMD_PRI_RESP"),
        REFUSED(0x44, "CMD_RESUME"),
        REFUSED(0x45, "CMD_STALL_TERM"),
        REFUSED(0x46, "CMD_SYNC", .hint = "Invalidate returns once the batch is complete"),
};

int smmuv3_check_cmd(const void *entry, size_t entry_len, bool (*has_vsid)(uint32_t vsid, void *userdata),
                     void *userdata, char **ret_why) {
        uint64_t w[2] = {};
        const Opcode *op = NULL;
        uint32_t sid;

        memcpy(w, entry, MIN(entry_len, sizeof(w)));
        w[0] = le64toh(w[0]);
        for (size_t i = 0; i < ELEMENTSOF(opcodes); i++)
                if (opcodes[i].op == (uint8_t) w[0])
                        op = &opcodes[i];

        if (!op)
                return why(ret_why, "Opcode 0x%02x is no SMMUv3 command a vIOMMU takes", (uint8_t) w[0]);
        if (!op->forwarded)
                return why(ret_why, "%s (opcode 0x%02x) is no command a vIOMMU takes%s%s", op->name, op->op,
                           op->hint ? ": " : "", op->hint ?: "");
        sid = (uint32_t) (w[0] >> 32);
        if (op->sid && !has_vsid(sid, userdata))
                return why(ret_why, "%s StreamID 0x%" PRIx32 " is no vDEVICE's virtual id on this vIOMMU",
                           op->name, sid);
        return 0;
}
