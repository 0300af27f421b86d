/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Every signal the daemon sends, from here alone, and on the system bus. A
 * session's signals (its objects' InterfacesAdded and InterfacesRemoved,
 * PropertiesChanged, SessionClosed, DeviceGone) go to the subscribers who
 * may see it (subscribers.h), each as a message of its own, and are not
 * even built while nobody subscribed; only the host's DeviceAdded and
 * DeviceRemoved reach everyone.
 * What a VMM does over its direct channel is announced on the bus all the
 * same; only fault records, which are the VMM's alone, take its channel when
 * it has one. Property changes go out together, a few milliseconds late
 * (bus-signals.c).
 */

#include <stdint.h>
#include <linux/virtio_iommu.h>

#include "session.h"

/* Announces the changes of properties not announced yet. */
void signals_flush(Daemon *d);
/* Watches d->bus's calls, each of which that reads state flushes first. */
int signals_start(Daemon *d);
/* Stops the timer and the watch; after the sessions went. */
void signals_stop(Daemon *d);
/* Drops what was marked for a session or object that goes away. */
void signals_forget_session(Session *s);
void signals_forget_object(Object *o);

/* InterfacesAdded for o, and its session's NObjects. */
void emit_object_added(Object *o);
/* InterfacesRemoved for the object that was at path, and its session's
 * NObjects, with MappedBytes if the removal changed it. */
void emit_object_removed(Session *s, const char *path, ObjectType type, uint64_t mapped_bytes_before);
/* A device's Attached, its Pasids, or both after a hotplug took both. */
void emit_device_attached(Object *dev);
void emit_device_pasids(Object *dev);
void emit_device_attachments(Object *dev);
/* An IOAS's MappedBytes and Mappings, and its session's MappedBytes. */
void emit_mapped_bytes(Object *ioas);

/* A session's GuestMemory. */
void emit_guest_memory(Session *s);

void emit_session_opened(Session *s);
/* Before s is freed: whom to tell is s's to say. */
void emit_session_closed(Session *s, const char *reason);
/* Session.DeviceGone: the host took a claimed device back. */
void emit_device_gone(Session *s, const char *path, const char *name);

/* Session.VirtioIommuFault to the owner alone: over its direct channel if
 * one is open, else on the bus. */
void emit_virtio_iommu_fault(Session *s, const struct virtio_iommu_fault *record);

void emit_device_added(Daemon *d, const char *name, const char *path);
void emit_device_removed(Daemon *d, const char *name, const char *path);
