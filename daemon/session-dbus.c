/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.viommu1.Session: one VMM's session, /org/viommu1/session/N. Each method
 * is a SESSION_METHOD: that the caller owns the session is checked first,
 * so that no error tells a stranger anything. Then it reads and validates
 * its arguments, checks the session's limits, acts through the model
 * (device.c, ioas.c, hwpt.c, viommu-object.c, guest-memory.c), emits and
 * replies, in that order; a call that fails changes nothing.
 */

#include <stddef.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <unistd.h>

#include "auth.h"
#include "binding.h"
#include "bus-errors.h"
#include "bus-signals.h"
#include "bus-util.h"
#include "caller-uid.h"
#include "channel.h"
#include "device.h"
#include "frame-channel.h"
#include "guest-memory.h"
#include "hwpt.h"
#include "ioas.h"
#include "lease.h"
#include "log.h"
#include "memory-fd.h"
#include "session-dbus.h"
#include "smmuv3-data.h"
#include "subscribers.h"
#include "util.h"
#include "viommu-object.h"
#include "virtio-iommu.h"
#include "viommu-topology.h"

/* Payloads the kernel copies in: vendor data of a HWPT or vIOMMU. */
#define VENDOR_DATA_MAX 4096

static int reply_object(sd_bus_message *m, Object *o) {
        emit_object_added(o);
        return sd_bus_reply_method_return(m, "ou", o->path, o->id);
}

void session_close(Session *s, const char *reason) {
        Daemon *d = s->daemon;

        log_session(s, "closing: %s", reason);
        channels_drop_session(d, s);
        frame_channels_drop_session(d, s);
        emit_session_closed(s, reason);
        session_free(s);
}

/* One match serves every session: tracking each owner by itself would ask
 * the bus synchronously, in every OpenSession, whether the owner is there. A
 * caller that leaves before its OpenSession is answered is still seen to
 * go: the bus sends NameOwnerChanged after the call. */
static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !isempty(new_owner))
                return 0;
        leases_forget_holder(d, d->bus, name);
        subscriber_remove(d, name);
        for (Session *s = d->sessions, *next; s; s = next) {
                next = s->sessions_next;
                if (!s->persistent && streq(s->owner, name))
                        session_close(s, "its owner left the bus");
        }
        return 0;
}

int sessions_watch_owners(Daemon *d) {
        return sd_bus_match_signal(d->bus, &d->owners_watch, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                   "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, d);
}

int session_owner_reclaim(Session *s) {
        uid_t uid;
        int r;

        /* A restart of the bus itself hands its names out anew: the name
         * may be a stranger's now, which owns nothing. */
        r = name_uid_now(s->daemon, s->owner, &uid);
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && uid == s->uid) {
                s->owner_here = true;
                return 0;
        }
        return s->persistent ? 0 : -ESRCH;
}

SESSION_METHOD(method_close) {
        int r;

        r = sd_bus_reply_method_return(m, NULL);
        session_close(s, "closed by request");
        return r;
}

static int find_host_device(Daemon *d, const char *name, const struct viommu_topology_device **ret,
                            sd_bus_error *error) {
        const struct viommu_topology *t;
        int r;

        r = daemon_topology(d, &t);
        if (r < 0)
                return bus_error_kernel(error, r, "Reading the IOMMU topology");
        r = viommu_topology_find_pci_device(t, name, ret);
        if (r < 0)
                r = viommu_topology_find_device(t, NULL, name, ret);
        if (r < 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT, "No device %s on this host", name);
        return 0;
}

/* ClaimDeviceWithFlags's flags. */
#define CLAIM_BIND_VFIO  (UINT64_C(1) << 0)     /* bind to vfio-pci first, give back when the claim ends */
#define CLAIM_FORCE      (UINT64_C(1) << 1)     /* bind even if the host uses it */
#define CLAIM_KEEP_BOUND (UINT64_C(1) << 2)     /* leave it on vfio-pci when the claim ends */
#define CLAIM_FLAGS_ALL  (CLAIM_BIND_VFIO | CLAIM_FORCE | CLAIM_KEEP_BOUND)

static int claim_device(sd_bus_message *m, Session *s, const char *name, int want_fd, uint64_t flags,
                        sd_bus_error *error) {
        Daemon *d = s->daemon;
        const struct viommu_topology_device *dev;
        _cleanup_close_ int reply_fd = -EBADF;
        _cleanup_free_ char *bound = NULL;
        Object *claimed, *o;
        bool bind, started;
        int r;

        if (flags & ~CLAIM_FLAGS_ALL)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Unknown claim flags 0x%" PRIx64, flags);
        if ((flags & (CLAIM_FORCE | CLAIM_KEEP_BOUND)) && !(flags & CLAIM_BIND_VFIO))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Claim flags 0x%" PRIx64 " are about binding: give CLAIM_BIND_VFIO too", flags);

        /* Back from the bind it started, it was authorized then. */
        started = binding_started_by(d, m);
        r = find_host_device(d, name, &dev, error);
        if (r < 0)
                return r;
        bind = (flags & CLAIM_BIND_VFIO) && (started || !dev->vfio_cdev);
        if (!dev->vfio_cdev && !bind)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Device %s has no VFIO cdev: bind it to vfio-pci first (driver: %s), "
                                         "or claim it with CLAIM_BIND_VFIO", dev->name, dev->driver ?: "none");

        /* Binding takes more than claiming: its answer covers both. Asked
         * first: whether another session has the device is not for a
         * caller who may not have it. */
        r = started ? 1 : bind ? auth_bind_device(d, m, dev, error) : auth_claim_device(d, m, s, dev, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;       /* polkit was asked: the call comes back with its answer */
        /* Which session has it is for those who may see that session. */
        claimed = device_find_claimed(d, dev->name);
        if (claimed && session_visible_to(claimed->session, m))
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY, "Device %s is claimed by session %u",
                                         dev->name, claimed->session->id);
        if (claimed)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY, "Device %s is claimed by another user",
                                         dev->name);
        if (binding_busy(d, dev->name, m))
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY, "Device %s is being moved between drivers",
                                         dev->name);
        r = auth_check_limit(d, s, CONFIG_LIMIT_DEVICES, 1, error);
        if (r < 0)
                return r;

        if (bind) {
                bound = strdup(dev->name);
                if (!bound)
                        return -ENOMEM;
                r = binding_bind(d, m, bound, (flags & CLAIM_FORCE ? BIND_FORCE : 0) |
                                 (flags & CLAIM_KEEP_BOUND ? BIND_KEEP_ON_RELEASE : BIND_RESTORE_ON_RELEASE), error);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 1;       /* bound in a child: the call comes back when it is done */
                /* The topology was read afresh: dev with it. */
                r = find_host_device(d, bound, &dev, error);
                if (r >= 0 && !dev->vfio_cdev)
                        r = sd_bus_error_setf(error, VIOMMU_ERROR_KERNEL, "Device %s is on vfio-pci but has no VFIO cdev",
                                              bound);
                if (r < 0) {
                        (void) binding_give_back(d, bound, false, NULL, NULL);
                        return r;
                }
        }

        r = device_claim(s, dev, &o, want_fd ? &reply_fd : NULL);
        if (r == -ENODEV)
                r = sd_bus_error_setf(error, VIOMMU_ERROR_DEVICE_GONE, "Device %s vanished while being claimed",
                                      dev->name);
        else if (r == -EBUSY)
                r = sd_bus_error_setf(error, VIOMMU_ERROR_BUSY, "Device %s is in use by another program",
                                      dev->name);
        else if (r == -EALREADY)
                r = sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                      "Device %s is bound through another open of its VFIO cdev "
                                      "(a VMM still holding the fd of an earlier claim?)", dev->name);
        else if (r < 0)
                r = bus_error_kernel(error, r, s->delegated ? "Opening the VFIO cdev" : "VFIO_DEVICE_BIND_IOMMUFD");
        if (r < 0) {
                /* What this call bound goes back. */
                if (bound)
                        (void) binding_give_back(d, bound, false, NULL, NULL);
                return r;
        }

        log_object(o, "claimed %s as %s%s", dev->name, o->path, bound ? " (bound to vfio-pci for it)" : "");
        emit_object_added(o);
        if (want_fd)
                return sd_bus_reply_method_return(m, "oua(h)", o->path, o->id, 1, reply_fd);
        return sd_bus_reply_method_return(m, "oua(h)", o->path, o->id, 0);
}

SESSION_METHOD(method_claim_device) {
        const char *name;
        int want_fd, r;

        r = sd_bus_message_read(m, "sb", &name, &want_fd);
        if (r < 0)
                return r;
        return claim_device(m, s, name, want_fd, 0, error);
}

SESSION_METHOD(method_claim_device_with_flags) {
        const char *name;
        uint64_t flags;
        int want_fd, r;

        r = sd_bus_message_read(m, "sbt", &name, &want_fd, &flags);
        if (r < 0)
                return r;
        return claim_device(m, s, name, want_fd, flags, error);
}

SESSION_METHOD(method_create_mock_device) {
        Daemon *d = s->daemon;
        uint32_t flags;
        Object *o;
        int r;

        r = sd_bus_message_read(m, "u", &flags);
        if (r < 0)
                return r;
        if (!d->mock_devices)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_SUPPORTED,
                                         "Mock devices are a test feature: start viommud with --test-mock-devices");
        if (flags & ~(uint32_t) (DEVICE_MOCK_NO_DIRTY | DEVICE_MOCK_PASID))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Unknown mock device flags 0x%x", flags);
        r = auth_check_limit(d, s, CONFIG_LIMIT_DEVICES, 1, error);
        if (r < 0)
                return r;

        r = device_create_mock(s, flags, &o);
        if (r < 0)
                return bus_error_kernel(error, r, "Creating a mock device (IOMMU_TEST_OP_MOCK_DOMAIN)");
        log_object(o, "created mock device %s (dev_id %u)", o->device.name, o->id);
        return reply_object(m, o);
}

SESSION_METHOD(method_release_device) {
        const char *path;
        uint64_t mapped;
        Object *o;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r < 0)
                return r;
        r = session_object_arg(s, path, ARG_DEVICE, &o, error);
        if (r < 0)
                return r;
        if (o->n_users > 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "Device %s is still used by %u object(s): destroy them first",
                                         o->device.name, o->n_users);

        log_object(o, "releasing %s", o->device.name);
        mapped = s->mapped_bytes;
        r = object_destroy(o);
        if (r < 0)
                return bus_error_kernel(error, r, "Releasing the device");
        emit_object_removed(s, path, OBJECT_DEVICE, mapped);
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_create_ioas) {
        Object *o;
        int r;

        r = auth_check_limit(s->daemon, s, CONFIG_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;
        r = ioas_new(s, &o);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_IOAS_ALLOC");
        return reply_object(m, o);
}

SESSION_METHOD(method_alloc_hwpt) {
        Daemon *d = s->daemon;
        const char *dev_path, *parent_path, *fault_path;
        uint32_t flags, data_type;
        const void *data;
        size_t data_len;
        Object *dev, *parent, *fault, *o;
        int r;

        r = sd_bus_message_read(m, "ooouu", &dev_path, &parent_path, &fault_path, &flags, &data_type);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(m, 'y', &data, &data_len);
        if (r < 0)
                return r;

        r = session_object_arg(s, dev_path, ARG_DEVICE | ARG_BOUND, &dev, error);
        if (r < 0)
                return r;
        r = session_object_arg(s, parent_path, ARG_IOAS | ARG_HWPT | ARG_VIOMMU, &parent, error);
        if (r < 0)
                return r;
        if (parent->type == OBJECT_HWPT && parent->hwpt.nested)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The parent of a HWPT is an IOAS, a paging HWPT or a vIOMMU; %s is nested",
                                         parent_path);
        r = session_object_arg(s, fault_path, ARG_FAULT_QUEUE | ARG_OPTIONAL, &fault, error);
        if (r < 0)
                return r;
        if (parent->type != OBJECT_IOAS && data_len == 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A nested HWPT needs the guest's stage-1 data");
        if (data_len > VENDOR_DATA_MAX || (data_len > 0) != (data_type != IOMMU_HWPT_DATA_NONE))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Vendor data must be given with a data type, and at most %u bytes",
                                         VENDOR_DATA_MAX);
        if (data_type == IOMMU_HWPT_DATA_ARM_SMMUV3) {
                _cleanup_free_ char *why = NULL;

                r = smmuv3_check_ste(data, data_len, &why);
                if (r == -EINVAL)
                        return sd_bus_error_set(error, VIOMMU_ERROR_INVALID_ARGUMENT, why);
                if (r < 0)
                        return r;
        }
        if (flags & ~(uint32_t) (IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
                                 IOMMU_HWPT_ALLOC_PASID))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Unknown HWPT flags 0x%x (a fault queue is passed as an object)", flags);
        if ((flags & (IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING)) &&
            !viommu_features_has(d->features, VIOMMU_FEATURE_NESTING))
                return bus_error_not_supported(error, VIOMMU_FEATURE_NESTING);
        if ((flags & IOMMU_HWPT_ALLOC_PASID) && !viommu_features_has(d->features, VIOMMU_FEATURE_PASID_ATTACH))
                return bus_error_not_supported(error, VIOMMU_FEATURE_PASID_ATTACH);
        r = auth_check_limit(d, s, CONFIG_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;

        r = hwpt_new(s, dev, parent, fault, flags, data_type, data, data_len, &o);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_SUPPORTED,
                                         "The IOMMU of %s does not support this HWPT (flags 0x%x, data type %u)",
                                         dev->device.name, flags, data_type);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_HWPT_ALLOC");
        return reply_object(m, o);
}

SESSION_METHOD(method_attach) {
        Object *dev, *pt;
        uint32_t attached;
        int r;

        r = session_read_object_arg(s, m, ARG_DEVICE | ARG_BOUND, &dev, error);
        if (r < 0)
                return r;
        r = session_read_object_arg(s, m, ARG_IOAS | ARG_HWPT, &pt, error);
        if (r < 0)
                return r;

        /* Attaching an attached device replaces its page table in place. */
        r = device_attach(dev, pt, &attached);
        if (r < 0)
                return bus_error_kernel(error, r, "Attaching the device");
        log_object(dev, "attached %s to %s", dev->device.name, pt->path);
        emit_device_attached(dev);
        return sd_bus_reply_method_return(m, "u", attached);
}

SESSION_METHOD(method_detach) {
        Object *dev;
        int r;

        r = session_read_object_arg(s, m, ARG_DEVICE | ARG_BOUND, &dev, error);
        if (r < 0)
                return r;
        if (!dev->device.attached)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Device %s is not attached",
                                         dev->device.name);

        r = device_detach(dev);
        if (r < 0)
                return bus_error_kernel(error, r, "Detaching the device");
        emit_device_attached(dev);
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_attach_pasid) {
        Object *dev, *pt, *old;
        uint32_t pasid, attached;
        int r;

        r = session_read_object_arg(s, m, ARG_DEVICE | ARG_BOUND, &dev, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "u", &pasid);
        if (r < 0)
                return r;
        r = session_read_object_arg(s, m, ARG_HWPT, &pt, error);
        if (r < 0)
                return r;
        if (pasid == 0 || pasid >= (1u << 20))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "PASID %u is out of range (1..%u)", pasid, (1u << 20) - 1);
        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_PASID_ATTACH))
                return bus_error_not_supported(error, VIOMMU_FEATURE_PASID_ATTACH);

        /* Attaching an attached PASID replaces its HWPT in place. */
        old = device_pasid_hwpt(dev, pasid);
        r = device_attach_pasid(dev, pasid, pt, &attached);
        if (r < 0)
                return bus_error_kernel(error, r, "Attaching the PASID");
        if (old)
                log_object(dev, "moved PASID %u of %s from %s to %s", pasid, dev->device.name, old->path, pt->path);
        else
                log_object(dev, "attached PASID %u of %s to %s", pasid, dev->device.name, pt->path);
        emit_device_pasids(dev);
        return sd_bus_reply_method_return(m, "u", attached);
}

SESSION_METHOD(method_detach_pasid) {
        uint32_t pasid;
        Object *dev;
        int r;

        r = session_read_object_arg(s, m, ARG_DEVICE | ARG_BOUND, &dev, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "u", &pasid);
        if (r < 0)
                return r;
        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_PASID_ATTACH))
                return bus_error_not_supported(error, VIOMMU_FEATURE_PASID_ATTACH);
        if (!device_pasid_hwpt(dev, pasid))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "PASID %u of %s is not attached",
                                         pasid, dev->device.name);

        r = device_detach_pasid(dev, pasid);
        if (r < 0)
                return bus_error_kernel(error, r, "Detaching the PASID");
        log_object(dev, "detached PASID %u of %s", pasid, dev->device.name);
        emit_device_pasids(dev);
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_alloc_fault_queue) {
        _cleanup_close_ int fd = -EBADF;
        Object *o;
        int r;

        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_FAULT_QUEUE))
                return bus_error_not_supported(error, VIOMMU_FEATURE_FAULT_QUEUE);
        r = auth_check_limit(s->daemon, s, CONFIG_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;

        r = fault_queue_new(s, &o, &fd);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_FAULT_QUEUE_ALLOC");
        /* The fd is the hot path and goes to the VMM; the daemon keeps no
         * copy, so the queue lives as long as the VMM holds it. */
        emit_object_added(o);
        return sd_bus_reply_method_return(m, "ouh", o->path, o->id, fd);
}

SESSION_METHOD(method_alloc_viommu) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ void *inout = NULL;
        const void *data;
        size_t data_len;
        Object *dev, *hwpt, *o;
        uint32_t type;
        int r;

        r = session_read_object_arg(s, m, ARG_DEVICE | ARG_BOUND, &dev, error);
        if (r < 0)
                return r;
        r = session_read_object_arg(s, m, ARG_HWPT, &hwpt, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "u", &type);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(m, 'y', &data, &data_len);
        if (r < 0)
                return r;
        if (!(hwpt->hwpt.flags & IOMMU_HWPT_ALLOC_NEST_PARENT))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A vIOMMU sits on a NEST_PARENT HWPT; %s is not one", hwpt->path);
        if (data_len > VENDOR_DATA_MAX)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "vIOMMU data is at most %u bytes",
                                         VENDOR_DATA_MAX);
        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_VIOMMU))
                return bus_error_not_supported(error, VIOMMU_FEATURE_VIOMMU);
        r = auth_check_limit(s->daemon, s, CONFIG_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;

        /* The kernel writes its outputs into the same buffer. */
        if (data_len > 0) {
                inout = memdup(data, data_len);
                if (!inout)
                        return -ENOMEM;
        }
        r = viommu_object_new(s, dev, hwpt, type, inout, data_len, &o);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_SUPPORTED,
                                         "The IOMMU of %s offers no vIOMMU of type %u", dev->device.name, type);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_VIOMMU_ALLOC");

        emit_object_added(o);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "ou", o->path, o->id);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', inout, data_len);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

SESSION_METHOD(method_alloc_vdevice) {
        Object *viommu, *dev, *o;
        uint64_t virt_id;
        int r;

        /* Without the feature no vIOMMU can exist: say why, not "no such". */
        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_VDEVICE))
                return bus_error_not_supported(error, VIOMMU_FEATURE_VDEVICE);
        r = session_read_object_arg(s, m, ARG_VIOMMU, &viommu, error);
        if (r < 0)
                return r;
        r = session_read_object_arg(s, m, ARG_DEVICE | ARG_BOUND, &dev, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "t", &virt_id);
        if (r < 0)
                return r;
        r = auth_check_limit(s->daemon, s, CONFIG_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;

        r = vdevice_new(s, viommu, dev, virt_id, &o);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "Device %s already has a vDEVICE on this vIOMMU", dev->device.name);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_VDEVICE_ALLOC");
        return reply_object(m, o);
}

SESSION_METHOD(method_alloc_veventq) {
        _cleanup_close_ int fd = -EBADF;
        uint32_t type, depth;
        Object *viommu, *o;
        int r;

        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_VEVENTQ))
                return bus_error_not_supported(error, VIOMMU_FEATURE_VEVENTQ);
        r = session_read_object_arg(s, m, ARG_VIOMMU, &viommu, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "uu", &type, &depth);
        if (r < 0)
                return r;
        if (depth == 0 || depth > 65536)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Queue depth %u is not in 1..65536",
                                         depth);
        r = auth_check_limit(s->daemon, s, CONFIG_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;

        r = veventq_new(s, viommu, type, depth, &o, &fd);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "The vIOMMU already has an event queue of type %u", type);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_VEVENTQ_ALLOC");
        emit_object_added(o);
        return sd_bus_reply_method_return(m, "ouh", o->path, o->id, fd);
}

SESSION_METHOD(method_destroy) {
        const char *path;
        uint64_t mapped;
        ObjectType type;
        Object *o;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r < 0)
                return r;
        r = session_object_arg(s, path, ARG_ANY, &o, error);
        if (r < 0)
                return r;
        if (o->type == OBJECT_DEVICE)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Devices are given back with ReleaseDevice");
        if (o->n_users > 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "%s is still used by %u object(s), device(s) or PASID(s): those go first",
                                         path, o->n_users);
        if (o->type == OBJECT_IOAS && lease_overlapping(o, 0, UINT64_MAX))
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "Lease %u is held on %s: Unmap revokes it, or its holder releases it",
                                         lease_id(lease_overlapping(o, 0, UINT64_MAX)), path);
        if (o->type == OBJECT_IOAS && lease_draining_ioas(o))
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY, "An Unmap of %s is completing", path);

        mapped = s->mapped_bytes;
        type = o->type;
        r = object_destroy(o);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "The kernel still uses %s (is its fd still open?)", path);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_DESTROY");
        emit_object_removed(s, path, type, mapped);
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_add_memory) {
        uint64_t offset, gpa, size;
        GuestRegion *g;
        MemoryFd mfd;
        int fd, r;

        r = sd_bus_message_read(m, "httt", &fd, &offset, &gpa, &size);
        if (r < 0)
                return r;
        if (size == 0 || ((offset | gpa | size) & UINT64_C(0xfff)) || gpa + (size - 1) < gpa ||
            offset + (size - 1) < offset)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Offset, guest-physical address and size must be 4 KiB aligned, the size "
                                         "not zero and the ranges within 64 bits");
        r = memory_fd_inspect(fd, &mfd, error);
        if (r >= 0)
                r = memory_fd_check_guest_memory(&mfd, error);
        if (r >= 0)
                r = memory_fd_check_range(&mfd, offset, size, 0, error);
        if (r < 0)
                return r;
        g = guest_memory_overlapping(s, gpa, size);
        if (g)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "Guest-physical range 0x%llx+0x%llx overlaps region %u (0x%llx+0x%llx)",
                                         (unsigned long long) gpa, (unsigned long long) size, g->id,
                                         (unsigned long long) g->gpa, (unsigned long long) g->size);
        if (s->n_regions >= GUEST_MEMORY_REGIONS_MAX)
                return sd_bus_error_setf(error, VIOMMU_ERROR_LIMIT_EXCEEDED,
                                         "A session has at most %u guest memory regions", GUEST_MEMORY_REGIONS_MAX);

        r = guest_memory_add(s, fd, offset, gpa, size, &g);
        if (r == -ENOBUFS)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "Cannot keep the guest memory: the service manager has not yet taken "
                                         "the file descriptors viommud stored before; try again");
        if (r < 0)
                return bus_error_errno(error, r, "Cannot keep the guest memory: %m");
        log_session(s, "guest memory region %u: 0x%llx+0x%llx at guest-physical 0x%llx", g->id,
                    (unsigned long long) offset, (unsigned long long) size, (unsigned long long) gpa);
        emit_guest_memory(s);
        return sd_bus_reply_method_return(m, "u", g->id);
}

SESSION_METHOD(method_remove_memory) {
        GuestRegion *g;
        uint32_t id;
        int r;

        r = sd_bus_message_read(m, "u", &id);
        if (r < 0)
                return r;
        g = guest_memory_find(s, id);
        if (!g)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT, "No guest memory region %u", id);
        if (guest_memory_users(s, g) > 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "Guest memory region %u is still used by %u mapping(s): unmap them first",
                                         id, guest_memory_users(s, g));

        r = guest_memory_remove(s, g);
        if (r < 0)
                return bus_error_errno(error, r, "Cannot remove guest memory region %u: %m", id);
        log_session(s, "guest memory region %u removed", id);
        emit_guest_memory(s);
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_virtio_iommu_add_endpoint) {
        uint32_t endpoint;
        Object *dev;
        int r;

        r = session_read_object_arg(s, m, ARG_DEVICE | ARG_BOUND, &dev, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "u", &endpoint);
        if (r < 0)
                return r;

        r = virtio_iommu_add_endpoint(s, dev, endpoint);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "Endpoint %u or device %s is a virtio-iommu endpoint already", endpoint,
                                         dev->device.name);
        if (r < 0)
                return r;
        log_object(dev, "virtio-iommu endpoint %u is %s", endpoint, dev->device.name);
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_virtio_iommu_remove_endpoint) {
        uint32_t endpoint;
        int r;

        r = sd_bus_message_read(m, "u", &endpoint);
        if (r < 0)
                return r;

        r = virtio_iommu_remove_endpoint(s, endpoint);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT, "No virtio-iommu endpoint %u", endpoint);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "Endpoint %u is attached to a domain: DETACH it first", endpoint);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_virtio_iommu_request) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const void *request;
        size_t size, answer_size;
        uint64_t range[2];
        void *answer;
        ssize_t n;
        Object *ioas;
        int r;

        r = sd_bus_message_read_array(m, 'y', &request, &size);
        if (r < 0)
                return r;
        if (size > VIRTIO_IOMMU_REQUEST_MAX)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A virtio-iommu request is at most %u bytes, not %zu",
                                         VIRTIO_IOMMU_REQUEST_MAX, size);

        /* An UNMAP is an invalidation like IOAS.Unmap: it completes after
         * the drain of the leases over its range, or fails Busy. */
        if (virtio_iommu_unmap_target(s, request, size, &ioas, range)) {
                r = lease_drain(ioas, m, &range, 1, error);
                if (r < 0)
                        return r;
        } else
                lease_drain_forget(s, m, NULL);

        /* A refused request is a status in the reply, not a bus error. The
         * reply is written in place in the message. */
        answer_size = virtio_iommu_reply_size(request, size);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append_array_space(reply, 'y', answer_size, &answer);
        if (r < 0)
                return r;
        n = virtio_iommu_request(s, request, size, answer, answer_size);
        if (n < 0)
                return n;
        return sd_bus_send(NULL, reply, NULL);
}

SESSION_METHOD(method_virtio_iommu_config) {
        VirtioIommuConfig c;
        int r;

        r = virtio_iommu_config(s, &c);
        if (r == -ERANGE)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The endpoints' IOVA ranges do not overlap: no input range serves them all");
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_IOAS_IOVA_RANGES");
        return sd_bus_reply_method_return(m, "ttttuuu", c.features, le64toh(c.config.page_size_mask),
                                          le64toh(c.config.input_range.start), le64toh(c.config.input_range.end),
                                          le32toh(c.config.domain_range.start), le32toh(c.config.domain_range.end),
                                          le32toh(c.config.probe_size));
}

SESSION_METHOD(method_virtio_iommu_enable_faults) {
        int r;

        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_FAULT_QUEUE))
                return bus_error_not_supported(error, VIOMMU_FEATURE_FAULT_QUEUE);
        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_PAGING_IOPF))
                return bus_error_not_supported(error, VIOMMU_FEATURE_PAGING_IOPF);
        r = auth_check_limit(s->daemon, s, CONFIG_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;

        r = virtio_iommu_enable_faults(s);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_FAULT_QUEUE_ALLOC");
        if (r > 0)
                log_session(s, "virtio-iommu fault records enabled");
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_export_iommufd) {
        if (!s->delegated)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Only a delegated session hands out its iommufd (OpenSession option Delegated)");
        log_session(s, "iommufd handed to %s", caller_sender(s->daemon, m) ?: "a direct peer");
        return sd_bus_reply_method_return(m, "h", s->iommufd);
}

SESSION_METHOD(method_export_device) {
        Object *dev;
        int r;

        r = session_read_object_arg(s, m, ARG_DEVICE, &dev, error);
        if (r < 0)
                return r;
        if (!s->delegated || device_is_mock(dev))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Only a delegated session hands out unbound device cdevs");
        log_object(dev, "cdev of %s handed to %s", dev->device.name,
                    caller_sender(s->daemon, m) ?: "a direct peer");
        return sd_bus_reply_method_return(m, "h", dev->device.fd);
}

SESSION_METHOD(method_open_direct_channel) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = channel_new(s, &fd);
        if (r == -EMFILE)
                return sd_bus_error_setf(error, VIOMMU_ERROR_LIMIT_EXCEEDED,
                                         "Session %u has %u direct channels open, as many as a session may",
                                         s->id, CHANNELS_MAX);
        if (r < 0)
                return bus_error_errno(error, r, "Cannot open a direct channel: %m");
        return sd_bus_reply_method_return(m, "h", fd);
}

SESSION_METHOD(method_open_frame_channel) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = frame_channel_new(s, &fd);
        if (r == -EMFILE)
                return sd_bus_error_setf(error, VIOMMU_ERROR_LIMIT_EXCEEDED,
                                         "Session %u has %u frame channels open, as many as a session may",
                                         s->id, FRAME_CHANNELS_MAX);
        if (r < 0)
                return bus_error_errno(error, r, "Cannot open a frame channel: %m");
        return sd_bus_reply_method_return(m, "h", fd);
}

static int property_get_objects(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;

        return sd_bus_message_append(reply, "u", s->n_objects);
}

static int property_get_guest_memory(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(uttt)");
        for (size_t i = 0; r >= 0 && i < s->n_regions; i++)
                r = sd_bus_message_append(reply, "(uttt)", s->regions[i].id, s->regions[i].gpa, s->regions[i].size,
                                          s->regions[i].offset);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;

        return sd_bus_message_append(reply, "b", streq(property, "Persistent") ? s->persistent : s->delegated);
}

const sd_bus_vtable session_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "u", NULL, offsetof(Session, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Owner", "s", NULL, offsetof(Session, owner), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UID", "u", NULL, offsetof(Session, uid), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Persistent", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Delegated", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Created", "t", NULL, offsetof(Session, created), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("MappedBytes", "t", NULL, offsetof(Session, mapped_bytes),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NObjects", "u", property_get_objects, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("GuestMemory", "a(uttt)", property_get_guest_memory, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("ClaimDevice",
                                SD_BUS_ARGS("s", name, "b", want_fd),
                                SD_BUS_RESULT("o", device, "u", dev_id, "a(h)", fd),
                                method_claim_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ClaimDeviceWithFlags",
                                SD_BUS_ARGS("s", name, "b", want_fd, "t", flags),
                                SD_BUS_RESULT("o", device, "u", dev_id, "a(h)", fd),
                                method_claim_device_with_flags, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateMockDevice",
                                SD_BUS_ARGS("u", flags),
                                SD_BUS_RESULT("o", device, "u", dev_id),
                                method_create_mock_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReleaseDevice",
                                SD_BUS_ARGS("o", device),
                                SD_BUS_NO_RESULT,
                                method_release_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateIOAS",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("o", ioas, "u", id),
                                method_create_ioas, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AllocHWPT",
                                SD_BUS_ARGS("o", device, "o", parent, "o", fault_queue, "u", flags,
                                            "u", data_type, "ay", data),
                                SD_BUS_RESULT("o", hwpt, "u", id),
                                method_alloc_hwpt, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Attach",
                                SD_BUS_ARGS("o", device, "o", page_table),
                                SD_BUS_RESULT("u", attached_id),
                                method_attach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Detach",
                                SD_BUS_ARGS("o", device),
                                SD_BUS_NO_RESULT,
                                method_detach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AttachPasid",
                                SD_BUS_ARGS("o", device, "u", pasid, "o", hwpt),
                                SD_BUS_RESULT("u", attached_id),
                                method_attach_pasid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DetachPasid",
                                SD_BUS_ARGS("o", device, "u", pasid),
                                SD_BUS_NO_RESULT,
                                method_detach_pasid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AllocFaultQueue",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("o", fault_queue, "u", id, "h", fd),
                                method_alloc_fault_queue, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AllocVIOMMU",
                                SD_BUS_ARGS("o", device, "o", hwpt, "u", type, "ay", data),
                                SD_BUS_RESULT("o", viommu, "u", id, "ay", data),
                                method_alloc_viommu, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AllocVDevice",
                                SD_BUS_ARGS("o", viommu, "o", device, "t", virt_id),
                                SD_BUS_RESULT("o", vdevice, "u", id),
                                method_alloc_vdevice, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AllocVEventQ",
                                SD_BUS_ARGS("o", viommu, "u", type, "u", depth),
                                SD_BUS_RESULT("o", veventq, "u", id, "h", fd),
                                method_alloc_veventq, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Destroy",
                                SD_BUS_ARGS("o", object),
                                SD_BUS_NO_RESULT,
                                method_destroy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddMemory",
                                SD_BUS_ARGS("h", memfd, "t", offset, "t", gpa, "t", size),
                                SD_BUS_RESULT("u", region),
                                method_add_memory, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveMemory",
                                SD_BUS_ARGS("u", region),
                                SD_BUS_NO_RESULT,
                                method_remove_memory, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("VirtioIommuAddEndpoint",
                                SD_BUS_ARGS("o", device, "u", endpoint),
                                SD_BUS_NO_RESULT,
                                method_virtio_iommu_add_endpoint, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("VirtioIommuRemoveEndpoint",
                                SD_BUS_ARGS("u", endpoint),
                                SD_BUS_NO_RESULT,
                                method_virtio_iommu_remove_endpoint, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("VirtioIommuRequest",
                                SD_BUS_ARGS("ay", request),
                                SD_BUS_RESULT("ay", reply),
                                method_virtio_iommu_request, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("VirtioIommuConfig",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("t", features, "t", page_size_mask, "t", input_start, "t", input_end,
                                              "u", domain_start, "u", domain_end, "u", probe_size),
                                method_virtio_iommu_config, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("VirtioIommuEnableFaults",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_virtio_iommu_enable_faults, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ExportIommufd",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("h", iommufd),
                                method_export_iommufd, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ExportDevice",
                                SD_BUS_ARGS("o", device),
                                SD_BUS_RESULT("h", fd),
                                method_export_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OpenDirectChannel",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("h", fd),
                                method_open_direct_channel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OpenFrameChannel",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("h", fd),
                                method_open_frame_channel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Close",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_close, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("DeviceGone", SD_BUS_ARGS("o", device, "s", name), 0),
        SD_BUS_SIGNAL_WITH_ARGS("VirtioIommuFault", SD_BUS_ARGS("ay", record), 0),
        SD_BUS_VTABLE_END
};
