/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-errors.h"
#include "memory-fd.h"
#include "util.h"
#include "viommu-iommufd.h"

/* What IOMMU_IOAS_MAP_FILE pins (memfd_pin_folios()): shmem and hugetlbfs. */
#define NOT_MEMORY "Guest memory must be a memfd, or a file of tmpfs or hugetlbfs"

int memory_fd_inspect(int fd, MemoryFd *ret, sd_bus_error *error) {
        struct stat st;
        int fl, seals;

        /* Nothing may reach the fd's file system before it is known to be
         * tmpfs or hugetlbfs: a FUSE server that never answers an fstat()
         * would stop the daemon. fcntl() answers both questions below from
         * the open file and its inode; F_GET_SEALS is EINVAL for any file
         * that is neither (and EBADF for O_PATH, hence the order). */
        fl = fcntl(fd, F_GETFL);
        if (fl < 0)
                return bus_error_errno(error, -errno, "Cannot inspect the memory fd: %m");
        if (fl & O_PATH)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The memory fd was opened with O_PATH and gives no access to the memory");
        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0 && errno == EINVAL)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, NOT_MEMORY);
        if (seals < 0)
                return bus_error_errno(error, -errno, "Cannot inspect the memory fd: %m");
        if (fstat(fd, &st) < 0)
                return bus_error_errno(error, -errno, "Cannot inspect the memory fd: %m");
        if (!S_ISREG(st.st_mode))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, NOT_MEMORY);
        *ret = (MemoryFd) { .fd = fd, .size = (uint64_t) st.st_size, .flags = fl, .seals = seals };
        return 0;
}

int memory_fd_check_range(const MemoryFd *mfd, uint64_t offset, uint64_t length, uint32_t flags,
                          sd_bus_error *error) {
        /* Not offset + length > size: that sum wraps to 0 at 2^64. */
        if (offset > mfd->size || length > mfd->size - offset)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The range 0x%llx+0x%llx is past the end of the memory fd (0x%llx bytes)",
                                         (unsigned long long) offset, (unsigned long long) length,
                                         (unsigned long long) mfd->size);
        if (!(flags & IOMMU_IOAS_MAP_WRITEABLE))
                return 0;
        if ((mfd->flags & O_ACCMODE) != O_RDWR)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A writeable mapping needs a memory fd opened read-write");
        /* IOMMU_IOAS_MAP_FILE does not look at seals: a device must not
         * write what its owner sealed against writing. */
        if (mfd->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The memory fd is sealed against writing (%s): map it read-only",
                                         mfd->seals & F_SEAL_WRITE ? "F_SEAL_WRITE" : "F_SEAL_FUTURE_WRITE");
        return 0;
}

int memory_fd_check_guest_memory(const MemoryFd *mfd, sd_bus_error *error) {
        char path[64], target[16] = {};

        /* A memfd's link in /proc names it "/memfd:NAME". */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd->fd);
        if (readlink(path, target, sizeof(target) - 1) < 0)
                return bus_error_errno(error, -errno, "Cannot inspect the memory fd: %m");
        if (!startswith(target, "/memfd:"))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Guest memory must be a memfd");
        /* Devices write guest memory, and the daemon's DMA does. */
        return memory_fd_check_range(mfd, 0, 0, IOMMU_IOAS_MAP_WRITEABLE, error);
}
