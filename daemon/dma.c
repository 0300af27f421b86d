/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMA of an emulated device, done by the daemon that owns the mappings:
 * IOVA to guest memory through the mapping index, then pread()/pwrite() on
 * the region's memfd. The daemon is single-threaded and serves one call at a
 * time, so a copy is atomic with respect to Unmap: it reads or writes the
 * memory that was mapped when the call was served, and an Unmap served
 * after it returns has nothing in flight to wait for.
 */

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest-memory.h"
#include "ioas.h"
#include "mapping-index.h"
#include "util.h"

/* Copies n bytes at offset of the memfd; -EIO if it ends first (its owner
 * shrank it). */
static int copy_memfd(int fd, uint8_t *buf, size_t n, uint64_t offset, bool write) {
        while (n > 0) {
                ssize_t k = write ? pwrite(fd, buf, n, offset) : pread(fd, buf, n, offset);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EIO;
                buf += k;
                n -= k;
                offset += k;
        }
        return 0;
}

/* The mapping at pos with the access need, and the guest memory it maps:
 * -EFAULT, -EACCES, -EOPNOTSUPP as ioas_dma() says. */
static int dma_mapping_at(Object *ioas, uint64_t pos, uint32_t need, const struct viommu_mapping **ret_mapping,
                          GuestRegion **ret_region) {
        const struct viommu_mapping *mp = ioas_lookup(ioas, pos);
        GuestRegion *g;

        if (!mp)
                return -EFAULT;
        if ((mp->flags & need) != need)
                return -EACCES;
        g = mp->backing == VIOMMU_MAPPING_NO_BACKING ? NULL : guest_memory_of_backing(ioas->session, mp->backing);
        if (!g || g->fd < 0)
                return -EOPNOTSUPP;
        *ret_mapping = mp;
        *ret_region = g;
        return 0;
}

/* Whether n bytes at offset of the region can be written: its owner may
 * have sealed the memfd since AddMemory, and a write refused halfway would
 * leave the bytes before it written. */
static int dma_check_writable(const GuestRegion *g, uint64_t offset, uint64_t n) {
        struct stat st;
        int seals;

        seals = fcntl(g->fd, F_GET_SEALS);
        if (seals < 0)
                return -errno;
        if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
                return -EPERM;
        /* A write past the end grows the memfd, unless that is sealed too. */
        if (seals & F_SEAL_GROW) {
                if (fstat(g->fd, &st) < 0)
                        return -errno;
                if (offset + n > (uint64_t) st.st_size)
                        return -EPERM;
        }
        return 0;
}

/* One pass over the range: with buf NULL it only checks. */
static int dma_walk(Object *ioas, uint64_t iova, uint8_t *buf, size_t length, bool write, uint64_t *ret_iova) {
        uint32_t need = write ? IOMMU_IOAS_MAP_WRITEABLE : IOMMU_IOAS_MAP_READABLE;
        size_t done = 0;
        int r;

        while (done < length) {
                uint64_t pos = iova + done, n;
                const struct viommu_mapping *mp;
                GuestRegion *g;

                *ret_iova = pos;
                r = dma_mapping_at(ioas, pos, need, &mp, &g);
                if (r < 0)
                        return r;
                n = MIN((uint64_t) (length - done), mp->length - (pos - mp->iova));
                if (buf)
                        r = copy_memfd(g->fd, buf + done, n, mp->offset + (pos - mp->iova), write);
                else if (write)
                        r = dma_check_writable(g, mp->offset + (pos - mp->iova), n);
                if (r < 0)
                        return r;
                done += n;
        }
        return 0;
}

int ioas_translate(Object *ioas, uint64_t iova, uint64_t length, uint32_t need, GuestRegion **ret_region,
                   uint64_t *ret_offset, uint64_t *ret_iova) {
        GuestRegion *first = NULL;
        uint64_t done = 0, start = 0;
        int r;

        while (done < length) {
                uint64_t pos = iova + done, offset;
                const struct viommu_mapping *mp;
                GuestRegion *g;

                *ret_iova = pos;
                r = dma_mapping_at(ioas, pos, need, &mp, &g);
                if (r < 0)
                        return r;
                offset = mp->offset + (pos - mp->iova);
                if (!first) {
                        first = g;
                        start = offset;
                } else if (g != first || offset != start + done)
                        return -EXDEV;
                done += MIN(length - done, mp->length - (pos - mp->iova));
        }
        *ret_region = first;
        *ret_offset = start;
        return 0;
}

int ioas_dma(Object *ioas, uint64_t iova, void *buf, size_t length, bool write, uint64_t *ret_iova) {
        int r;

        /* Checked whole before a byte moves: a refused write writes nothing. */
        r = dma_walk(ioas, iova, NULL, length, write, ret_iova);
        if (r < 0)
                return r;
        return dma_walk(ioas, iova, buf, length, write, ret_iova);
}
