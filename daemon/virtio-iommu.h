/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A virtio-iommu device backend: the VMM forwards each request of the
 * device's request virtqueue, as <linux/virtio_iommu.h> lays it out, and
 * sends back the device-writable part that comes back. Endpoints are
 * devices of the session under ids the VMM gives them; a domain is an IOAS
 * made on its first ATTACH (the device attached to it, which gives it a
 * paging HWPT) and destroyed when its last endpoint leaves; MAP maps the
 * session's guest memory (guest-memory.h) at a fixed IOVA.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <linux/virtio_iommu.h>

#include "session.h"
#include "viommu-iommufd.h"

/* The properties buffer the device asks for: room for 21 RESV_MEM
 * properties, more reserved regions than any IOMMU group has. */
#define VIRTIO_IOMMU_PROBE_SIZE 512u
/* The most a request may be, well over any a driver lays out (a PROBE's
 * buffer is the largest part): a refused PROBE is answered as long as the
 * buffer given. */
#define VIRTIO_IOMMU_REQUEST_MAX (64u * 1024u)

/* A request as parse found it, host-endian. */
typedef struct VirtioIommuRequest {
        uint8_t type;
        uint32_t domain, endpoint, flags;
        uint64_t virt_start, virt_end, phys_start;
} VirtioIommuRequest;

/* Checks what a request says on its own (length, type, reserved fields,
 * flags, the range's shape): VIRTIO_IOMMU_S_OK or the status to answer.
 * *ret_reply_size is the size of the device-writable part, which ends in
 * the tail: probe_size + tail for a PROBE, the tail otherwise. */
uint8_t virtio_iommu_parse(const void *buf, size_t size, VirtioIommuRequest *ret, size_t *ret_reply_size);

/* The size of the reply to a request: what virtio_iommu_parse() says. */
size_t virtio_iommu_reply_size(const void *buf, size_t size);

/* Serves one request, its reply (the device-writable part, status in its
 * tail) written to reply: returns the reply's size, or -ENOBUFS, having
 * done nothing, if room is less than virtio_iommu_reply_size(). Every
 * refusal is a status, and a refused request changes nothing. */
ssize_t virtio_iommu_request(Session *s, const void *buf, size_t size, uint8_t *reply, size_t room);

/* For an UNMAP of a known domain that will unmap: its IOAS and the range,
 * which a lease may cover (lease_drain() before the request is served).
 * false for any other request. */
bool virtio_iommu_unmap_target(Session *s, const void *buf, size_t size, Object **ret_ioas, uint64_t ret_range[2]);

/* The device's config space and features, from what the session has. */
typedef struct VirtioIommuConfig {
        uint64_t features;      /* 1 << VIRTIO_IOMMU_F_* */
        struct virtio_iommu_config config;      /* little-endian, as the guest reads it */
} VirtioIommuConfig;
int virtio_iommu_config(Session *s, VirtioIommuConfig *ret);

/* Page requests to the VMM: domains made from now on are paging HWPTs on
 * their IOAS that report to a fault queue the daemon reads; each page
 * request becomes a fault record (emit_virtio_iommu_fault()) and is answered
 * Invalid. 1 if enabled now, 0 if it was already, or the kernel's error. */
int virtio_iommu_enable_faults(Session *s);
/* The fault record of a page request of endpoint's device. */
void virtio_iommu_fault_record(const struct iommu_hwpt_pgfault *f, uint32_t endpoint, struct virtio_iommu_fault *ret);

/* Endpoint ids of devices: -EEXIST if the id or the device has one already,
 * -ENOENT if the id is unknown, -EBUSY while it is attached to a domain. */
int virtio_iommu_add_endpoint(Session *s, Object *dev, uint32_t endpoint);
int virtio_iommu_remove_endpoint(Session *s, uint32_t endpoint);

/* The state as JSON, for the journal (journal_virtio_iommu()), and back:
 * endpoints, domains and the fault queue, each object by kernel id and
 * creation time. -EBADMSG for a state that does not fit. The fault queue's
 * fd comes back from the fd store (virtio_iommu_resume()). */
int virtio_iommu_to_json(Session *s, struct json_object **ret);
int virtio_iommu_from_json(Session *s, struct json_object *j);
/* The fault queue of enabled faults, if any; its fd, taken over from the fd
 * store where enabling put it, is the daemon's again, read as before. */
Object *virtio_iommu_fault_queue(Session *s);
int virtio_iommu_resume(Session *s, int fault_fd);

/* Forgets endpoints and domains (the objects go with the session) and closes
 * the fault queue's fd; with forget_store, takes it out of the fd store. */
void virtio_iommu_free(Session *s, bool forget_store);
