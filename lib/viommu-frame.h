/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The frame channel of a viommud session (org.viommu1.Session's
 * OpenFrameChannel): a SOCK_SEQPACKET socket on which a VMM sends its hottest
 * calls as fixed binary frames instead of D-Bus messages, for the cost of a
 * socket round trip and the kernel call. One packet is one request, answered
 * by one packet, in the order sent. Host-local, so native byte order.
 *
 * A request is struct viommu_frame_request, then the op's arguments. The reply
 * is struct viommu_frame_reply with the request's cookie and op, then either
 * the op's result or, when error is 1, the error's D-Bus name and message,
 * each NUL-terminated: the same org.viommu1.Error.* names as the bus gives.
 * A request answered by an error changed nothing.
 * A packet longer than VIOMMU_FRAME_SIZE_MAX is refused unread. Only
 * IOAS_MAP carries a file descriptor (SCM_RIGHTS); a frame with any other,
 * or with more, is refused and its descriptors closed.
 *
 * The socket reaches its own session's objects alone: an object is named by
 * its Id (org.viommu1.Object.Id, the last element of its path), and an Id
 * the session does not hold is NoSuchObject, whoever holds it.
 */

#include <stdint.h>

#define VIOMMU_FRAME_SIZE_MAX 65536u

enum viommu_frame_op {
        /* No arguments, no result: the channel's round trip. */
        VIOMMU_FRAME_PING = 1,
        /* HWPT.Invalidate or VIOMMU.Invalidate of object: struct
         * viommu_frame_invalidate, then the entries. Result: value is how
         * many entries the kernel handled, and the payload why it stopped
         * there, NUL-terminated ("" when it handled all). */
        VIOMMU_FRAME_INVALIDATE = 2,
        /* Session.VirtioIommuRequest: the arguments are one virtio-iommu
         * request as <linux/virtio_iommu.h> lays it out, object 0. Result:
         * the device's reply, value bytes of it. An UNMAP over a leased
         * range is answered once the leases are released, or Busy; the
         * channel reads nothing meanwhile. */
        VIOMMU_FRAME_VIRTIO_IOMMU = 3,
        /* IOAS.Map of object, an IOAS: struct viommu_frame_map, and the
         * memfd as the packet's one SCM_RIGHTS descriptor. Result: the
         * IOVA mapped, a uint64_t. */
        VIOMMU_FRAME_IOAS_MAP = 4,
        /* IOAS.Unmap of object: struct viommu_frame_unmap. Result: the
         * bytes unmapped, a uint64_t. Over a leased range it is answered
         * once the leases are released, or Busy, as VIRTIO_IOMMU's UNMAP. */
        VIOMMU_FRAME_IOAS_UNMAP = 5,
};

struct viommu_frame_request {
        uint64_t cookie;        /* the caller's own, returned in the reply */
        uint32_t op;            /* enum viommu_frame_op */
        uint32_t object;        /* the Id of the object called; 0 for PING */
};

struct viommu_frame_invalidate {
        uint32_t data_type;     /* enum iommu_hwpt_invalidate_data_type or iommu_viommu_invalidate_data_type */
        uint32_t entry_len;     /* the size of one entry */
};

struct viommu_frame_map {
        uint64_t offset;        /* in the memfd */
        uint64_t length;
        uint64_t iova;          /* with IOMMU_IOAS_MAP_FIXED_IOVA */
        uint32_t flags;         /* IOMMU_IOAS_MAP_* */
        uint32_t reserved;      /* 0 */
};

struct viommu_frame_unmap {
        uint64_t iova;
        uint64_t length;
};

struct viommu_frame_reply {
        uint64_t cookie;
        uint32_t op;
        uint32_t error;         /* 1: the call failed; name and message follow */
        uint32_t value;
        uint32_t reserved;
};
