/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "journal.h"
#include "util.h"
#include "viommu-iommufd.h"
#include "viommu-object.h"

int viommu_object_new(Session *s, Object *dev, Object *hwpt, uint32_t type, void *data, size_t data_len,
                      Object **ret) {
        uint32_t id;
        Object *o;
        int r;

        r = viommu_viommu_alloc(s->iommufd, type, dev->id, hwpt->id, data, data_len, &id);
        if (r < 0)
                return r;
        r = object_adopt(s, OBJECT_VIOMMU, id, NULL, &o);
        if (r < 0)
                return r;
        o->viommu.type = type;
        object_use(o, hwpt);
        object_use(o, dev);
        journal_object(o);
        *ret = o;
        return 0;
}

bool viommu_has_vdevice(Object *viommu, uint64_t virt_id) {
        for (Object *o = viommu->session->objects; o; o = o->objects_next)
                if (o->type == OBJECT_VDEVICE && o->uses[0] == viommu && o->vdevice.virt_id == virt_id)
                        return true;
        return false;
}

int vdevice_new(Session *s, Object *viommu, Object *dev, uint64_t virt_id, Object **ret) {
        uint32_t id;
        Object *o;
        int r;

        r = viommu_vdevice_alloc(s->iommufd, viommu->id, dev->id, virt_id, &id);
        if (r < 0)
                return r;
        r = object_adopt(s, OBJECT_VDEVICE, id, NULL, &o);
        if (r < 0)
                return r;
        o->vdevice.virt_id = virt_id;
        object_use(o, viommu);
        object_use(o, dev);
        journal_object(o);
        *ret = o;
        return 0;
}

int veventq_new(Session *s, Object *viommu, uint32_t type, uint32_t depth, Object **ret, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        uint32_t id;
        Object *o;
        int r;

        r = viommu_veventq_alloc(s->iommufd, viommu->id, type, depth, &id, &fd);
        if (r < 0)
                return r;
        r = object_adopt(s, OBJECT_VEVENTQ, id, &fd, &o);
        if (r < 0)
                return r;
        object_use(o, viommu);
        journal_object(o);
        *ret = o;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
