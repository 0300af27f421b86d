/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hotplug: PCI devices coming and going, from libudev's monitor inside the
 * event loop. A device that goes while a session holds it takes its
 * attachments and everything made for it along, and its session is told.
 */

#include <errno.h>
#include <libudev.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "binding.h"
#include "bus-signals.h"
#include "daemon.h"
#include "device.h"
#include "hotplug.h"
#include "log.h"
#include "session.h"
#include "util.h"
#include "viommu-topology.h"
#include "viommu-vfio.h"

int daemon_topology(Daemon *d, const struct viommu_topology **ret) {
        int r;

        if (!d->topology || d->topology_stale) {
                struct viommu_topology *t;

                r = viommu_topology_new(&t);
                if (r < 0)
                        return r;
                viommu_topology_free(d->topology);
                d->topology = t;
                d->topology_stale = false;
        }
        *ret = d->topology;
        return 0;
}

/* Destroys what uses o, leaves first, then o itself. */
static void object_destroy_tree(Object *o) {
        Session *s = o->session;

        for (bool again = true; again;) {
                again = false;
                for (Object *u = s->objects; u; u = u->objects_next)
                        for (size_t i = 0; i < ELEMENTSOF(u->uses); i++)
                                if (u->uses[i] == o) {
                                        object_destroy_tree(u);
                                        again = true;   /* the list changed */
                                        goto next;
                                }
        next:;
        }
        /* Devices attached to o (an IOAS or HWPT), whole or by PASID, hold it
         * too; the device itself is detached when it goes. */
        for (Object *u = s->objects; u; u = u->objects_next)
                if (u->type == OBJECT_DEVICE && device_detach_from(u, o) > 0)
                        emit_device_attachments(u);

        _cleanup_free_ char *path = strdup(o->path);
        uint64_t mapped = s->mapped_bytes;
        ObjectType type = o->type;

        if (object_destroy(o) < 0)
                /* The kernel keeps what it must (a queue whose fd is still
                 * open); the record lets go, and closing the iommufd ends it. */
                object_forget(o);
        if (path)
                emit_object_removed(s, path, type, mapped);
}

void hotplug_release_device(Object *dev, const char *why) {
        Session *s = dev->session;
        _cleanup_free_ char *path = strdup(dev->path), *name = strdup(dev->device.name);

        log_object(dev, "letting claimed device %s go: %s", dev->device.name, why);
        object_destroy_tree(dev);
        emit_device_gone(s, path ?: "/", name ?: "");
}

static void device_gone(Daemon *d, const char *name) {
        for (Session *s = d->sessions; s; s = s->sessions_next)
                for (Object *o = s->objects; o; o = o->objects_next)
                        if (o->type == OBJECT_DEVICE && !device_is_mock(o) && streq(o->device.name, name)) {
                                hotplug_release_device(o, "it was removed from the host");
                                return;
                        }
}

/* vfio-pci's remove waits until the device fd is closed: the request
 * eventfd is how it asks, before any uevent. */
static int on_device_request(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Object *dev = userdata;
        uint64_t n;

        (void) read(fd, &n, sizeof(n));
        hotplug_release_device(dev, "the host asked for it back (unplug or unbind)");
        return 0;
}

int hotplug_watch_device(Object *dev) {
        int r;

        dev->device.request_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (dev->device.request_fd < 0)
                return -errno;
        r = viommu_vfio_set_request_eventfd(dev->device.fd, dev->device.request_fd);
        if (r < 0)
                return r;
        return sd_event_add_io(dev->session->daemon->event, &dev->device.request_source, dev->device.request_fd,
                               EPOLLIN, on_device_request, dev);
}

static int on_uevent(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Daemon *d = userdata;
        const struct viommu_topology_device *t;
        struct udev_device *dev;
        const char *action, *name;
        _cleanup_free_ char *path = NULL;
        int known;

        dev = udev_monitor_receive_device(d->monitor);
        if (!dev) {
                /* Events were lost (a burst of them overflowed the socket):
                 * only a full read knows what they said. */
                if (errno == ENOBUFS) {
                        log_warning("uevents were lost: the device list will be read anew");
                        d->topology_stale = true;
                }
                return 0;
        }
        action = udev_device_get_action(dev);
        name = udev_device_get_sysname(dev);
        /* Whether the device was known, when the topology can say. */
        known = !d->topology || d->topology_stale || !name ? -1 :
                viommu_topology_find_pci_device(d->topology, name, &t) >= 0;

        /* One device changed: read it alone, unless that fails. */
        if (d->topology && viommu_topology_update_device(d->topology, dev) < 0)
                d->topology_stale = true;

        /* vfio-dev events only change a PCI device's VFIO cdev. A repeated
         * "add" (udevadm trigger) announces nothing new. */
        if (action && name && streq_ptr(udev_device_get_subsystem(dev), "pci") &&
            sd_bus_path_encode(VIOMMU_DEVICE_PREFIX, name, &path) >= 0) {
                if (streq(action, "add") && known != 1) {
                        log_info("device %s added", name);
                        emit_device_added(d, name, path);
                } else if (streq(action, "remove")) {
                        log_info("device %s removed", name);
                        device_gone(d, name);
                        binding_device_removed(d, name);
                        /* Always: the topology may have dropped the device
                         * already, when its uevent file went before the
                         * driver let go (device_del()). */
                        emit_device_removed(d, name, path);
                }
        }
        udev_device_unref(dev);
        return 0;
}

int hotplug_start(Daemon *d) {
        /* Without udevd (a minimal VM, a container) only the kernel's own
         * uevents exist; they carry what is needed here. */
        const char *source = access("/run/udev/control", F_OK) == 0 ? "udev" : "kernel";
        int r;

        d->udev = udev_new();
        if (!d->udev)
                return -ENOMEM;
        d->monitor = udev_monitor_new_from_netlink(d->udev, source);
        if (!d->monitor)
                return -errno ?: -ENOMEM;
        r = udev_monitor_filter_add_match_subsystem_devtype(d->monitor, "pci", NULL);
        if (r < 0)
                return r;
        r = udev_monitor_filter_add_match_subsystem_devtype(d->monitor, "vfio-dev", NULL);
        if (r < 0)
                return r;
        /* Room for a burst, such as the creation of many SR-IOV VFs. */
        (void) udev_monitor_set_receive_buffer_size(d->monitor, 4 * 1024 * 1024);
        r = udev_monitor_enable_receiving(d->monitor);
        if (r < 0)
                return r;
        return sd_event_add_io(d->event, &d->monitor_source, udev_monitor_get_fd(d->monitor), EPOLLIN,
                               on_uevent, d);
}

void hotplug_stop(Daemon *d) {
        d->monitor_source = sd_event_source_disable_unref(d->monitor_source);
        d->monitor = udev_monitor_unref(d->monitor);
        d->udev = udev_unref(d->udev);
}
