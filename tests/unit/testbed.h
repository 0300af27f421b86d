/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/*
 * umockdev testbeds that stand in for a host's /sys, so that the topology
 * code reads them as it reads the live one. A program that uses them must run
 * under umockdev-wrapper: testbed_reexec() sees to that.
 */

typedef struct _UMockdevTestbed UMockdevTestbed;

/* Runs argv again under umockdev-wrapper unless it runs there already. */
void testbed_reexec(char **argv);

/*
 * Forks a child that runs argv (this program again, /proc/self/exe) with the
 * directory root bound on /sys in a mount namespace of its own, as root or as
 * root of a user namespace of its own, and without umockdev's preload: the
 * library's calls reach the kernel as on a host, from as many threads as it
 * likes. libudev is told not to insist on sysfs. Its stdout goes to
 * stdout_fd unless that is negative. Returns its pid; it exits with
 * TESTBED_NO_NAMESPACE when it gets no mount namespace. Dies when it cannot
 * fork.
 */
#define TESTBED_NO_NAMESPACE 77
pid_t testbed_spawn_bound(const char *root, char * const *argv, int stdout_fd);

/* An empty /sys; testbed_free() removes it. Dies on failure. */
UMockdevTestbed *testbed_new(void);
/* Accepts NULL; returns NULL. */
UMockdevTestbed *testbed_free(UMockdevTestbed *tb);
/* Where its /sys is, to spoil by hand; free() it. */
char *testbed_sys_dir(UMockdevTestbed *tb);

/* Devices from umockdev's record format; dies when it does not parse. */
void testbed_add(UMockdevTestbed *tb, const char *record);

/*
 * IOMMU group id (type and reserved_regions as the kernel writes them, NULL
 * for no such file) with its members, devpaths without leading slash
 * separated by spaces.
 */
void testbed_add_group(UMockdevTestbed *tb, unsigned id, const char *type, const char *regions,
                       const char *members);

/* Takes out the device at devpath ("/devices/..."), with its children. */
void testbed_remove_device(UMockdevTestbed *tb, const char *devpath);

/* Sends a uevent ("add", "remove", ...) of the device at devpath to the
 * testbed's udev monitors, and changes nothing in /sys. */
void testbed_uevent(UMockdevTestbed *tb, const char *devpath, const char *action);

/* Takes out IOMMU group id, as the kernel does when its last device goes. */
void testbed_remove_group(UMockdevTestbed *tb, unsigned id);

/*
 * A recorded host: tests/data/topology/NAME.umockdev below srcdir, and its
 * IOMMU groups, which umockdev's format cannot hold since they are no devices.
 */
void testbed_add_host(UMockdevTestbed *tb, const char *srcdir, const char *name);
