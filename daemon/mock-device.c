/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Mock devices, from the kernel's iommufd test driver (CONFIG_IOMMUFD_TEST):
 * the DeviceOps of a device that exists only for tests. Built only with
 * ./configure --enable-test-hooks; all a mock device needs kept is in its
 * own record entries (mock_record_save()), so the daemon's state and the
 * session's record know nothing of the test driver.
 */

#include <errno.h>
#include <stdio.h>

#include "device.h"
#include "journal.h"
#include "json-util.h"
#include "mock/viommu-mock.h"
#include "util.h"
#include "viommu-iommufd.h"

/* A mock device's ops_ids: the test driver's object for it, and the IOAS
 * the kernel keeps it on while it is detached, since the kernel only
 * creates a mock device attached to something. A session's mock devices
 * share one parking IOAS, made with the first and destroyed with the last. */
enum {
        MOCK_STDEV,
        MOCK_PARKING,
};

static int mock_attach(Object *dev, uint32_t pt_id, uint32_t *ret_kernel_pt) {
        return viommu_mock_device_replace(dev->session->iommufd, dev->device.ops_ids[MOCK_STDEV], pt_id,
                                          ret_kernel_pt);
}

static int mock_detach(Object *dev) {
        return viommu_mock_device_replace(dev->session->iommufd, dev->device.ops_ids[MOCK_STDEV],
                                          dev->device.ops_ids[MOCK_PARKING], NULL);
}

static int mock_attach_pasid(Object *dev, uint32_t pasid, uint32_t pt_id, bool replace, uint32_t *ret_kernel_pt) {
        int iommufd = dev->session->iommufd;
        uint32_t stdev = dev->device.ops_ids[MOCK_STDEV];

        if (replace)
                return viommu_mock_pasid_replace(iommufd, stdev, pasid, pt_id);
        return viommu_mock_pasid_attach(iommufd, stdev, pasid, pt_id);
}

static int mock_detach_pasid(Object *dev, uint32_t pasid) {
        return viommu_mock_pasid_detach(dev->session->iommufd, dev->device.ops_ids[MOCK_STDEV], pasid);
}

/* Another mock device of the session than dev (NULL for any); NULL if none. */
static Object *other_mock(Session *s, const Object *dev) {
        for (Object *o = s->objects; o; o = o->objects_next)
                if (o != dev && o->type == OBJECT_DEVICE && device_is_mock(o))
                        return o;
        return NULL;
}

/* Destroying the mock's test object unbinds and frees it; the last one
 * takes the parking IOAS with it. */
static int mock_release(Object *dev) {
        Session *s = dev->session;
        int r;

        r = viommu_destroy(s->iommufd, dev->device.ops_ids[MOCK_STDEV]);
        if (r >= 0 && !other_mock(s, dev))
                (void) viommu_destroy(s->iommufd, dev->device.ops_ids[MOCK_PARKING]);
        return r;
}

static int mock_record_save(Object *dev, struct json_object *j) {
        int r = 0;

        r |= json_add(j, "stdev-id", json_object_new_int64(dev->device.ops_ids[MOCK_STDEV]));
        r |= json_add(j, "parking-ioas", json_object_new_int64(dev->device.ops_ids[MOCK_PARKING]));
        return r < 0 ? -ENOMEM : 0;
}

static int mock_record_load(Object *dev, struct json_object *j) {
        if (json_read_u32(j, "stdev-id", &dev->device.ops_ids[MOCK_STDEV]) < 0 ||
            json_read_u32(j, "parking-ioas", &dev->device.ops_ids[MOCK_PARKING]) < 0)
                return -EBADMSG;
        return 0;
}

static uint32_t mock_parked_ioas(Object *dev) {
        return dev->device.ops_ids[MOCK_PARKING];
}

_Static_assert(DEVICE_MOCK_NO_DIRTY == MOCK_FLAGS_DEVICE_NO_DIRTY && DEVICE_MOCK_PASID == MOCK_FLAGS_DEVICE_PASID,
               "the daemon's mock flags are the test driver's");

const DeviceOps mock_device_ops = {
        .attach = mock_attach,
        .detach = mock_detach,
        .attach_pasid = mock_attach_pasid,
        .detach_pasid = mock_detach_pasid,
        .release = mock_release,
        .record_save = mock_record_save,
        .record_load = mock_record_load,
        .parked_ioas = mock_parked_ioas,
};

/* "mockN", N one above the session's highest: unique without a counter
 * that a restart would have to carry over. */
static int mock_name(Session *s, char **ret) {
        unsigned next = 0, n;

        for (Object *o = s->objects; o; o = o->objects_next)
                if (o->type == OBJECT_DEVICE && device_is_mock(o) && sscanf(o->device.name, "mock%u", &n) == 1)
                        next = MAX(next, n + 1);
        return asprintf(ret, "mock%u", next) < 0 ? -ENOMEM : 0;
}

int device_create_mock(Session *s, uint32_t flags, Object **ret) {
        struct viommu_mock_device mock;
        _cleanup_free_ char *name = NULL;
        Object *o, *sibling;
        uint32_t parking;
        int r;

        r = mock_name(s, &name);
        if (r < 0)
                return r;
        sibling = other_mock(s, NULL);
        if (sibling)
                parking = sibling->device.ops_ids[MOCK_PARKING];
        else {
                r = viommu_ioas_alloc(s->iommufd, &parking);
                if (r < 0)
                        return r;
        }
        r = viommu_mock_device_new(s->iommufd, parking, flags, &mock);
        if (r >= 0) {
                r = object_new(s, OBJECT_DEVICE, mock.idev_id, &o);
                if (r < 0)
                        (void) viommu_destroy(s->iommufd, mock.stdev_id);
        }
        if (r < 0) {
                if (!sibling)
                        (void) viommu_destroy(s->iommufd, parking);
                return r;
        }
        o->device.name = TAKE_PTR(name);
        o->device.ops = &mock_device_ops;
        o->device.bound = true;
        o->device.ops_ids[MOCK_STDEV] = mock.stdev_id;
        o->device.ops_ids[MOCK_PARKING] = parking;
        journal_object(o);
        *ret = o;
        return 0;
}

int device_mock_pasid_check(Object *dev, uint32_t pasid, uint32_t hwpt_id) {
        return viommu_mock_pasid_check(dev->session->iommufd, dev->device.ops_ids[MOCK_STDEV], pasid, hwpt_id);
}
