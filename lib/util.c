/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>

#include "util.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

bool strv_contains(char * const *l, const char *s) {
        for (char * const *i = l; i && *i; i++)
                if (streq(*i, s))
                        return true;
        return false;
}

int read_full_file_at(int dir_fd, const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;

        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return read_full_fd(fd, max_size, ret, ret_size);
}

int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated;

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

/* Appends the components of p to the path in buf, of length *n. */
static void path_append_lexical(char *buf, size_t *n, const char *p) {
        while (*p) {
                size_t l;

                p += strspn(p, "/");
                l = strcspn(p, "/");
                if (l == 0 || (l == 1 && p[0] == '.'))
                        ;
                else if (l == 2 && p[0] == '.' && p[1] == '.') {
                        while (*n > 0 && buf[--*n] != '/')
                                ;
                } else {
                        buf[(*n)++] = '/';
                        memcpy(buf + *n, p, l);
                        *n += l;
                }
                p += l;
        }
        buf[*n] = 0;
}

int path_join_lexical(const char *dir, const char *path, char **ret) {
        size_t n = 0;
        char *buf;

        buf = malloc(strlen(dir) + strlen(path) + 3);
        if (!buf)
                return -ENOMEM;
        if (path[0] != '/')
                path_append_lexical(buf, &n, dir);
        path_append_lexical(buf, &n, path);
        if (n == 0)
                strcpy(buf, "/");
        *ret = buf;
        return 0;
}

int safe_atou64(const char *s, uint64_t *ret) {
        unsigned long long l;
        char *end;

        /* strtoull() would take a sign and leading blanks; sysfs numbers have neither. */
        if (!s || !(s[0] >= '0' && s[0] <= '9'))
                return -EINVAL;

        errno = 0;
        l = strtoull(s, &end, 10);
        if (errno > 0)
                return -errno;
        if (*end)
                return -EINVAL;
        *ret = l;
        return 0;
}

int safe_atou(const char *s, unsigned *ret) {
        uint64_t l;
        int r;

        r = safe_atou64(s, &l);
        if (r < 0)
                return r;
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

/* A hex field of min to max digits, followed by sep ('\0': the end). */
static bool hex_field(const char **p, size_t min, size_t max, char sep, unsigned long *ret) {
        size_t n = strspn(*p, "0123456789abcdefABCDEF");

        if (n < min || n > max || (*p)[n] != sep)
                return false;
        *ret = strtoul(*p, NULL, 16);
        *p += n + 1;
        return true;
}

int pci_address_parse(const char *s, uint32_t *ret_domain, uint8_t *ret_bus, uint8_t *ret_slot,
                      uint8_t *ret_function) {
        unsigned long domain = 0, bus, slot, function;
        const char *colon = strchr(s, ':');

        if (!colon)
                return -EINVAL;
        if (strchr(colon + 1, ':') && !hex_field(&s, 4, 8, ':', &domain))
                return -EINVAL;
        if (!hex_field(&s, 2, 2, ':', &bus) || !hex_field(&s, 2, 2, '.', &slot) ||
            !hex_field(&s, 1, 1, 0, &function) || slot > 0x1f || function > 7)
                return -EINVAL;

        *ret_domain = domain;
        *ret_bus = bus;
        *ret_slot = slot;
        *ret_function = function;
        return 0;
}

typedef int (*UserDbLookup)(const void *key, void *entry, char *buf, size_t size, bool *found);

static int passwd_by_name(const void *key, void *entry, char *buf, size_t size, bool *found) {
        struct passwd *result = NULL;
        int e = getpwnam_r(key, entry, buf, size, &result);

        *found = result;
        return e;
}

static int passwd_by_uid(const void *key, void *entry, char *buf, size_t size, bool *found) {
        struct passwd *result = NULL;
        int e = getpwuid_r(*(const uid_t *) key, entry, buf, size, &result);

        *found = result;
        return e;
}

static int group_by_name(const void *key, void *entry, char *buf, size_t size, bool *found) {
        struct group *result = NULL;
        int e = getgrnam_r(key, entry, buf, size, &result);

        *found = result;
        return e;
}

/* The entry and its strings in one block: the buffer the libc fills follows the struct. */
static int user_db_get(int size_hint, size_t entry_size, UserDbLookup lookup, const void *key, void **ret) {
        long suggested = sysconf(size_hint);
        size_t size = suggested > 0 ? (size_t) suggested : 4096;
        size_t offset = DIV_ROUND_UP(entry_size, sizeof(max_align_t)) * sizeof(max_align_t);

        for (;;) {
                _cleanup_free_ void *p = malloc(offset + size);
                bool found = false;
                int e;

                if (!p)
                        return -ENOMEM;
                e = lookup(key, p, (char *) p + offset, size, &found);
                if (e == ERANGE && size < 1024 * 1024) {
                        size *= 2;
                        continue;
                }
                if (e != 0)
                        return -e;
                if (!found)
                        return -ESRCH;
                *ret = TAKE_PTR(p);
                return 0;
        }
}

int user_db_passwd(const char *name, uid_t uid, struct passwd **ret) {
        return user_db_get(_SC_GETPW_R_SIZE_MAX, sizeof(struct passwd), name ? passwd_by_name : passwd_by_uid,
                           name ?: (const void *) &uid, (void **) ret);
}

int user_db_group(const char *name, struct group **ret) {
        return user_db_get(_SC_GETGR_R_SIZE_MAX, sizeof(struct group), group_by_name, name, (void **) ret);
}

char *string_replace_control(char *s) {
        for (char *c = s; c && *c; c++)
                if ((unsigned char) *c < 0x20)
                        *c = '?';
        return s;
}
