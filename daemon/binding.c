/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "binding.h"
#include "bus-errors.h"
#include "bus-util.h"
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

bool binding_busy(Daemon *d, const char *name, sd_bus_message *m) {
        Binding *b = binding_find(d, name);

        return b && (b->child || (b->bind_call && b->bind_call != m));
}

bool binding_started_by(Daemon *d, sd_bus_message *m) {
        for (Binding *b = d->bindings; b; b = b->next)
                if (b->bind_call == m && !b->child)
                        return true;
        return false;
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
        sd_event_source_disable_unref(b->uncollected);
        sd_bus_message_unref(b->request);
        sd_bus_message_unref(b->bind_call);
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

/* A bind's outcome, r, as the error of the call that asked for it. */
static int bind_error(Binding *b, int r, sd_bus_error *error) {
        if (r == -ENODEV)
                return sd_bus_error_setf(error, VIOMMU_ERROR_DEVICE_GONE, "Device %s vanished while being bound",
                                         b->name);
        if (r == -ENXIO)
                return sd_bus_error_setf(error, VIOMMU_ERROR_KERNEL,
                                         "vfio-pci did not take %s (is the vfio-pci module loaded?); "
                                         "it is back on %s", b->name, b->previous ?: "no driver");
        return bus_error_kernel(error, r, "Binding the device to vfio-pci");
}

static int on_bind_uncollected(sd_event_source *s, void *userdata) {
        Binding *b = userdata;

        /* The call ended before it came for the outcome (its session
         * closed, its caller left): what it bound goes back. */
        b->uncollected = sd_event_source_disable_unref(b->uncollected);
        b->bind_call = sd_bus_message_unref(b->bind_call);
        if (b->bind_result < 0) {
                binding_free(b);
                return 0;
        }
        log_notice("%s was bound to vfio-pci for a call that is gone; giving it back", b->name);
        (void) binding_give_back(b->daemon, b->name, false, NULL, NULL);
        return 0;
}

/* The child that moved device b->name ended with r. */
static void binding_child_done(Binding *b, int r) {
        _cleanup_free_ char *now = NULL;
        int k;

        b->daemon->topology_stale = true;
        b->child = sd_event_source_disable_unref(b->child);

        if (b->bind_call) {
                b->bind_result = r;
                if (r >= 0)
                        log_info("%s moved from %s to vfio-pci%s", b->name, b->previous ?: "no driver",
                                 b->restore_on_release ? "; it goes back when its claim ends" : "");
                else
                        log_warning_errno(r, "Binding %s to vfio-pci failed: %m", b->name);
                k = bus_call_resume_watched(b->bind_call, b->daemon->event, &b->uncollected, on_bind_uncollected, b);
                if (k < 0) {
                        log_error_errno(k, "Cannot resume the call that binds %s: %m", b->name);
                        (void) sd_bus_reply_method_errorf(b->bind_call, VIOMMU_ERROR_FAILED,
                                                          "Cannot resume the call: %s", strerror(-k));
                        (void) on_bind_uncollected(NULL, b);
                }
                return;
        }

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
}

static int child_status(const siginfo_t *si) {
        return si->si_code == CLD_EXITED ? -si->si_status : -ECHILD;
}

/* Out of memory, where nothing would reap the child: waits for it, as the
 * child waits for the driver. */
static void binding_child_wait(Binding *b, int r) {
        siginfo_t si = {};

        log_warning_errno(r, "Cannot watch the child that moves %s: waiting for it: %m", b->name);
        binding_child_done(b, waitid(P_PID, b->child_pid, &si, WEXITED) < 0 ? -errno : child_status(&si));
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        binding_child_done(userdata, child_status(si));
        return 0;
}

/* Where sd-event cannot watch the child (pidfd_open() fails once the
 * daemon's fds run out), a timer asks after it. */
#define CHILD_POLL_USEC (50 * 1000)

static int on_child_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Binding *b = userdata;
        siginfo_t si = {};
        int r;

        if (waitid(P_PID, b->child_pid, &si, WEXITED | WNOHANG) < 0)
                binding_child_done(b, -errno);
        else if (si.si_pid != 0)
                binding_child_done(b, child_status(&si));
        else {
                r = sd_event_source_set_time_relative(s, CHILD_POLL_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                if (r < 0)
                        binding_child_wait(b, r);
        }
        return 0;
}

/*
 * Moves device b->name in a child process: to vfio-pci for b->bind_call,
 * else back to its driver (none with no_restore). A driver's unbind may
 * take long (a GPU's, an NVMe's; vfio-pci's waits for every open of the
 * device), and the event loop must not wait for it. The child keeps none
 * of the daemon's fds. binding_child_done() takes the outcome, and may
 * free b.
 */
static int binding_run_child(Binding *b, bool no_restore) {
        pid_t pid;
        int r;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* Sessions' iommufds and memory, other cdevs, channels: not
                 * to be held open while an unbind waits. */
                (void) close_range(3, ~0U, 0);
#if ENABLE_TEST_HOOKS
                /* Test only: a driver that takes its time, for as long as
                 * this file exists (at most 30 s). */
                const char *hold = getenv("VIOMMU_TEST_MOVE_HOLD");

                for (unsigned i = 0; hold && i < 600 && access(hold, F_OK) >= 0; i++)
                        (void) usleep(50 * 1000);
#endif
                if (b->bind_call)
                        r = pci_bind_vfio(PCI_BIND_SYSFS, b->name, b->previous);
                else
                        /* A device that had no driver gets none back. */
                        r = pci_bind_give_back(PCI_BIND_SYSFS, b->name, no_restore ? NULL : b->previous,
                                               !no_restore && !b->previous_known);
                _exit(r < 0 ? MIN(-r, 255) : 0);
        }
        b->child_pid = pid;
        /* sd-event watches it by pidfd, or where the kernel has none by
         * SIGCHLD, which viommud blocks from the start, and reaps it. */
#if ENABLE_TEST_HOOKS
        /* Test only: as if pidfd_open() failed, while this file exists. */
        const char *no_pidfd = getenv("VIOMMU_TEST_NO_PIDFD");

        if (no_pidfd && access(no_pidfd, F_OK) >= 0)
                r = -EMFILE;
        else
#endif
                r = sd_event_add_child(b->daemon->event, &b->child, pid, WEXITED, on_child_exit, b);
        if (r < 0) {
                log_notice("Cannot watch the child that moves %s (%s): asking after it every %u ms", b->name,
                           strerror(-r), CHILD_POLL_USEC / 1000);
                r = sd_event_add_time_relative(b->daemon->event, &b->child, CLOCK_MONOTONIC, CHILD_POLL_USEC, 0,
                                               on_child_poll, b);
        }
        if (r < 0)
                binding_child_wait(b, r);
        return 0;
}

int binding_bind(Daemon *d, sd_bus_message *m, const char *name, uint64_t flags, sd_bus_error *error) {
        _cleanup_free_ char *why = NULL, *driver = NULL;
        Binding *b = binding_find(d, name);
        int r;

        /* The call is back for what its child did. */
        if (b && b->bind_call == m && !b->child) {
                b->uncollected = sd_event_source_disable_unref(b->uncollected);
                b->bind_call = sd_bus_message_unref(b->bind_call);
                if (b->bind_result >= 0)
                        return 1;
                r = bind_error(b, b->bind_result, error);
                binding_free(b);
                return r;
        }
        if (binding_busy(d, name, m))
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY, "Device %s is being moved between drivers",
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
        if (r == -ENODEV)
                return sd_bus_error_setf(error, VIOMMU_ERROR_DEVICE_GONE, "Device %s vanished while being bound",
                                         name);
        if (r < 0)
                return bus_error_kernel(error, r, "Reading the device's driver");

        /* A record of an earlier bind, given back by someone else since,
         * has the driver of then: this one is the truth now. */
        binding_free(b);
        r = binding_new(d, name, true, driver, &b);
        if (r < 0)
                return r;
        if (flags & (BIND_RESTORE_ON_RELEASE | BIND_KEEP_ON_RELEASE))
                b->restore_on_release = flags & BIND_RESTORE_ON_RELEASE;
        else
                b->restore_on_release = d->config && d->config->restore_on_release;
        b->bind_call = sd_bus_message_ref(m);
        log_info("moving %s from %s to vfio-pci", name, driver ?: "no driver");
        r = binding_run_child(b, false);
        if (r < 0) {
                binding_free(b);
                return bus_error_kernel(error, r, "fork");
        }
        return 0;
}

int binding_give_back(Daemon *d, const char *name, bool no_restore, sd_bus_message *request, sd_bus_error *error) {
        Binding *b = binding_find(d, name);
        int r;

        if (b && (b->child || b->bind_call))
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY, "Device %s is being moved between drivers", name);
        if (!b) {
                /* Not the daemon's doing: the kernel picks its driver. */
                r = binding_new(d, name, false, NULL, &b);
                if (r < 0)
                        return r;
        }
        b->request = sd_bus_message_ref(request);
        log_info("giving %s back to %s", name,
                 no_restore ? "no driver" : b->previous ?: b->previous_known ? "no driver" : "the kernel's choice");
        r = binding_run_child(b, no_restore);
        if (r < 0) {
                binding_free(b);
                return bus_error_kernel(error, r, "fork");
        }
        return 0;
}

void binding_claim_ended(Daemon *d, const char *name) {
        Binding *b = binding_find(d, name);
        int r;

        if (!b || !b->restore_on_release || b->child || b->bind_call)
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
