/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Mock devices, from the kernel's iommufd test driver (CONFIG_IOMMUFD_TEST):
 * the DeviceOps of a device that exists only for tests. Built only with
 * ./configure --enable-test-hooks.
 */

#include <errno.h>
#include <stdio.h>

#include "device.h"
#include "journal.h"
#include "mock/viommu-mock.h"
#include "util.h"
#include "viommu-iommufd.h"

/* The kernel only has a mock device attached to something: "detached", it
 * sits on the session's parking IOAS. */
static int mock_attach(Object *dev, uint32_t pt_id, uint32_t *ret_kernel_pt) {
        return viommu_mock_device_replace(dev->session->iommufd, dev->device.stdev_id, pt_id, ret_kernel_pt);
}

static int mock_detach(Object *dev) {
        Session *s = dev->session;

        return viommu_mock_device_replace(s->iommufd, dev->device.stdev_id, s->mock_parking_ioas, NULL);
}

static int mock_attach_pasid(Object *dev, uint32_t pasid, uint32_t pt_id, bool replace, uint32_t *ret_kernel_pt) {
        int iommufd = dev->session->iommufd;

        if (replace)
                return viommu_mock_pasid_replace(iommufd, dev->device.stdev_id, pasid, pt_id);
        return viommu_mock_pasid_attach(iommufd, dev->device.stdev_id, pasid, pt_id);
}

static int mock_detach_pasid(Object *dev, uint32_t pasid) {
        return viommu_mock_pasid_detach(dev->session->iommufd, dev->device.stdev_id, pasid);
}

/* Destroying the mock's test object unbinds and frees it. */
static int mock_release(Object *dev) {
        return viommu_destroy(dev->session->iommufd, dev->device.stdev_id);
}

_Static_assert(DEVICE_MOCK_NO_DIRTY == MOCK_FLAGS_DEVICE_NO_DIRTY && DEVICE_MOCK_PASID == MOCK_FLAGS_DEVICE_PASID,
               "the daemon's mock flags are the test driver's");

const DeviceOps mock_device_ops = {
        .attach = mock_attach,
        .detach = mock_detach,
        .attach_pasid = mock_attach_pasid,
        .detach_pasid = mock_detach_pasid,
        .release = mock_release,
};

int device_create_mock(Session *s, uint32_t flags, Object **ret) {
        struct viommu_mock_device mock;
        _cleanup_free_ char *name = NULL;
        Object *o;
        int r;

        if (asprintf(&name, "mock%u", s->next_mock) < 0)
                return -ENOMEM;
        if (s->mock_parking_ioas == 0) {
                r = viommu_ioas_alloc(s->iommufd, &s->mock_parking_ioas);
                if (r < 0)
                        return r;
        }
        r = viommu_mock_device_new(s->iommufd, s->mock_parking_ioas, flags, &mock);
        if (r < 0)
                return r;
        r = object_new(s, OBJECT_DEVICE, mock.idev_id, &o);
        if (r < 0) {
                (void) viommu_destroy(s->iommufd, mock.stdev_id);
                return r;
        }
        s->next_mock++;
        o->device.name = TAKE_PTR(name);
        o->device.ops = &mock_device_ops;
        o->device.bound = true;
        o->device.stdev_id = mock.stdev_id;
        journal_object(o);
        journal_counters(s);
        *ret = o;
        return 0;
}
