/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers shared by the library, the daemon and the CLI. */

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define _public_ __attribute__((visibility("default")))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))

/* The exit status of viommud and viommuctl after a usage error, as
 * getopt-style programs and systemd's tools use it. */
#define EXIT_USAGE 2

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define DIV_ROUND_UP(x, y) (((x) + (y) - 1) / (y))
#define IN_SET(x, a, b) ({ __typeof__(x) _x = (x); _x == (a) || _x == (b); })
#define MIN(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a < _b ? _a : _b; })
#define MAX(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a > _b ? _a : _b; })

/* Hands ownership of a pointer (or fd) to the caller, leaving NULL (-EBADF). */
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -EBADF; _fd; })

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        return a && b ? streq(a, b) : a == b;
}

static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Declares NAME##p(), a cleanup function for a pointer freed by FUNC. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                 \
        static inline void func##p(type *p) {                   \
                if (*p)                                         \
                        func(*p);                               \
        }

#define _printf_(a, b) __attribute__((format(printf, a, b)))

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline bool isempty(const char *s) {
        return !s || !s[0];
}

/* NULL-terminated string arrays. */
char **strv_free(char **l);
bool strv_contains(char * const *l, const char *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/*
 * File reading for sysfs attributes: negative errno on failure. The first
 * line without its newline; the whole file (at most max_size bytes, always
 * NUL-terminated after *ret_size bytes, which may be NULL).
 */
int read_one_line_file(const char *path, char **ret);
int read_one_line_file_at(int dir_fd, const char *path, char **ret);
int read_full_file_at(int dir_fd, const char *path, size_t max_size, char **ret, size_t *ret_size);
/* The same from an open fd; -EFBIG past max_size, having read no more. */
int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size);

/* s (may be NULL) with each control character turned into '?': a message
 * stays one line whatever a file name holds. */
char *string_replace_control(char *s);

/*
 * path taken relative to directory dir (an absolute path replaces it), as
 * the kernel would resolve it if no component were a link: empty components
 * and "." dropped, ".." taking one off (none above "/"). Both must be
 * absolute or relative to "/"; *ret is absolute.
 */
int path_join_lexical(const char *dir, const char *path, char **ret);

/* Whole-string number parsing: -EINVAL on junk, -ERANGE on overflow. Base 10;
 * base 16 with an optional "0x" for the x64 variant. */
int safe_atou(const char *s, unsigned *ret);
int safe_atou64(const char *s, uint64_t *ret);
int safe_atox64(const char *s, uint64_t *ret);

/* A PCI address, "DDDD:BB:SS.F" with a domain of 4 to 8 hex digits (VMD
 * domains are longer than 4) or "BB:SS.F" for domain 0, any case. */
int pci_address_parse(const char *s, uint32_t *ret_domain, uint8_t *ret_bus, uint8_t *ret_slot,
                      uint8_t *ret_function);

/*
 * The user database's entry of a user (by name, or by uid when name is NULL)
 * or of a group, in one allocation to free(): -ESRCH when there is none.
 */
struct passwd;
struct group;
int user_db_passwd(const char *name, uid_t uid, struct passwd **ret);
int user_db_group(const char *name, struct group **ret);

static inline void *memdup(const void *p, size_t l) {
        void *q = malloc(l ?: 1);

        return q ? memcpy(q, p, l) : NULL;
}
