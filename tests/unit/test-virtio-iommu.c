/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The virtio-iommu backend's reading of a request (virtio_iommu_parse(),
 * daemon/virtio-iommu.c): each field comes out host-endian, each request
 * that is malformed on its own gets the specification's status, and the
 * reply is as long as the device-writable part the driver gave; a page
 * request's fault record is laid out as the specification says. What the
 * requests do is tested against the kernel (tests/integration).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "virtio-iommu.h"

#define TAIL sizeof(struct virtio_iommu_req_tail)
#define RW (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)

static uint8_t parse(const void *buf, size_t size, VirtioIommuRequest *req, size_t *reply) {
        VirtioIommuRequest ignored;
        size_t ignored_size;

        return virtio_iommu_parse(buf, size, req ?: &ignored, reply ?: &ignored_size);
}

static struct virtio_iommu_req_map map_req(uint64_t start, uint64_t end, uint64_t phys, uint32_t flags) {
        return (struct virtio_iommu_req_map) {
                .head.type = VIRTIO_IOMMU_T_MAP,
                .domain = htole32(3),
                .virt_start = htole64(start),
                .virt_end = htole64(end),
                .phys_start = htole64(phys),
                .flags = htole32(flags),
        };
}

static uint8_t parse_map(uint64_t start, uint64_t end, uint64_t phys, uint32_t flags) {
        struct virtio_iommu_req_map m = map_req(start, end, phys, flags);

        return parse(&m, sizeof(m), NULL, NULL);
}

static uint8_t parse_unmap(uint64_t start, uint64_t end) {
        struct virtio_iommu_req_unmap u = {
                .head.type = VIRTIO_IOMMU_T_UNMAP,
                .virt_start = htole64(start),
                .virt_end = htole64(end),
        };

        return parse(&u, sizeof(u), NULL, NULL);
}

static void test_fields(void **state) {
        struct virtio_iommu_req_attach a = {
                .head.type = VIRTIO_IOMMU_T_ATTACH,
                .domain = htole32(0x01020304),
                .endpoint = htole32(0x0a0b0c0d),
        };
        struct virtio_iommu_req_map m = map_req(0x10000, 0x1ffff, 0x80000000, RW);
        VirtioIommuRequest req;
        size_t reply;

        assert_int_equal(parse(&a, sizeof(a), &req, &reply), VIRTIO_IOMMU_S_OK);
        assert_int_equal(req.type, VIRTIO_IOMMU_T_ATTACH);
        assert_int_equal(req.domain, 0x01020304);
        assert_int_equal(req.endpoint, 0x0a0b0c0d);
        assert_int_equal(reply, TAIL);
        assert_int_equal(parse(&m, sizeof(m), &req, &reply), VIRTIO_IOMMU_S_OK);
        assert_int_equal(req.domain, 3);
        assert_true(req.virt_start == 0x10000 && req.virt_end == 0x1ffff && req.phys_start == 0x80000000);
        assert_int_equal(req.flags, RW);
        /* The last page of the address space is a range like any other. */
        assert_int_equal(parse_map(UINT64_MAX - 0xfff, UINT64_MAX, 0, RW), VIRTIO_IOMMU_S_OK);
        assert_int_equal(parse_unmap(0, UINT64_MAX), VIRTIO_IOMMU_S_OK);
}

static void test_lengths(void **state) {
        uint8_t buf[1024] = { VIRTIO_IOMMU_T_DETACH };
        size_t reply = 0;

        assert_int_equal(parse(NULL, 0, NULL, &reply), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(reply, TAIL);
        assert_int_equal(parse(buf, 7, NULL, NULL), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(parse(buf, sizeof(struct virtio_iommu_req_detach) - 1, NULL, NULL), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(parse(buf, sizeof(struct virtio_iommu_req_detach) + 1, NULL, NULL), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(parse(buf, sizeof(struct virtio_iommu_req_detach), NULL, NULL), VIRTIO_IOMMU_S_OK);
        /* Unknown types, whatever their length. */
        for (unsigned t = 0; t < 256; t++) {
                if (t >= VIRTIO_IOMMU_T_ATTACH && t <= VIRTIO_IOMMU_T_PROBE)
                        continue;
                buf[0] = t;
                assert_int_equal(parse(buf, 64, NULL, NULL), VIRTIO_IOMMU_S_UNSUPP);
        }
}

static void test_probe(void **state) {
        const size_t fixed = sizeof(struct virtio_iommu_req_probe);
        _cleanup_free_ uint8_t *buf = calloc(1, fixed + 2 * VIRTIO_IOMMU_PROBE_SIZE);
        struct virtio_iommu_req_probe *p = (struct virtio_iommu_req_probe *) buf;
        VirtioIommuRequest req;
        size_t reply;

        assert_non_null(buf);
        p->head.type = VIRTIO_IOMMU_T_PROBE;
        p->endpoint = htole32(9);
        assert_int_equal(parse(buf, fixed + VIRTIO_IOMMU_PROBE_SIZE + TAIL, &req, &reply), VIRTIO_IOMMU_S_OK);
        assert_int_equal(req.endpoint, 9);
        assert_int_equal(reply, VIRTIO_IOMMU_PROBE_SIZE + TAIL);
        /* Another buffer size: refused, in a reply as long as it. */
        assert_int_equal(parse(buf, fixed + 64 + TAIL, NULL, &reply), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(reply, 64 + TAIL);
        assert_int_equal(parse(buf, fixed + 2, NULL, &reply), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(reply, TAIL);
        p->reserved[40] = 1;
        assert_int_equal(parse(buf, fixed + VIRTIO_IOMMU_PROBE_SIZE + TAIL, NULL, NULL), VIRTIO_IOMMU_S_INVAL);
}

static void test_reserved_and_flags(void **state) {
        struct virtio_iommu_req_attach a = { .head.type = VIRTIO_IOMMU_T_ATTACH };
        struct virtio_iommu_req_detach d = { .head.type = VIRTIO_IOMMU_T_DETACH };
        struct virtio_iommu_req_unmap u = { .head.type = VIRTIO_IOMMU_T_UNMAP, .virt_end = htole64(0xfff) };
        struct virtio_iommu_req_map m = map_req(0, 0xfff, 0, RW);

        a.flags = htole32(VIRTIO_IOMMU_ATTACH_F_BYPASS);
        assert_int_equal(parse(&a, sizeof(a), NULL, NULL), VIRTIO_IOMMU_S_OK);   /* the backend refuses it */
        a.flags = htole32(2);
        assert_int_equal(parse(&a, sizeof(a), NULL, NULL), VIRTIO_IOMMU_S_INVAL);
        a.flags = 0;
        a.reserved[0] = 1;
        assert_int_equal(parse(&a, sizeof(a), NULL, NULL), VIRTIO_IOMMU_S_INVAL);
        d.reserved[7] = 1;
        assert_int_equal(parse(&d, sizeof(d), NULL, NULL), VIRTIO_IOMMU_S_INVAL);
        u.reserved[1] = 1;
        assert_int_equal(parse(&u, sizeof(u), NULL, NULL), VIRTIO_IOMMU_S_INVAL);
        m.head.reserved[2] = 1;
        assert_int_equal(parse(&m, sizeof(m), NULL, NULL), VIRTIO_IOMMU_S_INVAL);

        assert_int_equal(parse_map(0, 0xfff, 0, 0), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(parse_map(0, 0xfff, 0, VIRTIO_IOMMU_MAP_F_READ), VIRTIO_IOMMU_S_OK);
        assert_int_equal(parse_map(0, 0xfff, 0, VIRTIO_IOMMU_MAP_F_WRITE), VIRTIO_IOMMU_S_OK);
        assert_int_equal(parse_map(0, 0xfff, 0, RW | VIRTIO_IOMMU_MAP_F_MMIO), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(parse_map(0, 0xfff, 0, RW | 0x100), VIRTIO_IOMMU_S_INVAL);
}

static void test_ranges(void **state) {
        assert_int_equal(parse_map(0x1000, 0xfff, 0, RW), VIRTIO_IOMMU_S_INVAL);       /* backwards */
        assert_int_equal(parse_map(0x800, 0x1fff, 0, RW), VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(parse_map(0x1000, 0x1ffe, 0, RW), VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(parse_map(0x1000, 0x1fff, 0x10, RW), VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(parse_map(0, UINT64_MAX, 0, RW), VIRTIO_IOMMU_S_RANGE);          /* 2^64 bytes */
        assert_int_equal(parse_map(0, 0x1fff, UINT64_MAX - 0xfff, RW), VIRTIO_IOMMU_S_RANGE);  /* phys wraps */
        assert_int_equal(parse_map(0, 0xfff, UINT64_MAX - 0xfff, RW), VIRTIO_IOMMU_S_OK);
        assert_int_equal(parse_unmap(0x2000, 0x1fff), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(parse_unmap(0x10, 0x1fff), VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(parse_unmap(0x1000, 0x1000), VIRTIO_IOMMU_S_RANGE);
}

/* A request where the bus put it: sd-bus aligns a byte array to 4 bytes,
 * not to the 8 of a MAP's fields, and a frame may place it anywhere. Each
 * kind of request is parsed at offsets that misalign its fields; read in
 * place, the sanitizer build stops at the first. */
static void test_misaligned(void **state) {
        const size_t fixed = sizeof(struct virtio_iommu_req_probe);
        struct virtio_iommu_req_attach a = {
                .head.type = VIRTIO_IOMMU_T_ATTACH,
                .domain = htole32(5),
                .endpoint = htole32(6),
        };
        struct virtio_iommu_req_detach d = {
                .head.type = VIRTIO_IOMMU_T_DETACH,
                .domain = htole32(5),
                .endpoint = htole32(6),
        };
        struct virtio_iommu_req_map m = map_req(0x10000, 0x1ffff, 0x80000000, RW);
        struct virtio_iommu_req_unmap u = {
                .head.type = VIRTIO_IOMMU_T_UNMAP,
                .domain = htole32(7),
                .virt_start = htole64(0x20000),
                .virt_end = htole64(0x2ffff),
        };
        struct virtio_iommu_req_probe p = {
                .head.type = VIRTIO_IOMMU_T_PROBE,
                .endpoint = htole32(9),
        };
        alignas(8) uint8_t buf[8 + sizeof(p) + VIRTIO_IOMMU_PROBE_SIZE + TAIL] = {};
        VirtioIommuRequest req;
        size_t reply;

        /* 4 first: what the bus gives. */
        for (size_t i = 0; i < 2; i++) {
                uint8_t *at = buf + (i == 0 ? 4 : 1);

                memcpy(at, &a, sizeof(a));
                assert_int_equal(parse(at, sizeof(a), &req, &reply), VIRTIO_IOMMU_S_OK);
                assert_true(req.type == VIRTIO_IOMMU_T_ATTACH && req.domain == 5 && req.endpoint == 6);

                memcpy(at, &d, sizeof(d));
                assert_int_equal(parse(at, sizeof(d), &req, &reply), VIRTIO_IOMMU_S_OK);
                assert_true(req.type == VIRTIO_IOMMU_T_DETACH && req.domain == 5 && req.endpoint == 6);

                memcpy(at, &m, sizeof(m));
                assert_int_equal(parse(at, sizeof(m), &req, &reply), VIRTIO_IOMMU_S_OK);
                assert_int_equal(req.domain, 3);
                assert_true(req.virt_start == 0x10000 && req.virt_end == 0x1ffff && req.phys_start == 0x80000000);
                assert_int_equal(req.flags, RW);
                assert_int_equal(virtio_iommu_reply_size(at, sizeof(m)), TAIL);

                memcpy(at, &u, sizeof(u));
                assert_int_equal(parse(at, sizeof(u), &req, &reply), VIRTIO_IOMMU_S_OK);
                assert_int_equal(req.domain, 7);
                assert_true(req.virt_start == 0x20000 && req.virt_end == 0x2ffff);

                memset(buf, 0, sizeof(buf));
                memcpy(at, &p, sizeof(p));
                assert_int_equal(parse(at, fixed + VIRTIO_IOMMU_PROBE_SIZE + TAIL, &req, &reply), VIRTIO_IOMMU_S_OK);
                assert_int_equal(req.endpoint, 9);
                assert_int_equal(reply, VIRTIO_IOMMU_PROBE_SIZE + TAIL);
        }
}

/* A page request's fault record: MAPPING, a flag per permission asked and
 * ADDRESS, little-endian whatever the host. */
static void test_fault_record(void **state) {
        struct iommu_hwpt_pgfault f = { .dev_id = 9, .perm = IOMMU_PGFAULT_PERM_WRITE | IOMMU_PGFAULT_PERM_EXEC,
                                        .addr = UINT64_C(0x123456789000) };
        struct virtio_iommu_fault r;
        const uint8_t want_addr[8] = { 0x00, 0x90, 0x78, 0x56, 0x34, 0x12, 0, 0 };

        memset(&r, 0xff, sizeof(r));
        virtio_iommu_fault_record(&f, 0x01020304, &r);
        assert_int_equal(r.reason, VIRTIO_IOMMU_FAULT_R_MAPPING);
        assert_true(r.reserved[0] == 0 && r.reserved[1] == 0 && r.reserved[2] == 0);
        assert_int_equal(le32toh(r.flags),
                         VIRTIO_IOMMU_FAULT_F_WRITE | VIRTIO_IOMMU_FAULT_F_EXEC | VIRTIO_IOMMU_FAULT_F_ADDRESS);
        assert_memory_equal(&r.endpoint, ((const uint8_t[]) { 4, 3, 2, 1 }), 4);
        assert_memory_equal(&r.address, want_addr, 8);
        assert_int_equal(r.reserved2[0] | r.reserved2[1] | r.reserved2[2] | r.reserved2[3], 0);

        f.perm = IOMMU_PGFAULT_PERM_READ;
        virtio_iommu_fault_record(&f, 1, &r);
        assert_int_equal(le32toh(r.flags), VIRTIO_IOMMU_FAULT_F_READ | VIRTIO_IOMMU_FAULT_F_ADDRESS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_lengths),
                cmocka_unit_test(test_probe),
                cmocka_unit_test(test_reserved_and_flags),
                cmocka_unit_test(test_ranges),
                cmocka_unit_test(test_misaligned),
                cmocka_unit_test(test_fault_record),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
