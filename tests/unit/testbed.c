/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
/* After util.h: glib replaces its MIN() and MAX() with its own. */
#include <umockdev.h>
#include "testbed.h"

struct testbed_group {
        unsigned id;
        const char *type;
        const char *regions;
        const char *members;
};

/* The hosts' groups, as the kernel shows them. */
static const struct testbed_group vtd_host_groups[] = {
        { 0, "DMA\n", "0x000000007c000000 0x000000007fffffff direct-relaxable\n0x00000000fee00000 0x00000000feefffff msi\n",
          "devices/pci0000:00/0000:00:02.0" },
        { 1, "DMA\n", "0x00000000fee00000 0x00000000feefffff msi\n",
          "devices/pci0000:00/0000:00:00.0" },
        { 2, "DMA\n", "0x00000000fee00000 0x00000000feefffff msi\n",
          "devices/pci0000:00/0000:00:01.0" },
        { 3, "DMA\n", "0x00000000fee00000 0x00000000feefffff msi\n",
          "devices/pci0000:00/0000:00:06.0" },
        { 4, "DMA\n", "0x000000006e9f0000 0x000000006ea0ffff direct-relaxable\n0x00000000fee00000 0x00000000feefffff msi\n",
          "devices/pci0000:00/0000:00:14.0 devices/pci0000:00/0000:00:14.2" },
        { 5, "DMA\n", "0x000000006f000000 0x000000006f7fffff direct\n0x00000000fee00000 0x00000000feefffff msi\n",
          "devices/pci0000:00/0000:00:17.0" },
        { 6, "DMA\n", "0x00000000fee00000 0x00000000feefffff msi\n",
          "devices/pci0000:00/0000:00:1f.0 devices/pci0000:00/0000:00:1f.3 devices/pci0000:00/0000:00:1f.4 devices/pci0000:00/0000:00:1f.5" },
        { 7, "DMA\n", "0x00000000fee00000 0x00000000feefffff msi\n",
          "devices/pci0000:00/0000:00:01.0/0000:01:00.0" },
        { 8, "DMA\n", "0x00000000fee00000 0x00000000feefffff msi\n",
          "devices/pci0000:00/0000:00:06.0/0000:02:00.0" },
};
static const struct testbed_group smmuv3_host_groups[] = {
        { 0, "DMA\n", "0x0000000008000000 0x00000000080fffff msi\n",
          "devices/platform/HISI0162:01" },
        { 1, "DMA\n", "0x0000000008000000 0x00000000080fffff msi\n",
          "devices/platform/HISI00B2:00" },
        { 2, "DMA-FQ\n", "0x0000000008000000 0x00000000080fffff msi\n",
          "devices/pci0000:00/0000:00:00.0/0000:01:00.0 devices/pci0000:00/0000:00:00.0/0000:01:00.1" },
        { 3, "DMA-FQ\n", "0x0000000008000000 0x00000000080fffff msi\n",
          "devices/pci0000:00/0000:00:00.0" },
        { 4, "DMA-FQ\n", "0x0000000008000000 0x00000000080fffff msi\n",
          "devices/pci0000:00/0000:00:08.0" },
        { 5, "DMA\n", "0x0000000008000000 0x00000000080fffff msi\n",
          "devices/pci0000:00/0000:00:08.0/0000:02:00.0" },
};
static const struct testbed_group mock_host_groups[] = {
        { 0, "blocked\n", "",
          "devices/iommufd_mock0" },
        { 1, "blocked\n", "",
          "devices/iommufd_mock1" },
};

static const struct {
        const char *name;
        const struct testbed_group *groups;
        size_t n_groups;
} hosts[] = {
        { "vtd-host",    vtd_host_groups,    ELEMENTSOF(vtd_host_groups)    },
        { "smmuv3-host", smmuv3_host_groups, ELEMENTSOF(smmuv3_host_groups) },
        { "mock-host",   mock_host_groups,   ELEMENTSOF(mock_host_groups)   },
};

_printf_(1, 2)
static void die(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(EXIT_FAILURE);
}

void testbed_reexec(char **argv) {
        const char *asan, *preload = getenv("LD_PRELOAD");

        /* umockdev_in_mock_environment() says yes only once a testbed exists. */
        if (preload && strstr(preload, "libumockdev-preload"))
                return;

        /* The preload library comes before the sanitizer's runtime, which it does not like. */
        asan = getenv("ASAN_OPTIONS");
        if (!asan || !strstr(asan, "verify_asan_link_order")) {
                _cleanup_free_ char *o = NULL;

                if (asprintf(&o, "%s%sverify_asan_link_order=0", asan ?: "", asan ? ":" : "") < 0 ||
                    setenv("ASAN_OPTIONS", o, 1) < 0)
                        die("out of memory");
        }

        size_t n = 0;
        while (argv[n])
                n++;
        char **args = calloc(n + 2, sizeof(char *));
        if (!args)
                die("out of memory");
        args[0] = (char *) "umockdev-wrapper";
        memcpy(args + 1, argv, n * sizeof(char *));
        execvp(args[0], args);
        die("cannot run umockdev-wrapper (Debian package umockdev): %m");
}

/* Writes s to file path, for /proc/self/uid_map and the like. */
static int write_proc(const char *path, const char *s) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

        return fd >= 0 && write(fd, s, strlen(s)) == (ssize_t) strlen(s) ? 0 : -errno;
}

/* A mount namespace of our own: as root, or as root of a user namespace of our own. */
static int unshare_mounts(void) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        char map[64];

        if (unshare(CLONE_NEWNS) >= 0)
                return 0;
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return -errno;
        snprintf(map, sizeof(map), "0 %u 1", (unsigned) uid);
        if (write_proc("/proc/self/setgroups", "deny") < 0 || write_proc("/proc/self/uid_map", map) < 0)
                return -errno;
        snprintf(map, sizeof(map), "0 %u 1", (unsigned) gid);
        return write_proc("/proc/self/gid_map", map);
}

pid_t testbed_spawn_bound(const char *root, char * const *argv, int stdout_fd) {
        pid_t pid;
        int r;

        fflush(stdout);
        pid = fork();
        if (pid < 0)
                die("fork: %m");
        if (pid > 0)
                return pid;

        r = unshare_mounts();
        if (r >= 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                r = -errno;
        if (r >= 0 && mount(root, "/sys", NULL, MS_BIND | MS_REC, NULL) < 0)
                r = -errno;
        if (r < 0) {
                fprintf(stderr, "no mount namespace of its own: %s\n", strerror(-r));
                _exit(TESTBED_NO_NAMESPACE);
        }
        if (stdout_fd >= 0 && dup2(stdout_fd, STDOUT_FILENO) < 0)
                _exit(EXIT_FAILURE);
        unsetenv("LD_PRELOAD");
        unsetenv("UMOCKDEV_DIR");
        setenv("SYSTEMD_DEVICE_VERIFY_SYSFS", "0", 1);
        execv("/proc/self/exe", argv);
        fprintf(stderr, "execv /proc/self/exe: %m\n");
        _exit(EXIT_FAILURE);
}

UMockdevTestbed *testbed_new(void) {
        UMockdevTestbed *tb = umockdev_testbed_new();

        if (!tb)
                die("cannot make a umockdev testbed");
        return tb;
}

UMockdevTestbed *testbed_free(UMockdevTestbed *tb) {
        if (tb)
                g_object_unref(tb);
        return NULL;
}

char *testbed_sys_dir(UMockdevTestbed *tb) {
        gchar *d = umockdev_testbed_get_sys_dir(tb);
        char *s = strdup(d);

        g_free(d);
        if (!s)
                die("out of memory");
        return s;
}

void testbed_add(UMockdevTestbed *tb, const char *record) {
        GError *error = NULL;

        if (!umockdev_testbed_add_from_string(tb, record, &error))
                die("cannot add devices: %s", error->message);
}

static void write_file(const char *path, const char *content) {
        _cleanup_fclose_ FILE *f = fopen(path, "we");

        if (!f || fputs(content, f) < 0)
                die("cannot write %s: %m", path);
}

void testbed_add_group(UMockdevTestbed *tb, unsigned id, const char *type, const char *regions,
                       const char *members) {
        _cleanup_free_ char *sys = testbed_sys_dir(tb), *dir = NULL, *p = NULL;

        if (asprintf(&dir, "%s/kernel/iommu_groups/%u/devices", sys, id) < 0)
                die("out of memory");
        for (char *s = strchr(dir + strlen(sys) + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        die("cannot make %s: %m", dir);
                *s = '/';
        }
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                die("cannot make %s: %m", dir);
        dir[strlen(dir) - strlen("/devices")] = 0;

        if (type) {
                if (asprintf(&p, "%s/type", dir) < 0)
                        die("out of memory");
                write_file(p, type);
                p = mfree(p);
        }
        if (regions) {
                if (asprintf(&p, "%s/reserved_regions", dir) < 0)
                        die("out of memory");
                write_file(p, regions);
                p = mfree(p);
        }

        for (const char *m = members; m && *m; ) {
                size_t n = strcspn(m, " ");
                const char *base = memrchr(m, '/', n);
                _cleanup_free_ char *link = NULL, *target = NULL;

                base = base ? base + 1 : m;
                if (asprintf(&link, "%s/devices/%.*s", dir, (int) (n - (base - m)), base) < 0 ||
                    asprintf(&target, "../../../../%.*s", (int) n, m) < 0)
                        die("out of memory");
                if (symlink(target, link) < 0)
                        die("cannot link %s: %m", link);
                m += n;
                m += strspn(m, " ");
        }
}

void testbed_remove_device(UMockdevTestbed *tb, const char *devpath) {
        _cleanup_free_ char *syspath = NULL;

        if (asprintf(&syspath, "/sys%s", devpath) < 0)
                die("out of memory");
        umockdev_testbed_remove_device(tb, syspath);
}

void testbed_uevent(UMockdevTestbed *tb, const char *devpath, const char *action) {
        _cleanup_free_ char *syspath = NULL;

        if (asprintf(&syspath, "/sys%s", devpath) < 0)
                die("out of memory");
        umockdev_testbed_uevent(tb, syspath, action);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

void testbed_remove_group(UMockdevTestbed *tb, unsigned id) {
        _cleanup_free_ char *sys = testbed_sys_dir(tb), *dir = NULL;

        if (asprintf(&dir, "%s/kernel/iommu_groups/%u", sys, id) < 0)
                die("out of memory");
        if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
                die("cannot remove %s: %m", dir);
}

void testbed_add_host(UMockdevTestbed *tb, const char *srcdir, const char *name) {
        _cleanup_free_ char *path = NULL;
        GError *error = NULL;

        if (asprintf(&path, "%s/tests/data/topology/%s.umockdev", srcdir, name) < 0)
                die("out of memory");
        if (!umockdev_testbed_add_from_file(tb, path, &error))
                die("cannot add %s: %s", path, error->message);

        for (size_t i = 0; i < ELEMENTSOF(hosts); i++)
                if (streq(hosts[i].name, name)) {
                        for (size_t k = 0; k < hosts[i].n_groups; k++) {
                                const struct testbed_group *g = &hosts[i].groups[k];

                                testbed_add_group(tb, g->id, g->type, g->regions, g->members);
                        }
                        return;
                }
        die("no host %s", name);
}
