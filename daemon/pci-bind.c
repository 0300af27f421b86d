/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pci-bind.h"
#include "util.h"

/* How deep below a PCI device its block devices may be (ahci:
 * ata1/host0/target0:0:0/0:0:0:0/block/sda). */
#define BLOCK_SEARCH_DEPTH 6

/* Drivers that leave an IOMMU group to vfio (driver_managed_dma). */
static char *const group_drivers[] = { "vfio-pci", "pci-stub", "pcieport", NULL };

static int sysfs_write(const char *path, const char *value) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        size_t n = strlen(value);
        ssize_t k;

        if (fd < 0)
                return -errno;
        k = write(fd, value, n);
        if (k < 0)
                return -errno;
        return (size_t) k == n ? 0 : -EIO;
}

static char *device_path(const char *root, const char *bdf, const char *attr) {
        char *p;

        if (asprintf(&p, "%s/bus/pci/devices/%s%s%s", root, bdf, attr ? "/" : "", attr ?: "") < 0)
                return NULL;
        return p;
}

/* The last component of what the link at path points to; NULL when there is no link. */
static int link_target_name(const char *path, char **ret) {
        char buf[PATH_MAX];
        ssize_t n = readlink(path, buf, sizeof(buf) - 1);
        const char *slash;

        if (n < 0) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL;
                return 0;
        }
        buf[n] = '\0';
        slash = strrchr(buf, '/');
        *ret = strdup(slash ? slash + 1 : buf);
        return *ret ? 0 : -ENOMEM;
}

int pci_bind_driver(const char *root, const char *bdf, char **ret) {
        _cleanup_free_ char *dir = device_path(root, bdf, NULL), *link = device_path(root, bdf, "driver");

        if (!dir || !link)
                return -ENOMEM;
        if (access(dir, F_OK) < 0)
                return -ENODEV;
        return link_target_name(link, ret);
}

/* What a failed step means: the device may have gone meanwhile. */
static int device_error(const char *root, const char *bdf, int r) {
        _cleanup_free_ char *dir = device_path(root, bdf, NULL);

        if (dir && access(dir, F_OK) < 0 && errno == ENOENT)
                return -ENODEV;
        return r;
}

/* The devices of bdf's IOMMU group on drivers that keep it from vfio, as
 * "0000:00:1f.0 (lpc_ich), ..." in *list; -EOPNOTSUPP without a group. */
static int group_blockers(const char *root, const char *bdf, FILE *list) {
        _cleanup_free_ char *link = device_path(root, bdf, "iommu_group"), *group = NULL, *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r, n = 0;

        if (!link)
                return -ENOMEM;
        r = link_target_name(link, &group);
        if (r < 0)
                return r;
        if (!group)
                return -EOPNOTSUPP;
        if (asprintf(&dir, "%s/kernel/iommu_groups/%s/devices", root, group) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *driver_link = NULL, *driver = NULL;

                if (de->d_name[0] == '.' || streq(de->d_name, bdf))
                        continue;
                if (asprintf(&driver_link, "%s/%s/driver", dir, de->d_name) < 0)
                        return -ENOMEM;
                r = link_target_name(driver_link, &driver);
                if (r < 0)
                        return r;
                if (!driver || strv_contains(group_drivers, driver))
                        continue;
                fprintf(list, "%s%s (%s)", n++ > 0 ? ", " : "", de->d_name, driver);
        }
        return n;
}

/* Whether the line list (a file's lines) has a line whose field'th
 * space-separated field is value. */
static bool file_has_field(const char *path, unsigned field, const char *value) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        if (!f)
                return false;
        while (getline(&line, &size, f) > 0) {
                char *p = line;

                for (unsigned i = 0; i < field && p; i++) {
                        p = strchr(p, ' ');
                        p = p ? p + strspn(p, " ") : NULL;
                }
                if (p && strncmp(p, value, strlen(value)) == 0 && strchr(" \t\n", p[strlen(value)]))
                        return true;
        }
        return false;
}

/* Whether the block device (disk or partition) in directory dir is in use;
 * its name in use_name when it is. */
static int block_in_use(int dir_fd, const char *name, FILE *uses, unsigned *n) {
        _cleanup_free_ char *devnum = NULL, *swap = NULL;
        _cleanup_closedir_ DIR *holders = NULL;
        int fd;

        if (read_one_line_file_at(dir_fd, "dev", &devnum) >= 0 &&
            file_has_field("/proc/self/mountinfo", 2, devnum)) {
                fprintf(uses, "%sblock device %s is mounted", (*n)++ > 0 ? "; " : "", name);
                return 1;
        }
        if (asprintf(&swap, "/dev/%s", name) >= 0 && file_has_field("/proc/swaps", 0, swap)) {
                fprintf(uses, "%sblock device %s is used as swap", (*n)++ > 0 ? "; " : "", name);
                return 1;
        }
        fd = openat(dir_fd, "holders", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0 && (holders = fdopendir(fd)))
                for (struct dirent *de; (de = readdir(holders));)
                        if (de->d_name[0] != '.') {
                                fprintf(uses, "%sblock device %s is held by %s", (*n)++ > 0 ? "; " : "", name,
                                        de->d_name);
                                return 1;
                        }
        if (fd >= 0 && !holders)
                close(fd);
        return 0;
}

/* The disks in a "block" directory, with their partitions. */
static void disks_in_use(int block_fd, FILE *uses, unsigned *n) {
        _cleanup_closedir_ DIR *d = fdopendir(block_fd);

        if (!d) {
                close(block_fd);
                return;
        }
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_closedir_ DIR *parts = NULL;
                int disk_fd;

                if (de->d_name[0] == '.' || de->d_type != DT_DIR)
                        continue;
                disk_fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (disk_fd < 0)
                        continue;
                (void) block_in_use(disk_fd, de->d_name, uses, n);
                parts = fdopendir(disk_fd);
                if (!parts) {
                        close(disk_fd);
                        continue;
                }
                for (struct dirent *p; (p = readdir(parts));) {
                        _cleanup_close_ int part_fd = -EBADF;

                        if (p->d_name[0] == '.' || p->d_type != DT_DIR)
                                continue;
                        part_fd = openat(disk_fd, p->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (part_fd >= 0 && faccessat(part_fd, "partition", F_OK, 0) == 0)
                                (void) block_in_use(part_fd, p->d_name, uses, n);
                }
        }
}

/* Searches the real directories below dir_fd (not the links: those lead
 * to other devices) for "block". */
static void block_search(int dir_fd, unsigned depth, FILE *uses, unsigned *n) {
        _cleanup_closedir_ DIR *d = fdopendir(dir_fd);

        if (!d) {
                close(dir_fd);
                return;
        }
        for (struct dirent *de; (de = readdir(d));) {
                int fd;

                if (de->d_name[0] == '.' || de->d_type != DT_DIR)
                        continue;
                fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        continue;
                if (streq(de->d_name, "block"))
                        disks_in_use(fd, uses, n);
                else if (depth > 1)
                        block_search(fd, depth - 1, uses, n);
                else
                        close(fd);
        }
}

static void net_in_use(const char *root, const char *bdf, FILE *uses, unsigned *n) {
        _cleanup_free_ char *dir = device_path(root, bdf, "net");
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;

        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *flags_path = NULL, *flags = NULL;
                uint64_t v;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&flags_path, "%s/%s/flags", dir, de->d_name) < 0)
                        continue;
                /* IFF_UP: someone set it up, and may be using it. */
                if (read_one_line_file(flags_path, &flags) >= 0 && safe_atox64(flags, &v) >= 0 && (v & 1))
                        fprintf(uses, "%snetwork interface %s is up", (*n)++ > 0 ? "; " : "", de->d_name);
        }
}

static int host_uses(const char *root, const char *bdf, FILE *uses) {
        _cleanup_free_ char *boot_vga = device_path(root, bdf, "boot_vga"), *vga = NULL, *dir = NULL;
        unsigned n = 0;
        int fd;

        if (!boot_vga)
                return -ENOMEM;
        if (read_one_line_file(boot_vga, &vga) >= 0 && streq(vga, "1"))
                fprintf(uses, "%sit is the host's boot VGA device", n++ > 0 ? "; " : "");
        net_in_use(root, bdf, uses, &n);
        dir = device_path(root, bdf, NULL);
        if (!dir)
                return -ENOMEM;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
                block_search(fd, BLOCK_SEARCH_DEPTH, uses, &n);
        return n;
}

int pci_bind_check(const char *root, const char *bdf, bool force, char **ret_why) {
        _cleanup_free_ char *driver = NULL, *text = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t size;
        int r;

        *ret_why = NULL;
        r = pci_bind_driver(root, bdf, &driver);
        if (r == -ENODEV)
                return asprintf(ret_why, "No PCI device %s on this host", bdf) < 0 ? -ENOMEM : -ENODEV;
        if (r < 0)
                return r;
        if (streq_ptr(driver, "vfio-pci"))
                return asprintf(ret_why, "Device %s is on vfio-pci already", bdf) < 0 ? -ENOMEM : -EALREADY;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        r = group_blockers(root, bdf, f);
        if (r == -EOPNOTSUPP)
                return asprintf(ret_why, "Device %s is not behind an IOMMU: VFIO cannot give it to a VMM", bdf) < 0 ?
                        -ENOMEM : -EOPNOTSUPP;
        if (r < 0)
                return device_error(root, bdf, r);
        if (r > 0) {
                if (fflush(f) != 0)
                        return -ENOMEM;
                return asprintf(ret_why, "The IOMMU group of %s also holds %s: vfio-pci can take only a group whose "
                                "other devices are on vfio-pci, pci-stub, pcieport or no driver", bdf, text) < 0 ?
                        -ENOMEM : -EXDEV;
        }
        if (force)
                return 0;
        r = host_uses(root, bdf, f);
        if (r < 0)
                return r;
        if (r > 0) {
                if (fflush(f) != 0)
                        return -ENOMEM;
                return asprintf(ret_why, "Device %s is in use by the host (%s): force it to take it anyway", bdf,
                                text) < 0 ? -ENOMEM : -ETXTBSY;
        }
        return 0;
}

static int write_driver_file(const char *root, const char *driver, const char *file, const char *bdf) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/bus/pci/drivers/%s/%s", root, driver, file) < 0)
                return -ENOMEM;
        return sysfs_write(path, bdf);
}

static int write_bus_file(const char *root, const char *file, const char *bdf) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/bus/pci/%s", root, file) < 0)
                return -ENOMEM;
        return sysfs_write(path, bdf);
}

/* An empty line clears the override. */
static int set_override(const char *root, const char *bdf, const char *driver) {
        _cleanup_free_ char *path = device_path(root, bdf, "driver_override");

        if (!path)
                return -ENOMEM;
        return sysfs_write(path, driver ?: "\n");
}

int pci_bind_vfio(const char *root, const char *bdf, const char *current) {
        _cleanup_free_ char *now = NULL;
        int r;

        r = set_override(root, bdf, "vfio-pci");
        if (r < 0)
                return device_error(root, bdf, r);
        if (current) {
                r = write_driver_file(root, current, "unbind", bdf);
                if (r < 0)
                        goto undo;
        }
        r = write_bus_file(root, "drivers_probe", bdf);
        if (r >= 0)
                r = pci_bind_driver(root, bdf, &now);
        if (r >= 0 && !streq_ptr(now, "vfio-pci"))
                r = -ENXIO;
        if (r >= 0)
                return 0;
undo:
        r = device_error(root, bdf, r);
        if (r == -ENODEV)
                return r;
        (void) set_override(root, bdf, NULL);
        if (current && !now)
                (void) write_driver_file(root, current, "bind", bdf);
        return r;
}

int pci_bind_give_back(const char *root, const char *bdf, const char *driver, bool probe) {
        _cleanup_free_ char *now = NULL;
        int r;

        r = pci_bind_driver(root, bdf, &now);
        if (r < 0)
                return r;
        if (streq_ptr(now, "vfio-pci")) {
                r = write_driver_file(root, "vfio-pci", "unbind", bdf);
                if (r < 0)
                        return device_error(root, bdf, r);
        }
        r = set_override(root, bdf, NULL);
        if (r < 0)
                return device_error(root, bdf, r);
        if (driver) {
                r = write_driver_file(root, driver, "bind", bdf);
                if (r >= 0 || !probe)
                        return device_error(root, bdf, r);
        }
        if (probe) {
                r = write_bus_file(root, "drivers_probe", bdf);
                if (r < 0)
                        return device_error(root, bdf, r);
        }
        return 0;
}
