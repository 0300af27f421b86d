/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The checks of a memory fd a caller hands over (IOAS.Map, MapBatch,
 * Session.AddMemory): what it is, how it was opened, how it is sealed, how
 * long it is. Each failure sets a named bus error.
 */

#include <stdint.h>
#include <systemd/sd-bus.h>

/* What the checks need to know of a memory fd: asked of the kernel once per
 * fd, not once per entry of a batch. */
typedef struct MemoryFd {
        int fd;
        uint64_t size;
        int flags;      /* F_GETFL */
        int seals;      /* F_GET_SEALS */
} MemoryFd;

/* Takes a memfd or another file of tmpfs or hugetlbfs, and asks its file
 * system nothing before it knows that it is one. */
int memory_fd_inspect(int fd, MemoryFd *ret, sd_bus_error *error);
/* The memfd must be able to back [offset, offset+length) with the access
 * flags (IOMMU_IOAS_MAP_*) ask for. */
int memory_fd_check_range(const MemoryFd *mfd, uint64_t offset, uint64_t length, uint32_t flags,
                          sd_bus_error *error);
/* Guest memory the daemon keeps: a memfd, not another file, read-write and
 * not sealed against writing. */
int memory_fd_check_guest_memory(const MemoryFd *mfd, sd_bus_error *error);
