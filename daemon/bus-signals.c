/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "bus-signals.h"

void emit_object_added(Object *o) {
        sd_bus *bus = o->session->daemon->bus;

        (void) sd_bus_emit_object_added(bus, o->path);
        (void) sd_bus_emit_properties_changed(bus, o->session->path, "org.viommu1.Session", "NObjects", NULL);
}

void emit_object_removed(Session *s, const char *path, uint64_t mapped_bytes_before) {
        sd_bus *bus = s->daemon->bus;

        (void) sd_bus_emit_object_removed(bus, path);
        if (s->mapped_bytes != mapped_bytes_before)
                (void) sd_bus_emit_properties_changed(bus, s->path, "org.viommu1.Session", "NObjects",
                                                      "MappedBytes", NULL);
        else
                (void) sd_bus_emit_properties_changed(bus, s->path, "org.viommu1.Session", "NObjects", NULL);
}

void emit_device_attached(Object *dev) {
        (void) sd_bus_emit_properties_changed(dev->session->daemon->bus, dev->path, "org.viommu1.ClaimedDevice",
                                              "Attached", NULL);
}

void emit_device_pasids(Object *dev) {
        (void) sd_bus_emit_properties_changed(dev->session->daemon->bus, dev->path, "org.viommu1.ClaimedDevice",
                                              "Pasids", NULL);
}

void emit_device_attachments(Object *dev) {
        (void) sd_bus_emit_properties_changed(dev->session->daemon->bus, dev->path, "org.viommu1.ClaimedDevice",
                                              "Attached", "Pasids", NULL);
}

void emit_mapped_bytes(Object *ioas) {
        sd_bus *bus = ioas->session->daemon->bus;

        (void) sd_bus_emit_properties_changed(bus, ioas->path, "org.viommu1.IOAS", "MappedBytes", "Mappings", NULL);
        (void) sd_bus_emit_properties_changed(bus, ioas->session->path, "org.viommu1.Session", "MappedBytes", NULL);
}

void emit_session_opened(Session *s) {
        (void) sd_bus_emit_object_added(s->daemon->bus, s->path);
}

void emit_session_closed(Daemon *d, const char *path, const char *reason) {
        (void) sd_bus_emit_signal(d->bus, VIOMMU_MANAGER_PATH, "org.viommu1.Manager", "SessionClosed", "os", path,
                                  reason);
        (void) sd_bus_emit_object_removed(d->bus, path);
}

void emit_device_gone(Session *s, const char *path, const char *name) {
        (void) sd_bus_emit_signal(s->daemon->bus, s->path, "org.viommu1.Session", "DeviceGone", "os", path, name);
}

void emit_device_added(Daemon *d, const char *name, const char *path) {
        (void) sd_bus_emit_signal(d->bus, VIOMMU_MANAGER_PATH, "org.viommu1.Manager", "DeviceAdded", "so", name,
                                  path);
}

void emit_device_removed(Daemon *d, const char *name, const char *path) {
        (void) sd_bus_emit_signal(d->bus, VIOMMU_MANAGER_PATH, "org.viommu1.Manager", "DeviceRemoved", "so", name,
                                  path);
}
