/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <limits.h>

#include "util.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

int read_full_file_at(int dir_fd, const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated;

        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;

        /* sysfs attributes are at most a page; grow only for other files. */
        allocated = max_size < 4096 ? max_size : 4096;
        buf = malloc(allocated + 1);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                ssize_t n;

                if (size == allocated) {
                        size_t a;
                        char *p;

                        if (allocated >= max_size)
                                return -EFBIG;
                        a = allocated * 2 < max_size ? allocated * 2 : max_size;
                        p = realloc(buf, a + 1);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        allocated = a;
                }

                n = read(fd, buf + size, allocated - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += n;
        }

        buf[size] = 0;
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_one_line_file_at(int dir_fd, const char *path, char **ret) {
        _cleanup_close_ int fd = -EBADF;
        char buf[4096 + 1], *nl, *line;
        ssize_t n;

        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;

        /*
         * One read: a sysfs attribute comes whole in the first one, and the
         * first line of anything else is within a page or not a line.
         */
        do
                n = read(fd, buf, sizeof(buf) - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        buf[n] = 0;

        nl = strchr(buf, '\n');
        if (nl)
                *nl = 0;

        line = strdup(buf);
        if (!line)
                return -ENOMEM;
        *ret = line;
        return 0;
}

int read_one_line_file(const char *path, char **ret) {
        return read_one_line_file_at(AT_FDCWD, path, ret);
}

int safe_atou(const char *s, unsigned *ret) {
        unsigned long l;
        char *end;

        /* strtoul() would take a sign and leading blanks; sysfs numbers have neither. */
        if (!s || !(s[0] >= '0' && s[0] <= '9'))
                return -EINVAL;

        errno = 0;
        l = strtoul(s, &end, 10);
        if (errno > 0)
                return -errno;
        if (*end)
                return -EINVAL;
        if (l > UINT_MAX)
                return -ERANGE;

        *ret = (unsigned) l;
        return 0;
}

int safe_atox64(const char *s, uint64_t *ret) {
        unsigned long long l;
        const char *p;
        char *end;

        if (!s)
                return -EINVAL;
        p = startswith(s, "0x") ?: startswith(s, "0X") ?: s;
        /* Digits only: strtoull() would also take blanks, a sign and a second "0x". */
        if (!p[0] || p[strspn(p, "0123456789abcdefABCDEF")])
                return -EINVAL;

        errno = 0;
        l = strtoull(p, &end, 16);
        if (errno > 0)
                return -errno;
        if (*end)
                return -EINVAL;

        *ret = (uint64_t) l;
        return 0;
}
