/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The virtio-iommu backend (Session.VirtioIommuRequest, VirtioIommuConfig,
 * VirtioIommuAddEndpoint, VirtioIommuRemoveEndpoint), driven only by
 * request buffers laid out by <linux/virtio_iommu.h>, as a VMM forwards its
 * request virtqueue: ATTACH, MAP, PROBE, UNMAP, DETACH, each mapping
 * checked in the kernel's mock domain and through a kernel access object;
 * a battery of malformed requests, each answered with the specification's
 * status and changing nothing (Describe, and the kernel's mappings); the
 * same requests in frames on the session's frame channel; page
 * requests as fault records (VirtioIommuEnableFaults, VirtioIommuFault); a
 * stranger who cannot drive another uid's backend; and endpoints, domains,
 * their mappings and the fault queue as a restart and a kill -9 of the
 * daemon leave them.
 *
 *   test-virtio-iommu [virtio] [owner] [vtd] [restart]
 *
 *   virtio   mock devices, any uid
 *   owner    root, mock devices (connects as the other uids)
 *   vtd      root, the vtd profile: PROBE of a real device lists its IOMMU
 *            group's reserved regions, and MAP keeps out of them
 *   restart  root, mock devices, viommud under the stand-in fd store
 *            (fdstore-harness, $VIOMMU_TEST_HARNESS_PID)
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <linux/virtio_iommu.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GPA UINT64_C(0x40000000)
#define PROBE_SIZE 512
#define TAIL sizeof(struct virtio_iommu_req_tail)

/* Sends one request; the reply must be reply_size bytes (into reply, if
 * given); returns its status. */
static uint8_t request_at(sd_bus *bus, const char *session, const void *req, size_t size, size_t reply_size,
                          void *reply) {
        sd_bus_message *m = new_call(bus, session, I_SESSION, "VirtioIommuRequest"), *r;
        const uint8_t *got;
        size_t n;
        uint8_t status;

        assert_true(sd_bus_message_append_array(m, 'y', req, size) >= 0);
        r = SEND(bus, m);
        assert_true(sd_bus_message_read_array(r, 'y', (const void **) &got, &n) > 0);
        assert_int_equal(n, reply_size);
        if (reply)
                memcpy(reply, got, n);
        status = got[n - TAIL];
        sd_bus_message_unref(r);
        return status;
}

static uint8_t request(sd_bus *bus, const char *session, const void *req, size_t size) {
        return request_at(bus, session, req, size, TAIL, NULL);
}

static uint8_t vattach(sd_bus *bus, const char *s, uint32_t domain, uint32_t endpoint, uint32_t flags) {
        struct virtio_iommu_req_attach r = {
                .head.type = VIRTIO_IOMMU_T_ATTACH,
                .domain = htole32(domain),
                .endpoint = htole32(endpoint),
                .flags = htole32(flags),
        };
        return request(bus, s, &r, sizeof(r));
}

static uint8_t vdetach(sd_bus *bus, const char *s, uint32_t domain, uint32_t endpoint) {
        struct virtio_iommu_req_detach r = {
                .head.type = VIRTIO_IOMMU_T_DETACH,
                .domain = htole32(domain),
                .endpoint = htole32(endpoint),
        };
        return request(bus, s, &r, sizeof(r));
}

static struct virtio_iommu_req_map map_req(uint32_t domain, uint64_t start, uint64_t end, uint64_t phys,
                                           uint32_t flags) {
        return (struct virtio_iommu_req_map) {
                .head.type = VIRTIO_IOMMU_T_MAP,
                .domain = htole32(domain),
                .virt_start = htole64(start),
                .virt_end = htole64(end),
                .phys_start = htole64(phys),
                .flags = htole32(flags),
        };
}

static uint8_t vmap(sd_bus *bus, const char *s, uint32_t domain, uint64_t start, uint64_t end, uint64_t phys,
                    uint32_t flags) {
        struct virtio_iommu_req_map r = map_req(domain, start, end, phys, flags);

        return request(bus, s, &r, sizeof(r));
}

static struct virtio_iommu_req_unmap unmap_req(uint32_t domain, uint64_t start, uint64_t end) {
        return (struct virtio_iommu_req_unmap) {
                .head.type = VIRTIO_IOMMU_T_UNMAP,
                .domain = htole32(domain),
                .virt_start = htole64(start),
                .virt_end = htole64(end),
        };
}

static uint8_t vunmap(sd_bus *bus, const char *s, uint32_t domain, uint64_t start, uint64_t end) {
        struct virtio_iommu_req_unmap r = unmap_req(domain, start, end);

        return request(bus, s, &r, sizeof(r));
}

/* A PROBE request with a properties buffer of props bytes and its tail. */
static uint8_t *probe_req(uint32_t endpoint, size_t props, size_t *ret_size) {
        struct virtio_iommu_req_probe *p;

        *ret_size = sizeof(*p) + props + TAIL;
        p = calloc(1, *ret_size);
        assert_non_null(p);
        p->head.type = VIRTIO_IOMMU_T_PROBE;
        p->endpoint = htole32(endpoint);
        return (uint8_t *) p;
}

static uint8_t vprobe(sd_bus *bus, const char *s, uint32_t endpoint, size_t props, void *reply) {
        size_t size;
        _cleanup_free_ uint8_t *p = probe_req(endpoint, props, &size);

        return request_at(bus, s, p, size, props + TAIL, reply);
}

static char *attached_to(sd_bus *bus, const char *dev) {
        return get_string(bus, dev, I_DEVICE, "Attached", "o");
}

/* ---- the backend ----------------------------------------------------------- */

static void test_virtio_iommu_drives_the_kernel(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_free_ char *dev2 = NULL, *domain = NULL, *domain2 = NULL;
        _cleanup_free_ uint8_t *props = calloc(1, PROBE_SIZE + TAIL);
        uint64_t features, page_mask, in_start, in_end;
        uint32_t dom_start, dom_end, probe_size, objects;
        uint8_t data[PAGE], back[PAGE];
        sd_bus *ch;

        if (!f->dev)
                skip();
        CALL_OK(f->bus, f->session, I_SESSION, "AddMemory", "httt", f->memfd, UINT64_C(0), GPA, (uint64_t) BUF_SIZE);
        dev2 = create_mock(f->bus, f->session, 0, NULL);
        CALL_OK(f->bus, f->session, I_SESSION, "VirtioIommuAddEndpoint", "ou", f->dev, (uint32_t) 1);
        CALL_OK(f->bus, f->session, I_SESSION, "VirtioIommuAddEndpoint", "ou", dev2, (uint32_t) 2);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "VirtioIommuAddEndpoint", "ou", dev2, (uint32_t) 3);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "VirtioIommuAddEndpoint", "ou", f->ioas,
                   (uint32_t) 4);

        /* The config space: the mock domain's aperture, 4 KiB pages or more. */
        reply_take(CALL(f->bus, f->session, I_SESSION, "VirtioIommuConfig", NULL), "ttttuuu", &features,
                   &page_mask, &in_start, &in_end, &dom_start, &dom_end, &probe_size);
        assert_true(features & (UINT64_C(1) << VIRTIO_IOMMU_F_MAP_UNMAP));
        assert_true(features & (UINT64_C(1) << VIRTIO_IOMMU_F_PROBE));
        assert_false(features & (UINT64_C(1) << VIRTIO_IOMMU_F_MMIO));
        assert_true(page_mask != 0 && (page_mask & (PAGE - 1)) == 0);
        assert_true(in_start <= iova && iova + BUF_SIZE - 1 <= in_end);
        assert_true(in_start > 0 || in_end < UINT64_MAX);      /* the aperture, not everything */
        assert_true(dom_start <= 7 && 7 <= dom_end);
        assert_int_equal(probe_size, PROBE_SIZE);

        /* ATTACH makes the domain, an IOAS; a second endpoint shares it. */
        objects = get_u32(f->bus, f->session, I_SESSION, "NObjects");
        assert_int_equal(vattach(f->bus, f->session, 7, 1, 0), VIRTIO_IOMMU_S_OK);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), objects + 1);
        domain = attached_to(f->bus, f->dev);
        assert_string_not_equal(domain, f->ioas);
        assert_string_not_equal(domain, "/");
        assert_int_equal(vattach(f->bus, f->session, 7, 2, 0), VIRTIO_IOMMU_S_OK);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), objects + 1);
        domain2 = attached_to(f->bus, dev2);
        assert_string_equal(domain, domain2);
        assert_int_equal(vattach(f->bus, f->session, 7, 2, 0), VIRTIO_IOMMU_S_OK);   /* again: nothing to do */

        /* MAP by guest-physical address, on the bus and on the direct
         * channel: in both devices' page tables, and the kernel's access
         * reads and writes the memfd's pages. */
        for (size_t i = 0; i < PAGE; i++)
                data[i] = (uint8_t) (i * 7 + 3);
        assert_int_equal(pwrite(f->memfd, data, PAGE, 8 * PAGE), PAGE);
        assert_int_equal(vmap(f->bus, f->session, 7, iova, iova + 4 * PAGE - 1, GPA + 8 * PAGE,
                              VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE), VIRTIO_IOMMU_S_OK);
        check_mapping(f->bus, f->session, f->dev, iova, 4 * PAGE, f->memfd, 8 * PAGE);
        check_mapping(f->bus, f->session, dev2, iova, 4 * PAGE, f->memfd, 8 * PAGE);
        {
                sd_bus_message *r = CALL(f->bus, f->session, I_TESTING, "KernelReadIOVA", "otu", domain, iova,
                                         (uint32_t) PAGE);
                const void *got;
                size_t n;

                assert_true(sd_bus_message_read_array(r, 'y', &got, &n) > 0);
                assert_int_equal(n, PAGE);
                assert_memory_equal(got, data, PAGE);
                sd_bus_message_unref(r);
        }
        memset(data, 0xc3, PAGE);
        {
                sd_bus_message *m = new_call(f->bus, f->session, I_TESTING, "KernelWriteIOVA");

                assert_true(sd_bus_message_append(m, "ot", domain, iova + PAGE) >= 0);
                assert_true(sd_bus_message_append_array(m, 'y', data, PAGE) >= 0);
                sd_bus_message_unref(SEND(f->bus, m));
        }
        assert_int_equal(pread(f->memfd, back, PAGE, 9 * PAGE), PAGE);
        assert_memory_equal(back, data, PAGE);

        ch = channel_open(f->bus, f->session);
        assert_int_equal(vmap(ch, f->session, 7, iova + 16 * PAGE, iova + 16 * PAGE + PAGE - 1, GPA,
                              VIRTIO_IOMMU_MAP_F_READ), VIRTIO_IOMMU_S_OK);
        check_mapping(f->bus, f->session, f->dev, iova + 16 * PAGE, PAGE, f->memfd, 0);

        /* PROBE: a mock device has no reserved regions, so the properties
         * end at once (type NONE), zeros to the end. */
        memset(props, 0xff, PROBE_SIZE + TAIL);
        assert_int_equal(vprobe(f->bus, f->session, 1, PROBE_SIZE, props), VIRTIO_IOMMU_S_OK);
        for (size_t i = 0; i < PROBE_SIZE; i++)
                assert_int_equal(props[i], 0);

        /* UNMAP: nothing there is fine; whole mappings go. */
        assert_int_equal(vunmap(ch, f->session, 7, iova + 32 * PAGE, iova + 40 * PAGE - 1), VIRTIO_IOMMU_S_OK);
        assert_int_equal(vunmap(ch, f->session, 7, iova + 16 * PAGE, iova + 17 * PAGE - 1), VIRTIO_IOMMU_S_OK);
        check_no_mapping(f->bus, f->session, f->dev, iova + 16 * PAGE, PAGE, f->memfd, 0);
        check_mapping(f->bus, f->session, f->dev, iova, 4 * PAGE, f->memfd, 8 * PAGE);
        sd_bus_flush_close_unref(ch);
        assert_int_equal(vunmap(f->bus, f->session, 7, iova, iova + 4 * PAGE - 1), VIRTIO_IOMMU_S_OK);
        check_no_mapping(f->bus, f->session, f->dev, iova, PAGE, f->memfd, 8 * PAGE);
        check_no_mapping(f->bus, f->session, dev2, iova, PAGE, f->memfd, 8 * PAGE);
        assert_int_equal(get_u64(f->bus, f->session, I_SESSION, "MappedBytes"), 0);

        /* An endpoint moves between domains; the last DETACH ends one. */
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "VirtioIommuRemoveEndpoint", "u", (uint32_t) 2);
        assert_int_equal(vattach(f->bus, f->session, 9, 2, 0), VIRTIO_IOMMU_S_OK);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), objects + 2);
        assert_int_equal(vdetach(f->bus, f->session, 7, 2), VIRTIO_IOMMU_S_INVAL);      /* not on 7 */
        assert_int_equal(vdetach(f->bus, f->session, 9, 2), VIRTIO_IOMMU_S_OK);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), objects + 1);
        assert_int_equal(vdetach(f->bus, f->session, 7, 1), VIRTIO_IOMMU_S_OK);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), objects);
        assert_int_equal(vdetach(f->bus, f->session, 7, 1), VIRTIO_IOMMU_S_NOENT);      /* the domain is gone */
        CALL_OK(f->bus, f->session, I_SESSION, "VirtioIommuRemoveEndpoint", "u", (uint32_t) 2);
        CALL_FAILS(E_NO_SUCH_OBJECT, f->bus, f->session, I_SESSION, "VirtioIommuRemoveEndpoint", "u", (uint32_t) 2);
        assert_int_equal(vattach(f->bus, f->session, 7, 2, 0), VIRTIO_IOMMU_S_NOENT);
}

/* Every malformed request gets its status and changes nothing. */
/* A request in a frame (VIOMMU_FRAME_VIRTIO_IOMMU): the reply, of
 * reply_size bytes, is the device's, never a frame error; its status. */
static uint8_t frame_request(int fd, const void *req, size_t size, size_t reply_size, void *reply) {
        FrameReply r;

        frame_call(fd, VIOMMU_FRAME_VIRTIO_IOMMU, 0, req, size, &r);
        assert_int_equal(r.h.error, 0);
        assert_int_equal(r.h.value, reply_size);
        assert_int_equal(r.size, sizeof(r.h) + reply_size);
        if (reply)
                memcpy(reply, r.payload, reply_size);
        return r.payload[reply_size - TAIL];
}

/* The frame channel serves the same backend: each change checked in the
 * kernel, a malformed request answered by its status in the device's
 * reply, a frame with an object refused. */
static void test_virtio_iommu_on_frame_channel(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START, rw = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
        _cleanup_free_ uint8_t *props = calloc(1, PROBE_SIZE + TAIL);
        _cleanup_free_ char *before = NULL, *after = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct virtio_iommu_req_attach attach = {
                .head.type = VIRTIO_IOMMU_T_ATTACH, .domain = htole32(3), .endpoint = htole32(1),
        };
        struct virtio_iommu_req_map map = map_req(3, iova, iova + 2 * PAGE - 1, GPA + 4 * PAGE, rw);
        struct virtio_iommu_req_unmap unmap = unmap_req(3, iova, iova + 2 * PAGE - 1);
        struct virtio_iommu_req_detach detach = {
                .head.type = VIRTIO_IOMMU_T_DETACH, .domain = htole32(3), .endpoint = htole32(1),
        };
        uint8_t bad_type[64] = { 0x42 };
        size_t probe_size;
        _cleanup_free_ uint8_t *probe = probe_req(1, PROBE_SIZE, &probe_size);
        FrameReply r;

        if (!f->dev)
                skip();
        CALL_OK(f->bus, f->session, I_SESSION, "AddMemory", "httt", f->memfd, UINT64_C(0), GPA, (uint64_t) BUF_SIZE);
        CALL_OK(f->bus, f->session, I_SESSION, "VirtioIommuAddEndpoint", "ou", f->dev, (uint32_t) 1);
        fd = frame_open(f->bus, f->session);

        assert_int_equal(frame_request(fd, &attach, sizeof(attach), TAIL, NULL), VIRTIO_IOMMU_S_OK);
        assert_int_equal(frame_request(fd, &map, sizeof(map), TAIL, NULL), VIRTIO_IOMMU_S_OK);
        check_mapping(f->bus, f->session, f->dev, iova, 2 * PAGE, f->memfd, 4 * PAGE);
        assert_int_equal(frame_request(fd, probe, probe_size, PROBE_SIZE + TAIL, props), VIRTIO_IOMMU_S_OK);

        /* Refused as on the bus, and nothing changed. */
        before = describe(f->bus);
        assert_int_equal(frame_request(fd, bad_type, sizeof(bad_type), TAIL, NULL), VIRTIO_IOMMU_S_UNSUPP);
        assert_int_equal(frame_request(fd, &map, sizeof(map) - 1, TAIL, NULL), VIRTIO_IOMMU_S_INVAL);
        {
                struct virtio_iommu_req_map wrapping = map_req(3, iova + PAGE, iova, GPA, rw);

                assert_int_equal(frame_request(fd, &wrapping, sizeof(wrapping), TAIL, NULL), VIRTIO_IOMMU_S_INVAL);
        }
        frame_call(fd, VIOMMU_FRAME_VIRTIO_IOMMU, 1, &unmap, sizeof(unmap), &r);
        assert_int_equal(r.h.error, 1);
        assert_string_equal((char *) r.payload, E_INVALID_ARGUMENT);
        after = describe(f->bus);
        assert_string_equal(before, after);
        check_mapping(f->bus, f->session, f->dev, iova, 2 * PAGE, f->memfd, 4 * PAGE);

        assert_int_equal(frame_request(fd, &unmap, sizeof(unmap), TAIL, NULL), VIRTIO_IOMMU_S_OK);
        check_no_mapping(f->bus, f->session, f->dev, iova, 2 * PAGE, f->memfd, 4 * PAGE);
        assert_int_equal(frame_request(fd, &detach, sizeof(detach), TAIL, NULL), VIRTIO_IOMMU_S_OK);
}

static void test_virtio_iommu_refuses(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START, rw = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
        _cleanup_free_ char *before = NULL, *after = NULL;
        _cleanup_free_ uint8_t *big = calloc(1, 4096);
        struct virtio_iommu_req_attach a = { .head.type = VIRTIO_IOMMU_T_ATTACH, .domain = htole32(7),
                                             .endpoint = htole32(1) };
        struct virtio_iommu_req_detach d = { .head.type = VIRTIO_IOMMU_T_DETACH, .domain = htole32(7),
                                             .endpoint = htole32(1) };
        struct virtio_iommu_req_map mp;
        struct virtio_iommu_req_unmap u;
        uint8_t *p;
        size_t size;

        if (!f->dev)
                skip();
        CALL_OK(f->bus, f->session, I_SESSION, "AddMemory", "httt", f->memfd, UINT64_C(0), GPA, (uint64_t) BUF_SIZE);
        CALL_OK(f->bus, f->session, I_SESSION, "VirtioIommuAddEndpoint", "ou", f->dev, (uint32_t) 1);
        assert_int_equal(vattach(f->bus, f->session, 7, 1, 0), VIRTIO_IOMMU_S_OK);
        assert_int_equal(vmap(f->bus, f->session, 7, iova, iova + 4 * PAGE - 1, GPA, rw), VIRTIO_IOMMU_S_OK);
        before = describe(f->bus);

        /* Short, unknown, too long. */
        assert_int_equal(request(f->bus, f->session, big, 0), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(request(f->bus, f->session, &a, 2), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(request(f->bus, f->session, &a, sizeof(a) - 1), VIRTIO_IOMMU_S_INVAL);
        big[0] = 0x42;
        assert_int_equal(request(f->bus, f->session, big, 64), VIRTIO_IOMMU_S_UNSUPP);
        big[0] = 0;
        assert_int_equal(request(f->bus, f->session, big, 64), VIRTIO_IOMMU_S_UNSUPP);
        memcpy(big, &a, sizeof(a));
        assert_int_equal(request(f->bus, f->session, big, sizeof(a) + 4), VIRTIO_IOMMU_S_INVAL);

        /* ATTACH: reserved bits, unknown flags, unknown endpoint, bypass. */
        a.head.reserved[1] = 1;
        assert_int_equal(request(f->bus, f->session, &a, sizeof(a)), VIRTIO_IOMMU_S_INVAL);
        a.head.reserved[1] = 0;
        a.reserved[3] = 1;
        assert_int_equal(request(f->bus, f->session, &a, sizeof(a)), VIRTIO_IOMMU_S_INVAL);
        a.reserved[3] = 0;
        assert_int_equal(vattach(f->bus, f->session, 8, 1, 2), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(vattach(f->bus, f->session, 8, 99, 0), VIRTIO_IOMMU_S_NOENT);
        assert_int_equal(vattach(f->bus, f->session, 8, 1, VIRTIO_IOMMU_ATTACH_F_BYPASS), VIRTIO_IOMMU_S_UNSUPP);

        /* DETACH: reserved bits, unknown domain, unknown endpoint. */
        d.reserved[0] = 1;
        assert_int_equal(request(f->bus, f->session, &d, sizeof(d)), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(vdetach(f->bus, f->session, 8, 1), VIRTIO_IOMMU_S_NOENT);
        assert_int_equal(vdetach(f->bus, f->session, 7, 99), VIRTIO_IOMMU_S_NOENT);

        /* MAP: unknown domain, flags, misaligned, backwards, wrapping,
         * outside guest memory, over a mapping. */
        assert_int_equal(vmap(f->bus, f->session, 8, iova + 8 * PAGE, iova + 9 * PAGE - 1, GPA, rw),
                         VIRTIO_IOMMU_S_NOENT);
        assert_int_equal(vmap(f->bus, f->session, 7, iova + 8 * PAGE, iova + 9 * PAGE - 1, GPA, 0),
                         VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(vmap(f->bus, f->session, 7, iova + 8 * PAGE, iova + 9 * PAGE - 1, GPA,
                              rw | VIRTIO_IOMMU_MAP_F_MMIO), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(vmap(f->bus, f->session, 7, iova + 8 * PAGE, iova + 9 * PAGE - 1, GPA, rw | 8),
                         VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(vmap(f->bus, f->session, 7, iova + 8 * PAGE + 512, iova + 9 * PAGE - 1, GPA, rw),
                         VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(vmap(f->bus, f->session, 7, iova + 8 * PAGE, iova + 9 * PAGE - 2, GPA, rw),
                         VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(vmap(f->bus, f->session, 7, iova + 8 * PAGE, iova + 9 * PAGE - 1, GPA + 16, rw),
                         VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(vmap(f->bus, f->session, 7, iova + 9 * PAGE, iova + 8 * PAGE - 1, GPA, rw),
                         VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(vmap(f->bus, f->session, 7, iova + 8 * PAGE, iova + 10 * PAGE - 1,
                              UINT64_MAX - PAGE + 1, rw), VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(vmap(f->bus, f->session, 7, 0, UINT64_MAX, GPA, rw), VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(vmap(f->bus, f->session, 7, iova + 8 * PAGE, iova + 9 * PAGE - 1, GPA + BUF_SIZE, rw),
                         VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(vmap(f->bus, f->session, 7, iova + 8 * PAGE, iova + 8 * PAGE + BUF_SIZE - 1,
                              GPA + PAGE, rw), VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(vmap(f->bus, f->session, 7, iova + 2 * PAGE, iova + 6 * PAGE - 1, GPA + 8 * PAGE, rw),
                         VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(vmap(f->bus, f->session, 7, 0, PAGE - 1, GPA, rw), VIRTIO_IOMMU_S_RANGE); /* below the aperture */
        mp = map_req(7, iova + 8 * PAGE, iova + 9 * PAGE - 1, GPA, rw);
        mp.head.reserved[0] = 1;
        assert_int_equal(request(f->bus, f->session, &mp, sizeof(mp)), VIRTIO_IOMMU_S_INVAL);

        /* UNMAP: splitting a mapping, misaligned, backwards, reserved bits,
         * unknown domain. */
        assert_int_equal(vunmap(f->bus, f->session, 7, iova + PAGE, iova + 2 * PAGE - 1), VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(vunmap(f->bus, f->session, 7, iova, iova + 2 * PAGE - 1), VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(vunmap(f->bus, f->session, 7, iova + 2 * PAGE, iova + 64 * PAGE - 1),
                         VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(vunmap(f->bus, f->session, 7, iova + 8, iova + 4 * PAGE - 1), VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(vunmap(f->bus, f->session, 7, iova + 4 * PAGE - 1, iova), VIRTIO_IOMMU_S_INVAL);
        assert_int_equal(vunmap(f->bus, f->session, 8, iova, iova + 4 * PAGE - 1), VIRTIO_IOMMU_S_NOENT);
        u = unmap_req(7, iova, iova + 4 * PAGE - 1);
        u.reserved[2] = 1;
        assert_int_equal(request(f->bus, f->session, &u, sizeof(u)), VIRTIO_IOMMU_S_INVAL);

        /* PROBE: unknown endpoint, reserved bits, a buffer not of probe_size
         * (its reply as long as the buffer given). */
        assert_int_equal(vprobe(f->bus, f->session, 99, PROBE_SIZE, NULL), VIRTIO_IOMMU_S_NOENT);
        assert_int_equal(vprobe(f->bus, f->session, 1, 64, NULL), VIRTIO_IOMMU_S_INVAL);
        p = probe_req(1, PROBE_SIZE, &size);
        ((struct virtio_iommu_req_probe *) p)->reserved[63] = 1;
        assert_int_equal(request_at(f->bus, f->session, p, size, PROBE_SIZE + TAIL, NULL), VIRTIO_IOMMU_S_INVAL);
        free(p);
        /* A request larger than any driver makes is refused as a call, not
         * answered as long. */
        p = probe_req(1, 64 * 1024, &size);
        {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                        new_call(f->bus, f->session, I_SESSION, "VirtioIommuRequest");

                assert_true(sd_bus_message_append_array(m, 'y', p, size) >= 0);
                SEND_FAILS(E_INVALID_ARGUMENT, f->bus, m);
        }
        free(p);

        after = describe(f->bus);
        assert_string_equal(before, after);
        check_mapping(f->bus, f->session, f->dev, iova, 4 * PAGE, f->memfd, 0);
        check_no_mapping(f->bus, f->session, f->dev, iova + 8 * PAGE, PAGE, f->memfd, 0);
}

/* ---- fault records ---------------------------------------------------------- */

typedef struct FaultSeen {
        bool seen;
        struct virtio_iommu_fault record;
} FaultSeen;

static int on_fault(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FaultSeen *fs = userdata;
        const void *p;
        size_t n;

        assert_true(sd_bus_message_read_array(m, 'y', &p, &n) >= 0);
        assert_int_equal(n, sizeof(fs->record));
        memcpy(&fs->record, p, n);
        fs->seen = true;
        return 0;
}

/* The mock device dev of session on bus raises a page request; its fault
 * record arrives on to. */
static void expect_fault(sd_bus *bus, const char *session, const char *dev, sd_bus *to, uint32_t perm, uint64_t addr,
                         uint32_t endpoint, uint32_t flags) {
        FaultSeen fs = {}, on_bus = {};
        sd_bus_slot *slot = NULL, *bus_slot = NULL;

        assert_true(sd_bus_match_signal(to, &slot, NULL, session, I_SESSION, "VirtioIommuFault", on_fault, &fs) >= 0);
        if (to != bus)
                assert_true(sd_bus_match_signal(bus, &bus_slot, NULL, session, I_SESSION, "VirtioIommuFault",
                                                on_fault, &on_bus) >= 0);
        CALL_OK(bus, session, I_TESTING, "TriggerFault", "ouuut", dev, (uint32_t) 0, (uint32_t) 2, perm, addr);
        pump(to, TIMEOUT_USEC, &fs.seen);
        assert_true(fs.seen);
        assert_int_equal(fs.record.reason, VIRTIO_IOMMU_FAULT_R_MAPPING);
        assert_int_equal(le32toh(fs.record.flags), flags);
        assert_int_equal(le32toh(fs.record.endpoint), endpoint);
        assert_int_equal(le64toh(fs.record.address), addr);
        if (bus_slot) {         /* the channel has it, the bus not */
                pump(bus, 200 * 1000, &on_bus.seen);
                assert_false(on_bus.seen);
        }
        sd_bus_slot_unref(slot);
        sd_bus_slot_unref(bus_slot);
}

/* A page request of an endpoint reaches the VMM as a virtio-iommu fault
 * record, to its owner on the bus, and on the direct channel once one is
 * open; without the kernel's support the request is refused, naming it. */
static void test_virtio_iommu_fault_records(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START, rw = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
        _cleanup_free_ char *before = NULL, *after = NULL;
        uint32_t objects;
        sd_bus *ch;

        if (!f->dev)
                skip();
        CALL_OK(f->bus, f->session, I_SESSION, "AddMemory", "httt", f->memfd, UINT64_C(0), GPA, (uint64_t) BUF_SIZE);
        CALL_OK(f->bus, f->session, I_SESSION, "VirtioIommuAddEndpoint", "ou", f->dev, (uint32_t) 3);
        objects = get_u32(f->bus, f->session, I_SESSION, "NObjects");

        if (!kernel_at_least(6, 13)) {
                before = describe(f->bus);
                CALL_FAILS(E_NOT_SUPPORTED, f->bus, f->session, I_SESSION, "VirtioIommuEnableFaults", NULL);
                assert_error_mentions("paging-iopf");
                assert_error_mentions("6.13");
                after = describe(f->bus);
                assert_string_equal(before, after);
                return;
        }
        CALL_OK(f->bus, f->session, I_SESSION, "VirtioIommuEnableFaults", NULL);
        CALL_OK(f->bus, f->session, I_SESSION, "VirtioIommuEnableFaults", NULL);     /* once is enough */
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), objects + 1);      /* the queue */

        /* The domain is a paging HWPT on its IOAS, and maps. */
        assert_int_equal(vattach(f->bus, f->session, 7, 3, 0), VIRTIO_IOMMU_S_OK);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), objects + 3);
        assert_int_equal(vmap(f->bus, f->session, 7, iova, iova + 4 * PAGE - 1, GPA, rw), VIRTIO_IOMMU_S_OK);
        check_mapping(f->bus, f->session, f->dev, iova, 4 * PAGE, f->memfd, 0);

        expect_fault(f->bus, f->session, f->dev, f->bus, IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE,
                     iova + 5 * PAGE, 3,
                     VIRTIO_IOMMU_FAULT_F_READ | VIRTIO_IOMMU_FAULT_F_WRITE | VIRTIO_IOMMU_FAULT_F_ADDRESS);
        expect_fault(f->bus, f->session, f->dev, f->bus, IOMMU_PGFAULT_PERM_READ, iova + 6 * PAGE, 3,
                     VIRTIO_IOMMU_FAULT_F_READ | VIRTIO_IOMMU_FAULT_F_ADDRESS);
        ch = channel_open(f->bus, f->session);
        expect_fault(f->bus, f->session, f->dev, ch, IOMMU_PGFAULT_PERM_WRITE, 0xdeadb000, 3,
                     VIRTIO_IOMMU_FAULT_F_WRITE | VIRTIO_IOMMU_FAULT_F_ADDRESS);
        sd_bus_flush_close_unref(ch);

        /* The last DETACH ends the HWPT and the IOAS; the queue stays. */
        assert_int_equal(vdetach(f->bus, f->session, 7, 3), VIRTIO_IOMMU_S_OK);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), objects + 1);
}

/* Another uid cannot drive the backend of a session it does not own. */
static void test_virtio_iommu_owner(void **state) {
        const uid_t owner_uid = env_u64("VIOMMU_TEST_OTHER_UID", 65534),
                    intruder_uid = env_u64("VIOMMU_TEST_CONFIG_UID", 1);
        sd_bus *owner = connect_as(owner_uid), *intruder = connect_as(intruder_uid), *root = bus_open();
        _cleanup_free_ char *s = NULL, *dev = NULL, *before = NULL, *after = NULL;
        struct virtio_iommu_req_attach a = { .head.type = VIRTIO_IOMMU_T_ATTACH, .domain = htole32(7),
                                             .endpoint = htole32(1) };
        sd_bus_message *m;

        if (!mock_devices_work())
                skip();
        s = open_session(owner, false);
        dev = create_mock(owner, s, 0, NULL);
        CALL_OK(owner, s, I_SESSION, "VirtioIommuAddEndpoint", "ou", dev, (uint32_t) 1);
        before = describe(root);

        m = new_call(intruder, s, I_SESSION, "VirtioIommuRequest");
        assert_true(sd_bus_message_append_array(m, 'y', &a, sizeof(a)) >= 0);
        SEND_FAILS(E_UNKNOWN_OBJECT, intruder, m);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "VirtioIommuConfig", NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "VirtioIommuAddEndpoint", "ou", dev, (uint32_t) 2);
        CALL_FAILS(E_UNKNOWN_OBJECT, intruder, s, I_SESSION, "VirtioIommuRemoveEndpoint", "u", (uint32_t) 1);
        after = describe(root);
        assert_string_equal(before, after);
        /* The owner still can. */
        assert_int_equal(vattach(owner, s, 7, 1, 0), VIRTIO_IOMMU_S_OK);

        close_session(owner, s);
        sd_bus_flush_close_unref(owner);
        sd_bus_flush_close_unref(intruder);
        sd_bus_flush_close_unref(root);
}

/* ---- a real device --------------------------------------------------------- */

static void test_virtio_iommu_real_device(void **state) {
        const uint64_t rw = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
        VfioDevice devices[2];
        sd_bus *bus = bus_open();
        _cleanup_free_ char *s = NULL, *dev = NULL, *sysfs = NULL, *regions = NULL;
        _cleanup_free_ uint8_t *props = calloc(1, PROBE_SIZE + TAIL);
        _cleanup_close_ int memfd = memfd_new("virtio-ram", BUF_SIZE, 0);
        uint64_t features, page_mask, in_start, in_end, msi = 0, start, end;
        uint32_t dom_start, dom_end, probe_size;
        size_t at = 0, n_sysfs = 0;
        char type[32];
        const char *line;
        int used;

        vfio_devices(devices, 1);
        s = open_session(bus, false);
        dev = claim(bus, s, devices[0].bdf, false);
        CALL_OK(bus, s, I_SESSION, "AddMemory", "httt", memfd, UINT64_C(0), GPA, (uint64_t) BUF_SIZE);
        CALL_OK(bus, s, I_SESSION, "VirtioIommuAddEndpoint", "ou", dev, (uint32_t) 5);

        /* PROBE lists what sysfs says of the group, in its order. */
        assert_int_equal(vprobe(bus, s, 5, PROBE_SIZE, props), VIRTIO_IOMMU_S_OK);
        assert_true(asprintf(&sysfs, "/sys/bus/pci/devices/%s/iommu_group/reserved_regions", devices[0].bdf) > 0);
        regions = read_file(sysfs);
        assert_non_null(regions);
        for (line = regions; sscanf(line, " %" SCNx64 " %" SCNx64 " %31s%n", &start, &end, type, &used) == 3;
             line += used, n_sysfs++) {
                struct virtio_iommu_probe_resv_mem p;

                assert_true(at + sizeof(p) <= PROBE_SIZE);
                memcpy(&p, props + at, sizeof(p));
                at += sizeof(p);
                assert_int_equal(le16toh(p.head.type), VIRTIO_IOMMU_PROBE_T_RESV_MEM);
                assert_int_equal(le16toh(p.head.length), sizeof(p) - sizeof(p.head));
                assert_true(le64toh(p.start) == start && le64toh(p.end) == end);
                assert_int_equal(p.subtype, streq(type, "msi") ? VIRTIO_IOMMU_RESV_MEM_T_MSI :
                                                                 VIRTIO_IOMMU_RESV_MEM_T_RESERVED);
                if (streq(type, "msi"))
                        msi = start;
        }
        assert_true(n_sysfs > 0);
        for (size_t i = at; i < PROBE_SIZE; i++)
                assert_int_equal(props[i], 0);

        /* On a domain, MAP keeps out of the MSI window and the config's
         * input range is the IOMMU's. */
        assert_int_equal(vattach(bus, s, 1, 5, 0), VIRTIO_IOMMU_S_OK);
        reply_take(CALL(bus, s, I_SESSION, "VirtioIommuConfig", NULL), "ttttuuu", &features, &page_mask, &in_start,
                   &in_end, &dom_start, &dom_end, &probe_size);
        assert_true(in_end < UINT64_MAX && (page_mask & (PAGE - 1)) == 0);
        if (msi)
                assert_int_equal(vmap(bus, s, 1, msi, msi + PAGE - 1, GPA, rw), VIRTIO_IOMMU_S_RANGE);
        assert_int_equal(vmap(bus, s, 1, 0x100000, 0x100000 + BUF_SIZE - 1, GPA, rw), VIRTIO_IOMMU_S_OK);
        assert_int_equal(get_u64(bus, s, I_SESSION, "MappedBytes"), BUF_SIZE);
        assert_int_equal(vunmap(bus, s, 1, 0, UINT64_MAX), VIRTIO_IOMMU_S_OK);
        assert_int_equal(get_u64(bus, s, I_SESSION, "MappedBytes"), 0);
        assert_int_equal(vdetach(bus, s, 1, 5), VIRTIO_IOMMU_S_OK);

        close_session(bus, s);
        sd_bus_flush_close_unref(bus);
}

/* ---- restarts ---------------------------------------------------------------- */

typedef struct Config {
        uint64_t features, page_mask, in_start, in_end;
        uint32_t dom_start, dom_end, probe_size;
} Config;

/* Field by field: the struct's padding is whatever the stack held. */
static void assert_config_equal(const Config *a, const Config *b) {
        assert_int_equal(a->features, b->features);
        assert_int_equal(a->page_mask, b->page_mask);
        assert_int_equal(a->in_start, b->in_start);
        assert_int_equal(a->in_end, b->in_end);
        assert_int_equal(a->dom_start, b->dom_start);
        assert_int_equal(a->dom_end, b->dom_end);
        assert_int_equal(a->probe_size, b->probe_size);
}

static Config config(sd_bus *bus, const char *s) {
        Config c;

        reply_take(CALL(bus, s, I_SESSION, "VirtioIommuConfig", NULL), "ttttuuu", &c.features, &c.page_mask,
                   &c.in_start, &c.in_end, &c.dom_start, &c.dom_end, &c.probe_size);
        return c;
}

/* A restart, then a kill -9 of the daemon: each time the session comes back
 * as Describe showed it, and the VMM's request queue goes on where it was.
 * The endpoint still answers PROBE, its domain is the same page table, a
 * mapping made before is unmapped by UNMAP, a new one maps, page requests
 * still become fault records (Linux 6.13 on), and the last DETACH ends the
 * domain. */
static void test_virtio_iommu_survives_restarts(void **state) {
        const uint64_t iova = MOCK_APERTURE_START, rw = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
        const bool faults = kernel_at_least(6, 13);
        sd_bus *bus = bus_open();
        _cleanup_close_ int memfd = memfd_new("virtio-ram", BUF_SIZE, 0x5a);
        _cleanup_free_ char *s = NULL, *dev = NULL, *domain = NULL;
        uint32_t objects;
        Config c;

        if (!mock_devices_work())
                skip();
        s = open_session(bus, true);
        dev = create_mock(bus, s, 0, NULL);
        CALL_OK(bus, s, I_SESSION, "AddMemory", "httt", memfd, UINT64_C(0), GPA, (uint64_t) BUF_SIZE);
        CALL_OK(bus, s, I_SESSION, "VirtioIommuAddEndpoint", "ou", dev, (uint32_t) 1);
        if (faults)
                CALL_OK(bus, s, I_SESSION, "VirtioIommuEnableFaults", NULL);
        objects = get_u32(bus, s, I_SESSION, "NObjects");
        assert_int_equal(vattach(bus, s, 7, 1, 0), VIRTIO_IOMMU_S_OK);
        domain = attached_to(bus, dev);
        assert_int_equal(vmap(bus, s, 7, iova, iova + 4 * PAGE - 1, GPA, rw), VIRTIO_IOMMU_S_OK);
        check_mapping(bus, s, dev, iova, 4 * PAGE, memfd, 0);
        c = config(bus, s);

        /* Each round maps 4 pages anew and unmaps those of the round before. */
        for (int crash = 0; crash <= 1; crash++) {
                _cleanup_free_ char *before = describe_session(bus, s), *after = NULL, *now = NULL;
                const uint64_t old = iova + crash * 16 * PAGE, new = old + 16 * PAGE;
                const uint64_t old_offset = crash * 8 * PAGE, new_offset = old_offset + 8 * PAGE;
                Config c2;

                restart_daemon(bus, crash);
                after = describe_session(bus, s);
                assert_non_null(after);
                assert_string_equal(before, after);
                now = attached_to(bus, dev);
                assert_string_equal(now, domain);
                c2 = config(bus, s);
                assert_config_equal(&c, &c2);
                /* The endpoint is known, and its device one already. */
                assert_int_equal(vprobe(bus, s, 1, PROBE_SIZE, NULL), VIRTIO_IOMMU_S_OK);
                CALL_FAILS(E_BUSY, bus, s, I_SESSION, "VirtioIommuAddEndpoint", "ou", dev, (uint32_t) 2);

                assert_int_equal(vmap(bus, s, 7, old, old + PAGE - 1, GPA, rw), VIRTIO_IOMMU_S_INVAL);
                assert_int_equal(vmap(bus, s, 7, new, new + 4 * PAGE - 1, GPA + new_offset, rw),
                                 VIRTIO_IOMMU_S_OK);
                check_mapping(bus, s, dev, new, 4 * PAGE, memfd, new_offset);
                check_mapping(bus, s, dev, old, 4 * PAGE, memfd, old_offset);
                assert_int_equal(vunmap(bus, s, 7, old, old + 4 * PAGE - 1), VIRTIO_IOMMU_S_OK);
                check_no_mapping(bus, s, dev, old, 4 * PAGE, memfd, old_offset);
                check_mapping(bus, s, dev, new, 4 * PAGE, memfd, new_offset);
                assert_int_equal(get_u64(bus, s, I_SESSION, "MappedBytes"), 4 * PAGE);

                if (faults)
                        expect_fault(bus, s, dev, bus, IOMMU_PGFAULT_PERM_READ, new + 8 * PAGE, 1,
                                     VIRTIO_IOMMU_FAULT_F_READ | VIRTIO_IOMMU_FAULT_F_ADDRESS);
        }

        /* The last DETACH ends the domain (and its HWPT): the objects as
         * before the ATTACH, the domain unknown. */
        assert_int_equal(vdetach(bus, s, 7, 1), VIRTIO_IOMMU_S_OK);
        assert_int_equal(get_u32(bus, s, I_SESSION, "NObjects"), objects);
        assert_int_equal(get_u64(bus, s, I_SESSION, "MappedBytes"), 0);
        assert_int_equal(vmap(bus, s, 7, iova, iova + PAGE - 1, GPA, rw), VIRTIO_IOMMU_S_NOENT);
        CALL_OK(bus, s, I_SESSION, "VirtioIommuRemoveEndpoint", "u", (uint32_t) 1);
        assert_int_equal(vprobe(bus, s, 1, PROBE_SIZE, NULL), VIRTIO_IOMMU_S_NOENT);

        close_session(bus, s);
        sd_bus_flush_close_unref(bus);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest virtio[] = {
                T(test_virtio_iommu_drives_the_kernel),
                T(test_virtio_iommu_refuses),
                T(test_virtio_iommu_on_frame_channel),
                T(test_virtio_iommu_fault_records),
        };
        const struct CMUnitTest owner[] = {
                cmocka_unit_test(test_virtio_iommu_owner),
        };
        const struct CMUnitTest vtd[] = {
                cmocka_unit_test(test_virtio_iommu_real_device),
        };
        const struct CMUnitTest restart[] = {
                cmocka_unit_test(test_virtio_iommu_survives_restarts),
        };
        const Group groups[] = { GROUP("virtio", virtio), GROUP("owner", owner), GROUP("vtd", vtd),
                                 GROUP("restart", restart) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
