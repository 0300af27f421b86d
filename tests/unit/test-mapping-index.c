/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The mapping index: edges of ranges, every overlap shape, unmap semantics
 * (no cutting, totals), the top of the 64-bit space, the JSON record, and
 * random operations checked against a plain sorted array.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>


#include "mapping-index.h"
#include "util.h"

#define PAGE 4096ULL

static struct viommu_mapping_index *index_new(void) {
        struct viommu_mapping_index *idx = NULL;

        assert_int_equal(viommu_mapping_index_new(&idx), 0);
        assert_non_null(idx);
        return idx;
}

static int add(struct viommu_mapping_index *idx, uint64_t iova, uint64_t length) {
        struct viommu_mapping m = {
                .iova = iova,
                .length = length,
                .offset = iova * 2,
                .flags = 6,
                .backing = (uint32_t) (iova >> 12),
        };

        return viommu_mapping_index_insert(idx, &m);
}

static void assert_at(const struct viommu_mapping_index *idx, uint64_t iova, uint64_t expected_start) {
        const struct viommu_mapping *m = viommu_mapping_index_lookup(idx, iova);

        assert_non_null(m);
        assert_true(m->iova == expected_start);
}

static void assert_valid(const struct viommu_mapping_index *idx) {
        assert_int_equal(viommu_mapping_index_verify(idx), 0);
}

/* A copy of every mapping, to show that a refused change changed nothing. */
static struct viommu_mapping *snapshot(const struct viommu_mapping_index *idx, size_t *ret_n) {
        struct viommu_mapping *a, *p;
        struct viommu_mapping_iter it;
        const struct viommu_mapping *m;

        a = p = calloc(viommu_mapping_index_count(idx) + 1, sizeof(*a));
        assert_non_null(a);
        VIOMMU_MAPPING_INDEX_FOREACH(m, idx, it)
                *p++ = *m;
        *ret_n = p - a;
        assert_int_equal(*ret_n, viommu_mapping_index_count(idx));
        return a;
}

static void assert_same(const struct viommu_mapping_index *idx, const struct viommu_mapping *a, size_t n) {
        _cleanup_free_ struct viommu_mapping *b = NULL;
        size_t m;

        b = snapshot(idx, &m);
        assert_int_equal(m, n);
        assert_memory_equal(a, b, n * sizeof(*a));
}

static void test_empty(void **state) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = index_new();
        struct viommu_mapping_iter it;
        uint64_t bytes = 1;

        assert_int_equal(viommu_mapping_index_count(idx), 0);
        assert_true(viommu_mapping_index_bytes(idx) == 0);
        assert_null(viommu_mapping_index_lookup(idx, 0));
        assert_null(viommu_mapping_index_lookup(idx, UINT64_MAX));
        assert_null(viommu_mapping_index_find_first(idx, 0, UINT64_MAX));
        assert_int_equal(viommu_mapping_index_remove(idx, 0, UINT64_MAX, &bytes), -ENOENT);
        assert_true(bytes == 1);
        assert_true(viommu_mapping_index_remove_all(idx) == 0);
        viommu_mapping_index_iter_init(idx, 0, &it);
        assert_null(viommu_mapping_iter_next(&it));
        assert_valid(idx);

        assert_null(viommu_mapping_index_free(NULL));
}

static void test_edges(void **state) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = index_new();
        const struct viommu_mapping *m;

        assert_int_equal(add(idx, 0x10000, 0x3000), 0);

        assert_null(viommu_mapping_index_lookup(idx, 0xffff));
        assert_at(idx, 0x10000, 0x10000);
        assert_at(idx, 0x12fff, 0x10000);
        assert_null(viommu_mapping_index_lookup(idx, 0x13000));

        m = viommu_mapping_index_lookup(idx, 0x11234);
        assert_non_null(m);
        assert_true(m->length == 0x3000);
        assert_true(m->offset == 0x20000);
        assert_int_equal(m->flags, 6);
        assert_int_equal(m->backing, 0x10);

        /* Neighbours touching either end are not overlaps. */
        assert_int_equal(add(idx, 0x13000, 0x1000), 0);
        assert_int_equal(add(idx, 0xf000, 0x1000), 0);
        assert_at(idx, 0xffff, 0xf000);
        assert_at(idx, 0x10000, 0x10000);
        assert_at(idx, 0x12fff, 0x10000);
        assert_at(idx, 0x13000, 0x13000);
        assert_null(viommu_mapping_index_lookup(idx, 0x14000));
        assert_null(viommu_mapping_index_lookup(idx, 0xefff));
        assert_null(viommu_mapping_index_lookup(idx, 0));

        /* One-byte mappings at 0. */
        assert_int_equal(add(idx, 0, 1), 0);
        assert_at(idx, 0, 0);
        assert_null(viommu_mapping_index_lookup(idx, 1));

        assert_int_equal(viommu_mapping_index_count(idx), 4);
        assert_true(viommu_mapping_index_bytes(idx) == 0x5001);
        assert_valid(idx);
}

static void test_invalid(void **state) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = index_new();

        assert_int_equal(add(idx, 0x1000, 0), -EINVAL);
        assert_int_equal(add(idx, UINT64_MAX, 2), -EINVAL);
        assert_int_equal(add(idx, 2, UINT64_MAX), -EINVAL);
        assert_int_equal(add(idx, UINT64_MAX - PAGE + 1, PAGE + 1), -EINVAL);

        assert_int_equal(viommu_mapping_index_remove(idx, 0x1000, 0, NULL), -EINVAL);
        assert_int_equal(viommu_mapping_index_remove(idx, 2, UINT64_MAX, NULL), -EINVAL);
        assert_int_equal(viommu_mapping_index_remove(idx, UINT64_MAX, 2, NULL), -EINVAL);

        assert_null(viommu_mapping_index_find_first(idx, 0, 0));
        assert_int_equal(viommu_mapping_index_count(idx), 0);
        assert_valid(idx);
}

static void test_overlaps(void **state) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = index_new();
        const struct {
                uint64_t iova, length;
        } shapes[] = {
                { 0x10000, 0x10000 },   /* identical */
                { 0x10000, 0x1000 },    /* same start, shorter */
                { 0x10000, 0x20000 },   /* same start, longer */
                { 0x1f000, 0x1000 },    /* same end, shorter */
                { 0x8000, 0x18000 },    /* same end, longer */
                { 0x14000, 0x1000 },    /* inside */
                { 0x8000, 0x20000 },    /* around */
                { 0x8000, 0x9000 },     /* over the start by one byte */
                { 0x1ffff, 0x10000 },   /* over the end by one byte */
                { 0x8000, 0x10000 },    /* over the start */
                { 0x18000, 0x10000 },   /* over the end */
                { 0x1ffff, 1 },         /* last byte */
                { 0x10000, 1 },         /* first byte */
                { 0x0, 0x40000 },       /* around both */
                { 0x28000, 0x10000 },   /* over the second's start */
                { 0x18000, 0x18000 },   /* from the first into the second */
                { 0x0, UINT64_MAX },    /* everything */
        };
        _cleanup_free_ struct viommu_mapping *before = NULL;
        size_t n;

        assert_int_equal(add(idx, 0x10000, 0x10000), 0);
        assert_int_equal(add(idx, 0x30000, 0x10000), 0);
        before = snapshot(idx, &n);

        for (size_t i = 0; i < ELEMENTSOF(shapes); i++)
                assert_int_equal(add(idx, shapes[i].iova, shapes[i].length), -EEXIST);

        assert_same(idx, before, n);
        assert_true(viommu_mapping_index_bytes(idx) == 0x20000);

        /* The gap between them fits exactly. */
        assert_int_equal(add(idx, 0x20000, 0x10000), 0);
        assert_int_equal(add(idx, 0xffff, 1), 0);
        assert_int_equal(add(idx, 0x40000, 1), 0);
        assert_int_equal(viommu_mapping_index_count(idx), 5);
        assert_valid(idx);
}

static void test_find_first(void **state) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = index_new();
        const struct viommu_mapping *m;

        assert_int_equal(add(idx, 0x10000, 0x1000), 0);
        assert_int_equal(add(idx, 0x20000, 0x1000), 0);

        assert_null(viommu_mapping_index_find_first(idx, 0, 0x10000));
        m = viommu_mapping_index_find_first(idx, 0, 0x10001);
        assert_non_null(m);
        assert_true(m->iova == 0x10000);
        m = viommu_mapping_index_find_first(idx, 0x10fff, 0x20000);
        assert_non_null(m);
        assert_true(m->iova == 0x10000);
        m = viommu_mapping_index_find_first(idx, 0x11000, 0x20000);
        assert_non_null(m);
        assert_true(m->iova == 0x20000);
        assert_null(viommu_mapping_index_find_first(idx, 0x11000, 0xf000));
        assert_null(viommu_mapping_index_find_first(idx, 0x21000, UINT64_MAX));

        /* A length running past the top stops there. */
        m = viommu_mapping_index_find_first(idx, 0x15000, UINT64_MAX);
        assert_non_null(m);
        assert_true(m->iova == 0x20000);
}

static void test_remove_straddling(void **state) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = index_new();
        _cleanup_free_ struct viommu_mapping *before = NULL;
        uint64_t bytes = 0xdead;
        size_t n;

        assert_int_equal(add(idx, 0x1000, 0x2000), 0);
        assert_int_equal(add(idx, 0x3000, 0x1000), 0);
        assert_int_equal(add(idx, 0x8000, 0x4000), 0);
        before = snapshot(idx, &n);

        /* Cutting into the first, the last, or one in the middle. */
        assert_int_equal(viommu_mapping_index_remove(idx, 0x2000, 0x2000, &bytes), -EINVAL);
        assert_int_equal(viommu_mapping_index_remove(idx, 0x1000, 0x1000, &bytes), -EINVAL);
        assert_int_equal(viommu_mapping_index_remove(idx, 0x1000, 0x8000, &bytes), -EINVAL);
        assert_int_equal(viommu_mapping_index_remove(idx, 0x9000, 0x1000, &bytes), -EINVAL);
        assert_int_equal(viommu_mapping_index_remove(idx, 0x0, 0xbfff, &bytes), -EINVAL);
        assert_int_equal(viommu_mapping_index_remove(idx, 0xbfff, 0x10000, &bytes), -EINVAL);
        assert_true(bytes == 0xdead);
        assert_same(idx, before, n);
        assert_true(viommu_mapping_index_bytes(idx) == 0x7000);

        /* Nothing inside. */
        assert_int_equal(viommu_mapping_index_remove(idx, 0x4000, 0x4000, &bytes), -ENOENT);
        assert_int_equal(viommu_mapping_index_remove(idx, 0xc000, UINT64_MAX - 0xc000 + 1, &bytes), -ENOENT);
        assert_true(bytes == 0xdead);
        assert_same(idx, before, n);

        /* Exactly one, then a range with room on both sides. */
        assert_int_equal(viommu_mapping_index_remove(idx, 0x3000, 0x1000, &bytes), 0);
        assert_true(bytes == 0x1000);
        assert_null(viommu_mapping_index_lookup(idx, 0x3000));
        assert_int_equal(viommu_mapping_index_remove(idx, 0x800, 0x10000, &bytes), 0);
        assert_true(bytes == 0x6000);
        assert_int_equal(viommu_mapping_index_count(idx), 0);
        assert_true(viommu_mapping_index_bytes(idx) == 0);
        assert_valid(idx);
}

static void test_remove_totals(void **state) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = index_new();
        struct viommu_mapping_iter it;
        const struct viommu_mapping *m;
        uint64_t bytes, expect = 0, prev = 0;
        size_t n = 0;

        /* Enough to need several levels; lengths 1..7 pages, gaps between. */
        for (uint64_t i = 0; i < 10000; i++)
                assert_int_equal(add(idx, i * 8 * PAGE, (i % 7 + 1) * PAGE), 0);
        assert_int_equal(viommu_mapping_index_count(idx), 10000);
        assert_valid(idx);

        /* Mappings 2000..6999: from inside the gap before the first to
         * inside the gap after the last. */
        for (uint64_t i = 2000; i < 7000; i++)
                expect += (i % 7 + 1) * PAGE;
        assert_int_equal(viommu_mapping_index_remove(idx, 1999 * 8 * PAGE + 7 * PAGE, (5000 * 8 + 0) * PAGE, &bytes), 0);
        assert_true(bytes == expect);
        assert_int_equal(viommu_mapping_index_count(idx), 5000);
        assert_valid(idx);

        assert_at(idx, 1999 * 8 * PAGE, 1999 * 8 * PAGE);
        assert_null(viommu_mapping_index_lookup(idx, 2000 * 8 * PAGE));
        assert_null(viommu_mapping_index_lookup(idx, 6999 * 8 * PAGE));
        assert_at(idx, 7000 * 8 * PAGE, 7000 * 8 * PAGE);

        VIOMMU_MAPPING_INDEX_FOREACH(m, idx, it) {
                assert_true(n == 0 || m->iova > prev);
                assert_true(m->iova < 2000 * 8 * PAGE || m->iova >= 7000 * 8 * PAGE);
                prev = m->iova;
                n++;
        }
        assert_int_equal(n, 5000);

        /* Iteration from the middle of a mapping starts at that mapping. */
        viommu_mapping_index_iter_init(idx, 7000 * 8 * PAGE + 5, &it);
        m = viommu_mapping_iter_next(&it);
        assert_non_null(m);
        assert_true(m->iova == 7000 * 8 * PAGE);
        viommu_mapping_index_iter_init(idx, 1999 * 8 * PAGE + 7 * PAGE, &it);
        m = viommu_mapping_iter_next(&it);
        assert_non_null(m);
        assert_true(m->iova == 7000 * 8 * PAGE);

        /* The rest, one at a time from the middle out. */
        for (uint64_t i = 0; i < 2000; i++) {
                uint64_t a = (1999 - i) * 8 * PAGE, b = (7000 + i) * 8 * PAGE;

                assert_int_equal(viommu_mapping_index_remove(idx, a, ((1999 - i) % 7 + 1) * PAGE, &bytes), 0);
                assert_true(bytes == ((1999 - i) % 7 + 1) * PAGE);
                assert_int_equal(viommu_mapping_index_remove(idx, b, ((7000 + i) % 7 + 1) * PAGE, &bytes), 0);
                if (i % 97 == 0)
                        assert_valid(idx);
        }
        assert_int_equal(viommu_mapping_index_count(idx), 1000);
        expect = viommu_mapping_index_bytes(idx);
        assert_int_equal(viommu_mapping_index_remove(idx, 0, UINT64_MAX, &bytes), 0);
        assert_true(bytes == expect);
        assert_int_equal(viommu_mapping_index_count(idx), 0);
        assert_valid(idx);
}

static void test_top_of_space(void **state) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = index_new();
        const uint64_t top = UINT64_MAX - PAGE + 1;
        const struct viommu_mapping *m;
        struct viommu_mapping_iter it;
        uint64_t bytes;

        /* A mapping may end on the last byte; none may start past it. */
        assert_int_equal(add(idx, top, PAGE), 0);
        assert_int_equal(add(idx, UINT64_MAX, 1), -EEXIST);
        assert_int_equal(add(idx, top - PAGE, PAGE + 1), -EEXIST);
        assert_int_equal(add(idx, top - PAGE, PAGE), 0);

        assert_at(idx, UINT64_MAX, top);
        assert_at(idx, top, top);
        assert_at(idx, top - 1, top - PAGE);
        assert_null(viommu_mapping_index_lookup(idx, top - PAGE - 1));

        m = viommu_mapping_index_find_first(idx, top + 5, UINT64_MAX);
        assert_non_null(m);
        assert_true(m->iova == top);

        viommu_mapping_index_iter_init(idx, UINT64_MAX, &it);
        m = viommu_mapping_iter_next(&it);
        assert_non_null(m);
        assert_true(m->iova == top);
        assert_null(viommu_mapping_iter_next(&it));

        assert_int_equal(viommu_mapping_index_remove(idx, top + 1, PAGE - 1, &bytes), -EINVAL);
        assert_int_equal(viommu_mapping_index_remove(idx, top, PAGE, &bytes), 0);
        assert_true(bytes == PAGE);
        assert_null(viommu_mapping_index_lookup(idx, UINT64_MAX));

        /* 0 and UINT64_MAX reaches the last byte too, as for the kernel. */
        assert_int_equal(add(idx, top, PAGE), 0);
        assert_int_equal(add(idx, 0, PAGE), 0);
        assert_int_equal(viommu_mapping_index_remove(idx, 0, UINT64_MAX, &bytes), 0);
        assert_true(bytes == 3 * PAGE);
        assert_int_equal(viommu_mapping_index_count(idx), 0);

        /* The largest single mapping: every byte but the last. */
        assert_int_equal(add(idx, 0, UINT64_MAX), 0);
        assert_at(idx, UINT64_MAX - 1, 0);
        assert_null(viommu_mapping_index_lookup(idx, UINT64_MAX));
        assert_int_equal(add(idx, UINT64_MAX, 1), 0);
        assert_true(viommu_mapping_index_bytes(idx) == 0);      /* 2^64, as documented */
        assert_int_equal(viommu_mapping_index_count(idx), 2);
        assert_true(viommu_mapping_index_remove_all(idx) == 0);
        assert_valid(idx);
}

/* Mappings made in order must fill their leaves. */
static void test_fill(void **state) {
        for (int order = 0; order < 3; order++) {
                _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = index_new();
                const uint64_t n = 100000;
                uint64_t bytes;
                size_t mem;

                for (uint64_t i = 0; i < n; i++) {
                        /* ascending, descending, and from the middle outwards */
                        uint64_t k = order == 0 ? i :
                                     order == 1 ? n - 1 - i :
                                     i % 2 ? n / 2 + i / 2 + 1 : n / 2 - i / 2;

                        assert_int_equal(add(idx, k * PAGE, PAGE), 0);
                }
                assert_valid(idx);
                mem = viommu_mapping_index_memory(idx);
                print_message("order %d: %.1f bytes per mapping\n", order, (double) mem / n);
                assert_true(mem < n * 36);

                assert_int_equal(viommu_mapping_index_remove(idx, PAGE, (n - 2) * PAGE, &bytes), 0);
                assert_true(bytes == (n - 2) * PAGE);
                assert_int_equal(viommu_mapping_index_count(idx), 2);
                assert_valid(idx);
        }
}

static void test_encode_round_trip(void **state) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = index_new(), *copy = NULL;
        _cleanup_free_ struct viommu_mapping *before = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n, size;

        assert_int_equal(viommu_mapping_index_encode(idx, &buf, &size), 0);
        assert_int_equal(size, 1);
        assert_int_equal(viommu_mapping_index_decode(buf, size, &copy), 0);
        assert_int_equal(viommu_mapping_index_count(copy), 0);
        copy = viommu_mapping_index_free(copy);
        buf = mfree(buf);

        for (uint64_t i = 0; i < 1000; i++)
                assert_int_equal(add(idx, i * 3 * PAGE, (i % 2 + 1) * PAGE), 0);
        assert_int_equal(viommu_mapping_index_insert(idx, &(struct viommu_mapping) {
                .iova = UINT64_MAX - PAGE + 1,
                .length = PAGE,
                .offset = UINT64_MAX,
                .flags = UINT32_MAX,
                .backing = UINT32_MAX - 1,
        }), 0);
        before = snapshot(idx, &n);

        assert_int_equal(viommu_mapping_index_encode(idx, &buf, &size), 0);
        assert_int_equal(viommu_mapping_index_decode(buf, size, &copy), 0);
        assert_same(copy, before, n);
        assert_true(viommu_mapping_index_bytes(copy) == viommu_mapping_index_bytes(idx));
        assert_valid(copy);
}

/* Pages mapped in a row, from one file and without a backing, as a guest's
 * memory is: a few bytes each. */
static void test_encode_compact(void **state) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = index_new();
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size;

        for (uint64_t i = 0; i < 4096; i++)
                assert_int_equal(viommu_mapping_index_insert(idx, &(struct viommu_mapping) {
                        .iova = (1ULL << 32) + i * PAGE,
                        .length = PAGE,
                        .offset = i * PAGE,
                        .flags = 7,
                        .backing = UINT32_MAX,
                }), 0);
        assert_int_equal(viommu_mapping_index_encode(idx, &buf, &size), 0);
        assert_in_range(size, 4096 * 5, 4096 * 9);
}

static void test_decode_malformed(void **state) {
        static const struct {
                const char *what;
                uint8_t data[24];
                size_t size;
        } bad[] = {
                { "empty", {}, 0 },
                { "count past the data", { 2, 0, 1, 0, 0, 0 }, 6 },
                { "cut short", { 1, 0, 1, 0, 0 }, 5 },
                { "trailing bytes", { 1, 0, 1, 0, 0, 0, 0 }, 7 },
                { "zero length", { 1, 0, 0, 0, 0, 0 }, 6 },
                { "unterminated number", { 1, 0x80, 0x80 }, 3 },
                { "number over 64 bits", { 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 1, 0, 0, 0 }, 15 },
                { "flags over 32 bits", { 1, 0, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0 }, 10 },
                { "past 2^64", { 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                                 2, 0, 0, 0 }, 15 },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct viommu_mapping_index *idx = NULL;

                if (viommu_mapping_index_decode(bad[i].data, bad[i].size, &idx) != -EINVAL)
                        fail_msg("accepted: %s", bad[i].what);
                assert_null(idx);
        }
}

/* The reference: a sorted array, every operation a linear scan. */
struct model {
        struct viommu_mapping *m;
        size_t n, allocated;
        uint64_t bytes;
};

static uint64_t last_of(const struct viommu_mapping *m) {
        return m->iova + (m->length - 1);
}

static int model_insert(struct model *d, const struct viommu_mapping *m) {
        size_t pos = 0;

        if (m->length == 0 || m->length - 1 > UINT64_MAX - m->iova)
                return -EINVAL;
        for (size_t i = 0; i < d->n; i++) {
                if (d->m[i].iova <= last_of(m) && last_of(&d->m[i]) >= m->iova)
                        return -EEXIST;
                if (d->m[i].iova < m->iova)
                        pos = i + 1;
        }
        if (d->n == d->allocated) {
                d->allocated = d->allocated * 2 + 16;
                d->m = realloc(d->m, d->allocated * sizeof(*d->m));
                assert_non_null(d->m);
        }
        memmove(d->m + pos + 1, d->m + pos, (d->n - pos) * sizeof(*d->m));
        d->m[pos] = *m;
        d->n++;
        d->bytes += m->length;
        return 0;
}

static const struct viommu_mapping *model_lookup(const struct model *d, uint64_t iova) {
        for (size_t i = 0; i < d->n; i++)
                if (d->m[i].iova <= iova && last_of(&d->m[i]) >= iova)
                        return &d->m[i];
        return NULL;
}

static const struct viommu_mapping *model_find_first(const struct model *d, uint64_t iova, uint64_t length) {
        uint64_t last;

        if (length == 0)
                return NULL;
        last = length - 1 > UINT64_MAX - iova ? UINT64_MAX : iova + length - 1;
        for (size_t i = 0; i < d->n; i++)
                if (d->m[i].iova <= last && last_of(&d->m[i]) >= iova)
                        return &d->m[i];
        return NULL;
}

static int model_remove(struct model *d, uint64_t iova, uint64_t length, uint64_t *ret_bytes) {
        uint64_t last, bytes = 0;
        size_t first = SIZE_MAX, end = 0;

        if (length == 0)
                return -EINVAL;
        if (iova == 0 && length == UINT64_MAX)
                last = UINT64_MAX;
        else if (length - 1 > UINT64_MAX - iova)
                return -EINVAL;
        else
                last = iova + length - 1;

        for (size_t i = 0; i < d->n; i++)
                if (d->m[i].iova <= last && last_of(&d->m[i]) >= iova) {
                        if (d->m[i].iova < iova || last_of(&d->m[i]) > last)
                                return -EINVAL;
                        if (first == SIZE_MAX)
                                first = i;
                        end = i + 1;
                        bytes += d->m[i].length;
                }
        if (first == SIZE_MAX)
                return -ENOENT;

        memmove(d->m + first, d->m + end, (d->n - end) * sizeof(*d->m));
        d->n -= end - first;
        d->bytes -= bytes;
        *ret_bytes = bytes;
        return 0;
}

static uint64_t rnd_state;

static uint64_t rnd(void) {
        /* xorshift64*: reproducible everywhere, unlike random(). */
        rnd_state ^= rnd_state >> 12;
        rnd_state ^= rnd_state << 25;
        rnd_state ^= rnd_state >> 27;
        return rnd_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(uint64_t n) {
        return rnd() % n;
}

static void assert_equal_mapping(const struct viommu_mapping *a, const struct viommu_mapping *b) {
        if (!a || !b) {
                assert_true(a == b);
                return;
        }
        assert_memory_equal(a, b, sizeof(*a));
}

static void compare(const struct viommu_mapping_index *idx, const struct model *d) {
        assert_int_equal(viommu_mapping_index_count(idx), d->n);
        assert_true(viommu_mapping_index_bytes(idx) == d->bytes);
        assert_same(idx, d->m, d->n);
        assert_valid(idx);
}

/*
 * Random operations in a window of pages starting at base: units of the
 * given size, mappings up to max_pages long. insert_pct sets how full the
 * window gets, unmap_all whether it is emptied now and then; check_every
 * how often the whole tree is compared.
 */
static void random_run(uint64_t seed, unsigned ops, uint64_t base, uint64_t pages, uint64_t unit,
                       unsigned max_pages, unsigned insert_pct, bool unmap_all, unsigned check_every) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = index_new();
        struct model d = {};
        unsigned counts[4] = {};
        size_t most = 0;

        rnd_state = seed;

        for (unsigned op = 0; op < ops; op++) {
                uint64_t iova = base + rnd_below(pages) * unit;
                uint64_t length = (rnd_below(max_pages) + 1) * unit;
                unsigned what = rnd_below(100);

                /* Now and then off the grid, to land mid-mapping. */
                if (rnd_below(8) == 0)
                        iova += rnd_below(unit);
                if (rnd_below(8) == 0)
                        length += rnd_below(unit) - unit / 2;

                if (what < insert_pct) {
                        struct viommu_mapping m = {
                                .iova = iova,
                                .length = length,
                                .offset = rnd(),
                                .flags = (uint32_t) rnd(),
                                .backing = (uint32_t) rnd(),
                        };
                        int r = model_insert(&d, &m);

                        assert_int_equal(viommu_mapping_index_insert(idx, &m), r);
                        counts[0] += r == 0;
                } else if (what < 95) {
                        uint64_t a = 0xaaaa, b = 0xbbbb;
                        int r;

                        /* Mostly larger ranges, so that some succeed. */
                        if (rnd_below(2))
                                length *= 1 + rnd_below(16);
                        r = model_remove(&d, iova, length, &a);
                        assert_int_equal(viommu_mapping_index_remove(idx, iova, length, &b), r);
                        if (r == 0)
                                assert_true(a == b);
                        else
                                assert_true(b == 0xbbbb);
                        counts[r == 0 ? 1 : 2]++;
                } else if (what < 99) {
                        for (int i = 0; i < 8; i++) {
                                uint64_t x = base + rnd_below(pages * unit);

                                struct viommu_mapping_iter it;

                                assert_equal_mapping(viommu_mapping_index_lookup(idx, x), model_lookup(&d, x));
                                viommu_mapping_index_iter_init(idx, x, &it);
                                assert_equal_mapping(viommu_mapping_iter_next(&it), model_find_first(&d, x, UINT64_MAX));
                        }
                        assert_equal_mapping(viommu_mapping_index_find_first(idx, iova, length),
                                             model_find_first(&d, iova, length));
                } else if (unmap_all && rnd_below(10) == 0) {
                        uint64_t a = 0, b = 0;
                        int r = model_remove(&d, 0, UINT64_MAX, &a);

                        assert_int_equal(viommu_mapping_index_remove(idx, 0, UINT64_MAX, &b), r);
                        assert_true(a == b);
                        counts[3]++;
                }

                assert_int_equal(viommu_mapping_index_count(idx), d.n);
                assert_true(viommu_mapping_index_bytes(idx) == d.bytes);
                most = d.n > most ? d.n : most;
                if (op % check_every == 0)
                        compare(idx, &d);
        }
        compare(idx, &d);

        /* Empty it again by random unmaps, checking as it shrinks. */
        while (d.n > 0) {
                const struct viommu_mapping *m = &d.m[rnd_below(d.n)];
                uint64_t iova = m->iova, length = m->length, a, b;

                if (rnd_below(2) && m + 1 < d.m + d.n)
                        length = last_of(m + 1) - iova + 1;
                assert_int_equal(model_remove(&d, iova, length, &a), 0);
                assert_int_equal(viommu_mapping_index_remove(idx, iova, length, &b), 0);
                assert_true(a == b);
                if (d.n % check_every == 0)
                        compare(idx, &d);
        }
        compare(idx, &d);

        print_message("%u ops: %u inserted, %u unmaps, %u refused, %u unmap-all, at most %zu mappings\n",
                      ops, counts[0], counts[1], counts[2], counts[3], most);
        free(d.m);
}

/* Crowded: most operations collide. */
static void test_random_crowded(void **state) {
        random_run(0x5eed0001, 20000, 0x100000, 2048, PAGE, 8, 55, true, 1);
}

/* Growing to thousands of mappings, for a tree several levels deep. */
static void test_random_deep(void **state) {
        random_run(0x5eed0002, 20000, 0, 1 << 16, PAGE, 2, 75, false, 64);
}

/* Byte-sized units at the very top of the space. */
static void test_random_top(void **state) {
        random_run(0x5eed0003, 20000, UINT64_MAX - 4095, 4096, 1, 16, 60, true, 16);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_edges),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_overlaps),
                cmocka_unit_test(test_find_first),
                cmocka_unit_test(test_remove_straddling),
                cmocka_unit_test(test_remove_totals),
                cmocka_unit_test(test_top_of_space),
                cmocka_unit_test(test_fill),
                cmocka_unit_test(test_encode_round_trip),
                cmocka_unit_test(test_encode_compact),
                cmocka_unit_test(test_decode_malformed),
                cmocka_unit_test(test_random_crowded),
                cmocka_unit_test(test_random_deep),
                cmocka_unit_test(test_random_top),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
