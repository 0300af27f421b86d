/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "edu-dma.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define EDU_ID          0x00
#define EDU_DMA_SRC     0x80
#define EDU_DMA_DST     0x88
#define EDU_DMA_COUNT   0x90
#define EDU_DMA_CMD     0x98
#define EDU_CMD_RUN     0x1
#define EDU_CMD_TO_RAM  0x2
#define EDU_BUFFER      0x40000u
#define EDU_VENDOR      0x1234
#define EDU_DEVICE      0x11e8

static int region_offset(int fd, uint32_t index, uint64_t *ret) {
        struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

        if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
                return -errno;
        if (!(info.flags & VFIO_REGION_INFO_FLAG_READ) || !(info.flags & VFIO_REGION_INFO_FLAG_WRITE))
                return -EACCES;
        *ret = info.offset;
        return 0;
}

static int rw(int fd, bool write, void *buf, size_t len, uint64_t offset) {
        ssize_t n = write ? pwrite(fd, buf, len, (off_t) offset) : pread(fd, buf, len, (off_t) offset);

        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

/* edu's registers take 4- and 8-byte accesses; 4 bytes hold every address
 * below EDU_IOVA_LIMIT, and a 4-byte write sets the whole register. */
static int reg_read(const Edu *edu, uint64_t reg, uint32_t *ret) {
        return rw(edu->fd, false, ret, sizeof(*ret), edu->bar0 + reg);
}

static int reg_write(const Edu *edu, uint64_t reg, uint32_t value) {
        return rw(edu->fd, true, &value, sizeof(value), edu->bar0 + reg);
}

int edu_open(int device_fd, Edu *ret) {
        Edu edu = { .fd = device_fd };
        uint16_t ids[2], command;
        uint32_t id;
        int r;

        r = region_offset(device_fd, VFIO_PCI_CONFIG_REGION_INDEX, &edu.config);
        if (r < 0)
                return r;
        r = rw(device_fd, false, ids, sizeof(ids), edu.config + PCI_VENDOR_ID);
        if (r < 0)
                return r;
        if (ids[0] != EDU_VENDOR || ids[1] != EDU_DEVICE)
                return -ENODEV;
        r = region_offset(device_fd, VFIO_PCI_BAR0_REGION_INDEX, &edu.bar0);
        if (r < 0)
                return r;
        /* Major version in the top byte, 0xed in the lowest. */
        r = reg_read(&edu, EDU_ID, &id);
        if (r < 0)
                return r;
        if ((id & 0xff) != 0xed)
                return -ENODEV;

        r = rw(device_fd, false, &command, sizeof(command), edu.config + PCI_COMMAND);
        if (r < 0)
                return r;
        command |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
        r = rw(device_fd, true, &command, sizeof(command), edu.config + PCI_COMMAND);
        if (r < 0)
                return r;
        *ret = edu;
        return 0;
}

int edu_dma(const Edu *edu, EduDirection direction, uint64_t iova, size_t len) {
        bool to_ram = direction == EDU_TO_RAM;
        uint32_t command;
        int r;

        if (len == 0 || len > EDU_DMA_MAX || iova >= EDU_IOVA_LIMIT || len > EDU_IOVA_LIMIT - iova)
                return -EINVAL;
        /* A run still going ignores new registers. */
        r = reg_read(edu, EDU_DMA_CMD, &command);
        if (r < 0)
                return r;
        if (command & EDU_CMD_RUN)
                return -EBUSY;

        r = reg_write(edu, EDU_DMA_SRC, to_ram ? EDU_BUFFER : (uint32_t) iova);
        if (r >= 0)
                r = reg_write(edu, EDU_DMA_DST, to_ram ? (uint32_t) iova : EDU_BUFFER);
        if (r >= 0)
                r = reg_write(edu, EDU_DMA_COUNT, (uint32_t) len);
        if (r >= 0)
                r = reg_write(edu, EDU_DMA_CMD, EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0));
        if (r < 0)
                return r;

        /* edu moves the data 100 ms (of the guest's clock) after the start. */
        for (unsigned i = 0; i < 500; i++) {
                r = reg_read(edu, EDU_DMA_CMD, &command);
                if (r < 0)
                        return r;
                if (!(command & EDU_CMD_RUN))
                        return 0;
                nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        return -ETIMEDOUT;
}
