/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The journal's layout in its memfd (journal.h), shared by its writer and
 * its reader. Numbers are the host's: the memfd never leaves the machine.
 *
 *   header, then entries, each: struct journal_entry, then size bytes of
 *   payload, then zeros up to a multiple of 8.
 *
 * An entry's crc is CRC-32C over the entry header (crc taken as 0) and the
 * payload. The memfd is longer than what it holds and reads as zeros past
 * the end: the first entry of type 0 ends the journal.
 */

#include <stddef.h>
#include <stdint.h>

#define JOURNAL_MAGIC "VIOMMUJ"
/* 2: guest memory regions (J_REGION, J_REGION_GONE); a J_MAP without a
 * backing length holds a region's backing. 3: the virtio-iommu backend's
 * state (J_VIRTIO_IOMMU). 4: the test driver's counters left J_COUNTERS and
 * the session's record; a mock device keeps what it needs in its own record.
 * The reader takes 1 to 3 as well. */
#define JOURNAL_VERSION 4

struct journal_header {
        char magic[8];
        uint32_t version;
        uint32_t session;
        uint64_t generation;
};

struct journal_entry {
        uint32_t crc;
        uint32_t type;
        uint64_t size;
};

enum {
        /* The snapshot, in this order: */
        J_RECORD = 1,   /* the session's record (record.c), as JSON */
        J_BACKINGS,     /* uint64_t length of each backing slot, 0 for a free one or a region's */
        J_MAPPINGS,     /* uint32_t IOAS id, then its mapping index's compact encoding */
        /* Changes: */
        J_OBJECT,       /* an object's record as JSON: a new object, or a device's attachments */
        J_FORGET,       /* the path of an object that is gone */
        J_COUNTERS,     /* struct journal_counters */
        J_MAP,          /* struct journal_map */
        J_UNMAP,        /* struct journal_unmap */
        J_COPY,         /* struct journal_copy */
        J_INTENT,       /* struct journal_intent, then the object's path */
        J_DONE,         /* closes the open intent */
        /* Guest memory; in the snapshot too, after J_BACKINGS: */
        J_REGION,       /* struct journal_region: a region added */
        J_REGION_GONE,  /* struct journal_region_gone: a region removed */
        /* The virtio-iommu backend; in the snapshot too, last: */
        J_VIRTIO_IOMMU, /* its whole state as JSON (virtio_iommu_to_json()) */
        _J_MAX,
};

struct journal_counters {
        uint32_t unused0;       /* the test driver's before version 4, as unused2 */
        uint32_t next_unbound;
        uint32_t unused2, reserved;
};

struct journal_map {
        uint32_t ioas, backing;
        uint64_t iova, length, offset;
        uint32_t flags, reserved;
        uint64_t backing_length;        /* of the new backing, when there is one */
};

struct journal_unmap {
        uint32_t ioas, reserved;
        uint64_t iova, length;
};

struct journal_copy {
        uint32_t dst, src;
        uint64_t src_iova, length, dst_iova;
        uint32_t flags, reserved;
};

struct journal_region {
        uint32_t id, backing;
        uint64_t gpa, size, offset;
};

struct journal_region_gone {
        uint32_t id, reserved;
};

struct journal_intent {
        uint32_t op, flags, pasid, target;
        uint64_t iova, length;
};

#define JOURNAL_ALIGN(n) (((n) + 7) & ~(size_t) 7)

uint32_t journal_crc(uint32_t crc, const void *data, size_t size);
