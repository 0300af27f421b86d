/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "binding.h"
#include "bus-errors.h"
#include "config.h"
#include "log.h"
#include "pci-bind.h"
#include "util.h"

Binding *binding_find(Daemon *d, const char *name) {
        for (Binding *b = d->bindings; b; b = b->next)
                if (streq(b->name, name))
                        return b;
        return NULL;
}

bool binding_giving_back(Daemon *d, const char *name) {
        Binding *b = binding_find(d, name);

        return b && b->child;
}

static Binding *binding_free(Binding *b) {
        if (!b)
                return NULL;
        for (Binding **p = &b->daemon->bindings; *p; p = &(*p)->next)
                if (*p == b) {
                        *p = b->next;
                        break;
                }
        sd_event_source_disable_unref(b->child);
        if (b->pidfd >= 0)
                close(b->pidfd);
        sd_bus_message_unref(b->request);
        free(b->name);
        free(b->previous);
        free(b);
        return NULL;
}

void bindings_free(Daemon *d) {
        while (d->bindings)
                binding_free(d->bindings);
}

static int binding_new(Daemon *d, const char *name, bool known, const char *previous, Binding **ret) {
        Binding *b = calloc(1, sizeof(*b));

        if (!b)
                return -ENOMEM;
        b->daemon = d;
        b->pidfd = -EBADF;
        b->name = strdup(name);
        b->previous_known = known;
        b->previous = previous ? strdup(previous) : NULL;
        b->next = d->bindings;
        d->bindings = b;
        if (!b->name || (previous && !b->previous)) {
                binding_free(b);
                return -ENOMEM;
        }
        *ret = b;
        return 0;
}

int binding_bind(Daemon *d, const char *name, uint64_t flags, sd_bus_error *error) {
        _cleanup_free_ char *why = NULL, *driver = NULL;
        Binding *b;
        int r;

        if (binding_giving_back(d, name))
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY, "Device %s is being given back to its driver",
                                         name);
        r = pci_bind_check(PCI_BIND_SYSFS, name, flags & BIND_FORCE, &why);
        switch (r) {
        case 0:
                break;
        case -ENODEV:
                return sd_bus_error_set(error, VIOMMU_ERROR_DEVICE_GONE, why);
        case -EALREADY:
                return sd_bus_error_set(error, VIOMMU_ERROR_ALREADY_BOUND, why);
        case -EOPNOTSUPP:
                return sd_bus_error_set(error, VIOMMU_ERROR_NOT_SUPPORTED, why);
        case -EXDEV:
                return sd_bus_error_set(error, VIOMMU_ERROR_GROUP_NOT_VIABLE, why);
        case -ETXTBSY:
                return sd_bus_error_set(error, VIOMMU_ERROR_IN_USE, why);
        default:
                return bus_error_kernel(error, r, "Reading the device's state in sysfs");
        }

        r = pci_bind_driver(PCI_BIND_SYSFS, name, &driver);
        if (r >= 0)
                r = pci_bind_vfio(PCI_BIND_SYSFS, name, driver);
        d->topology_stale = true;
        if (r == -ENODEV)
                return sd_bus_error_setf(error, VIOMMU_ERROR_DEVICE_GONE, "Device %s vanished while being bound",
                                         name);
        if (r == -ENXIO)
                return sd_bus_error_setf(error, VIOMMU_ERROR_KERNEL,
                                         "vfio-pci did not take %s (is the vfio-pci module loaded?); "
                                         "it is back on %s", name, driver ?: "no driver");
        if (r < 0)
                return bus_error_kernel(error, r, "Binding the device to vfio-pci");

        /* A record of an earlier bind, given back by someone else since,
         * has the driver of then: this one is the truth now. */
        binding_free(binding_find(d, name));
        r = binding_new(d, name, true, driver, &b);
        if (r < 0) {
                log_error_errno(r, "%s is on vfio-pci, but its driver %s is not remembered: %m", name,
                                driver ?: "(none)");
                return r;
        }
        if (flags & (BIND_RESTORE_ON_RELEASE | BIND_KEEP_ON_RELEASE))
                b->restore_on_release = flags & BIND_RESTORE_ON_RELEASE;
        else
                b->restore_on_release = d->config && d->config->restore_on_release;
        log_info("%s moved from %s to vfio-pci%s", name, driver ?: "no driver",
                 b->restore_on_release ? "; it goes back when its claim ends" : "");
        return 0;
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Binding *b = userdata;
        _cleanup_free_ char *now = NULL;
        siginfo_t si = {};
        int r;

        if (waitid(P_PIDFD, b->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                return 0;
        b->daemon->topology_stale = true;
        r = si.si_code == CLD_EXITED ? -si.si_status : -ECHILD;
        if (r >= 0)
                r = pci_bind_driver(PCI_BIND_SYSFS, b->name, &now);
        if (r >= 0)
                log_info("%s given back: now on %s", b->name, now ?: "no driver");
        else
                log_warning_errno(r, "Giving %s back to %s failed: %m", b->name, b->previous ?: "its driver");

        if (b->request) {
                if (r == -ENODEV)
                        (void) sd_bus_reply_method_errorf(b->request, VIOMMU_ERROR_DEVICE_GONE,
                                                          "Device %s vanished while being given back", b->name);
                else if (r < 0)
                        (void) sd_bus_reply_method_errorf(b->request, VIOMMU_ERROR_KERNEL,
                                                          "Giving %s back failed: %s", b->name, strerror(-r));
                else
                        (void) sd_bus_reply_method_return(b->request, "s", now ?: "");
        }
        binding_free(b);
        return 0;
}

int binding_give_back(Daemon *d, const char *name, bool no_restore, sd_bus_message *request, sd_bus_error *error) {
        Binding *b = binding_find(d, name);
        pid_t pid;
        int r;

        if (b && b->child)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY, "Device %s is being given back already", name);
        if (!b) {
                /* Not the daemon's doing: the kernel picks its driver. */
                r = binding_new(d, name, false, NULL, &b);
                if (r < 0)
                        return r;
        }

        pid = fork();
        if (pid < 0) {
                r = -errno;
                binding_free(b);
                return bus_error_kernel(error, r, "fork");
        }
        if (pid == 0) {
                /* The unbind may wait long for the device's other opens: the
                 * child must not keep the daemon's fds (sessions' iommufds
                 * and memory, other cdevs, channels) open meanwhile. */
                (void) close_range(3, ~0U, 0);
                /* A device that had no driver gets none back. */
                r = pci_bind_give_back(PCI_BIND_SYSFS, name, no_restore ? NULL : b->previous,
                                       !no_restore && !b->previous_known);
                _exit(r < 0 ? MIN(-r, 255) : 0);
        }
        b->pidfd = pidfd_open(pid, 0);
        r = b->pidfd < 0 ? -errno : sd_event_add_io(d->event, &b->child, b->pidfd, EPOLLIN, on_child_exit, b);
        if (r < 0) {
                /* Nothing would reap it: wait, as the child does. */
                log_warning_errno(r, "Cannot watch the give-back of %s: waiting for it: %m", name);
                (void) waitpid(pid, NULL, 0);
                binding_free(b);
                d->topology_stale = true;
                return request ? sd_bus_reply_method_return(request, "s", "") : 0;
        }
        b->request = sd_bus_message_ref(request);
        log_info("giving %s back to %s", name,
                 no_restore ? "no driver" : b->previous ?: b->previous_known ? "no driver" : "the kernel's choice");
        return 0;
}

void binding_claim_ended(Daemon *d, const char *name) {
        Binding *b = binding_find(d, name);
        int r;

        if (!b || !b->restore_on_release || b->child)
                return;
        r = binding_give_back(d, name, false, NULL, NULL);
        if (r < 0)
                log_warning_errno(r, "%s stays on vfio-pci: %m", name);
}

void binding_device_removed(Daemon *d, const char *name) {
        Binding *b = binding_find(d, name);

        if (b && !b->child)
                binding_free(b);
}
