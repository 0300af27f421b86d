/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * viommuctl's formatting: human-readable sizes, table layouts (rows, record,
 * tree) in text and JSON, display widths, column selection (-o), colour and
 * legends, and the views of a recorded Describe document
 * (tests/data/describe-sample.json, in daemon/describe.c's layout): status,
 * devices with their claims, sessions, and a session's objects ordered by
 * dependency. Last, the exit statuses of the binary where no daemon is
 * needed to know them.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "views.h"

#define SAMPLE TOP_SRCDIR "/tests/data/describe-sample.json"
#define VIOMMUCTL TOP_BUILDDIR "/cli/viommuctl"
#define S1 "/org/viommu1/session/_31"

static struct json_object *sample(void) {
        _cleanup_free_ char *text = NULL;
        struct json_object *j = NULL;
        size_t size = 0;
        FILE *f;

        f = fopen(SAMPLE, "re");
        assert_non_null(f);
        assert_int_not_equal(getdelim(&text, &size, '\0', f), -1);
        fclose(f);
        assert_int_equal(describe_parse(text, &j), 0);
        return j;
}

static char *format(const Table *t) {
        char *s = NULL;

        assert_int_equal(table_format(t, &s), 0);
        return s;
}

static char *to_json(const Table *t) {
        _cleanup_(json_object_putp) struct json_object *j = NULL;

        assert_int_equal(table_to_json(t, &j), 0);
        return strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void test_format_bytes(void **state) {
        static const struct {
                uint64_t bytes;
                const char *text;
        } cases[] = {
                { 0,                      "0 B"        },
                { 1,                      "1 B"        },
                { 1023,                   "1023 B"     },
                { 1024,                   "1.0 KiB"    },
                { 1536,                   "1.5 KiB"    },
                { 4095,                   "3.9 KiB"    },      /* rounded down, never up */
                { 1048575,                "1023.9 KiB" },
                { 1048576,                "1.0 MiB"    },
                { 0x40200000,             "1.0 GiB"    },
                { 3ULL << 40,             "3.0 TiB"    },
                { 5ULL << 50,             "5.0 PiB"    },
                { 1ULL << 60,             "1.0 EiB"    },
                { UINT64_MAX,             "15.9 EiB"   },
        };
        char buf[FORMAT_BYTES_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_string_equal(format_bytes(buf, cases[i].bytes), cases[i].text);
}

/* Columns line up by what the terminal shows: a CJK character takes two
 * cells, a combining accent none. */
static void test_display_width(void **state) {
        static const Column columns[] = {
                { "NAME", "name", 0 },
                { "N",    "n",    COLUMN_RIGHT },
        };
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *s = NULL;

        assert_int_equal(table_new(TABLE_ROWS, columns, ELEMENTSOF(columns), &t), 0);
        assert_int_equal(table_add_string(t, "\346\227\245\346\234\254"), 0);  /* 日本 */
        assert_int_equal(table_add_uint(t, 1), 0);
        assert_int_equal(table_add_string(t, "e\314\201e"), 0);                  /* ée, combining */
        assert_int_equal(table_add_uint(t, 22), 0);
        assert_int_equal(table_add_string(t, "abcde"), 0);
        assert_int_equal(table_add_uint(t, 3), 0);
        assert_int_equal(table_format(t, &s), 0);
        assert_string_equal(s,
                            "NAME    N\n"
                            "\346\227\245\346\234\254    1\n"
                            "e\314\201e     22\n"
                            "abcde   3\n");
}

static const Column demo_columns[] = {
        { "ID",     "id",           COLUMN_RIGHT     },
        { "PATH",   "path",         COLUMN_JSON_ONLY },
        { "OWNER",  "owner",        0                },
        { "BOUND",  "bound",        0                },
        { "MAPPED", "mapped-bytes", COLUMN_RIGHT     },
        { "NOTE",   "note",         0                },
};

static Table *demo_table(void) {
        Table *t = NULL;

        assert_int_equal(table_new(TABLE_ROWS, demo_columns, ELEMENTSOF(demo_columns), &t), 0);
        assert_int_equal(table_add_uint(t, 7), 0);
        assert_int_equal(table_add_string(t, "/org/viommu1/session/_37"), 0);
        assert_int_equal(table_add_string(t, ":1.42"), 0);
        assert_int_equal(table_add_bool(t, true), 0);
        assert_int_equal(table_add_size(t, 2 * 1024 * 1024), 0);
        assert_int_equal(table_add_string(t, "a\nb"), 0);

        assert_int_equal(table_add_uint(t, 12345), 0);
        assert_int_equal(table_add_string(t, NULL), 0);
        assert_int_equal(table_add_string(t, ""), 0);
        assert_int_equal(table_add_bool(t, false), 0);
        assert_int_equal(table_add_size(t, 0), 0);
        assert_int_equal(table_add_null(t), 0);
        return t;
}

/* -o: exactly the columns named, in that order, in text and JSON alike;
 * by header or JSON key, in any case; a JSON-only column shows as text too. */
static void test_table_select(void **state) {
        _cleanup_(table_freep) Table *t = demo_table();
        _cleanup_free_ char *text = NULL, *json = NULL, *bad = NULL;

        assert_int_equal(table_select(t, "owner,PATH,Id", &bad), 0);
        assert_null(bad);
        text = format(t);
        assert_string_equal(text,
                            "OWNER  PATH                         ID\n"
                            ":1.42  /org/viommu1/session/_37      7\n"
                            "-      -                         12345\n");
        json = to_json(t);
        assert_string_equal(json,
                            "[{\"owner\":\":1.42\",\"path\":\"/org/viommu1/session/_37\",\"id\":7},"
                            "{\"owner\":\"\",\"path\":null,\"id\":12345}]");

        /* An unknown name is named, and the selection stays as it was. */
        assert_int_equal(table_select(t, "ID,SIZE", &bad), -ENOENT);
        assert_string_equal(bad, "SIZE");
        free(text);
        text = format(t);
        assert_non_null(strstr(text, "OWNER  PATH"));
        assert_int_equal(table_select(t, ",", NULL), -EINVAL);

        assert_int_equal(columns_check(demo_columns, ELEMENTSOF(demo_columns), "mapped-bytes,note", NULL), 0);
        assert_int_equal(columns_check(demo_columns, ELEMENTSOF(demo_columns), "MAPPED,NOTES", NULL), -ENOENT);
}

/* Colour only when asked, and only where the view put it; --no-legend
 * drops the header. */
static void test_table_flags(void **state) {
        _cleanup_(table_freep) Table *t = demo_table();
        _cleanup_free_ char *plain = NULL, *colored = NULL, *bare = NULL;

        assert_int_equal(table_set_color(t, "green"), 0);      /* the last cell: row 2's NOTE */
        plain = format(t);
        assert_null(strchr(plain, '\033'));
        table_set_flags(t, TABLE_COLOR);
        colored = format(t);
        assert_non_null(strstr(colored, "\033[32m-\033[0m"));
        /* That cell alone: one colour sequence and its reset. */
        size_t escapes = 0;
        for (const char *p = colored; *p; p++)
                escapes += *p == '\033';
        assert_int_equal(escapes, 2);
        table_set_flags(t, TABLE_NO_LEGEND);
        bare = format(t);
        assert_string_equal(bare,
                            "    7  :1.42  yes    2.0 MiB  a?b\n"
                            "12345  -      no         0 B  -\n");
}

static void test_table_text(void **state) {
        _cleanup_(table_freep) Table *t = demo_table();
        _cleanup_free_ char *s = format(t);

        /* Right-aligned numbers, no JSON-only column, "-" for unknown and
         * empty, control characters defused, no trailing blanks. */
        assert_string_equal(s,
                            "   ID  OWNER  BOUND   MAPPED  NOTE\n"
                            "    7  :1.42  yes    2.0 MiB  a?b\n"
                            "12345  -      no         0 B  -\n");
}

static void test_table_json(void **state) {
        _cleanup_(table_freep) Table *t = demo_table();
        _cleanup_free_ char *s = to_json(t);

        /* Every column but text-only ones; sizes as Describe gives them. */
        assert_string_equal(s,
                            "[{\"id\":7,\"path\":\"/org/viommu1/session/_37\",\"owner\":\":1.42\",\"bound\":true,"
                            "\"mapped-bytes\":\"0x200000\",\"note\":\"a\\nb\"},"
                            "{\"id\":12345,\"path\":null,\"owner\":\"\",\"bound\":false,"
                            "\"mapped-bytes\":\"0x0\",\"note\":null}]");
}

static void test_table_record(void **state) {
        static const Column columns[] = {
                { "Version",      "version",      0                },
                { "Hidden",       "hidden",       COLUMN_JSON_ONLY },
                { "Mock devices", "mock-devices", 0                },
                { "Since",        "since",        COLUMN_TEXT_ONLY },
        };
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *text = NULL, *json = NULL;

        assert_int_equal(table_new(TABLE_RECORD, columns, ELEMENTSOF(columns), &t), 0);
        assert_int_equal(table_add_string(t, "0.1"), 0);
        assert_int_equal(table_add_hex(t, 0xdead), 0);
        assert_int_equal(table_add_bool(t, false), 0);
        assert_int_equal(table_set_text(t, "off"), 0);
        assert_int_equal(table_add_string(t, "6.2"), 0);
        assert_int_equal(table_set_text(t, "Linux 6.2"), 0);
        /* A record has one row. */
        assert_int_equal(table_add_null(t), -E2BIG);

        text = format(t);
        assert_string_equal(text,
                            "     Version: 0.1\n"
                            "Mock devices: off\n"
                            "       Since: Linux 6.2\n");
        json = to_json(t);
        assert_string_equal(json, "{\"version\":\"0.1\",\"hidden\":\"0xdead\",\"mock-devices\":false}");
}

static void test_describe_parse(void **state) {
        struct json_object *j = NULL;

        assert_int_equal(describe_parse("not json", &j), -EBADMSG);
        assert_int_equal(describe_parse("[]", &j), -EBADMSG);
        assert_int_equal(describe_parse("{\"sessions\":[]}", &j), -EBADMSG);
        assert_int_equal(describe_parse("{\"sessions\":{},\"topology\":{}}", &j), -EBADMSG);
        assert_int_equal(describe_parse("{\"sessions\":[],\"topology\":{}}", &j), 0);
        json_object_put(j);

        j = sample();
        assert_string_equal(json_get_string(j, "version"), "0.1");
        assert_non_null(describe_find_session(j, S1));
        assert_null(describe_find_session(j, "/org/viommu1/session/_39"));
        json_object_put(j);
}

static void test_status(void **state) {
        _cleanup_(json_object_putp) struct json_object *d = sample();
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *text = NULL, *json = NULL;

        assert_int_equal(status_table(d, &t), 0);
        text = format(t);
        assert_string_equal(text,
                            "     Version: 0.1\n"
                            "      Kernel: 6.15.11\n"
                            "Mock devices: on (testing only)\n"
                            "    Features: 14 of 15 supported\n"
                            "     Devices: 5\n"
                            "     Claimed: 2\n"
                            "    Sessions: 2\n"
                            "     Objects: 10\n"
                            "      Mapped: 1.0 GiB\n");
        /* --json: Describe's own keys and values, and the counts. */
        json = to_json(t);
        assert_string_equal(json,
                            "{\"version\":\"0.1\",\"kernel\":\"6.15.11\",\"mock-devices\":true,"
                            "\"features-supported\":14,\"devices\":5,\"claimed-devices\":2,\"sessions\":2,"
                            "\"objects\":10,\"mapped-bytes\":\"0x40200000\"}");
}

static void test_devices(void **state) {
        _cleanup_(json_object_putp) struct json_object *d = sample(), *j = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *text = NULL;
        struct json_object *row;

        assert_int_equal(devices_table(d, &t), 0);
        text = format(t);
        assert_string_equal(text,
                            "DEVICE        DRIVER    GROUP  VFIO                     SESSION\n"
                            "0000:00:02.0  i915          0  -                              -\n"
                            "0000:00:14.0  xhci_hcd      4  -                              -\n"
                            "0000:00:17.0  ahci          5  -                              -\n"
                            "0000:01:00.0  vfio-pci      7  /dev/vfio/devices/vfio0        2\n"
                            "0000:02:00.0  vfio-pci      8  /dev/vfio/devices/vfio1        1\n");

        assert_int_equal(table_to_json(t, &j), 0);
        assert_int_equal(json_object_array_length(j), 5);
        row = json_object_array_get_idx(j, 4);
        assert_string_equal(json_get_string(row, "name"), "0000:02:00.0");
        assert_string_equal(json_get_string(row, "session-path"), S1);
        assert_string_equal(json_get_string(row, "iommu"), "dmar1");
        row = json_object_array_get_idx(j, 0);
        assert_null(json_get_string(row, "vfio-cdev"));
        assert_null(json_get_string(row, "session-path"));
}

static void test_sessions(void **state) {
        _cleanup_(json_object_putp) struct json_object *d = sample();
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *text = NULL;

        assert_int_equal(sessions_table(d, &t), 0);
        text = format(t);
        /* Describe lists the newest first; the table counts up. */
        assert_string_equal(text,
                            "ID  OWNER   UID  PERSISTENT  DELEGATED  OBJECTS   MAPPED\n"
                            " 1  :1.42  1000  no          no               9  1.0 GiB\n"
                            " 2  :1.57   107  yes         yes              1      0 B\n");
}

static void test_session_tree_order(void **state) {
        static const struct {
                const char *path;
                unsigned depth;
                size_t parent_node;
        } expected[] = {
                { S1 "/device/_33",      0, SIZE_MAX },
                { S1 "/device/_312",     0, SIZE_MAX },
                { S1 "/fault-queue/_37", 0, SIZE_MAX },
                { S1 "/ioas/_35",        0, SIZE_MAX },
                { S1 "/hwpt/_36",        1, 3        },
                { S1 "/hwpt/_38",        2, 4        },
                { S1 "/viommu/_39",      2, 4        },
                { S1 "/vdevice/_310",    3, 6        },
                { S1 "/veventq/_311",    3, 6        },
        };
        _cleanup_(json_object_putp) struct json_object *d = sample();
        struct json_object *s = describe_find_session(d, S1);
        _cleanup_free_ TreeNode *nodes = NULL;
        size_t n = 0;

        assert_int_equal(session_tree(s, &nodes, &n), 0);
        assert_int_equal(n, ELEMENTSOF(expected));
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(nodes[i].path, expected[i].path);
                assert_int_equal(nodes[i].depth, expected[i].depth);
                assert_int_equal(nodes[i].parent_node, expected[i].parent_node);

                /* A parent comes before its children, and one level up. */
                if (nodes[i].depth == 0) {
                        assert_null(nodes[i].parent);
                        continue;
                }
                bool found = false;
                for (size_t k = 0; k < i; k++)
                        if (streq(nodes[k].path, nodes[i].parent)) {
                                assert_int_equal(nodes[k].depth + 1, nodes[i].depth);
                                assert_int_equal(k, nodes[i].parent_node);
                                found = true;
                        }
                assert_true(found);
        }

        /* Dependency order: whatever an object uses came before it. */
        for (size_t i = 0; i < n; i++) {
                struct json_object *u;

                for (size_t k = 0; k < json_object_array_length(json_get_array(nodes[i].object, "uses")); k++) {
                        bool earlier = false;

                        u = json_object_array_get_idx(json_get_array(nodes[i].object, "uses"), k);
                        for (size_t m = 0; m < i; m++)
                                earlier = earlier || streq(nodes[m].path, json_object_get_string(u));
                        assert_true(earlier);
                }
        }
}

/* A record the daemon would never write: a cycle, a dangling use, a use of
 * itself. Every object still shows, once. */
static void test_session_tree_malformed(void **state) {
        static const char *text =
                "{\"path\":\"/s\",\"objects\":["
                "{\"path\":\"/s/a\",\"type\":\"hwpt\",\"id\":1,\"uses\":[\"/s/b\"]},"
                "{\"path\":\"/s/b\",\"type\":\"hwpt\",\"id\":2,\"uses\":[\"/s/a\"]},"
                "{\"path\":\"/s/c\",\"type\":\"viommu\",\"id\":3,\"uses\":[\"/gone\",\"/s/c\",7]},"
                "{\"path\":\"/s/d\",\"type\":\"frobnicator\",\"id\":4},"
                "{\"path\":\"/s/e\",\"type\":\"ioas\",\"id\":5,\"uses\":[]}]}";
        _cleanup_(json_object_putp) struct json_object *s = json_tokener_parse(text);
        _cleanup_free_ char *summary = NULL, *drawn = NULL;
        _cleanup_free_ TreeNode *nodes = NULL;
        size_t n = 0;

        assert_non_null(s);
        assert_int_equal(session_tree(s, &nodes, &n), 0);
        assert_int_equal(n, 5);
        /* Roots first (by kind), then the cycle broken at its first member. */
        assert_string_equal(nodes[0].path, "/s/e");
        assert_string_equal(nodes[1].path, "/s/c");
        assert_string_equal(nodes[2].path, "/s/d");
        assert_string_equal(nodes[3].path, "/s/a");
        assert_int_equal(nodes[3].depth, 0);
        assert_string_equal(nodes[4].path, "/s/b");
        assert_int_equal(nodes[4].depth, 1);
        assert_int_equal(nodes[4].parent_node, 3);
        /* Drawn with box-drawing characters in a UTF-8 locale. */
        assert_int_equal(session_format(s, 0, &drawn), 0);
        assert_non_null(strstr(drawn, "\nhwpt 1: hwpt\n\342\224\224\342\224\200hwpt 2: hwpt\n"));

        assert_int_equal(object_summary(json_object_array_get_idx(json_get_array(s, "objects"), 2),
                                        json_get_array(s, "objects"), &summary), 0);
        assert_string_equal(summary, "viommu 3: uses /gone, viommu 3");
}

static void test_object_summary(void **state) {
        static const char *text =
                "[{\"path\":\"/s/h\",\"type\":\"hwpt\",\"id\":4,\"uses\":[\"/s/i\"],\"kind\":\"paging\","
                "\"flags\":34,\"data-type\":77,\"flag-names\":[\"dirty-tracking\"],\"unknown-flags\":32},"
                "{\"path\":\"/s/i\",\"type\":\"ioas\",\"id\":2,\"uses\":[],\"mappings\":1,\"mapped-bytes\":\"0x1000\"},"
                "{\"path\":\"/s/d\",\"type\":\"device\",\"id\":9,\"uses\":[],\"name\":\"0000:01:00.0\","
                "\"mock\":false,\"bound\":true},"
                "{\"path\":\"/s/p\",\"type\":\"device\",\"id\":10,\"uses\":[],\"name\":\"mock1\","
                "\"mock\":true,\"bound\":true,\"attached\":\"/s/h\",\"pasids\":[{\"pasid\":7,\"hwpt\":\"/s/h\"},"
                "{\"pasid\":1048575,\"hwpt\":\"/s/gone\"}]}]";
        _cleanup_(json_object_putp) struct json_object *objects = json_tokener_parse(text);
        char *s = NULL;

        assert_non_null(objects);
        assert_int_equal(object_summary(json_object_array_get_idx(objects, 0), objects, &s), 0);
        assert_string_equal(s, "hwpt 4: paging, dirty-tracking, flags 0x20, data type 0x4d");
        free(s);
        assert_int_equal(object_summary(json_object_array_get_idx(objects, 1), objects, &s), 0);
        assert_string_equal(s, "ioas 2: 1 mapping, 4.0 KiB");
        free(s);
        assert_int_equal(object_summary(json_object_array_get_idx(objects, 2), objects, &s), 0);
        assert_string_equal(s, "device 9: 0000:01:00.0, detached");
        free(s);
        /* A PASID's HWPT is named like the attachment; one not in the record, by its path. */
        assert_int_equal(object_summary(json_object_array_get_idx(objects, 3), objects, &s), 0);
        assert_string_equal(s, "device 10: mock1, mock, attached to hwpt 4, pasid 7 on hwpt 4, "
                               "pasid 1048575 on /s/gone");
        free(s);
}

static void test_session_text(void **state) {
        _cleanup_(json_object_putp) struct json_object *d = sample();
        _cleanup_free_ char *text = NULL, *text2 = NULL;

        assert_int_equal(session_format(describe_find_session(d, S1), TABLE_ASCII, &text), 0);
        assert_string_equal(text,
                            "   Session: 1\n"
                            "      Path: /org/viommu1/session/_31\n"
                            "     Owner: :1.42\n"
                            "       UID: 1000\n"
                            "Persistent: no\n"
                            " Delegated: no\n"
                            "   Created: 2025-11-21 10:40:00 UTC\n"
                            "   Objects: 9\n"
                            "    Mapped: 1.0 GiB\n"
                            "\n"
                            "device 3: mock0, mock, attached to hwpt 8, pasid 100 on hwpt 8\n"
                            "device 12: 0000:02:00.0, attached to ioas 5\n"
                            "fault-queue 7\n"
                            "ioas 5: 3 mappings, 1.0 GiB\n"
                            "`-hwpt 6: paging, nest-parent, uses mock0\n"
                            "  |-hwpt 8: nested, pasid, selftest data, uses mock0, fault-queue 7\n"
                            "  `-viommu 9: selftest, uses mock0\n"
                            "    |-vdevice 10: virt-id 0x1, uses mock0\n"
                            "    `-veventq 11\n");

        assert_int_equal(session_format(describe_find_session(d, "/org/viommu1/session/_32"), TABLE_ASCII, &text2), 0);
        assert_non_null(strstr(text2, "\n\ndevice 0: 0000:01:00.0, not bound\n"));
}

static void test_session_json(void **state) {
        _cleanup_(json_object_putp) struct json_object *d = sample(), *j = NULL;
        struct json_object *objects, *o;

        assert_int_equal(session_to_json(describe_find_session(d, S1), &j), 0);
        /* Describe's session, untouched but for the objects' order and two keys. */
        assert_string_equal(json_get_string(j, "owner"), ":1.42");
        assert_string_equal(json_get_string(j, "mapped-bytes"), "0x40200000");
        objects = json_get_array(j, "objects");
        assert_non_null(objects);
        assert_int_equal(json_object_array_length(objects), 9);
        o = json_object_array_get_idx(objects, 5);
        assert_string_equal(json_get_string(o, "path"), S1 "/hwpt/_38");
        assert_string_equal(json_get_string(o, "parent"), S1 "/hwpt/_36");
        uint64_t depth = 0;
        assert_int_equal(json_get_u64(o, "depth", &depth), 0);
        assert_int_equal(depth, 2);
        o = json_object_array_get_idx(objects, 0);
        assert_null(json_get_string(o, "parent"));
        /* The sample itself is left as it was. */
        o = json_object_array_get_idx(json_get_array(describe_find_session(d, S1), "objects"), 0);
        assert_null(json_get_string(o, "parent"));
}

/* Runs viommuctl with stdout and stderr to a pipe; returns its exit status. */
static int run(char **output, ...) {
        const char *argv[16] = { VIOMMUCTL };
        size_t n = 1, size = 0;
        int fds[2], status;
        va_list ap;
        pid_t pid;
        FILE *f;

        va_start(ap, output);
        while (n < ELEMENTSOF(argv) - 1 && (argv[n] = va_arg(ap, const char *)))
                n++;
        va_end(ap);
        argv[n] = NULL;

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(fds[1], STDOUT_FILENO);
                dup2(fds[1], STDERR_FILENO);
                execv(argv[0], (char **) argv);
                _exit(127);
        }
        close(fds[1]);
        f = fdopen(fds[0], "r");
        assert_non_null(f);
        *output = NULL;
        if (getdelim(output, &size, '\0', f) < 0) {
                free(*output);
                *output = strdup("");
        }
        fclose(f);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void test_exit_status(void **state) {
        char *out;

        if (access(VIOMMUCTL, X_OK) < 0) {
                print_message("no %s\n", VIOMMUCTL);
                skip();
        }

        assert_int_equal(run(&out, "--help", NULL), 0);
        assert_non_null(strstr(out, "session ID|PATH"));
        free(out);
        assert_int_equal(run(&out, "--version", NULL), 0);
        free(out);
        assert_int_equal(run(&out, "frobnicate", NULL), 2);
        assert_non_null(strstr(out, "Unknown command 'frobnicate'"));
        free(out);
        assert_int_equal(run(&out, "--frobnicate", "status", NULL), 2);
        assert_non_null(strstr(out, "Unknown option '--frobnicate'"));
        free(out);
        assert_int_equal(run(&out, "device", NULL), 2);
        free(out);
        assert_int_equal(run(&out, "--bus=nowhere", "status", NULL), 2);
        free(out);
        assert_int_equal(run(&out, "--address=unix:path=/nonexistent/bus", "session", "x/y", NULL), 2);
        free(out);
        /* Bad options are refused before any connection is tried. */
        assert_int_equal(run(&out, "--json=yes", "status", NULL), 2);
        assert_non_null(strstr(out, "--json= takes 'pretty', 'short' or 'off', not 'yes'"));
        free(out);
        assert_int_equal(run(&out, "--color=sometimes", "status", NULL), 2);
        free(out);
        /* A long option whose value is a letter is still named as given. */
        assert_int_equal(run(&out, "--help=foo", NULL), 2);
        assert_non_null(strstr(out, "Option '--help=foo' takes no argument"));
        free(out);
        assert_int_equal(run(&out, "--outp", NULL), 2);
        assert_non_null(strstr(out, "Option '--outp' needs an argument"));
        free(out);
        /* A timeout under 1 us must not read as none at all, nor one in hexadecimal as seconds. */
        assert_int_equal(run(&out, "--timeout=0x1p-30", "status", NULL), 2);
        assert_non_null(strstr(out, "--timeout= takes a positive number of seconds"));
        free(out);
        assert_int_equal(run(&out, "--address=unix:path=/nonexistent/bus", "--timeout=1e-9", "status", NULL), 1);
        free(out);
        assert_int_equal(run(&out, "--address=unix:path=/nonexistent/bus", "-o", "DEVICE,SIZE", "devices", NULL), 2);
        assert_non_null(strstr(out, "'devices' has no column 'SIZE'"));
        free(out);
        assert_int_equal(run(&out, "--address=unix:path=/nonexistent/bus", "--output=ID", "session", "1", NULL), 2);
        assert_non_null(strstr(out, "'session' has no columns to choose with -o"));
        free(out);
        assert_int_equal(run(&out, "-o", NULL), 2);
        free(out);
        assert_int_equal(run(&out, "--output=,", "devices", NULL), 2);
        free(out);
        /* Good ones get as far as the bus. */
        assert_int_equal(run(&out, "--address=unix:path=/nonexistent/bus", "--json=off", "--no-pager",
                             "--no-legend", "--color=never", "-o", "driver,Device", "devices", NULL), 1);
        assert_non_null(strstr(out, "Cannot connect"));
        free(out);
        /* --help lists every view's columns. */
        assert_int_equal(run(&out, "--help", NULL), 0);
        assert_non_null(strstr(out, "  devices   DEVICE,BUS,DRIVER,GROUP,IOMMU,VFIO,SESSION,PATH\n"));
        assert_non_null(strstr(out, "  status    VERSION,KERNEL,MOCK-DEVICES,"));
        free(out);
        assert_int_equal(run(&out, "--address=unix:path=/nonexistent/bus", "status", NULL), 1);
        assert_non_null(strstr(out, "viommuctl: Cannot connect to the bus at unix:path=/nonexistent/bus"));
        free(out);
}

/* A private bus with nobody on it: "viommud is not running", status 1. */
static void test_not_running(void **state) {
        char address[512] = "", *out;
        int fds[2];
        pid_t pid;
        FILE *f;

        if (access(VIOMMUCTL, X_OK) < 0 || access("/usr/bin/dbus-daemon", X_OK) < 0) {
                print_message("no %s or no /usr/bin/dbus-daemon\n", VIOMMUCTL);
                skip();
        }

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char fd[16];

                snprintf(fd, sizeof(fd), "%d", fds[1]);
                fcntl(fds[1], F_SETFD, 0);
                /* It complains, harmlessly, when it may not raise its fd limit. */
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0)
                        dup2(null, STDERR_FILENO);
                execl("/usr/bin/dbus-daemon", "dbus-daemon", "--session", "--nofork", "--nopidfile",
                      "--print-address", fd, NULL);
                _exit(127);
        }
        close(fds[1]);
        f = fdopen(fds[0], "r");
        assert_non_null(f);
        if (!fgets(address, sizeof(address), f))
                address[0] = '\0';
        fclose(f);
        address[strcspn(address, "\n")] = '\0';
        if (!address[0]) {
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
                print_message("dbus-daemon gave no address\n");
                skip();
        }

        char option[600];
        snprintf(option, sizeof(option), "--address=%s", address);
        int status = run(&out, option, "devices", NULL);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        assert_int_equal(status, 1);
        assert_non_null(strstr(out, "viommuctl: viommud is not running"));
        free(out);
}

/* viommus: a row per vIOMMU with its parent, device and vDEVICEs; what
 * the text says for none depends on whether the kernel has vIOMMUs. */
static void test_viommus(void **state) {
        _cleanup_(json_object_putp) struct json_object *d = sample(), *old = NULL;
        _cleanup_(table_freep) Table *t = NULL, *t2 = NULL;
        _cleanup_free_ char *text = NULL, *json = NULL, *none = NULL, *none_old = NULL;
        struct json_object *features, *viommu;

        assert_int_equal(viommus_table(d, NULL, &t), 0);
        text = format(t);
        assert_string_equal(text,
                            "SESSION  ID  TYPE      PARENT  DEVICE  VDEVICES\n"
                            "      1   9  selftest  hwpt 6  mock0   mock0 0x1\n");
        json = to_json(t);
        assert_string_equal(json,
                            "[{\"session\":1,\"id\":9,\"path\":\"" S1 "/viommu/_39\",\"type\":\"selftest\","
                            "\"type-id\":3735928559,\"parent\":\"" S1 "/hwpt/_36\",\"device\":\"mock0\","
                            "\"vdevices\":[{\"path\":\"" S1 "/vdevice/_310\",\"id\":10,\"device\":\"mock0\","
                            "\"virt-id\":\"0x1\"}]}]");
        /* The other session has none. */
        assert_int_equal(viommus_table(d, describe_find_session(d, "/org/viommu1/session/_32"), &t2), 0);
        assert_int_equal(table_n_rows(t2), 0);
        assert_int_equal(viommus_none(d, &none), 0);
        assert_string_equal(none, "No vIOMMUs.");

        /* A kernel before vIOMMUs. */
        assert_int_equal(json_object_deep_copy(d, &old, NULL), 0);
        assert_true(json_object_object_get_ex(old, "features", &features));
        assert_true(json_object_object_get_ex(features, "viommu", &viommu));
        assert_int_equal(json_object_object_add(viommu, "supported", json_object_new_boolean(false)), 0);
        assert_int_equal(viommus_none(old, &none_old), 0);
        assert_string_equal(none_old, "No vIOMMUs: this kernel has none (they came with Linux 6.13).");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_bytes),
                cmocka_unit_test(test_display_width),
                cmocka_unit_test(test_table_select),
                cmocka_unit_test(test_table_flags),
                cmocka_unit_test(test_table_text),
                cmocka_unit_test(test_table_json),
                cmocka_unit_test(test_table_record),
                cmocka_unit_test(test_describe_parse),
                cmocka_unit_test(test_status),
                cmocka_unit_test(test_devices),
                cmocka_unit_test(test_sessions),
                cmocka_unit_test(test_session_tree_order),
                cmocka_unit_test(test_session_tree_malformed),
                cmocka_unit_test(test_object_summary),
                cmocka_unit_test(test_session_text),
                cmocka_unit_test(test_session_json),
                cmocka_unit_test(test_viommus),
                cmocka_unit_test(test_exit_status),
                cmocka_unit_test(test_not_running),
        };

        /* Display widths and tree glyphs as in a UTF-8 terminal. */
        if (!setlocale(LC_ALL, "C.UTF-8"))
                return 77;
        /* Session times print in local time. */
        setenv("TZ", "UTC", 1);
        tzset();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
