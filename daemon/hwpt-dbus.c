/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.viommu1.HWPT: a hardware page table, /org/viommu1/session/N/hwpt/ID:
 * stage-1 cache invalidation for nested ones, dirty tracking for paging ones,
 * and the hardware information of the device it was made for.
 */

#include <stddef.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-util.h"
#include "hwpt.h"
#include "invalidate.h"
#include "smmuv3-data.h"
#include "util.h"
#include "viommu-object.h"

/* The kernel's own cap on one batch. */
#define INVALIDATE_ENTRIES_MAX (1u << 19)
/* Dirty bitmaps go over the bus: at most 2^24 pages (2 MiB of bitmap). */
#define DIRTY_PAGES_MAX (UINT64_C(1) << 24)

static bool has_vsid(uint32_t vsid, void *userdata) {
        return viommu_has_vdevice(userdata, vsid);
}

int invalidate_batch(Object *o, uint32_t data_type, uint32_t entry_len, const void *entries, size_t size,
                     uint32_t *ret_handled, char *failure, size_t failure_size, sd_bus_error *error) {
        Session *s = o->session;
        _cleanup_free_ char *why = NULL;
        uint32_t n, good;
        int r;

        if (entry_len == 0 || entry_len > 4096 || size % entry_len != 0 || size / entry_len > INVALIDATE_ENTRIES_MAX)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Entries must be a whole number (at most %u) of entry_len bytes, "
                                         "entry_len 1..4096", INVALIDATE_ENTRIES_MAX);
        if (o->type == OBJECT_HWPT && !o->hwpt.nested)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Only nested HWPTs cache a guest's stage 1; %s is a paging HWPT", o->path);
        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_HWPT_INVALIDATE))
                return bus_error_not_supported(error, VIOMMU_FEATURE_HWPT_INVALIDATE);

        /* A batch may fail part way: the reply says how far the kernel got
         * and why it stopped, and is not an error. SMMUv3 commands are
         * checked first: the kernel gets those before the first refused,
         * and the reply names that one as where the batch stopped. */
        n = size / entry_len;
        if (o->type == OBJECT_VIOMMU && data_type == IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3)
                for (uint32_t i = 0; i < n; i++) {
                        r = smmuv3_check_cmd((const uint8_t *) entries + (size_t) i * entry_len, entry_len,
                                             has_vsid, o, &why);
                        if (r == -EINVAL) {
                                n = i;
                                break;
                        }
                        if (r < 0)
                                return r;
                }
        good = n;
        failure[0] = '\0';
        if (n > 0 || !why) {
                r = hwpt_invalidate(o, data_type, entry_len, entries, &n);
                if (r < 0) {
                        *ret_handled = n;
                        snprintf(failure, failure_size, "%s", strerrorname_np(-r) ?: "EIO");
                        return 0;
                }
        }
        if (why)
                snprintf(failure, failure_size, "EINVAL: Entry %" PRIu32 ": %s", good, why);
        *ret_handled = n;
        return 0;
}

/* Shared by org.viommu1.HWPT and org.viommu1.VIOMMU. */
OBJECT_METHOD(invalidate, o) {
        char failure[INVALIDATE_FAILURE_MAX];
        const void *entries;
        size_t size;
        uint32_t data_type, entry_len, n;
        int r;

        r = sd_bus_message_read_basic(m, 'u', &data_type);
        if (r >= 0)
                r = sd_bus_message_read_basic(m, 'u', &entry_len);
        if (r >= 0)
                r = sd_bus_message_read_array(m, 'y', &entries, &size);
        if (r < 0)
                return r;
        r = invalidate_batch(o, data_type, entry_len, entries, size, &n, failure, sizeof(failure), error);
        if (r < 0)
                return r;
        return bus_reply_us(m, n, failure);
}

int method_invalidate(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return invalidate(m, userdata, error);
}

OBJECT_METHOD(method_set_dirty_tracking, hwpt) {
        int enable, r;

        r = sd_bus_message_read(m, "b", &enable);
        if (r < 0)
                return r;
        if (!(hwpt->hwpt.flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "%s was not allocated with DIRTY_TRACKING", hwpt->path);
        r = hwpt_set_dirty_tracking(hwpt, enable);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_HWPT_SET_DIRTY_TRACKING");
        return sd_bus_reply_method_return(m, NULL);
}

OBJECT_METHOD(method_read_dirty_bitmap, hwpt) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ uint64_t *bitmap = NULL;
        uint64_t iova, length, page_size, pages;
        int clear, r;

        r = sd_bus_message_read(m, "tttb", &iova, &length, &page_size, &clear);
        if (r < 0)
                return r;
        if (page_size == 0 || (page_size & (page_size - 1)) || length == 0 || length % page_size ||
            iova % page_size || iova + length - 1 < iova)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The page size must be a power of two and the range a non-empty "
                                         "multiple of it, aligned to it");
        pages = length / page_size;
        if (pages > DIRTY_PAGES_MAX)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "At most %llu pages per read", (unsigned long long) DIRTY_PAGES_MAX);
        if (!(hwpt->hwpt.flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "%s was not allocated with DIRTY_TRACKING", hwpt->path);

        bitmap = calloc(DIV_ROUND_UP(pages, 64), sizeof(uint64_t));
        if (!bitmap)
                return -ENOMEM;
        r = hwpt_read_dirty_bitmap(hwpt, iova, length, page_size, clear, bitmap);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_HWPT_GET_DIRTY_BITMAP");

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 't', bitmap, DIV_ROUND_UP(pages, 64) * sizeof(uint64_t));
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

OBJECT_METHOD(method_get_hw_info, hwpt) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint8_t data[256] = {};
        struct viommu_hw_info info;
        int r;

        r = hwpt_get_hw_info(hwpt, data, sizeof(data), &info);
        if (r == -ENODEV)
                return sd_bus_error_setf(error, VIOMMU_ERROR_DEVICE_GONE,
                                         "The device %s was made for is gone", hwpt->path);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_GET_HW_INFO");

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "uty", info.type, info.capabilities, info.max_pasid_log2);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 'y', data, MIN(info.data_len, (uint32_t) sizeof(data)));
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_kind(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Object *hwpt = userdata;

        return sd_bus_message_append(reply, "s", hwpt->hwpt.nested ? "nested" : "paging");
}

static int property_get_use(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Object *hwpt = userdata;
        Object *o = streq(property, "Parent") ? hwpt->uses[0] : hwpt->uses[1];

        return sd_bus_message_append(reply, "o", o ? o->path : "/");
}

const sd_bus_vtable hwpt_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Kind", "s", property_get_kind, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Flags", "u", NULL, offsetof(Object, hwpt.flags), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DataType", "u", NULL, offsetof(Object, hwpt.data_type), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Parent", "o", property_get_use, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Device", "o", property_get_use, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Invalidate",
                                SD_BUS_ARGS("u", data_type, "u", entry_len, "ay", entries),
                                SD_BUS_RESULT("u", handled, "s", error),
                                method_invalidate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetDirtyTracking",
                                SD_BUS_ARGS("b", enable),
                                SD_BUS_NO_RESULT,
                                method_set_dirty_tracking, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReadDirtyBitmap",
                                SD_BUS_ARGS("t", iova, "t", length, "t", page_size, "b", clear),
                                SD_BUS_RESULT("at", bitmap),
                                method_read_dirty_bitmap, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetHWInfo",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("u", type, "t", capabilities, "y", max_pasid_log2, "ay", data),
                                method_get_hw_info, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
