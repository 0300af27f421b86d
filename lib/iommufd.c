/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One wrapper per iommufd ioctl. Each fills the kernel's struct, including
 * its size field (the kernel's extensibility handshake), and turns failure
 * into a negative errno.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util.h"
#include "viommu-iommufd.h"

static int iommufd_ioctl(int fd, unsigned long cmd, void *arg) {
        if (fd < 0)
                return -EBADF;
        return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

_public_ int viommu_iommufd_open(void) {
        const char *path = secure_getenv("VIOMMU_IOMMUFD_PATH") ?: "/dev/iommu";
        int fd = open(path, O_RDWR | O_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

_public_ int viommu_destroy(int iommufd, uint32_t id) {
        struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

        return iommufd_ioctl(iommufd, IOMMU_DESTROY, &cmd);
}

_public_ int viommu_ioas_alloc(int iommufd, uint32_t *ret_ioas_id) {
        struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
        int r;

        if (!ret_ioas_id)
                return -EINVAL;
        r = iommufd_ioctl(iommufd, IOMMU_IOAS_ALLOC, &cmd);
        if (r < 0)
                return r;
        *ret_ioas_id = cmd.out_ioas_id;
        return 0;
}

_public_ int viommu_ioas_map(int iommufd, uint32_t ioas_id, uint32_t flags,
                             const void *va, uint64_t length, uint64_t *iova) {
        struct iommu_ioas_map cmd = {
                .size = sizeof(cmd),
                .flags = flags,
                .ioas_id = ioas_id,
                .user_va = (uintptr_t) va,
                .length = length,
        };
        int r;

        if (!iova)
                return -EINVAL;
        if (flags & IOMMU_IOAS_MAP_FIXED_IOVA)
                cmd.iova = *iova;
        r = iommufd_ioctl(iommufd, IOMMU_IOAS_MAP, &cmd);
        if (r < 0)
                return r;
        *iova = cmd.iova;
        return 0;
}

_public_ int viommu_ioas_map_file(int iommufd, uint32_t ioas_id, uint32_t flags,
                                  int file_fd, uint64_t start, uint64_t length,
                                  uint64_t *iova) {
        struct iommu_ioas_map_file cmd = {
                .size = sizeof(cmd),
                .flags = flags,
                .ioas_id = ioas_id,
                .fd = file_fd,
                .start = start,
                .length = length,
        };
        int r;

        if (!iova)
                return -EINVAL;
        if (flags & IOMMU_IOAS_MAP_FIXED_IOVA)
                cmd.iova = *iova;
        r = iommufd_ioctl(iommufd, IOMMU_IOAS_MAP_FILE, &cmd);
        if (r < 0)
                return r;
        *iova = cmd.iova;
        return 0;
}

_public_ int viommu_ioas_unmap(int iommufd, uint32_t ioas_id, uint64_t iova,
                               uint64_t length, uint64_t *ret_unmapped) {
        struct iommu_ioas_unmap cmd = {
                .size = sizeof(cmd),
                .ioas_id = ioas_id,
                .iova = iova,
                .length = length,
        };
        int r;

        r = iommufd_ioctl(iommufd, IOMMU_IOAS_UNMAP, &cmd);
        if (r < 0)
                return r;
        if (ret_unmapped)
                *ret_unmapped = cmd.length;
        return 0;
}

_public_ int viommu_ioas_copy(int iommufd, uint32_t dst_ioas_id, uint32_t src_ioas_id,
                              uint32_t flags, uint64_t src_iova, uint64_t length,
                              uint64_t *dst_iova) {
        struct iommu_ioas_copy cmd = {
                .size = sizeof(cmd),
                .flags = flags,
                .dst_ioas_id = dst_ioas_id,
                .src_ioas_id = src_ioas_id,
                .length = length,
                .src_iova = src_iova,
        };
        int r;

        if (!dst_iova)
                return -EINVAL;
        if (flags & IOMMU_IOAS_MAP_FIXED_IOVA)
                cmd.dst_iova = *dst_iova;
        r = iommufd_ioctl(iommufd, IOMMU_IOAS_COPY, &cmd);
        if (r < 0)
                return r;
        *dst_iova = cmd.dst_iova;
        return 0;
}

_public_ int viommu_ioas_iova_ranges(int iommufd, uint32_t ioas_id,
                                     struct iommu_iova_range **ret_ranges,
                                     size_t *ret_n_ranges, uint64_t *ret_alignment) {
        struct iommu_ioas_iova_ranges cmd = { .size = sizeof(cmd), .ioas_id = ioas_id };
        _cleanup_free_ struct iommu_iova_range *ranges = NULL;
        int r;

        if (!ret_ranges || !ret_n_ranges)
                return -EINVAL;

        /* The kernel says how many ranges there are when the buffer is too
         * small; ranges can change between calls, so ask until they fit. */
        for (;;) {
                r = iommufd_ioctl(iommufd, IOMMU_IOAS_IOVA_RANGES, &cmd);
                if (r == 0)
                        break;
                if (r != -EMSGSIZE)
                        return r;

                struct iommu_iova_range *n = reallocarray(ranges, cmd.num_iovas, sizeof(*ranges));
                if (!n)
                        return -ENOMEM;
                ranges = n;
                cmd.allowed_iovas = (uintptr_t) ranges;
        }

        *ret_ranges = TAKE_PTR(ranges);
        *ret_n_ranges = cmd.num_iovas;
        if (ret_alignment)
                *ret_alignment = cmd.out_iova_alignment;
        return 0;
}

_public_ int viommu_ioas_allow_iovas(int iommufd, uint32_t ioas_id,
                                     const struct iommu_iova_range *ranges, size_t n) {
        struct iommu_ioas_allow_iovas cmd = {
                .size = sizeof(cmd),
                .ioas_id = ioas_id,
                .num_iovas = n,
                .allowed_iovas = (uintptr_t) ranges,
        };

        if (n > UINT32_MAX || (n > 0 && !ranges))
                return -EINVAL;
        return iommufd_ioctl(iommufd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

_public_ int viommu_ioas_change_process(int iommufd) {
        struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };

        return iommufd_ioctl(iommufd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);
}

_public_ int viommu_option_set(int iommufd, uint32_t option_id, uint32_t object_id,
                               uint64_t value) {
        struct iommu_option cmd = {
                .size = sizeof(cmd),
                .option_id = option_id,
                .op = IOMMU_OPTION_OP_SET,
                .object_id = object_id,
                .val64 = value,
        };

        return iommufd_ioctl(iommufd, IOMMU_OPTION, &cmd);
}

_public_ int viommu_option_get(int iommufd, uint32_t option_id, uint32_t object_id,
                               uint64_t *ret_value) {
        struct iommu_option cmd = {
                .size = sizeof(cmd),
                .option_id = option_id,
                .op = IOMMU_OPTION_OP_GET,
                .object_id = object_id,
        };
        int r;

        if (!ret_value)
                return -EINVAL;
        r = iommufd_ioctl(iommufd, IOMMU_OPTION, &cmd);
        if (r < 0)
                return r;
        *ret_value = cmd.val64;
        return 0;
}

_public_ int viommu_vfio_ioas(int iommufd, uint16_t op, uint32_t *ioas_id) {
        struct iommu_vfio_ioas cmd = { .size = sizeof(cmd), .op = op };
        int r;

        if (!ioas_id)
                return -EINVAL;
        if (op == IOMMU_VFIO_IOAS_SET)
                cmd.ioas_id = *ioas_id;
        r = iommufd_ioctl(iommufd, IOMMU_VFIO_IOAS, &cmd);
        if (r < 0)
                return r;
        *ioas_id = cmd.ioas_id;
        return 0;
}

_public_ int viommu_hwpt_alloc(int iommufd, uint32_t flags, uint32_t dev_id,
                               uint32_t pt_id, uint32_t fault_id, uint32_t data_type,
                               const void *data, uint32_t data_len,
                               uint32_t *ret_hwpt_id) {
        struct iommu_hwpt_alloc cmd = {
                .size = sizeof(cmd),
                .flags = flags,
                .dev_id = dev_id,
                .pt_id = pt_id,
                .data_type = data_type,
                .data_len = data_len,
                .data_uptr = (uintptr_t) data,
                .fault_id = fault_id,
        };
        int r;

        if (!ret_hwpt_id || (data_len > 0 && !data))
                return -EINVAL;
        r = iommufd_ioctl(iommufd, IOMMU_HWPT_ALLOC, &cmd);
        if (r < 0)
                return r;
        *ret_hwpt_id = cmd.out_hwpt_id;
        return 0;
}

_public_ int viommu_get_hw_info(int iommufd, uint32_t dev_id, uint32_t in_type,
                                void *data, uint32_t data_len,
                                struct viommu_hw_info *ret) {
        struct iommu_hw_info cmd = {
                .size = sizeof(cmd),
                .dev_id = dev_id,
                .data_len = data_len,
                .data_uptr = (uintptr_t) data,
        };
        int r;

        if (!ret || (data_len > 0 && !data))
                return -EINVAL;
        if (in_type != 0) {
                cmd.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
                cmd.in_data_type = in_type;
        }
        r = iommufd_ioctl(iommufd, IOMMU_GET_HW_INFO, &cmd);
        if (r < 0)
                return r;
        *ret = (struct viommu_hw_info) {
                .type = cmd.out_data_type,
                .data_len = cmd.data_len,
                .capabilities = cmd.out_capabilities,
                .max_pasid_log2 = cmd.out_max_pasid_log2,
        };
        return 0;
}

_public_ int viommu_hwpt_set_dirty_tracking(int iommufd, uint32_t hwpt_id, bool enable) {
        struct iommu_hwpt_set_dirty_tracking cmd = {
                .size = sizeof(cmd),
                .flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
                .hwpt_id = hwpt_id,
        };

        return iommufd_ioctl(iommufd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

_public_ int viommu_hwpt_get_dirty_bitmap(int iommufd, uint32_t hwpt_id, uint32_t flags,
                                          uint64_t iova, uint64_t length,
                                          uint64_t page_size, uint64_t *bitmap) {
        struct iommu_hwpt_get_dirty_bitmap cmd = {
                .size = sizeof(cmd),
                .hwpt_id = hwpt_id,
                .flags = flags,
                .iova = iova,
                .length = length,
                .page_size = page_size,
                .data = (uintptr_t) bitmap,
        };

        if (!bitmap)
                return -EINVAL;
        return iommufd_ioctl(iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

_public_ int viommu_hwpt_invalidate(int iommufd, uint32_t id, uint32_t data_type,
                                    uint32_t entry_len, const void *entries,
                                    uint32_t *entry_num) {
        struct iommu_hwpt_invalidate cmd = {
                .size = sizeof(cmd),
                .hwpt_id = id,
                .data_uptr = (uintptr_t) entries,
                .data_type = data_type,
                .entry_len = entry_len,
        };
        int r;

        if (!entry_num || (*entry_num > 0 && !entries))
                return -EINVAL;
        cmd.entry_num = *entry_num;
        r = iommufd_ioctl(iommufd, IOMMU_HWPT_INVALIDATE, &cmd);
        /* The kernel updates entry_num also on failure; callers need it to
         * know which entry failed. */
        *entry_num = cmd.entry_num;
        return r;
}

_public_ int viommu_fault_queue_alloc(int iommufd, uint32_t *ret_fault_id, int *ret_fault_fd) {
        struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };
        int r;

        if (!ret_fault_id || !ret_fault_fd)
                return -EINVAL;
        r = iommufd_ioctl(iommufd, IOMMU_FAULT_QUEUE_ALLOC, &cmd);
        if (r < 0)
                return r;
        *ret_fault_id = cmd.out_fault_id;
        *ret_fault_fd = cmd.out_fault_fd;
        return 0;
}

_public_ int viommu_fault_read(int fault_fd, struct iommu_hwpt_pgfault *faults, size_t n) {
        ssize_t l;

        if (fault_fd < 0)
                return -EBADF;
        if (!faults || n == 0 || n > INT32_MAX / sizeof(*faults))
                return -EINVAL;
        l = read(fault_fd, faults, n * sizeof(*faults));
        if (l < 0)
                return errno == EAGAIN ? 0 : -errno;
        if (l % sizeof(*faults) != 0)
                return -EIO;
        return (int) (l / sizeof(*faults));
}

_public_ int viommu_fault_respond(int fault_fd, uint32_t cookie, uint32_t code) {
        struct iommu_hwpt_page_response resp = { .cookie = cookie, .code = code };
        ssize_t l;

        if (fault_fd < 0)
                return -EBADF;
        l = write(fault_fd, &resp, sizeof(resp));
        if (l < 0)
                return -errno;
        return l == sizeof(resp) ? 0 : -EIO;
}

_public_ int viommu_viommu_alloc(int iommufd, uint32_t type, uint32_t dev_id,
                                 uint32_t hwpt_id, const void *data, uint32_t data_len,
                                 uint32_t *ret_viommu_id) {
        struct iommu_viommu_alloc cmd = {
                .size = sizeof(cmd),
                .type = type,
                .dev_id = dev_id,
                .hwpt_id = hwpt_id,
                .data_len = data_len,
                .data_uptr = (uintptr_t) data,
        };
        int r;

        if (!ret_viommu_id || (data_len > 0 && !data))
                return -EINVAL;
        r = iommufd_ioctl(iommufd, IOMMU_VIOMMU_ALLOC, &cmd);
        if (r < 0)
                return r;
        *ret_viommu_id = cmd.out_viommu_id;
        return 0;
}

_public_ int viommu_vdevice_alloc(int iommufd, uint32_t viommu_id, uint32_t dev_id,
                                  uint64_t virt_id, uint32_t *ret_vdevice_id) {
        struct iommu_vdevice_alloc cmd = {
                .size = sizeof(cmd),
                .viommu_id = viommu_id,
                .dev_id = dev_id,
                .virt_id = virt_id,
        };
        int r;

        if (!ret_vdevice_id)
                return -EINVAL;
        r = iommufd_ioctl(iommufd, IOMMU_VDEVICE_ALLOC, &cmd);
        if (r < 0)
                return r;
        *ret_vdevice_id = cmd.out_vdevice_id;
        return 0;
}

_public_ int viommu_veventq_alloc(int iommufd, uint32_t viommu_id, uint32_t type,
                                  uint32_t depth, uint32_t *ret_veventq_id,
                                  int *ret_veventq_fd) {
        struct iommu_veventq_alloc cmd = {
                .size = sizeof(cmd),
                .viommu_id = viommu_id,
                .type = type,
                .veventq_depth = depth,
        };
        int r;

        if (!ret_veventq_id || !ret_veventq_fd)
                return -EINVAL;
        r = iommufd_ioctl(iommufd, IOMMU_VEVENTQ_ALLOC, &cmd);
        if (r < 0)
                return r;
        *ret_veventq_id = cmd.out_veventq_id;
        *ret_veventq_fd = cmd.out_veventq_fd;
        return 0;
}

_public_ int viommu_hw_queue_alloc(int iommufd, uint32_t viommu_id, uint32_t type,
                                   uint32_t index, uint64_t nesting_parent_iova,
                                   uint64_t length, uint32_t *ret_hw_queue_id) {
        struct iommu_hw_queue_alloc cmd = {
                .size = sizeof(cmd),
                .viommu_id = viommu_id,
                .type = type,
                .index = index,
                .nesting_parent_iova = nesting_parent_iova,
                .length = length,
        };
        int r;

        if (!ret_hw_queue_id)
                return -EINVAL;
        r = iommufd_ioctl(iommufd, IOMMU_HW_QUEUE_ALLOC, &cmd);
        if (r < 0)
                return r;
        *ret_hw_queue_id = cmd.out_hw_queue_id;
        return 0;
}
