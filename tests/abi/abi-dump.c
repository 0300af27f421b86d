/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Prints the layout of the iommufd and VFIO cdev ABI as seen by one set of
 * headers, one line per struct, field and constant of abi-layout.h:
 *
 *   struct NAME
 *   struct NAME size N align N
 *   field NAME.FIELD offset N size N
 *   const NAME value N
 *
 * Built twice by check-abi.sh:
 *   -DABI_SIDE_PROJECT -I lib -DABI_FILTER_VERSION=V   the project's headers
 *   -I KHDR/include                                     a kernel's headers
 * Only entries of releases up to the kernel's (LINUX_VERSION_CODE, or
 * ABI_FILTER_VERSION on the project side) are printed, so the two outputs
 * must be identical. VFIO names are printed as the kernel spells them.
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef ABI_SIDE_PROJECT
#  include "viommu-abi.h"
#  ifndef KERNEL_VERSION
#    define KERNEL_VERSION(a, b, c) ((a) * 65536 + (b) * 256 + (c))
#  endif
#  ifdef ABI_FILTER_VERSION
#    define ABI_VERSION (ABI_FILTER_VERSION)
#  else
#    define ABI_VERSION KERNEL_VERSION(255, 255, 255)
#  endif
#else
#  include <linux/iommufd.h>
#  include <linux/vfio.h>
#  include <linux/version.h>
#  define ABI_VERSION LINUX_VERSION_CODE
#endif

/*
 * A kernel's headers lack what came after it, so filtering has to happen
 * before the compiler sees the entry: each release tag used in
 * abi-layout.h has a gate that keeps or drops its argument. A new tag
 * without a gate here fails the build, which is the point.
 */
#define ABI_GATE(maj, min, ...) ABI_GATE_##maj##_##min(__VA_ARGS__)

#if ABI_VERSION >= KERNEL_VERSION(6, 2, 0)
#  define ABI_GATE_6_2(...) __VA_ARGS__
#else
#  define ABI_GATE_6_2(...)
#endif
#if ABI_VERSION >= KERNEL_VERSION(6, 6, 0)
#  define ABI_GATE_6_6(...) __VA_ARGS__
#else
#  define ABI_GATE_6_6(...)
#endif
#if ABI_VERSION >= KERNEL_VERSION(6, 7, 0)
#  define ABI_GATE_6_7(...) __VA_ARGS__
#else
#  define ABI_GATE_6_7(...)
#endif
#if ABI_VERSION >= KERNEL_VERSION(6, 8, 0)
#  define ABI_GATE_6_8(...) __VA_ARGS__
#else
#  define ABI_GATE_6_8(...)
#endif
#if ABI_VERSION >= KERNEL_VERSION(6, 11, 0)
#  define ABI_GATE_6_11(...) __VA_ARGS__
#else
#  define ABI_GATE_6_11(...)
#endif
#if ABI_VERSION >= KERNEL_VERSION(6, 12, 0)
#  define ABI_GATE_6_12(...) __VA_ARGS__
#else
#  define ABI_GATE_6_12(...)
#endif
#if ABI_VERSION >= KERNEL_VERSION(6, 13, 0)
#  define ABI_GATE_6_13(...) __VA_ARGS__
#else
#  define ABI_GATE_6_13(...)
#endif
#if ABI_VERSION >= KERNEL_VERSION(6, 15, 0)
#  define ABI_GATE_6_15(...) __VA_ARGS__
#else
#  define ABI_GATE_6_15(...)
#endif
#if ABI_VERSION >= KERNEL_VERSION(6, 17, 0)
#  define ABI_GATE_6_17(...) __VA_ARGS__
#else
#  define ABI_GATE_6_17(...)
#endif
#if ABI_VERSION >= KERNEL_VERSION(7, 3, 0)
#  define ABI_GATE_7_3(...) __VA_ARGS__
#else
#  define ABI_GATE_7_3(...)
#endif

#define member_size(type, member) sizeof(((type *) NULL)->member)

/* The struct line only proves the struct exists: it compiled. */
#define DUMP_STRUCT(name, type)                                         \
        ((void) sizeof(type), printf("struct %s\n", name))
#define DUMP_SIZE(name, type)                                           \
        printf("struct %s size %zu align %zu\n", name, sizeof(type), _Alignof(type))
#define DUMP_FIELD(name, type, f)                                       \
        printf("field %s.%s offset %zu size %zu\n", name, #f,           \
               offsetof(type, f), member_size(type, f))
#define DUMP_CONST(name, value)                                         \
        printf("const %s value 0x%llx\n", name, (unsigned long long) (value))

#define ABI_STRUCT(maj, min, s) ABI_GATE(maj, min, DUMP_STRUCT(#s, struct s);)
#define ABI_SIZE(maj, min, s) ABI_GATE(maj, min, DUMP_SIZE(#s, struct s);)
#define ABI_FIELD(maj, min, s, f) ABI_GATE(maj, min, DUMP_FIELD(#s, struct s, f);)
#define ABI_CONST(maj, min, c) ABI_GATE(maj, min, DUMP_CONST(#c, c);)

#ifdef ABI_SIDE_PROJECT
#  define ABI_VSTRUCT(maj, min, ps, ks) ABI_GATE(maj, min, DUMP_STRUCT(#ks, struct ps);)
#  define ABI_VSIZE(maj, min, ps, ks) ABI_GATE(maj, min, DUMP_SIZE(#ks, struct ps);)
#  define ABI_VFIELD(maj, min, ps, ks, f) ABI_GATE(maj, min, DUMP_FIELD(#ks, struct ps, f);)
#  define ABI_VCONST(maj, min, pc, kc) ABI_GATE(maj, min, DUMP_CONST(#kc, pc);)
#else
#  define ABI_VSTRUCT(maj, min, ps, ks) ABI_GATE(maj, min, DUMP_STRUCT(#ks, struct ks);)
#  define ABI_VSIZE(maj, min, ps, ks) ABI_GATE(maj, min, DUMP_SIZE(#ks, struct ks);)
#  define ABI_VFIELD(maj, min, ps, ks, f) ABI_GATE(maj, min, DUMP_FIELD(#ks, struct ks, f);)
#  define ABI_VCONST(maj, min, pc, kc) ABI_GATE(maj, min, DUMP_CONST(#kc, kc);)
#endif

int main(void) {
#include "abi-layout.h"

        if (fflush(stdout) != 0 || ferror(stdout)) {
                perror("abi-dump: stdout");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
