/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.viommu1.Session: one VMM's session, /org/viommu1/session/N. Each method
 * reads its arguments, validates them, checks the caller, acts through
 * libviommu, emits, and replies, in that order; a call that fails changes
 * nothing.
 */

#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "bus-errors.h"
#include "bus-util.h"
#include "channel.h"
#include "fdstore.h"
#include "hotplug.h"
#include "log.h"
#include "mock/viommu-mock.h"
#include "session-dbus.h"
#include "util.h"
#include "viommu-iommufd.h"
#include "viommu-topology.h"
#include "viommu-vfio.h"

/* Signals go out on the system bus whichever connection the call came on:
 * what a VMM does over its direct channel, a watcher on the bus sees. Every
 * object added or removed changes NObjects; destroying an IOAS that still
 * maps memory lowers MappedBytes. */
static void emit_object_added(Object *o) {
        sd_bus *bus = o->session->daemon->bus;

        (void) sd_bus_emit_object_added(bus, o->path);
        (void) sd_bus_emit_properties_changed(bus, o->session->path, "org.viommu1.Session", "NObjects", NULL);
}

static void emit_object_removed(Session *s, const char *path, uint64_t mapped_bytes_before) {
        sd_bus *bus = s->daemon->bus;

        (void) sd_bus_emit_object_removed(bus, path);
        if (s->mapped_bytes != mapped_bytes_before)
                (void) sd_bus_emit_properties_changed(bus, s->path, "org.viommu1.Session", "NObjects",
                                                      "MappedBytes", NULL);
        else
                (void) sd_bus_emit_properties_changed(bus, s->path, "org.viommu1.Session", "NObjects", NULL);
}

static void emit_attached(Object *dev) {
        (void) sd_bus_emit_properties_changed(dev->session->daemon->bus, dev->path, "org.viommu1.ClaimedDevice",
                                              "Attached", NULL);
}

static int reply_object(sd_bus_message *m, Object *o) {
        emit_object_added(o);
        return sd_bus_reply_method_return(m, "ou", o->path, o->id);
}

void session_close(Session *s, const char *reason) {
        Daemon *d = s->daemon;
        _cleanup_free_ char *path = strdup(s->path);

        log_session(s, "closing: %s", reason);
        channels_drop_session(d, s);
        session_free(s);
        if (path) {
                (void) sd_bus_emit_signal(d->bus, VIOMMU_MANAGER_PATH, "org.viommu1.Manager", "SessionClosed",
                                          "os", path, reason);
                (void) sd_bus_emit_object_removed(d->bus, path);
        }
}

static int on_owner_gone(sd_bus_track *track, void *userdata) {
        Session *s = userdata;

        session_close(s, "its owner left the bus");
        return 0;
}

int session_track_owner(Session *s, sd_bus *bus) {
        int r;

        if (s->persistent)
                return 0;
        r = sd_bus_track_new(bus, &s->track, on_owner_gone, s);
        if (r < 0)
                return r;
        return sd_bus_track_add_name(s->track, s->owner);
}

static int session_authorize(Session *s, sd_bus_message *m, sd_bus_error *error) {
        return session_check_owner(s, m, error);
}

static int method_close(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        int r;

        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
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

static Object *find_claimed(Daemon *d, const char *name) {
        for (Session *s = d->sessions; s; s = s->sessions_next)
                for (Object *o = s->objects; o; o = o->objects_next)
                        if (o->type == OBJECT_DEVICE && streq(o->device.name, name))
                                return o;
        return NULL;
}

static int method_claim_device(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        Daemon *d = s->daemon;
        const struct viommu_topology_device *dev;
        _cleanup_close_ int fd = -EBADF, reply_fd = -EBADF;
        char store_name[FDSTORE_NAME_MAX];
        Object *claimed, *o;
        const char *name;
        uint32_t dev_id = 0;
        int want_fd, r;

        r = sd_bus_message_read(m, "sb", &name, &want_fd);
        if (r < 0)
                return r;

        r = find_host_device(d, name, &dev, error);
        if (r < 0)
                return r;
        if (!dev->vfio_cdev)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Device %s has no VFIO cdev: bind it to vfio-pci first (driver: %s)",
                                         dev->name, dev->driver ?: "none");
        claimed = find_claimed(d, dev->name);
        if (claimed)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY, "Device %s is claimed by session %u",
                                         dev->name, claimed->session->id);

        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        r = auth_claim_device(d, m, s, dev, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;       /* polkit was asked: the call comes back with its answer */
        r = auth_check_limit(d, s, AUTH_LIMIT_DEVICES, 1, error);
        if (r < 0)
                return r;

        fd = viommu_vfio_open_devnum(dev->vfio_devnum);
        if (fd < 0) {
                if (fd == -ENODEV || fd == -ENOENT)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_DEVICE_GONE,
                                                 "Device %s vanished while being claimed", dev->name);
                return bus_error_kernel(error, fd, "Opening the VFIO cdev");
        }
        /* A delegated session's VMM binds the device to the iommufd itself. */
        if (!s->delegated) {
                r = viommu_vfio_bind(fd, s->iommufd, &dev_id);
                if (r == -EBUSY)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                                 "Device %s is in use by another program", dev->name);
                /* A cdev binds once: EINVAL while another open of it is
                 * bound (the kernel's vfio_df_open()). */
                if (r == -EINVAL)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                                 "Device %s is bound through another open of its VFIO cdev "
                                                 "(a VMM still holding the fd of an earlier claim?)", dev->name);
                if (r < 0)
                        return bus_error_kernel(error, r, "VFIO_DEVICE_BIND_IOMMUFD");
        }
        if (want_fd) {
                reply_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (reply_fd < 0)
                        return -errno;
        }

        r = object_new(s, OBJECT_DEVICE, dev_id, &o);
        if (r < 0)
                return r;
        o->device.name = strdup(dev->name);
        if (!o->device.name) {
                object_forget(o);
                return -ENOMEM;
        }
        o->device.fd = TAKE_FD(fd);
        o->device.bound = !s->delegated;
        r = fdstore_add(fdstore_name(s, o, store_name), o->device.fd);
        if (r < 0)
                log_warning("session %u: %s: not in the fd store (%s): a restart ends the session", s->id,
                            dev->name, strerror(-r));
        if (o->device.bound) {
                r = hotplug_watch_device(o);
                if (r < 0)
                        log_warning("session %u: %s: no unplug notification (%s); an unplug waits for the "
                                    "session to end", s->id, dev->name, strerror(-r));
        }

        log_session(s, "claimed %s as %s", dev->name, o->path);
        emit_object_added(o);
        if (want_fd)
                return sd_bus_reply_method_return(m, "oua(h)", o->path, o->id, 1, reply_fd);
        return sd_bus_reply_method_return(m, "oua(h)", o->path, o->id, 0);
}

static int method_create_mock_device(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        Daemon *d = s->daemon;
        struct viommu_mock_device mock;
        uint32_t flags;
        Object *o;
        int r;

        r = sd_bus_message_read(m, "u", &flags);
        if (r < 0)
                return r;
        if (flags & ~(uint32_t) (MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_PASID))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Unknown mock device flags 0x%x", flags);
        if (!d->mock_devices)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_SUPPORTED,
                                         "Mock devices are a test feature: start viommud with --test-mock-devices");
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        r = auth_check_limit(d, s, AUTH_LIMIT_DEVICES, 1, error);
        if (r < 0)
                return r;

        if (s->mock_parking_ioas == 0) {
                r = viommu_ioas_alloc(s->iommufd, &s->mock_parking_ioas);
                if (r < 0)
                        return bus_error_kernel(error, r, "IOMMU_IOAS_ALLOC");
        }
        r = viommu_mock_device_new(s->iommufd, s->mock_parking_ioas, flags, &mock);
        if (r < 0)
                return bus_error_kernel(error, r, "Creating a mock device (IOMMU_TEST_OP_MOCK_DOMAIN)");

        r = object_new(s, OBJECT_DEVICE, mock.idev_id, &o);
        if (r < 0) {
                (void) viommu_destroy(s->iommufd, mock.stdev_id);
                return r;
        }
        o->device.mock = true;
        o->device.bound = true;
        o->device.stdev_id = mock.stdev_id;
        if (asprintf(&o->device.name, "mock%u", s->next_mock++) < 0) {
                o->device.name = NULL;
                object_forget(o);
                (void) viommu_destroy(s->iommufd, mock.stdev_id);
                return -ENOMEM;
        }

        log_session(s, "created mock device %s (dev_id %u)", o->device.name, o->id);
        return reply_object(m, o);
}

static int method_release_device(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        const char *path;
        uint64_t mapped;
        Object *o;
        int r;

        r = session_read_object_arg(s, m, OBJECT_DEVICE, &o, &path, error);
        if (r < 0)
                return r;
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        if (o->n_users > 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "Device %s is still used by %u object(s): destroy them first",
                                         o->device.name, o->n_users);
        log_session(s, "releasing %s", o->device.name);
        mapped = s->mapped_bytes;
        r = object_destroy(o);
        if (r < 0)
                return bus_error_kernel(error, r, "Releasing the device");
        emit_object_removed(s, path, mapped);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_create_ioas(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        uint32_t id;
        Object *o;
        int r;

        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        r = auth_check_limit(s->daemon, s, AUTH_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;
        r = viommu_ioas_alloc(s->iommufd, &id);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_IOAS_ALLOC");
        r = object_new(s, OBJECT_IOAS, id, &o);
        if (r < 0) {
                (void) viommu_destroy(s->iommufd, id);
                return r;
        }
        return reply_object(m, o);
}

/* A device of the session that the daemon itself bound to the iommufd. */
static int bound_device_arg(Session *s, const char *path, Object **ret, sd_bus_error *error) {
        int r;

        r = session_object_arg(s, path, OBJECT_DEVICE, ret, error);
        if (r < 0)
                return r;
        if (!(*ret)->device.bound)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Device %s belongs to a delegated session: the VMM binds and attaches it",
                                         (*ret)->device.name);
        return 0;
}

static int method_alloc_hwpt(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        Daemon *d = s->daemon;
        const char *dev_path, *parent_path, *fault_path;
        uint32_t flags, data_type, id;
        const void *data;
        size_t data_len;
        Object *dev, *parent, *fault = NULL, *o;
        int r;

        r = sd_bus_message_read(m, "ooou", &dev_path, &parent_path, &fault_path, &flags);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "u", &data_type);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(m, 'y', &data, &data_len);
        if (r < 0)
                return r;

        r = bound_device_arg(s, dev_path, &dev, error);
        if (r < 0)
                return r;
        r = session_object_arg(s, parent_path, _OBJECT_TYPE_INVALID, &parent, error);
        if (r < 0)
                return r;
        if (parent->type != OBJECT_IOAS && parent->type != OBJECT_VIOMMU &&
            !(parent->type == OBJECT_HWPT && !parent->hwpt.nested))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The parent of a HWPT is an IOAS, a paging HWPT or a vIOMMU, not %s",
                                         parent_path);
        if (parent->type != OBJECT_IOAS && data_len == 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A nested HWPT needs the guest's stage-1 data");
        if (data_len > 4096 || (data_len > 0) != (data_type != IOMMU_HWPT_DATA_NONE))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Vendor data must be given with a data type, and at most 4096 bytes");
        if (flags & ~(uint32_t) (IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
                                 IOMMU_HWPT_ALLOC_PASID))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Unknown HWPT flags 0x%x (a fault queue is passed as an object)", flags);
        if (!streq(fault_path, "/")) {
                r = session_object_arg(s, fault_path, OBJECT_FAULT_QUEUE, &fault, error);
                if (r < 0)
                        return r;
                flags |= IOMMU_HWPT_FAULT_ID_VALID;
        }
        if ((flags & (IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING)) &&
            !viommu_features_has(d->features, VIOMMU_FEATURE_NESTING))
                return bus_error_not_supported(error, VIOMMU_FEATURE_NESTING);
        if ((flags & IOMMU_HWPT_ALLOC_PASID) && !viommu_features_has(d->features, VIOMMU_FEATURE_PASID_ATTACH))
                return bus_error_not_supported(error, VIOMMU_FEATURE_PASID_ATTACH);

        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        r = auth_check_limit(d, s, AUTH_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;

        r = viommu_hwpt_alloc(s->iommufd, flags, dev->id, parent->id, fault ? fault->id : 0,
                              data_type, data, data_len, &id);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_SUPPORTED,
                                         "The IOMMU of %s does not support this HWPT (flags 0x%x, data type %u)",
                                         dev->device.name, flags, data_type);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_HWPT_ALLOC");
        r = object_new(s, OBJECT_HWPT, id, &o);
        if (r < 0) {
                (void) viommu_destroy(s->iommufd, id);
                return r;
        }
        o->hwpt.flags = flags;
        o->hwpt.nested = parent->type != OBJECT_IOAS;
        o->hwpt.data_type = data_type;
        object_use(o, parent);
        object_use(o, dev);
        if (fault)
                object_use(o, fault);
        return reply_object(m, o);
}

static int method_attach(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        const char *dev_path, *pt_path;
        Object *dev, *pt;
        uint32_t attached;
        int r;

        r = sd_bus_message_read(m, "oo", &dev_path, &pt_path);
        if (r < 0)
                return r;
        r = bound_device_arg(s, dev_path, &dev, error);
        if (r < 0)
                return r;
        r = session_object_arg(s, pt_path, _OBJECT_TYPE_INVALID, &pt, error);
        if (r < 0)
                return r;
        if (pt->type != OBJECT_IOAS && pt->type != OBJECT_HWPT)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A device attaches to an IOAS or a HWPT, not a %s",
                                         object_type_to_string(pt->type));
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;

        /* Attaching an attached device replaces its page table in place. */
        r = device_attach(dev, pt, &attached);
        if (r < 0)
                return bus_error_kernel(error, r, dev->device.mock ? "IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE"
                                                                   : "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
        log_session(s, "attached %s to %s", dev->device.name, pt->path);
        emit_attached(dev);
        return sd_bus_reply_method_return(m, "u", attached);
}

static int method_detach(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        const char *dev_path;
        Object *dev;
        int r;

        r = sd_bus_message_read(m, "o", &dev_path);
        if (r < 0)
                return r;
        r = bound_device_arg(s, dev_path, &dev, error);
        if (r < 0)
                return r;
        if (!dev->device.attached)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Device %s is not attached",
                                         dev->device.name);
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        r = device_detach(dev);
        if (r < 0)
                return bus_error_kernel(error, r, "Detaching the device");
        emit_attached(dev);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_attach_pasid(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        const char *dev_path, *pt_path;
        Object *dev, *pt, *old;
        uint32_t pasid, attached;
        int r;

        r = sd_bus_message_read(m, "ouo", &dev_path, &pasid, &pt_path);
        if (r < 0)
                return r;
        r = bound_device_arg(s, dev_path, &dev, error);
        if (r < 0)
                return r;
        r = session_object_arg(s, pt_path, OBJECT_HWPT, &pt, error);
        if (r < 0)
                return r;
        if (pasid == 0 || pasid >= (1u << 20))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "PASID %u is out of range (1..%u)", pasid, (1u << 20) - 1);
        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_PASID_ATTACH))
                return bus_error_not_supported(error, VIOMMU_FEATURE_PASID_ATTACH);
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;

        /* Attaching an attached PASID replaces its HWPT in place. */
        old = device_pasid_hwpt(dev, pasid);
        r = device_attach_pasid(dev, pasid, pt, &attached);
        if (r < 0)
                return bus_error_kernel(error, r, "Attaching the PASID");
        if (old)
                log_session(s, "moved PASID %u of %s from %s to %s", pasid, dev->device.name, old->path, pt->path);
        else
                log_session(s, "attached PASID %u of %s to %s", pasid, dev->device.name, pt->path);
        (void) sd_bus_emit_properties_changed(sd_bus_message_get_bus(m), dev->path, "org.viommu1.ClaimedDevice",
                                              "Pasids", NULL);
        return sd_bus_reply_method_return(m, "u", attached);
}

static int method_detach_pasid(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        const char *dev_path;
        uint32_t pasid;
        Object *dev;
        int r;

        r = sd_bus_message_read(m, "ou", &dev_path, &pasid);
        if (r < 0)
                return r;
        r = bound_device_arg(s, dev_path, &dev, error);
        if (r < 0)
                return r;
        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_PASID_ATTACH))
                return bus_error_not_supported(error, VIOMMU_FEATURE_PASID_ATTACH);
        if (!device_pasid_hwpt(dev, pasid))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "PASID %u of %s is not attached",
                                         pasid, dev->device.name);
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        r = device_detach_pasid(dev, pasid);
        if (r < 0)
                return bus_error_kernel(error, r, "Detaching the PASID");
        log_session(s, "detached PASID %u of %s", pasid, dev->device.name);
        (void) sd_bus_emit_properties_changed(sd_bus_message_get_bus(m), dev->path, "org.viommu1.ClaimedDevice",
                                              "Pasids", NULL);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_alloc_fault_queue(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        _cleanup_close_ int fd = -EBADF;
        uint32_t id;
        Object *o;
        int r;

        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_FAULT_QUEUE))
                return bus_error_not_supported(error, VIOMMU_FEATURE_FAULT_QUEUE);
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        r = auth_check_limit(s->daemon, s, AUTH_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;
        r = viommu_fault_queue_alloc(s->iommufd, &id, &fd);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_FAULT_QUEUE_ALLOC");
        r = object_new(s, OBJECT_FAULT_QUEUE, id, &o);
        if (r < 0) {
                fd = (close(fd), -EBADF);
                (void) viommu_destroy(s->iommufd, id);
                return r;
        }
        /* The fd is the hot path and goes to the VMM; the daemon keeps no
         * copy, so the queue lives as long as the VMM holds it. */
        emit_object_added(o);
        return sd_bus_reply_method_return(m, "ouh", o->path, o->id, fd);
}

static int method_alloc_viommu(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        const char *dev_path, *hwpt_path;
        const void *data;
        size_t data_len;
        _cleanup_free_ void *out = NULL;
        Object *dev, *hwpt, *o;
        uint32_t type, id;
        int r;

        r = sd_bus_message_read(m, "oou", &dev_path, &hwpt_path, &type);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(m, 'y', &data, &data_len);
        if (r < 0)
                return r;
        r = bound_device_arg(s, dev_path, &dev, error);
        if (r < 0)
                return r;
        r = session_object_arg(s, hwpt_path, OBJECT_HWPT, &hwpt, error);
        if (r < 0)
                return r;
        if (!(hwpt->hwpt.flags & IOMMU_HWPT_ALLOC_NEST_PARENT))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A vIOMMU sits on a NEST_PARENT HWPT; %s is not one", hwpt_path);
        if (data_len > 4096)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "vIOMMU data is at most 4096 bytes");
        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_VIOMMU))
                return bus_error_not_supported(error, VIOMMU_FEATURE_VIOMMU);
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        r = auth_check_limit(s->daemon, s, AUTH_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;

        /* The kernel writes its outputs into the same buffer. */
        if (data_len > 0) {
                out = memdup(data, data_len);
                if (!out)
                        return -ENOMEM;
        }
        r = viommu_viommu_alloc(s->iommufd, type, dev->id, hwpt->id, out, data_len, &id);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NOT_SUPPORTED,
                                         "The IOMMU of %s offers no vIOMMU of type %u", dev->device.name, type);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_VIOMMU_ALLOC");
        r = object_new(s, OBJECT_VIOMMU, id, &o);
        if (r < 0) {
                (void) viommu_destroy(s->iommufd, id);
                return r;
        }
        o->viommu.type = type;
        object_use(o, hwpt);
        object_use(o, dev);
        emit_object_added(o);
        {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

                r = sd_bus_message_new_method_return(m, &reply);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "ou", o->path, o->id);
                if (r >= 0)
                        r = sd_bus_message_append_array(reply, 'y', out, data_len);
                if (r >= 0)
                        r = sd_bus_send(NULL, reply, NULL);
                return r;
        }
}

static int method_alloc_vdevice(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        const char *viommu_path, *dev_path;
        Object *viommu, *dev, *o;
        uint64_t virt_id;
        uint32_t id;
        int r;

        r = sd_bus_message_read(m, "oot", &viommu_path, &dev_path, &virt_id);
        if (r < 0)
                return r;
        /* Without the feature no vIOMMU can exist: say why, not "no such". */
        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_VDEVICE))
                return bus_error_not_supported(error, VIOMMU_FEATURE_VDEVICE);
        r = session_object_arg(s, viommu_path, OBJECT_VIOMMU, &viommu, error);
        if (r < 0)
                return r;
        r = bound_device_arg(s, dev_path, &dev, error);
        if (r < 0)
                return r;
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        r = auth_check_limit(s->daemon, s, AUTH_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;
        r = viommu_vdevice_alloc(s->iommufd, viommu->id, dev->id, virt_id, &id);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "Device %s already has a vDEVICE on this vIOMMU", dev->device.name);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_VDEVICE_ALLOC");
        r = object_new(s, OBJECT_VDEVICE, id, &o);
        if (r < 0) {
                (void) viommu_destroy(s->iommufd, id);
                return r;
        }
        o->vdevice.virt_id = virt_id;
        object_use(o, viommu);
        object_use(o, dev);
        return reply_object(m, o);
}

static int method_alloc_veventq(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        _cleanup_close_ int fd = -EBADF;
        const char *viommu_path;
        uint32_t type, depth, id;
        Object *viommu, *o;
        int r;

        r = sd_bus_message_read(m, "ouu", &viommu_path, &type, &depth);
        if (r < 0)
                return r;
        if (!viommu_features_has(s->daemon->features, VIOMMU_FEATURE_VEVENTQ))
                return bus_error_not_supported(error, VIOMMU_FEATURE_VEVENTQ);
        r = session_object_arg(s, viommu_path, OBJECT_VIOMMU, &viommu, error);
        if (r < 0)
                return r;
        if (depth == 0 || depth > 65536)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Queue depth %u is not in 1..65536",
                                         depth);
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        r = auth_check_limit(s->daemon, s, AUTH_LIMIT_OBJECTS, 1, error);
        if (r < 0)
                return r;
        r = viommu_veventq_alloc(s->iommufd, viommu->id, type, depth, &id, &fd);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "The vIOMMU already has an event queue of type %u", type);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_VEVENTQ_ALLOC");
        r = object_new(s, OBJECT_VEVENTQ, id, &o);
        if (r < 0) {
                fd = (close(fd), -EBADF);
                (void) viommu_destroy(s->iommufd, id);
                return r;
        }
        object_use(o, viommu);
        emit_object_added(o);
        return sd_bus_reply_method_return(m, "ouh", o->path, o->id, fd);
}

static int method_destroy(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        const char *path;
        uint64_t mapped;
        Object *o;
        int r;

        r = session_read_object_arg(s, m, _OBJECT_TYPE_INVALID, &o, &path, error);
        if (r < 0)
                return r;
        if (o->type == OBJECT_DEVICE)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Devices are given back with ReleaseDevice");
        if (o->n_users > 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "%s is still used by %u object(s), device(s) or PASID(s): those go first",
                                         path, o->n_users);
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        mapped = s->mapped_bytes;
        r = object_destroy(o);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "The kernel still uses %s (is its fd still open?)", path);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_DESTROY");
        emit_object_removed(s, path, mapped);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_export_iommufd(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        int r;

        if (!s->delegated)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Only a delegated session hands out its iommufd (OpenSession option Delegated)");
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        log_session(s, "iommufd handed to %s", sd_bus_message_get_sender(m) ?: "a direct peer");
        return sd_bus_reply_method_return(m, "h", s->iommufd);
}

static int method_export_device(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        Object *dev;
        int r;

        r = session_read_object_arg(s, m, OBJECT_DEVICE, &dev, NULL, error);
        if (r < 0)
                return r;
        if (!s->delegated || dev->device.mock)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Only a delegated session hands out unbound device cdevs");
        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        log_session(s, "cdev of %s handed to %s", dev->device.name,
                    sd_bus_message_get_sender(m) ?: "a direct peer");
        return sd_bus_reply_method_return(m, "h", dev->device.fd);
}

static int method_open_direct_channel(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = session_authorize(s, m, error);
        if (r < 0)
                return r;
        r = channel_new(s, &fd);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot open a direct channel: %m");
        return sd_bus_reply_method_return(m, "h", fd);
}

static int property_get_objects(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;

        return sd_bus_message_append(reply, "u", s->n_objects);
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
        SD_BUS_METHOD_WITH_ARGS("ClaimDevice",
                                SD_BUS_ARGS("s", name, "b", want_fd),
                                SD_BUS_RESULT("o", device, "u", dev_id, "a(h)", fd),
                                method_claim_device, SD_BUS_VTABLE_UNPRIVILEGED),
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
        SD_BUS_METHOD_WITH_ARGS("Close",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_close, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
