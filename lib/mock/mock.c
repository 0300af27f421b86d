/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <sys/ioctl.h>

#include "viommu-mock.h"

static int test_cmd(int iommufd, uint32_t op, uint32_t id, struct iommu_test_cmd *cmd) {
        cmd->size = sizeof(*cmd);
        cmd->op = op;
        cmd->id = id;
        if (iommufd < 0)
                return -EBADF;
        return ioctl(iommufd, IOMMU_TEST_CMD, cmd) < 0 ? -errno : 0;
}

int viommu_mock_device_new(int iommufd, uint32_t pt_id, uint32_t dev_flags,
                           struct viommu_mock_device *ret) {
        struct iommu_test_cmd cmd = { .mock_domain_flags.dev_flags = dev_flags };
        int r;

        if (!ret)
                return -EINVAL;
        /* MOCK_DOMAIN is MOCK_DOMAIN_FLAGS with no flags; one op covers both. */
        r = test_cmd(iommufd, dev_flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN,
                     pt_id, &cmd);
        if (r < 0)
                return r;
        *ret = (struct viommu_mock_device) {
                .stdev_id = cmd.mock_domain_flags.out_stdev_id,
                .hwpt_id = cmd.mock_domain_flags.out_hwpt_id,
                .idev_id = cmd.mock_domain_flags.out_idev_id,
        };
        return 0;
}

int viommu_mock_device_replace(int iommufd, uint32_t stdev_id, uint32_t pt_id,
                               uint32_t *ret_pt_id) {
        struct iommu_test_cmd cmd = { .mock_domain_replace.pt_id = pt_id };
        int r;

        r = test_cmd(iommufd, IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev_id, &cmd);
        if (r < 0)
                return r;
        if (ret_pt_id)
                *ret_pt_id = cmd.mock_domain_replace.pt_id;
        return 0;
}

int viommu_mock_check_map(int iommufd, uint32_t hwpt_id, uint64_t iova,
                          uint64_t length, const void *va) {
        struct iommu_test_cmd cmd = {
                .check_map = { .iova = iova, .length = length, .uptr = (uintptr_t) va },
        };

        return test_cmd(iommufd, IOMMU_TEST_OP_MD_CHECK_MAP, hwpt_id, &cmd);
}

int viommu_mock_access_new(int iommufd, uint32_t ioas_id, int *ret_fd) {
        struct iommu_test_cmd cmd = {};
        int r;

        r = test_cmd(iommufd, IOMMU_TEST_OP_CREATE_ACCESS, ioas_id, &cmd);
        if (r < 0)
                return r;
        *ret_fd = (int) cmd.create_access.out_access_fd;
        return 0;
}

int viommu_mock_access_rw(int iommufd, int access_fd, uint64_t iova, void *buf, uint64_t length, bool write) {
        struct iommu_test_cmd cmd = {
                .access_rw = { .iova = iova, .length = length, .uptr = (uintptr_t) buf,
                               .flags = write ? MOCK_ACCESS_RW_WRITE : 0 },
        };

        return test_cmd(iommufd, IOMMU_TEST_OP_ACCESS_RW, (uint32_t) access_fd, &cmd);
}

int viommu_mock_check_iotlb(int iommufd, uint32_t hwpt_id, uint32_t iotlb_id,
                            uint32_t expected) {
        struct iommu_test_cmd cmd = {
                .check_iotlb = { .id = iotlb_id, .iotlb = expected },
        };

        return test_cmd(iommufd, IOMMU_TEST_OP_MD_CHECK_IOTLB, hwpt_id, &cmd);
}

int viommu_mock_check_dev_cache(int iommufd, uint32_t idev_id, uint32_t cache_id,
                                uint32_t expected) {
        struct iommu_test_cmd cmd = {
                .check_dev_cache = { .id = cache_id, .cache = expected },
        };

        return test_cmd(iommufd, IOMMU_TEST_OP_DEV_CHECK_CACHE, idev_id, &cmd);
}

int viommu_mock_dirty(int iommufd, uint32_t hwpt_id, uint64_t iova,
                      uint64_t length, uint64_t page_size,
                      const uint64_t *bitmap, uint64_t *ret_nr_dirty) {
        struct iommu_test_cmd cmd = {
                .dirty = {
                        .iova = iova,
                        .length = length,
                        .page_size = page_size,
                        .uptr = (uintptr_t) bitmap,
                },
        };
        int r;

        r = test_cmd(iommufd, IOMMU_TEST_OP_DIRTY, hwpt_id, &cmd);
        if (r < 0)
                return r;
        if (ret_nr_dirty)
                *ret_nr_dirty = cmd.dirty.out_nr_dirty;
        return 0;
}

int viommu_mock_trigger_iopf(int iommufd, uint32_t idev_id, uint32_t pasid,
                             uint32_t grpid, uint32_t perm, uint64_t addr) {
        struct iommu_test_cmd cmd = {
                .trigger_iopf = {
                        .dev_id = idev_id,
                        .pasid = pasid,
                        .grpid = grpid,
                        .perm = perm,
                        .addr = addr,
                },
        };

        return test_cmd(iommufd, IOMMU_TEST_OP_TRIGGER_IOPF, 0, &cmd);
}

int viommu_mock_trigger_vevent(int iommufd, uint32_t idev_id) {
        struct iommu_test_cmd cmd = { .trigger_vevent.dev_id = idev_id };

        return test_cmd(iommufd, IOMMU_TEST_OP_TRIGGER_VEVENT, 0, &cmd);
}

static int pasid_op(int iommufd, uint32_t op, uint32_t stdev_id, uint32_t pasid, uint32_t pt_id) {
        struct iommu_test_cmd cmd = { .pasid_attach = { .pasid = pasid, .pt_id = pt_id } };

        return test_cmd(iommufd, op, stdev_id, &cmd);
}

int viommu_mock_pasid_attach(int iommufd, uint32_t stdev_id, uint32_t pasid, uint32_t pt_id) {
        return pasid_op(iommufd, IOMMU_TEST_OP_PASID_ATTACH, stdev_id, pasid, pt_id);
}

int viommu_mock_pasid_replace(int iommufd, uint32_t stdev_id, uint32_t pasid, uint32_t pt_id) {
        return pasid_op(iommufd, IOMMU_TEST_OP_PASID_REPLACE, stdev_id, pasid, pt_id);
}

int viommu_mock_pasid_detach(int iommufd, uint32_t stdev_id, uint32_t pasid) {
        return pasid_op(iommufd, IOMMU_TEST_OP_PASID_DETACH, stdev_id, pasid, 0);
}

int viommu_mock_pasid_check(int iommufd, uint32_t stdev_id, uint32_t pasid, uint32_t hwpt_id) {
        return pasid_op(iommufd, IOMMU_TEST_OP_PASID_CHECK_HWPT, stdev_id, pasid, hwpt_id);
}
