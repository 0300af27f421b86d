/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.viommu1.Device: the host's devices as the topology shows them,
 * /org/viommu1/device/NAME (NAME escaped with sd_bus_path_encode). Its
 * properties are open to everyone; BindVfio and UnbindVfio move the device
 * to vfio-pci and back (binding.c), for whom auth_bind_device() allows.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "auth.h"
#include "binding.h"
#include "bus-errors.h"
#include "daemon.h"
#include "device.h"
#include "log.h"
#include "pci-bind.h"
#include "session.h"
#include "util.h"
#include "viommu-topology.h"

static int device_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                       sd_bus_error *error) {
        Daemon *d = userdata;
        const struct viommu_topology *t;
        const struct viommu_topology_device *dev;
        _cleanup_free_ char *name = NULL;
        int r;

        r = sd_bus_path_decode(path, VIOMMU_DEVICE_PREFIX, &name);
        if (r <= 0)
                return r;
        r = daemon_topology(d, &t);
        if (r < 0)
                return r;
        if (viommu_topology_find_device(t, NULL, name, &dev) < 0)
                return 0;
        *found = (void *) dev;
        return 1;
}

static int device_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                            sd_bus_error *error) {
        Daemon *d = userdata;
        const struct viommu_topology *t;
        char **l;
        int r;

        r = daemon_topology(d, &t);
        if (r < 0)
                return r;
        l = calloc(t->n_devices + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_devices; i++) {
                r = sd_bus_path_encode(VIOMMU_DEVICE_PREFIX, t->devices[i]->name, &l[i]);
                if (r < 0) {
                        for (size_t j = 0; j < i; j++)
                                free(l[j]);
                        free(l);
                        return r;
                }
        }
        *nodes = l;
        return 0;
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const struct viommu_topology_device *dev = userdata;
        const struct viommu_pcie_caps *caps = &dev->pci.caps;

        if (streq(property, "Name"))
                return sd_bus_message_append(reply, "s", dev->name);
        if (streq(property, "Bus"))
                return sd_bus_message_append(reply, "s", dev->bus ?: "");
        if (streq(property, "Driver"))
                return sd_bus_message_append(reply, "s", dev->driver ?: "");
        if (streq(property, "IOMMUGroup"))
                return sd_bus_message_append(reply, "i", dev->iommu_group);
        if (streq(property, "IOMMU"))
                return sd_bus_message_append(reply, "s", dev->iommu ?: "");
        if (streq(property, "VFIODevice"))
                return sd_bus_message_append(reply, "s", dev->vfio_cdev ?: "");
        if (streq(property, "VendorId"))
                return sd_bus_message_append(reply, "i", dev->is_pci ? dev->pci.vendor : -1);
        if (streq(property, "DeviceId"))
                return sd_bus_message_append(reply, "i", dev->is_pci ? dev->pci.device : -1);
        if (streq(property, "ClassCode"))
                return sd_bus_message_append(reply, "i", dev->is_pci ? dev->pci.class_code : -1);
        if (streq(property, "ATS"))
                return sd_bus_message_append(reply, "b", dev->is_pci && caps->ats);
        if (streq(property, "PRI"))
                return sd_bus_message_append(reply, "b", dev->is_pci && caps->pri);
        return sd_bus_message_append(reply, "b", dev->is_pci && caps->pasid);
}

/* The Daemon: the registration's userdata, where the method's is the device. */
static Daemon *current_daemon(sd_bus_message *m) {
        return sd_bus_slot_get_userdata(sd_bus_get_current_slot(sd_bus_message_get_bus(m)));
}

BUS_METHOD(method_bind_vfio) {
        const struct viommu_topology_device *dev = userdata;
        Daemon *d = current_daemon(m);
        _cleanup_free_ char *name = NULL;
        uint64_t flags;
        int r;

        r = sd_bus_message_read(m, "t", &flags);
        if (r < 0)
                return r;
        if (flags & ~BIND_FLAGS_ALL)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Unknown bind flags 0x%" PRIx64, flags);
        if ((flags & BIND_RESTORE_ON_RELEASE) && (flags & BIND_KEEP_ON_RELEASE))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A device cannot be both given back and kept when its claim ends");
        if (!dev->is_pci)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_SUPPORTED,
                                         "Device %s is not a PCI device: only vfio-pci binding is supported", dev->name);

        /* Back from the bind it started, it was authorized then. */
        if (!binding_started_by(d, m)) {
                r = auth_bind_device(d, m, dev, error);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 1;       /* polkit was asked: the call comes back with its answer */
        }

        /* Binding re-reads the topology, and dev with it. */
        name = strdup(dev->name);
        if (!name)
                return -ENOMEM;
        r = binding_bind(d, m, name, flags, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;       /* bound in a child: the call comes back when it is done */
        return sd_bus_reply_method_return(m, NULL);
}

BUS_METHOD(method_unbind_vfio) {
        const struct viommu_topology_device *dev = userdata;
        Daemon *d = current_daemon(m);
        _cleanup_free_ char *driver = NULL;
        Object *claimed;
        uint64_t flags;
        int r;

        r = sd_bus_message_read(m, "t", &flags);
        if (r < 0)
                return r;
        if (flags & ~UNBIND_FLAGS_ALL)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Unknown unbind flags 0x%" PRIx64,
                                         flags);
        r = pci_bind_driver(PCI_BIND_SYSFS, dev->name, &driver);
        if (r == -ENODEV)
                return sd_bus_error_setf(error, VIOMMU_ERROR_DEVICE_GONE, "Device %s is gone", dev->name);
        if (r < 0)
                return bus_error_kernel(error, r, "Reading the device's driver");
        if (!streq_ptr(driver, "vfio-pci"))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Device %s is not on vfio-pci (%s%s)",
                                         dev->name, driver ? "driver: " : "no driver", driver ?: "");
        /* Asked first: whether a session has the device is not for a
         * caller who may not unbind it. */
        r = auth_bind_device(d, m, dev, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        /* Unbinding would wait for the claim's fd: the claim goes first. */
        claimed = device_find_claimed(d, dev->name);
        if (claimed)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY, "Device %s is claimed: release it first",
                                         dev->name);

        r = binding_give_back(d, dev->name, flags & UNBIND_NO_RESTORE, m, error);
        if (r < 0)
                return r;
        return 1;       /* answered when the device is back */
}

const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Bus", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Driver", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("IOMMUGroup", "i", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("IOMMU", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("VFIODevice", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("VendorId", "i", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DeviceId", "i", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ClassCode", "i", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ATS", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PRI", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PASID", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("BindVfio", SD_BUS_ARGS("t", flags), SD_BUS_NO_RESULT, method_bind_vfio,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UnbindVfio", SD_BUS_ARGS("t", flags), SD_BUS_RESULT("s", driver),
                                method_unbind_vfio, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int device_dbus_register(Daemon *d, sd_bus *bus) {
        int r;

        r = sd_bus_add_fallback_vtable(bus, NULL, VIOMMU_DEVICE_PREFIX, "org.viommu1.Device", device_vtable,
                                       device_find, d);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(bus, NULL, VIOMMU_DEVICE_PREFIX, device_enumerate, d);
}
