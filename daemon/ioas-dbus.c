/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.viommu1.IOAS: an I/O address space and the guest memory mapped into it,
 * /org/viommu1/session/N/ioas/ID. Guest memory comes as a file descriptor
 * (a memfd): IOMMU_IOAS_MAP takes an address in the caller, and the caller
 * here is another process.
 */

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "bus-errors.h"
#include "bus-signals.h"
#include "bus-util.h"
#include "caller-uid.h"
#include "device.h"
#include "guest-memory.h"
#include "ioas.h"
#include "ioas-dbus.h"
#include "lease.h"
#include "mapping-index.h"
#include "memory-fd.h"
#include "util.h"
#include "viommu-topology.h"

#define MAP_FLAGS (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)
#define PAGE_MASK_4K UINT64_C(0xfff)
/* The kernel's own bound is larger; this many ranges is plenty for any
 * guest's layout and bounds what one call may make the daemon read. */
#define ALLOW_IOVAS_MAX 4096
/* MapBatch: entries and fds per call. A guest's page-by-page shadowing
 * sends hundreds at a time; a message of this many stays far below the
 * bus's size limits. */
#define MAP_BATCH_MAX 4096u
#define MAP_BATCH_FDS_MAX 256
#define MAP_BATCH_ALL_OR_NOTHING 1u
/* ReadIOVA and WriteIOVA: bytes per call. Bounds the daemon's time per call
 * (it serves one at a time) and the message. */
#define DMA_MAX (1024u * 1024u)

/* An entry of MapBatch as it travels, five of its "at" array. */
typedef struct MapBatchEntry {
        uint64_t index, offset, length, iova, flags;
} MapBatchEntry;

/* A range of 4 KiB pages, not empty, within 64 bits. */
static bool range_is_pages(uint64_t start, uint64_t length) {
        return length > 0 && !((start | length) & PAGE_MASK_4K) && start + length - 1 >= start;
}

/* What Map, MapGuest and each entry of their batches check before the
 * kernel sees them; offset is the guest-physical address for guest memory. */
static int check_map_request(uint64_t offset, uint64_t length, uint64_t iova, uint32_t flags, sd_bus_error *error) {
        if (flags & ~(uint32_t) MAP_FLAGS)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Unknown map flags 0x%x (known: 1 fixed IOVA, 2 writeable, 4 readable)", flags);
        if (!(flags & (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A mapping must be readable, writeable or both");
        if (!range_is_pages(offset, length) || ((flags & IOMMU_IOAS_MAP_FIXED_IOVA) && !range_is_pages(iova, length)))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Offset, length and a fixed IOVA must be 4 KiB aligned, the length "
                                         "not zero and the ranges within 64 bits");
        return 0;
}

static int check_map_args(const MemoryFd *mfd, uint64_t offset, uint64_t length, uint64_t iova,
                          uint32_t flags, sd_bus_error *error) {
        int r = check_map_request(offset, length, iova, flags, error);

        return r < 0 ? r : memory_fd_check_range(mfd, offset, length, flags, error);
}

/* The guest memory region that holds [gpa, gpa+length), already checked to
 * be pages within 64 bits. */
static int check_guest_range(Session *s, uint64_t gpa, uint64_t length, const GuestRegion **ret,
                             sd_bus_error *error) {
        const GuestRegion *g = guest_memory_at(s, gpa);

        if (!g)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT,
                                         "No guest memory at guest-physical 0x%llx (Session.AddMemory)",
                                         (unsigned long long) gpa);
        if (gpa + (length - 1) > g->gpa + (g->size - 1))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Guest-physical 0x%llx+0x%llx runs past the end of region %u "
                                         "(0x%llx+0x%llx): a mapping lies within one region",
                                         (unsigned long long) gpa, (unsigned long long) length, g->id,
                                         (unsigned long long) g->gpa, (unsigned long long) g->size);
        *ret = g;
        return 0;
}

/* The error a failed map gets: which range, and what the kernel said. */
static int map_error(Session *s, sd_bus_error *error, int r, uint64_t iova, uint64_t length) {
        if (r == -EEXIST || r == -EADDRINUSE || r == -ENOSPC)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "IOVA range 0x%llx+0x%llx is taken, reserved or not available",
                                         (unsigned long long) iova, (unsigned long long) length);
        return bus_error_kernel(error, r,
                                viommu_features_has(s->daemon->features, VIOMMU_FEATURE_IOAS_MAP_FILE) ?
                                "IOMMU_IOAS_MAP_FILE" : "IOMMU_IOAS_MAP");
}

int ioas_map_call(Object *ioas, int fd, uint64_t offset, uint64_t length, uint32_t flags, uint64_t *iova,
                  sd_bus_error *error) {
        Session *s = ioas->session;
        MemoryFd mfd;
        int r;

        r = memory_fd_inspect(fd, &mfd, error);
        if (r < 0)
                return r;
        r = check_map_args(&mfd, offset, length, *iova, flags, error);
        if (r < 0)
                return r;
        r = auth_check_limit(s->daemon, s, CONFIG_LIMIT_PINNED_BYTES, length, error);
        if (r < 0)
                return r;

        r = ioas_map(ioas, fd, offset, length, flags, iova);
        if (r < 0)
                return map_error(s, error, r, *iova, length);
        emit_mapped_bytes(ioas);
        return 0;
}

OBJECT_METHOD(method_map, ioas) {
        uint64_t offset, length, iova;
        uint32_t flags;
        int fd, r;

        r = sd_bus_message_read(m, "htttu", &fd, &offset, &length, &iova, &flags);
        if (r < 0)
                return r;
        r = ioas_map_call(ioas, fd, offset, length, flags, &iova, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "t", iova);
}

/* Prefixes the error of element i of an array ("Entry", "Memory fd") with
 * what it is and its number. */
static int element_error(sd_bus_error *error, const char *what, size_t i, int r) {
        _cleanup_free_ char *name = strdup(error->name ?: VIOMMU_ERROR_FAILED), *message = NULL;

        if (!name || asprintf(&message, "%s %zu: %s", what, i, error->message ?: "refused") < 0)
                return r;
        sd_bus_error_free(error);
        sd_bus_error_set(error, name, message);
        return r;
}

/* A batch's entries, each entry_size bytes of numbers in one array of a
 * fixed-size type: read in place, where an array of structs costs thousands
 * of instructions an entry to take apart, on both ends. *ret_entries gets
 * room for as many mappings. */
static int read_batch_entries(sd_bus_message *m, size_t entry_size, const char *layout, const void **ret_words,
                              size_t *ret_n, IoasMapEntry **ret_entries, sd_bus_error *error) {
        size_t size, n;
        int r;

        r = sd_bus_message_read_array(m, 't', ret_words, &size);
        if (r < 0)
                return r;
        if (size % entry_size != 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Entries are %s", layout);
        n = size / entry_size;
        if (n > MAP_BATCH_MAX)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "At most %u entries", MAP_BATCH_MAX);
        *ret_entries = calloc(MAX(n, 1u), sizeof(IoasMapEntry));
        if (!*ret_entries)
                return -ENOMEM;
        *ret_n = n;
        return 0;
}

/* Both batches once their entries are read and checked: the flags, the
 * limit, the maps, the reply. */
static int map_batch_finish(sd_bus_message *m, Object *ioas, const IoasMapEntry *entries, size_t n, uint64_t total,
                            sd_bus_error *error) {
        Session *s = ioas->session;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ uint64_t *iovas = NULL;
        size_t done = 0;
        uint32_t flags;
        int r, mapped;

        iovas = calloc(MAX(n, 1u), sizeof(uint64_t));
        if (!iovas)
                return -ENOMEM;
        r = sd_bus_message_read(m, "u", &flags);
        if (r < 0)
                return r;
        if (flags & ~(uint32_t) MAP_BATCH_ALL_OR_NOTHING)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Unknown batch flags 0x%x (known: 1 all or nothing)", flags);
        r = auth_check_limit(s->daemon, s, CONFIG_LIMIT_PINNED_BYTES, total, error);
        if (r < 0)
                return r;

        mapped = ioas_map_batch(ioas, entries, n, flags & MAP_BATCH_ALL_OR_NOTHING, iovas, &done);
        if (mapped < 0 && (flags & MAP_BATCH_ALL_OR_NOTHING))
                return element_error(error, "Entry", done, map_error(s, error, mapped, entries[done].iova,
                                                          entries[done].length));
        if (done > 0)
                emit_mapped_bytes(ioas);

        /* Without all-or-nothing a batch may stop part way, as Invalidate
         * does: what was mapped stays, and the reply says where it stopped. */
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "us", (uint32_t) done,
                                          mapped < 0 ? strerrorname_np(-mapped) ?: "EIO" : "");
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 't', iovas, done * sizeof(uint64_t));
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

OBJECT_METHOD(method_map_batch, ioas) {
        _cleanup_free_ IoasMapEntry *entries = NULL;
        MemoryFd fds[MAP_BATCH_FDS_MAX];
        const MapBatchEntry *words;
        size_t n_fds = 0, n;
        uint64_t total = 0;
        int r, fd;

        r = sd_bus_message_enter_container(m, 'a', "h");
        if (r < 0)
                return r;
        while ((r = bus_array_more(m, n_fds, MAP_BATCH_FDS_MAX, "memory fds", error)) > 0) {
                r = sd_bus_message_read(m, "h", &fd);
                if (r < 0)
                        return r;
                r = memory_fd_inspect(fd, &fds[n_fds], error);
                if (r < 0)
                        return element_error(error, "Memory fd", n_fds, r);
                n_fds++;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        r = read_batch_entries(m, sizeof(MapBatchEntry),
                               "five numbers each: memory fd index, offset, length, IOVA, map flags",
                               (const void **) &words, &n, &entries, error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const MapBatchEntry *w = &words[i];
                IoasMapEntry *e = &entries[i];

                if (w->index >= n_fds)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                                 "Entry %zu: memory fd %llu of %zu", i,
                                                 (unsigned long long) w->index, n_fds);
                if (w->flags > UINT32_MAX)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                                 "Entry %zu: unknown map flags 0x%llx", i,
                                                 (unsigned long long) w->flags);
                *e = (IoasMapEntry) {
                        .fd = fds[w->index].fd,
                        .offset = w->offset,
                        .length = w->length,
                        .iova = w->iova,
                        .flags = (uint32_t) w->flags,
                };
                r = check_map_args(&fds[w->index], e->offset, e->length, e->iova, e->flags, error);
                if (r < 0)
                        return element_error(error, "Entry", i, r);
                if (total + e->length < total)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "The entries map more than 2^64 bytes");
                total += e->length;
        }
        return map_batch_finish(m, ioas, entries, n, total, error);
}

OBJECT_METHOD(method_map_guest, ioas) {
        Session *s = ioas->session;
        const GuestRegion *g;
        uint64_t iova, gpa, length;
        uint32_t flags;
        int r;

        r = sd_bus_message_read(m, "tttu", &iova, &gpa, &length, &flags);
        if (r < 0)
                return r;
        r = check_map_request(gpa, length, iova, flags, error);
        if (r >= 0)
                r = check_guest_range(s, gpa, length, &g, error);
        if (r >= 0)
                r = auth_check_limit(s->daemon, s, CONFIG_LIMIT_PINNED_BYTES, length, error);
        if (r < 0)
                return r;

        r = ioas_map_guest(ioas, g, gpa, length, flags, &iova);
        if (r < 0)
                return map_error(s, error, r, iova, length);
        emit_mapped_bytes(ioas);
        return sd_bus_reply_method_return(m, "t", iova);
}

/* An entry of MapGuestBatch as it travels, four of its "at" array. */
typedef struct MapGuestBatchEntry {
        uint64_t iova, gpa, length, flags;
} MapGuestBatchEntry;

OBJECT_METHOD(method_map_guest_batch, ioas) {
        Session *s = ioas->session;
        _cleanup_free_ IoasMapEntry *entries = NULL;
        const MapGuestBatchEntry *words;
        uint64_t total = 0;
        size_t n;
        int r;

        r = read_batch_entries(m, sizeof(MapGuestBatchEntry),
                               "four numbers each: IOVA, guest-physical address, length, map flags",
                               (const void **) &words, &n, &entries, error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const MapGuestBatchEntry *w = &words[i];
                const GuestRegion *g;

                if (w->flags > UINT32_MAX)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                                 "Entry %zu: unknown map flags 0x%llx", i,
                                                 (unsigned long long) w->flags);
                r = check_map_request(w->gpa, w->length, w->iova, (uint32_t) w->flags, error);
                if (r >= 0)
                        r = check_guest_range(s, w->gpa, w->length, &g, error);
                if (r < 0)
                        return element_error(error, "Entry", i, r);
                entries[i] = (IoasMapEntry) {
                        .fd = g->fd,
                        .offset = g->offset + (w->gpa - g->gpa),
                        .length = w->length,
                        .iova = w->iova,
                        .flags = (uint32_t) w->flags,
                        .region = g,
                };
                if (total + w->length < total)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "The entries map more than 2^64 bytes");
                total += w->length;
        }
        return map_batch_finish(m, ioas, entries, n, total, error);
}

/* The error of a DMA call refused at iova. */
static int dma_error(sd_bus_error *error, int r, uint64_t iova, bool write) {
        switch (r) {
        case -EFAULT:
                return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_MAPPED, "IOVA 0x%llx is not mapped",
                                         (unsigned long long) iova);
        case -EACCES:
                return sd_bus_error_setf(error, VIOMMU_ERROR_PERMISSION_DENIED, "IOVA 0x%llx is not mapped %s",
                                         (unsigned long long) iova, write ? "writeable" : "readable");
        case -EOPNOTSUPP:
                return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_SUPPORTED,
                                         "IOVA 0x%llx is mapped from a memory fd, not from guest memory: the "
                                         "daemon keeps no fd to reach it (map with MapGuest)",
                                         (unsigned long long) iova);
        case -EPERM:
                return sd_bus_error_setf(error, VIOMMU_ERROR_PERMISSION_DENIED,
                                         "The guest memory at IOVA 0x%llx is sealed against this write "
                                         "(F_SEAL_WRITE, F_SEAL_FUTURE_WRITE or F_SEAL_GROW on its memfd)",
                                         (unsigned long long) iova);
        default:
                return bus_error_errno(error, r, "Cannot %s guest memory at IOVA 0x%llx: %m",
                                       write ? "write" : "read", (unsigned long long) iova);
        }
}

static int check_dma_range(uint64_t iova, size_t length, sd_bus_error *error) {
        if (length == 0 || length > DMA_MAX || iova + (length - 1) < iova)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A DMA is 1 to %u bytes, within 64 bits", DMA_MAX);
        return 0;
}

OBJECT_METHOD(method_read_iova, ioas) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t iova, at;
        uint32_t length;
        void *buf;
        int r;

        r = sd_bus_message_read(m, "tu", &iova, &length);
        if (r < 0)
                return r;
        r = check_dma_range(iova, length, error);
        if (r < 0)
                return r;

        /* Read straight into the reply. */
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append_array_space(reply, 'y', length, &buf);
        if (r < 0)
                return r;
        r = ioas_dma(ioas, iova, buf, length, false, &at);
        if (r < 0)
                return dma_error(error, r, at, false);
        return sd_bus_send(NULL, reply, NULL);
}

OBJECT_METHOD(method_write_iova, ioas) {
        const void *data;
        uint64_t iova, at;
        size_t length;
        int r;

        r = sd_bus_message_read(m, "t", &iova);
        if (r < 0)
                return r;
        /* The array stays in the message, where it arrived: nothing is
         * copied before its size is checked. */
        r = sd_bus_message_read_array(m, 'y', &data, &length);
        if (r < 0)
                return r;
        r = check_dma_range(iova, length, error);
        if (r < 0)
                return r;

        r = ioas_dma(ioas, iova, (void *) data, length, true, &at);
        if (r < 0)
                return dma_error(error, r, at, true);
        return sd_bus_reply_method_return(m, NULL);
}

OBJECT_METHOD(method_take_lease, ioas) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t iova, length, offset, at;
        uint32_t flags, need, id;
        GuestRegion *g;
        Lease *l;
        int r;

        r = sd_bus_message_read(m, "ttu", &iova, &length, &flags);
        if (r < 0)
                return r;
        if ((flags & ~(LEASE_READ | LEASE_WRITE)) || flags == 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Unknown lease flags 0x%x (known: 1 read, 2 write; one at least)", flags);
        if (length == 0 || iova + (length - 1) < iova)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A lease covers 1 byte or more, within 64 bits");
        /* The holder's pid, for when it keeps a drain waiting: asked of the
         * bus now, while the call may wait for it, not then. On a direct
         * channel the channel is the holder. */
        if (sd_bus_message_get_bus(m) == ioas->session->daemon->bus) {
                uid_t uid;

                r = caller_uid(ioas->session->daemon, m, &uid, error);
                if (r < 0)
                        return r;
        }
        need = (flags & LEASE_READ ? IOMMU_IOAS_MAP_READABLE : 0) | (flags & LEASE_WRITE ? IOMMU_IOAS_MAP_WRITEABLE : 0);
        r = ioas_translate(ioas, iova, length, need, &g, &offset, &at);
        if (r == -EXDEV)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_SUPPORTED,
                                         "IOVA 0x%llx is another piece of guest memory than 0x%llx: a lease covers "
                                         "one contiguous piece of one region, take one per piece",
                                         (unsigned long long) at, (unsigned long long) iova);
        if (r == -EACCES)
                return dma_error(error, r, at, (flags & LEASE_WRITE) &&
                                               !(ioas_lookup(ioas, at)->flags & IOMMU_IOAS_MAP_WRITEABLE));
        if (r < 0)
                return dma_error(error, r, at, flags & LEASE_WRITE);
        r = auth_check_limit(ioas->session->daemon, ioas->session, CONFIG_LIMIT_LEASES, 1, error);
        if (r < 0)
                return r;
        l = lease_overlapping(ioas, iova, length);
        if (l && lease_draining(l))
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "An Unmap waits for lease %u over this range to be released",
                                         lease_id(l));
        /* The holder reaches only what the lease allows: a read lease gets
         * a read-only description of the memfd. */
        fd = memfd_reopen(g->fd, flags & LEASE_WRITE ? O_RDWR : O_RDONLY);
        if (fd < 0)
                return bus_error_errno(error, fd, "Cannot open guest memory region %u: %m", g->id);

        r = lease_take(ioas, m, iova, length, flags, offset, &id);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "htu", fd, offset, id);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                (void) lease_release(ioas, id);
        return r;
}

OBJECT_METHOD(method_release_lease, ioas) {
        uint32_t id;
        int r;

        r = sd_bus_message_read(m, "u", &id);
        if (r < 0)
                return r;
        r = lease_release(ioas, id);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT, "No lease %u on %s", id, ioas->path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, NULL);
}

int ioas_unmap_call(Object *ioas, sd_bus_message *m, FrameChannel *frame, uint64_t iova, uint64_t length,
                    uint64_t *ret_unmapped, sd_bus_error *error) {
        bool all;
        int r;

        all = iova == 0 && length == UINT64_MAX;
        if (length == 0 || (!all && iova + length - 1 < iova))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The range must not be empty nor wrap (0, 2^64-1 unmaps all)");
        /* An Unmap that will be refused waits for no lease. */
        if (ioas_range_removable(ioas->ioas.mappings, iova, length)) {
                const uint64_t range[1][2] = { { iova, length } };

                r = m ? lease_drain(ioas, m, range, 1, error) : lease_drain_frame(ioas, frame, range, 1, error);
                if (r < 0)
                        return r;
        } else
                lease_drain_forget(ioas->session, m, frame);

        r = ioas_unmap(ioas, iova, length, ret_unmapped);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT,
                                         "Nothing is mapped at 0x%llx+0x%llx", (unsigned long long) iova,
                                         (unsigned long long) length);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "0x%llx+0x%llx cuts through a mapping; unmap whole mappings",
                                         (unsigned long long) iova, (unsigned long long) length);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_IOAS_UNMAP");
        emit_mapped_bytes(ioas);
        return 0;
}

OBJECT_METHOD(method_unmap, ioas) {
        uint64_t iova, length, unmapped;
        int r;

        r = sd_bus_message_read(m, "tt", &iova, &length);
        if (r < 0)
                return r;
        r = ioas_unmap_call(ioas, m, NULL, iova, length, &unmapped, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "t", unmapped);
}

OBJECT_METHOD(method_unmap_batch, ioas) {
        const uint64_t (*ranges)[2];
        uint64_t unmapped = 0;
        size_t n, n_drained, size, done = 0;
        int r;

        /* Two numbers a range, read in place as MapBatch's entries are. */
        r = sd_bus_message_read_array(m, 't', (const void **) &ranges, &size);
        if (r < 0)
                return r;
        if (size % sizeof(*ranges) != 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Ranges are two numbers each: IOVA and length");
        n = size / sizeof(*ranges);
        if (n > MAP_BATCH_MAX)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "At most %u ranges", MAP_BATCH_MAX);
        for (size_t i = 0; i < n; i++)
                if (ranges[i][1] == 0 || ranges[i][0] + ranges[i][1] - 1 < ranges[i][0])
                        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                                 "Entry %zu: a range must not be empty nor wrap", i);
        /* Only what the batch will take off waits for leases: it stops at
         * the first range that the record refuses. */
        for (n_drained = 0; n_drained < n; n_drained++)
                if (!ioas_range_removable(ioas->ioas.mappings, ranges[n_drained][0], ranges[n_drained][1]))
                        break;
        if (n_drained > 0)
                r = lease_drain(ioas, m, ranges, n_drained, error);
        else {
                lease_drain_forget(ioas->session, m, NULL);
                r = 0;
        }
        if (r < 0)
                return r;

        /* As Invalidate: what went stays gone, and the reply says where the
         * batch stopped and why (ENOENT: nothing there, EINVAL: a range
         * that cuts a mapping). */
        r = ioas_unmap_batch(ioas, ranges, n, &done, &unmapped);
        if (done > 0)
                emit_mapped_bytes(ioas);
        return sd_bus_reply_method_return(m, "ust", (uint32_t) done, r < 0 ? strerrorname_np(-r) ?: "EIO" : "",
                                          unmapped);
}

OBJECT_METHOD(method_copy, dst) {
        Object *src;
        Session *s = dst->session;
        uint64_t src_iova, length, dst_iova;
        uint32_t flags;
        int r;

        r = session_read_object_arg(s, m, ARG_IOAS, &src, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "tttu", &src_iova, &length, &dst_iova, &flags);
        if (r < 0)
                return r;
        if (flags & ~(uint32_t) MAP_FLAGS)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Unknown map flags 0x%x", flags);
        if (!(flags & (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A mapping must be readable, writeable or both");
        if (!range_is_pages(src_iova, length) ||
            ((flags & IOMMU_IOAS_MAP_FIXED_IOVA) && !range_is_pages(dst_iova, length)))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The source range and a fixed IOVA must be 4 KiB aligned, the length "
                                         "not zero and the ranges within 64 bits");
        r = auth_check_limit(s->daemon, s, CONFIG_LIMIT_PINNED_BYTES, length, error);
        if (r < 0)
                return r;

        r = ioas_copy(dst, src, src_iova, length, flags, &dst_iova);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT,
                                         "0x%llx+0x%llx is not wholly mapped in %s", (unsigned long long) src_iova,
                                         (unsigned long long) length, src->path);
        if (r == -EEXIST || r == -EADDRINUSE || r == -ENOSPC)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "IOVA range 0x%llx+0x%llx is taken, reserved or not available",
                                         (unsigned long long) dst_iova, (unsigned long long) length);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_IOAS_COPY");
        emit_mapped_bytes(dst);
        return sd_bus_reply_method_return(m, "t", dst_iova);
}

OBJECT_METHOD(method_get_iova_ranges, ioas) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ struct iommu_iova_range *ranges = NULL;
        size_t n = 0;
        uint64_t alignment = 0;
        int r;

        r = ioas_iova_ranges(ioas, &ranges, &n, &alignment);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_IOAS_IOVA_RANGES");

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(tt)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(tt)", (uint64_t) ranges[i].start, (uint64_t) ranges[i].last);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "t", alignment);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

OBJECT_METHOD(method_allow_iovas, ioas) {
        _cleanup_free_ struct iommu_iova_range *ranges = NULL;
        size_t n = 0;
        uint64_t start, last;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(tt)");
        if (r < 0)
                return r;
        ranges = calloc(ALLOW_IOVAS_MAX, sizeof(*ranges));
        if (!ranges)
                return -ENOMEM;
        while ((r = bus_array_more(m, n, ALLOW_IOVAS_MAX, "ranges", error)) > 0) {
                r = sd_bus_message_read(m, "(tt)", &start, &last);
                if (r < 0)
                        return r;
                if (start > last)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                                 "Range 0x%llx-0x%llx ends before it starts",
                                                 (unsigned long long) start, (unsigned long long) last);
                ranges[n++] = (struct iommu_iova_range) { .start = start, .last = last };
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        r = ioas_allow_iovas(ioas, ranges, n);
        if (r == -EADDRINUSE)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "The ranges overlap IOVAs reserved by an attached device");
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_IOAS_ALLOW_IOVAS");
        return sd_bus_reply_method_return(m, NULL);
}

/* A device whose DMA goes through this IOAS, directly or under a HWPT. */
static bool device_uses_ioas(Object *dev, Object *ioas) {
        for (Object *pt = dev->device.attached; pt;
             pt = IN_SET(pt->type, OBJECT_HWPT, OBJECT_VIOMMU) ? pt->uses[0] : NULL)
                if (pt == ioas)
                        return true;
        return false;
}

OBJECT_METHOD(method_get_reserved_regions, ioas) {
        Session *s = ioas->session;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const struct viommu_topology *t;
        int r;

        r = daemon_topology(s->daemon, &t);
        if (r < 0)
                return bus_error_kernel(error, r, "Reading the IOMMU topology");

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ttss)");
        if (r < 0)
                return r;
        for (Object *o = s->objects; o; o = o->objects_next) {
                const struct viommu_topology_device *dev;
                const struct viommu_topology_group *g;

                if (o->type != OBJECT_DEVICE || device_is_mock(o) || !device_uses_ioas(o, ioas))
                        continue;
                if (viommu_topology_find_device(t, NULL, o->device.name, &dev) < 0 || dev->iommu_group < 0 ||
                    viommu_topology_find_group(t, dev->iommu_group, &g) < 0)
                        continue;
                for (size_t i = 0; i < g->n_regions; i++) {
                        r = sd_bus_message_append(reply, "(ttss)", g->regions[i].start, g->regions[i].end,
                                                  viommu_region_type_to_string(g->regions[i].type), o->device.name);
                        if (r < 0)
                                return r;
                }
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

OBJECT_METHOD(method_lookup_iova, ioas) {
        const struct viommu_mapping *mp;
        uint64_t iova;
        int r;

        r = sd_bus_message_read(m, "t", &iova);
        if (r < 0)
                return r;
        mp = ioas_lookup(ioas, iova);
        if (!mp)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT, "Nothing is mapped at IOVA 0x%llx",
                                         (unsigned long long) iova);
        return sd_bus_reply_method_return(m, "tttu", mp->iova, mp->length, mp->offset, mp->flags);
}

static int property_get_mapped(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Object *ioas = userdata;

        if (streq(property, "Mappings"))
                return sd_bus_message_append(reply, "u", (uint32_t) viommu_mapping_index_count(ioas->ioas.mappings));
        return sd_bus_message_append(reply, "t", viommu_mapping_index_bytes(ioas->ioas.mappings));
}

const sd_bus_vtable ioas_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("MappedBytes", "t", property_get_mapped, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Mappings", "u", property_get_mapped, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Map",
                                SD_BUS_ARGS("h", memfd, "t", offset, "t", length, "t", iova, "u", flags),
                                SD_BUS_RESULT("t", iova),
                                method_map, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("MapGuest",
                                SD_BUS_ARGS("t", iova, "t", gpa, "t", length, "u", flags),
                                SD_BUS_RESULT("t", iova),
                                method_map_guest, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("MapGuestBatch",
                                SD_BUS_ARGS("at", entries, "u", flags),
                                SD_BUS_RESULT("u", mapped, "s", error, "at", iovas),
                                method_map_guest_batch, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReadIOVA",
                                SD_BUS_ARGS("t", iova, "u", length),
                                SD_BUS_RESULT("ay", data),
                                method_read_iova, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("WriteIOVA",
                                SD_BUS_ARGS("t", iova, "ay", data),
                                SD_BUS_NO_RESULT,
                                method_write_iova, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("TakeLease",
                                SD_BUS_ARGS("t", iova, "t", length, "u", flags),
                                SD_BUS_RESULT("h", memfd, "t", offset, "u", id),
                                method_take_lease, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReleaseLease",
                                SD_BUS_ARGS("u", id),
                                SD_BUS_NO_RESULT,
                                method_release_lease, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Unmap",
                                SD_BUS_ARGS("t", iova, "t", length),
                                SD_BUS_RESULT("t", unmapped),
                                method_unmap, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("MapBatch",
                                SD_BUS_ARGS("ah", memfds, "at", entries, "u", flags),
                                SD_BUS_RESULT("u", mapped, "s", error, "at", iovas),
                                method_map_batch, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UnmapBatch",
                                SD_BUS_ARGS("at", ranges),
                                SD_BUS_RESULT("u", done, "s", error, "t", unmapped),
                                method_unmap_batch, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Copy",
                                SD_BUS_ARGS("o", source, "t", source_iova, "t", length, "t", iova, "u", flags),
                                SD_BUS_RESULT("t", iova),
                                method_copy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetIOVARanges",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(tt)", ranges, "t", alignment),
                                method_get_iova_ranges, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AllowIOVAs",
                                SD_BUS_ARGS("a(tt)", ranges),
                                SD_BUS_NO_RESULT,
                                method_allow_iovas, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetReservedRegions",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ttss)", regions),
                                method_get_reserved_regions, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LookupIOVA",
                                SD_BUS_ARGS("t", iova),
                                SD_BUS_RESULT("t", iova, "t", length, "t", offset, "u", flags),
                                method_lookup_iova, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("LeaseRevoked",
                                SD_BUS_ARGS("u", id, "t", iova, "t", length),
                                0),
        SD_BUS_VTABLE_END
};
