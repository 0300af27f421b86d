/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "hwpt.h"
#include "journal.h"
#include "util.h"

int hwpt_new(Session *s, Object *dev, Object *parent, Object *fault, uint32_t flags, uint32_t data_type,
             const void *data, size_t data_len, Object **ret) {
        uint32_t id;
        Object *o;
        int r;

        if (fault)
                flags |= IOMMU_HWPT_FAULT_ID_VALID;
        r = viommu_hwpt_alloc(s->iommufd, flags, dev->id, parent->id, fault ? fault->id : 0, data_type, data,
                              data_len, &id);
        if (r < 0)
                return r;
        r = object_adopt(s, OBJECT_HWPT, id, NULL, &o);
        if (r < 0)
                return r;
        o->hwpt.flags = flags;
        o->hwpt.nested = parent->type != OBJECT_IOAS;
        o->hwpt.data_type = data_type;
        object_use(o, parent);
        object_use(o, dev);
        if (fault)
                object_use(o, fault);
        journal_object(o);
        *ret = o;
        return 0;
}

int fault_queue_new(Session *s, Object **ret, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        uint32_t id;
        int r;

        r = viommu_fault_queue_alloc(s->iommufd, &id, &fd);
        if (r < 0)
                return r;
        r = object_adopt(s, OBJECT_FAULT_QUEUE, id, &fd, ret);
        if (r < 0)
                return r;
        journal_object(*ret);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int hwpt_invalidate(Object *o, uint32_t data_type, uint32_t entry_len, const void *entries, uint32_t *n) {
        return viommu_hwpt_invalidate(o->session->iommufd, o->id, data_type, entry_len, entries, n);
}

int hwpt_set_dirty_tracking(Object *hwpt, bool enable) {
        return viommu_hwpt_set_dirty_tracking(hwpt->session->iommufd, hwpt->id, enable);
}

int hwpt_read_dirty_bitmap(Object *hwpt, uint64_t iova, uint64_t length, uint64_t page_size, bool clear,
                           uint64_t *bitmap) {
        return viommu_hwpt_get_dirty_bitmap(hwpt->session->iommufd, hwpt->id,
                                            clear ? 0 : IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, iova, length,
                                            page_size, bitmap);
}

int hwpt_get_hw_info(Object *hwpt, void *data, size_t size, struct viommu_hw_info *ret) {
        Object *dev = hwpt->uses[1];

        if (!dev)
                return -ENODEV;
        return viommu_get_hw_info(hwpt->session->iommufd, dev->id, 0, data, size, ret);
}
