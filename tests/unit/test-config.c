/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * viommud.conf(5): valid files, every kind of bad input with the message it
 * must give (line, column, JSON path, reason), device matching by PCI
 * address, vendor:device id and IOMMU group against hand-made devices,
 * users/groups/units, limits, the reload diff. Matching against a recorded
 * sysfs tree is in test-topology: this test runs without umockdev's preload
 * library, whose fclose() bypasses AddressSanitizer's and so leaves stale
 * bookkeeping of open_memstream() streams behind.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <json-c/json_c_version.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

/* Not "config.h": that names autoconf's in the build directory. */
#include "daemon/config.h"
#include "util.h"
#include "viommu-topology.h"

static Config *parse_ok(const char *text) {
        Config *c = NULL;
        char *error = NULL;
        int r;

        r = config_parse(text, strlen(text), "test.conf", &c, &error);
        if (r < 0)
                print_error("unexpected failure %d: %s\n", r, error ?: "(no message)");
        assert_int_equal(r, 0);
        assert_null(error);
        assert_non_null(c);
        return c;
}

/* Fails to parse, with a message that contains expected. */
static void parse_fails(const char *text, size_t size, const char *expected) {
        Config *c = NULL;
        char *error = NULL;
        int r;

        r = config_parse(text, size, "test.conf", &c, &error);
        if (r >= 0 || !error || !strstr(error, expected))
                print_error("input:\n%.*s\nexpected an error with: %s\ngot %d: %s\n",
                            (int) size, text, expected, r, error ?: "(no message)");
        assert_int_equal(r, -EINVAL);
        assert_null(c);
        assert_non_null(error);
        assert_non_null(strstr(error, expected));
        free(error);
}

static void parse_fails_str(const char *text, const char *expected) {
        parse_fails(text, strlen(text), expected);
}

static void test_defaults(void **state) {
        _cleanup_(config_freep) Config *c = NULL, *empty = NULL, *blank = NULL, *braces = NULL;

        assert_int_equal(config_new(&c), 0);
        assert_int_equal(c->n_allow, 0);
        assert_true(config_limit(c, CONFIG_LIMIT_PINNED_BYTES) == CONFIG_LIMIT_INFINITY);
        assert_int_equal(config_limit(c, CONFIG_LIMIT_OBJECTS), 4096);
        assert_int_equal(config_limit(c, CONFIG_LIMIT_DEVICES), 64);
        assert_int_equal(config_limit(c, CONFIG_LIMIT_SESSIONS_PER_USER), 256);
        assert_int_equal(config_limit(c, CONFIG_LIMIT_PERSISTENT_SESSIONS_PER_USER), 64);
        assert_int_equal(config_limit(c, CONFIG_LIMIT_LEASE_DRAIN_MSEC), 2000);
        /* NULL stands for the defaults. */
        assert_true(config_limit(NULL, CONFIG_LIMIT_PINNED_BYTES) == CONFIG_LIMIT_INFINITY);
        assert_int_equal(config_limit(NULL, CONFIG_LIMIT_DEVICES), 64);
        assert_string_equal(config_limit_to_string(CONFIG_LIMIT_PINNED_BYTES), "pinned-bytes");
        assert_string_equal(config_limit_to_string(CONFIG_LIMIT_PERSISTENT_SESSIONS_PER_USER),
                            "persistent-sessions-per-user");
        assert_null(config_limit_to_string(_CONFIG_LIMIT_MAX));

        empty = parse_ok("");
        blank = parse_ok(" \n\t\n");
        braces = parse_ok("{}");
        assert_int_equal(empty->n_allow + blank->n_allow + braces->n_allow, 0);
        assert_int_equal(config_limit(braces, CONFIG_LIMIT_OBJECTS), 4096);
        assert_null(config_free(NULL));
}

static const char example[] =
        "{\n"
        "  \"allow\": [\n"
        "    {\n"
        "      \"devices\": [ {\"pci\": \"0000:01:00.0\"}, {\"id\": \"8086:10D3\"}, {\"group\": 12} ],\n"
        "      \"users\": [\"root\", 1001, \"1002\"],\n"
        "      \"groups\": [\"root\", 990],\n"
        "      \"units\": [\"vmm@.service\", \"qemu.scope\"]\n"
        "    },\n"
        "    { \"devices\": [ {\"pci\": \"02:1f.7\"}, {\"pci\": \"10000:00:02.0\"} ], \"users\": [1003] }\n"
        "  ],\n"
        "  \"limits\": { \"pinned-bytes\": \"64G\", \"objects\": 100, \"devices\": \"infinity\",\n"
        "              \"sessions-per-user\": 16, \"persistent-sessions-per-user\": 0,\n"
        "              \"lease-drain-msec\": 250 }\n"
        "}\n";

static void test_valid(void **state) {
        _cleanup_(config_freep) Config *c = parse_ok(example);
        const AllowRule *a, *b;

        assert_int_equal(c->n_allow, 2);
        a = &c->allow[0];
        b = &c->allow[1];
        assert_int_equal(a->line, 3);
        assert_int_equal(b->line, 9);

        assert_int_equal(a->n_devices, 3);
        assert_int_equal(a->devices[0].type, DEVICE_SELECTOR_PCI);
        assert_int_equal(a->devices[0].pci.domain, 0);
        assert_int_equal(a->devices[0].pci.bus, 1);
        assert_int_equal(a->devices[1].type, DEVICE_SELECTOR_ID);
        assert_int_equal(a->devices[1].id.vendor, 0x8086);
        assert_int_equal(a->devices[1].id.device, 0x10d3);
        assert_int_equal(a->devices[2].type, DEVICE_SELECTOR_GROUP);
        assert_int_equal(a->devices[2].group, 12);

        assert_int_equal(a->n_users, 3);
        assert_int_equal(a->users[0].id, 0);
        assert_string_equal(a->users[0].name, "root");
        assert_int_equal(a->users[1].id, 1001);
        assert_null(a->users[1].name);
        assert_int_equal(a->users[2].id, 1002);
        assert_null(a->users[2].name);
        assert_int_equal(a->n_groups, 2);
        assert_int_equal(a->groups[0].id, 0);
        assert_int_equal(a->groups[1].id, 990);
        assert_int_equal(a->n_units, 2);
        assert_string_equal(a->units[0], "vmm@.service");

        /* Short form means domain 0; long domains are allowed. */
        assert_int_equal(b->devices[0].pci.domain, 0);
        assert_int_equal(b->devices[0].pci.bus, 2);
        assert_int_equal(b->devices[0].pci.slot, 0x1f);
        assert_int_equal(b->devices[0].pci.function, 7);
        assert_int_equal(b->devices[1].pci.domain, 0x10000);

        assert_true(config_limit(c, CONFIG_LIMIT_PINNED_BYTES) == 64ULL << 30);
        assert_int_equal(config_limit(c, CONFIG_LIMIT_OBJECTS), 100);
        assert_true(config_limit(c, CONFIG_LIMIT_DEVICES) == CONFIG_LIMIT_INFINITY);
        assert_int_equal(config_limit(c, CONFIG_LIMIT_SESSIONS_PER_USER), 16);
        assert_int_equal(config_limit(c, CONFIG_LIMIT_PERSISTENT_SESSIONS_PER_USER), 0);
        assert_int_equal(config_limit(c, CONFIG_LIMIT_LEASE_DRAIN_MSEC), 250);
}

static void test_syntax_errors(void **state) {
        /* json-c's own errors, turned into line:column. */
        parse_fails_str("{\n  \"allow\": [\n    {,\n", "test.conf:3:6: ");
        parse_fails_str("{\n  \"limits\": {\"objects\": 1,}\n}\n", "test.conf:2:27: ");
        parse_fails_str("{\n  /* comment */\n}\n", "test.conf:2:3: ");
        parse_fails_str("{\"allow\": [\n", "test.conf:2:1: unexpected end of file");
        parse_fails_str("{\"allow\": tru}", "test.conf:1:");
        parse_fails_str("{} {}", "test.conf:1:4:");
        parse_fails_str("{\"a\": 01}", "test.conf:1:");
        /* What json-c lets through, caught while it reads. */
        parse_fails_str("{\n  \"limits\": {},\n  \"limits\": {}\n}", "test.conf:3:3: limits: duplicate key");
        parse_fails_str("{\n  \"li\\u006dits\": {},\n  \"limits\": {}\n}", "test.conf:3:3: limits: duplicate key");
        parse_fails_str("{\n  'limits': {}\n}", "test.conf:2:3: expected a key in double quotes");
        parse_fails_str("{\n  \"allow\": [{\"units\": ['a.service']}]\n}",
                        "test.conf:2:24: ");
        parse_fails_str("{\"limits\": {\"objects\": NaN}}", "test.conf:1:24: limits.objects: expected a value");
        parse_fails_str("{\"limits\": {\"objects\": 18446744073709551616}}",
                        "test.conf:1:24: limits.objects: 18446744073709551616 is out of range");
        parse_fails_str("{\"limits\": {\"objects\": -9223372036854775809}}", "is out of range");
        parse_fails_str("{\"allow\": [{\"units\": [\"a\\u0000b\"]}]}", "NUL characters are not allowed");
        parse_fails_str("{\"allow\": [{\"units\": [\"\\ud800\"]}]}", "lone UTF-16 high surrogate");
        parse_fails("{\"allow\": []}\0", 14, "test.conf:1:14: NUL byte");
        /* Columns count characters, not bytes. */
        parse_fails_str("{\"é\": 1, \"é\": 2}", "test.conf:1:10: é: duplicate key");
        parse_fails_str("{\n\t\"allow\": [\n\t\t{\"units\": [\"é\"]}\n\t] ]\n}", "test.conf:4:4: ");
        parse_fails_str("{\"units\": [\"é\", \"é\" \"x\"]}", "test.conf:1:21: ");
        parse_fails_str("{\"limits\": {\"objects\": 1}\n", "test.conf:2:1: unexpected end of file");
        parse_fails_str("{\"limits\": {\"objects\": \"\xff\"}}", "test.conf:1:");
        /* More of what json-c lets through. */
        parse_fails_str("{\"limits\": {\"objects\": Infinity}}", "test.conf:1:24: limits.objects: expected a value");
        parse_fails_str("{\"allow\": [{\"users\": [1, -Infinity]}]}",
                        "test.conf:1:26: allow[0].users[1]: expected a value");
        parse_fails_str("{\"limits\": {\"objects\": -01}}", "test.conf:1:24: leading zero in a number");
        parse_fails_str("{\"limits\":\f{}}", "test.conf:1:11: unexpected character");
        parse_fails_str("{\"allow\": [{\"units\": [\"a\tb\"]}]}", "test.conf:1:25: control character in a string");
        parse_fails_str("{\"allow\": [{\"units\": [\"\\udc00\"]}]}", "test.conf:1:24: lone UTF-16 low surrogate");
        parse_fails_str("{\"a\\u0000b\": 1}", "test.conf:1:4: NUL characters are not allowed");
        /* Numbers as RFC 8259 has them: json-c would read 1-2 as 1, and a
         * typo in a rule would grant uid 0. */
        parse_fails_str("{\"limits\": {\"objects\": 1-2}}", "test.conf:1:25: number expected");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"users\": [0-1000]}]}",
                        "test.conf:1:51: number expected");
        parse_fails_str("{\"limits\": {\"objects\": 1.}}", "test.conf:1:25: number expected");
        parse_fails_str("{\"limits\": {\"objects\": 1.e5}}", "test.conf:1:25: number expected");
        parse_fails_str("{\"limits\": {\"objects\": 1e+}}", "test.conf:1:25: number expected");
        /* A string alone is looked at too. */
        parse_fails_str("\"\\u0000\"", "test.conf:1:2: NUL characters are not allowed");
        parse_fails_str("\"a\tb\"", "test.conf:1:3: control character in a string");
        /* UTF-8 that is overlong, a surrogate, or past U+10FFFF. */
        parse_fails_str("{\"allow\": [{\"units\": [\"\xc0\x80\"]}]}", "test.conf:1:24: invalid UTF-8");
        parse_fails_str("{\"allow\": [{\"units\": [\"\xed\xa0\x80\"]}]}", "test.conf:1:24: invalid UTF-8");
        parse_fails_str("{\"allow\": [{\"units\": [\"\xf4\x90\x80\x80\"]}]}", "test.conf:1:24: invalid UTF-8");
#if JSON_C_VERSION_NUM < ((0 << 16) | (19 << 8))
        /* U+1DA00, which json-c before 0.19 would read as U+FFFD. */
        parse_fails_str("{\"allow\": [{\"units\": [\"\\ud836\\ude00\"]}]}", "test.conf:1:24: json-c");
#endif
}

static void test_duplicate_keys(void **state) {
        /* At the top, nested, in an array, and after a nested object that
         * holds more keys than the duplicate's object. */
        parse_fails_str("{\"allow\": [], \"limits\": {}, \"allow\": []}", "test.conf:1:29: allow: duplicate key");
        parse_fails_str("{\"limits\": {\"objects\": 1,\n  \"devices\": 2, \"objects\": 3}}",
                        "test.conf:2:17: limits.objects: duplicate key");
        parse_fails_str("{\"allow\": [\n"
                        "  {\"devices\": [{\"group\": 1}], \"users\": [0]},\n"
                        "  {\"devices\": [{\"group\": 1, \"group\": 2}], \"users\": [0]}\n"
                        "]}",
                        "test.conf:3:29: allow[1].devices[0].group: duplicate key");
        parse_fails_str("{\"allow\": [{\"units\": [\"a.service\"], \"devices\": [{\"pci\": \"00:00.0\"}],"
                        " \"users\": [0], \"units\": []}]}",
                        "allow[0].units: duplicate key");
        /* A quote and a colon in the key, in arrays of arrays. */
        parse_fails_str("{\"x\": [[{\"k\\\"y:\": 1, \"k\\\"y:\": 2}]]}",
                        "test.conf:1:22: x[0][0].k\"y:: duplicate key");
        /* The same key in different objects is no duplicate, nor is one in a string. */
        {
                _cleanup_(config_freep) Config *c = parse_ok(
                        "{\"allow\": [{\"devices\": [{\"group\": 1}, {\"group\": 2}], \"users\": [\"0\"]},"
                        " {\"devices\": [{\"group\": 3}], \"users\": [0]}]}");
                assert_int_equal(c->n_allow, 2);
        }
        parse_fails_str("{\"allow\": [{\"units\": [\"\\\"units\\\": {[\"], \"devices\": [{\"group\": 1}]}]}",
                        "test.conf: allow[0].units[0]: \"\\\"units\\\": {[\" is not a systemd unit name");
}

/* Every integer the format has, with values json-c would saturate. */
static void test_integer_overflow(void **state) {
        /* The text before and after the value. */
        static const char *const fields[][2] = {
                { "{\"limits\": {\"pinned-bytes\": ", "}}" },
                { "{\"limits\": {\"objects\": ", "}}" },
                { "{\"limits\": {\"devices\": ", "}}" },
                { "{\"limits\": {\"sessions-per-user\": ", "}}" },
                { "{\"limits\": {\"persistent-sessions-per-user\": ", "}}" },
                { "{\"allow\": [{\"devices\": [{\"group\": ", "}], \"users\": [0]}]}" },
                { "{\"allow\": [{\"devices\": [{\"group\": 1}], \"users\": [", "]}]}" },
                { "{\"allow\": [{\"devices\": [{\"group\": 1}], \"groups\": [", "]}]}" },
        };
        static const char *const paths[] = {
                "limits.pinned-bytes", "limits.objects", "limits.devices", "limits.sessions-per-user",
                "limits.persistent-sessions-per-user",
                "allow[0].devices[0].group", "allow[0].users[0]", "allow[0].groups[0]",
        };
        static const char *const values[] = {
                "18446744073709551616", "18446744073709551625", "99999999999999999999",
                "340282366920938463463374607431768211456", "-9223372036854775809", "-99999999999999999999",
        };

        for (size_t f = 0; f < ELEMENTSOF(fields); f++)
                for (size_t v = 0; v < ELEMENTSOF(values); v++) {
                        _cleanup_free_ char *text = NULL, *expected = NULL;

                        assert_true(asprintf(&text, "%s%s%s", fields[f][0], values[v], fields[f][1]) > 0);
                        assert_true(asprintf(&expected, "%s: %s is out of range", paths[f], values[v]) > 0);
                        parse_fails_str(text, expected);
                }

        /* The limits themselves read right: the largest is infinity for a
         * limit and too large elsewhere, the smallest is negative. */
        {
                _cleanup_(config_freep) Config *c = parse_ok("{\"limits\": {\"objects\": 18446744073709551615}}");

                assert_true(config_limit(c, CONFIG_LIMIT_OBJECTS) == CONFIG_LIMIT_INFINITY);
        }
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"users\": [18446744073709551615]}]}",
                        "test.conf: allow[0].users[0]: 18446744073709551615 is too large (at most 4294967294)");
        parse_fails_str("{\"limits\": {\"devices\": -9223372036854775808}}",
                        "test.conf: limits.devices: -9223372036854775808 is negative");
        /* Out of range outside any known key is refused too, before the key. */
        parse_fails_str("{\"bogus\": [1, 18446744073709551616]}", "test.conf:1:15: bogus[1]: 18446744073709551616 is out of range");
        /* A fraction or exponent is no integer: not a whole number. */
        parse_fails_str("{\"limits\": {\"objects\": 1e999}}", "test.conf: limits.objects: 1e999 is not a whole number");
}

/* A 1 MiB file of rules, in linear time: well under a second unsanitized; a
 * square-time parser took half a minute. */
static void test_large_file(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        size_t size = 0, n = 0;
        struct timespec start, end;
        FILE *f;

        f = open_memstream(&text, &size);
        assert_non_null(f);
        fputs("{\n  \"allow\": [\n", f);
        while (ftell(f) < 1024 * 1024) {
                fprintf(f, "%s    { \"devices\": [ { \"pci\": \"0000:%02zx:%02zx.%zu\" }, { \"group\": %zu } ], "
                        "\"users\": [ %zu ], \"units\": [ \"vm%zu@.service\" ] }",
                        n > 0 ? ",\n" : "", n % 256, n / 256 % 32, n / 8192 % 8, n, 1000 + n, n);
                n++;
        }
        fputs("\n  ],\n  \"limits\": { \"objects\": 10 }\n}\n", f);
        assert_int_equal(fclose(f), 0);
        assert_true(size >= 1024 * 1024);

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &start), 0);
        assert_int_equal(config_parse(text, size, "big.conf", &c, &error), 0);
        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &end), 0);
        assert_null(error);
        assert_int_equal(c->n_allow, n);
        assert_int_equal(c->allow[n - 1].line, n + 2);
        assert_int_equal(c->allow[n - 1].devices[1].group, n - 1);
        assert_int_equal(config_limit(c, CONFIG_LIMIT_OBJECTS), 10);
        /* Generous, for sanitizers and a busy machine. */
        assert_true(end.tv_sec - start.tv_sec < 10);

        /* The last rule broken: found, with its line. */
        text[size - 40] = '#';
        config_free(TAKE_PTR(c));
        assert_int_equal(config_parse(text, size, "big.conf", &c, &error), -EINVAL);
        assert_non_null(startswith(error, "big.conf:"));
}

static void test_semantic_errors(void **state) {
        parse_fails_str("[]", "test.conf: the configuration must be a JSON object, not an array");
        parse_fails_str("null", "must be a JSON object, not null");
        parse_fails_str("{\n  \"allow\": [],\n  \"frobnicate\": 1\n}",
                        "test.conf: frobnicate: unknown key: the configuration has \"allow\", \"limits\", \"observers\" "
                        "and \"restore-on-release\"");
        parse_fails_str("{\"allow\": {}}", "test.conf: allow: must be an array of rules, not an object");
        parse_fails_str("{\"allow\": [1]}", "test.conf: allow[0]: must be an object (a rule), not an integer");

        /* The example of the documentation: the JSON path of the value. */
        parse_fails_str("{\n"
                        "  \"allow\": [\n"
                        "    { \"devices\": [ {\"pci\": \"0000:01:00.0\"} ], \"users\": [0] },\n"
                        "    { \"devices\": [ {\"pci\": \"0000:zz:00.0\"} ], \"users\": [0] }\n"
                        "  ]\n"
                        "}\n",
                        "test.conf: allow[1].devices[0].pci: \"0000:zz:00.0\" is not a PCI address");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"pci\": \"00:20.0\"}], \"users\": [0]}]}",
                        "\"00:20.0\" is not a PCI address");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"pci\": \"0000:00:00.8\"}], \"users\": [0]}]}",
                        "is not a PCI address");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"pci\": \"000:00:00.0\"}], \"users\": [0]}]}",
                        "is not a PCI address");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"pci\": \"0000:00:00.0 \"}], \"users\": [0]}]}",
                        "is not a PCI address");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"pci\": 1}], \"users\": [0]}]}",
                        "allow[0].devices[0].pci: must be a string, not an integer");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"id\": \"8086:10d\"}], \"users\": [0]}]}",
                        "allow[0].devices[0].id: \"8086:10d\" is not a PCI vendor:device id");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"id\": \"80g6:10d3\"}], \"users\": [0]}]}",
                        "is not a PCI vendor:device id");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": -1}], \"users\": [0]}]}",
                        "allow[0].devices[0].group: -1 is negative");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1.5}], \"users\": [0]}]}",
                        "allow[0].devices[0].group: 1.5 is not a whole number");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": \"12\"}], \"users\": [0]}]}",
                        "allow[0].devices[0].group: must be a number, not a string");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"bus\": \"pci\"}], \"users\": [0]}]}",
                        "allow[0].devices[0].bus: unknown key: a device selector is \"pci\", \"id\" or \"group\"");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1, \"id\": \"8086:10d3\"}], \"users\": [0]}]}",
                        "allow[0].devices[0].id: a device selector has exactly one key");
        parse_fails_str("{\"allow\": [{\"devices\": [{}], \"users\": [0]}]}",
                        "allow[0].devices[0]: empty device selector");
        parse_fails_str("{\"allow\": [{\"devices\": [\"0000:01:00.0\"], \"users\": [0]}]}",
                        "allow[0].devices[0]: must be an object such as {\"pci\": \"0000:01:00.0\"}, not a string");
        parse_fails_str("{\"allow\": [{\"devices\": [], \"users\": [0]}]}",
                        "allow[0].devices: empty: a rule names at least one device");
        parse_fails_str("{\"allow\": [{\"users\": [0]}]}", "test.conf: allow[0]: the rule names no \"devices\"");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}]}]}",
                        "allow[0]: the rule allows nobody: give \"users\", \"groups\" or \"units\"");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"users\": []}]}", "the rule allows nobody");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"user\": [0]}]}",
                        "allow[0].user: unknown key: a rule has \"devices\", \"users\", \"groups\", \"units\" and \"bind\"");

        /* Users, groups, units. */
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"users\": [\"no-such-user-viommu\"]}]}",
                        "allow[0].users[0]: no such user \"no-such-user-viommu\"");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"groups\": [\"no-such-group-viommu\"]}]}",
                        "allow[0].groups[0]: no such group \"no-such-group-viommu\"");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"users\": [-1]}]}",
                        "allow[0].users[0]: -1 is negative");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"users\": [4294967295]}]}",
                        "allow[0].users[0]: 4294967295 is too large (at most 4294967294)");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"users\": [true]}]}",
                        "allow[0].users[0]: must be a user name or number, not a boolean");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"users\": \"root\"}]}",
                        "allow[0].users: must be an array of user names or numbers, not a string");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"users\": [\"a b\"]}]}",
                        "\"a b\" is not a valid user name");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"units\": [\"vmm\"]}]}",
                        "allow[0].units[0]: \"vmm\" is not a systemd unit name");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"units\": [\"a/b.service\"]}]}",
                        "is not a systemd unit name");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"units\": [\"@.service\"]}]}",
                        "is not a systemd unit name");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"group\": 1}], \"units\": [3]}]}",
                        "allow[0].units[0]: must be a string, not an integer");

        /* Limits. */
        parse_fails_str("{\"limits\": []}", "limits: must be an object, not an array");
        parse_fails_str("{\"limits\": {\"memory\": 1}}",
                        "limits.memory: unknown key: limits are \"pinned-bytes\", \"objects\", \"devices\", "
                        "\"sessions-per-user\", \"persistent-sessions-per-user\", \"lease-drain-msec\" and "
                        "\"leases\"");
        /* A misspelt key is refused, not taken for another. */
        parse_fails_str("{\"limits\": {\"session-per-user\": 1}}", "limits.session-per-user: unknown key: ");
        parse_fails_str("{\"limits\": {\"persistent-sessions\": 1}}", "limits.persistent-sessions: unknown key: ");
        parse_fails_str("{\"limits\": {\"sessions-per-user\": \"8\"}}",
                        "limits.sessions-per-user: \"8\" is not a number or \"infinity\"");
        parse_fails_str("{\"limits\": {\"sessions-per-user\": true}}",
                        "limits.sessions-per-user: must be a number, not a boolean");
        parse_fails_str("{\"limits\": {\"persistent-sessions-per-user\": \"1K\"}}",
                        "limits.persistent-sessions-per-user: \"1K\" is not a number or \"infinity\"");
        parse_fails_str("{\"limits\": {\"persistent-sessions-per-user\": -1}}",
                        "limits.persistent-sessions-per-user: -1 is negative");
        parse_fails_str("{\"limits\": {\"persistent-sessions-per-user\": 1.5}}",
                        "limits.persistent-sessions-per-user: 1.5 is not a whole number");
        parse_fails_str("{\"limits\": {\"objects\": -1}}", "limits.objects: -1 is negative");
        parse_fails_str("{\"limits\": {\"objects\": 2.5}}", "limits.objects: 2.5 is not a whole number");
        parse_fails_str("{\"limits\": {\"objects\": \"64G\"}}", "limits.objects: \"64G\" is not a number or \"infinity\"");
        parse_fails_str("{\"limits\": {\"devices\": null}}", "limits.devices: must be a number, not null");
        parse_fails_str("{\"limits\": {\"pinned-bytes\": \"64Q\"}}", "limits.pinned-bytes: \"64Q\" is not a size");
        parse_fails_str("{\"limits\": {\"pinned-bytes\": \"64GiB\"}}", "is not a size");
        parse_fails_str("{\"limits\": {\"pinned-bytes\": \"-1G\"}}", "is not a size");
        parse_fails_str("{\"limits\": {\"pinned-bytes\": \"G\"}}", "is not a size");
        parse_fails_str("{\"limits\": {\"pinned-bytes\": \"16E\"}}", "limits.pinned-bytes: \"16E\" is too large");
        parse_fails_str("{\"limits\": {\"pinned-bytes\": \"99999999999999999999\"}}", "is too large");

        /* The first error in the file is the one reported. */
        parse_fails_str("{\n  \"limits\": {\"objects\": -1},\n  \"bogus\": 1\n}", "test.conf: limits.objects: -1 is negative");
}

static void test_limits(void **state) {
        static const struct {
                const char *value;
                uint64_t bytes;
        } sizes[] = {
                { "0", 0 },
                { "4096", 4096 },
                { "\"4096\"", 4096 },
                { "\"1K\"", 1024 },
                { "\"512M\"", 512ULL << 20 },
                { "\"64G\"", 64ULL << 30 },
                { "\"2T\"", 2ULL << 40 },
                { "\"3P\"", 3ULL << 50 },
                { "\"15E\"", 15ULL << 60 },
                { "\"infinity\"", CONFIG_LIMIT_INFINITY },
                { "18446744073709551615", CONFIG_LIMIT_INFINITY },
        };

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_(config_freep) Config *c = NULL;

                assert_true(asprintf(&text, "{\"limits\": {\"pinned-bytes\": %s}}", sizes[i].value) > 0);
                c = parse_ok(text);
                assert_true(config_limit(c, CONFIG_LIMIT_PINNED_BYTES) == sizes[i].bytes);
                /* Unset limits keep their defaults. */
                assert_int_equal(config_limit(c, CONFIG_LIMIT_OBJECTS), CONFIG_DEFAULT_OBJECTS);
        }

        {
                _cleanup_(config_freep) Config *c = parse_ok("{\"limits\": {\"objects\": 0, \"devices\": \"infinity\"}}");

                assert_int_equal(config_limit(c, CONFIG_LIMIT_OBJECTS), 0);
                assert_true(config_limit(c, CONFIG_LIMIT_DEVICES) == CONFIG_LIMIT_INFINITY);
                assert_true(config_limit(c, CONFIG_LIMIT_PINNED_BYTES) == CONFIG_DEFAULT_PINNED_BYTES);
        }
        {
                _cleanup_(config_freep) Config *c =
                        parse_ok("{\"limits\": {\"sessions-per-user\": \"infinity\", \"persistent-sessions-per-user\": 2}}");
                _cleanup_free_ char *changes = NULL;

                assert_true(config_limit(c, CONFIG_LIMIT_SESSIONS_PER_USER) == CONFIG_LIMIT_INFINITY);
                assert_int_equal(config_limit(c, CONFIG_LIMIT_PERSISTENT_SESSIONS_PER_USER), 2);
                assert_int_equal(config_limit(c, CONFIG_LIMIT_DEVICES), CONFIG_DEFAULT_DEVICES);
                /* Counts, not bytes, in the reload log. */
                assert_int_equal(config_diff(NULL, c, &changes), 2);
                assert_string_equal(changes, "limits.sessions-per-user: 256 -> infinity\n"
                                             "limits.persistent-sessions-per-user: 64 -> 2");
        }
}

static void test_format_bytes(void **state) {
        char buf[CONFIG_FORMAT_BYTES_MAX];

        assert_string_equal(config_format_bytes(buf, 0), "0");
        assert_string_equal(config_format_bytes(buf, 1000), "1000");
        assert_string_equal(config_format_bytes(buf, 4097), "4097");
        assert_string_equal(config_format_bytes(buf, 1024), "1K");
        assert_string_equal(config_format_bytes(buf, 1536ULL << 20), "1536M");
        assert_string_equal(config_format_bytes(buf, 64ULL << 30), "64G");
        assert_string_equal(config_format_bytes(buf, 1ULL << 60), "1E");
        assert_string_equal(config_format_bytes(buf, CONFIG_LIMIT_INFINITY), "infinity");
}

/* A device as the topology would give it; only the fields matching reads. */
static struct viommu_topology_device make_pci(uint32_t domain, uint8_t bus, uint8_t slot, uint8_t function,
                                              int32_t vendor, int32_t device, int group) {
        return (struct viommu_topology_device) {
                .name = (char *) "test",
                .bus = (char *) "pci",
                .is_pci = true,
                .iommu_group = group,
                .pci = {
                        .domain = domain, .bus = bus, .slot = slot, .function = function,
                        .vendor = vendor, .device = device,
                },
        };
}

static void test_bind(void **state) {
        _cleanup_(config_freep) Config *c = parse_ok(
                "{\"allow\": ["
                " {\"devices\": [{\"pci\": \"0000:01:00.0\"}], \"users\": [1000], \"bind\": true},"
                " {\"devices\": [{\"pci\": \"0000:01:00.1\"}], \"users\": [1000], \"bind\": false}"
                "], \"restore-on-release\": true}");
        _cleanup_(config_freep) Config *defaults = parse_ok("{}");
        struct viommu_topology_device a = make_pci(0, 1, 0, 0, 0x8086, 0x10d3, 3);
        struct viommu_topology_device b = make_pci(0, 1, 0, 1, 0x8086, 0x10d3, 3);
        _cleanup_free_ char *diff = NULL;

        /* A rule with "bind" allows binding and claiming; one without, claiming only. */
        assert_int_equal(config_device_bind_allowed(c, &a, 1000, NULL, 0, NULL), 1);
        assert_int_equal(config_device_allowed(c, &a, 1000, NULL, 0, NULL), 1);
        assert_int_equal(config_device_bind_allowed(c, &b, 1000, NULL, 0, NULL), 0);
        assert_int_equal(config_device_allowed(c, &b, 1000, NULL, 0, NULL), 1);
        assert_int_equal(config_device_bind_allowed(c, &a, 1001, NULL, 0, NULL), 0);
        assert_true(c->restore_on_release);
        assert_false(defaults->restore_on_release);

        assert_int_equal(config_diff(defaults, c, &diff), 3);
        assert_non_null(strstr(diff, "restore-on-release: false -> true"));
        assert_non_null(strstr(diff, "users 1000; bind"));

        parse_fails_str("{\"restore-on-release\": 1}", "test.conf: restore-on-release: must be a boolean, not an integer");
        parse_fails_str("{\"allow\": [{\"devices\": [{\"pci\": \"0000:01:00.0\"}], \"users\": [0], \"bind\": \"yes\"}]}",
                        "test.conf: allow[0].bind: must be a boolean, not a string");
}

static void test_match_devices(void **state) {
        _cleanup_(config_freep) Config *c = parse_ok(
                "{\"allow\": ["
                " {\"devices\": [{\"pci\": \"0000:01:00.0\"}], \"users\": [1000]},"
                " {\"devices\": [{\"id\": \"8086:10d3\"}], \"users\": [1001]},"
                " {\"devices\": [{\"group\": 12}], \"users\": [1002]},"
                " {\"devices\": [{\"pci\": \"0001:02:03.4\"}, {\"group\": 7}], \"users\": [1003]}"
                "]}");
        struct viommu_topology_device a = make_pci(0, 1, 0, 0, 0x1234, 0x11e8, 3);
        struct viommu_topology_device b = make_pci(0, 1, 0, 1, 0x8086, 0x10d3, 12);
        struct viommu_topology_device d = make_pci(1, 2, 3, 4, -1, -1, VIOMMU_TOPOLOGY_GROUP_UNKNOWN);
        struct viommu_topology_device platform = {
                .name = (char *) "arm-smmu-v3.0.auto", .bus = (char *) "platform", .iommu_group = 7,
        };
        struct viommu_topology_device ungrouped = make_pci(0, 1, 0, 0, 0x8086, 0x10d3, VIOMMU_TOPOLOGY_NO_GROUP);

        /* By address: function matters. */
        assert_int_equal(config_device_allowed(c, &a, 1000, NULL, 0, NULL), 1);
        assert_int_equal(config_device_allowed(c, &b, 1000, NULL, 0, NULL), 0);
        /* By id: unknown ids (-1) match nothing. */
        assert_int_equal(config_device_allowed(c, &b, 1001, NULL, 0, NULL), 1);
        assert_int_equal(config_device_allowed(c, &a, 1001, NULL, 0, NULL), 0);
        assert_int_equal(config_device_allowed(c, &d, 1001, NULL, 0, NULL), 0);
        /* By group. */
        assert_int_equal(config_device_allowed(c, &b, 1002, NULL, 0, NULL), 1);
        assert_int_equal(config_device_allowed(c, &a, 1002, NULL, 0, NULL), 0);
        assert_int_equal(config_device_allowed(c, &ungrouped, 1002, NULL, 0, NULL), 0);
        /* Any selector of a rule; a group matches non-PCI devices too; an
         * address never does. */
        assert_int_equal(config_device_allowed(c, &d, 1003, NULL, 0, NULL), 1);
        assert_int_equal(config_device_allowed(c, &platform, 1003, NULL, 0, NULL), 1);
        assert_int_equal(config_device_allowed(c, &platform, 1000, NULL, 0, NULL), 0);
        /* Nobody else; no config, no device. */
        assert_int_equal(config_device_allowed(c, &a, 0, NULL, 0, NULL), 0);
        assert_int_equal(config_device_allowed(NULL, &a, 1000, NULL, 0, NULL), 0);
        assert_int_equal(config_device_allowed(c, NULL, 1000, NULL, 0, NULL), 0);
}

static void test_match_callers(void **state) {
        _cleanup_(config_freep) Config *c = parse_ok(
                "{\"allow\": ["
                " {\"devices\": [{\"group\": 1}], \"users\": [\"root\", 1000]},"
                " {\"devices\": [{\"group\": 2}], \"groups\": [990, \"root\"]},"
                " {\"devices\": [{\"group\": 3}], \"units\": [\"vmm@.service\", \"qemu-guest1.scope\"]}"
                "]}");
        struct viommu_topology_device g1 = make_pci(0, 1, 0, 0, 0x1234, 0x11e8, 1);
        struct viommu_topology_device g2 = make_pci(0, 2, 0, 0, 0x1234, 0x11e8, 2);
        struct viommu_topology_device g3 = make_pci(0, 3, 0, 0, 0x1234, 0x11e8, 3);
        const gid_t kvm[] = { 100, 990 }, root[] = { 0 }, other[] = { 100, 991 };

        assert_int_equal(config_device_allowed(c, &g1, 0, NULL, 0, NULL), 1);
        assert_int_equal(config_device_allowed(c, &g1, 1000, NULL, 0, NULL), 1);
        assert_int_equal(config_device_allowed(c, &g1, 1001, kvm, ELEMENTSOF(kvm), "vmm@a.service"), 0);

        assert_int_equal(config_device_allowed(c, &g2, 1001, kvm, ELEMENTSOF(kvm), NULL), 1);
        assert_int_equal(config_device_allowed(c, &g2, 1001, root, ELEMENTSOF(root), NULL), 1);
        assert_int_equal(config_device_allowed(c, &g2, 1001, other, ELEMENTSOF(other), NULL), 0);
        assert_int_equal(config_device_allowed(c, &g2, 1000, NULL, 0, NULL), 0);

        assert_int_equal(config_device_allowed(c, &g3, 1001, NULL, 0, "vmm@guest1.service"), 1);
        assert_int_equal(config_device_allowed(c, &g3, 1001, NULL, 0, "vmm@a.b.service"), 1);
        assert_int_equal(config_device_allowed(c, &g3, 1001, NULL, 0, "qemu-guest1.scope"), 1);
        assert_int_equal(config_device_allowed(c, &g3, 1001, NULL, 0, "vmm@.service"), 1);
        assert_int_equal(config_device_allowed(c, &g3, 1001, NULL, 0, "vmm@guest1.scope"), 0);
        assert_int_equal(config_device_allowed(c, &g3, 1001, NULL, 0, "vmm.service"), 0);
        assert_int_equal(config_device_allowed(c, &g3, 1001, NULL, 0, "vmmx@guest1.service"), 0);
        assert_int_equal(config_device_allowed(c, &g3, 1001, NULL, 0, "qemu-guest2.scope"), 0);
        assert_int_equal(config_device_allowed(c, &g3, 1001, NULL, 0, NULL), 0);
}

/* Observers see every session; a drop-in adds to them, and a reload says
 * when they change. */
static void test_observers(void **state) {
        _cleanup_(config_freep) Config *c = parse_ok("{\"observers\": {\"users\": [\"root\", 1000], \"groups\": [990]}}");
        _cleanup_(config_freep) Config *none = parse_ok("{}");
        _cleanup_free_ char *changes = NULL;
        const gid_t monitoring[] = { 100, 990 }, other[] = { 100, 991 };

        assert_true(config_observer(c, 0, NULL, 0));
        assert_true(config_observer(c, 1000, NULL, 0));
        assert_true(config_observer(c, 1001, monitoring, ELEMENTSOF(monitoring)));
        assert_false(config_observer(c, 1001, other, ELEMENTSOF(other)));
        assert_false(config_observer(none, 1000, monitoring, ELEMENTSOF(monitoring)));
        assert_false(config_observer(NULL, 1000, NULL, 0));

        assert_int_equal(config_diff(none, c, &changes), 1);
        assert_string_equal(changes, "observers: none -> users root (0), 1000; groups 990");

        parse_fails_str("{\"observers\": [1000]}", "test.conf: observers: ");
        parse_fails_str("{\"observers\": {\"user\": [1000]}}",
                         "test.conf: observers.user: unknown key: observers are \"users\" and \"groups\"");
        parse_fails_str("{\"observers\": {\"users\": [\"no-such-user-here\"]}}", "test.conf: observers.users[0]: ");
}

static void test_diff(void **state) {
        _cleanup_(config_freep) Config *a = NULL, *b = NULL, *moved = NULL, *defaults = NULL;
        _cleanup_free_ char *d1 = NULL, *d2 = NULL, *d3 = NULL, *d4 = NULL;

        a = parse_ok("{\"allow\": ["
                     " {\"devices\": [{\"pci\": \"0000:01:00.0\"}], \"users\": [\"root\", 1000]},\n"
                     " {\"devices\": [{\"group\": 12}], \"groups\": [990]}\n"
                     "], \"limits\": {\"pinned-bytes\": \"64G\"}}");
        /* Same rules, other order and spelling: no change. */
        moved = parse_ok("{\"limits\": {\"pinned-bytes\": 68719476736},\n"
                         " \"allow\": [\n"
                         "  {\"groups\": [990], \"devices\": [{\"group\": 12}]},\n"
                         "  {\"devices\": [{\"pci\": \"01:00.0\"}], \"users\": [\"root\", 1000]}\n"
                         "]}");
        b = parse_ok("{\"allow\": [\n"
                     " {\"devices\": [{\"group\": 12}], \"groups\": [990]},\n"
                     " {\"devices\": [{\"id\": \"8086:10d3\"}], \"units\": [\"vmm@.service\"]}\n"
                     "], \"limits\": {\"objects\": 10}}");
        assert_int_equal(config_new(&defaults), 0);

        assert_int_equal(config_diff(a, moved, &d1), 0);
        assert_null(d1);

        assert_int_equal(config_diff(a, b, &d2), 4);
        assert_string_equal(d2,
                            "limits.pinned-bytes: 64G -> infinity\n"
                            "limits.objects: 4096 -> 10\n"
                            "allow: removed rule (was test.conf:1): devices pci 0000:01:00.0; users root (0), 1000\n"
                            "allow: added rule (test.conf:3): devices id 8086:10d3; units vmm@.service");

        /* From nothing, as at startup; NULL is the defaults. */
        assert_int_equal(config_diff(NULL, a, &d3), 3);
        assert_non_null(strstr(d3, "allow: added rule (test.conf:2): devices group 12; groups 990"));
        assert_int_equal(config_diff(defaults, NULL, &d4), 0);
        assert_null(d4);
}

static void test_load(void **state) {
        char dir[] = "/tmp/test-config-XXXXXX";
        _cleanup_free_ char *path = NULL, *missing = NULL, *error = NULL, *error2 = NULL;
        _cleanup_(config_freep) Config *c = NULL, *c2 = NULL, *c3 = NULL;
        FILE *f;

        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&path, "%s/viommud.conf", dir) > 0);
        assert_true(asprintf(&missing, "%s/missing.conf", dir) > 0);

        /* A missing file is the defaults. */
        assert_int_equal(config_load(missing, &c, &error), 0);
        assert_null(error);
        assert_int_equal(c->n_allow, 0);

        f = fopen(path, "we");
        assert_non_null(f);
        fputs(example, f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(config_load(path, &c2, &error), 0);
        assert_int_equal(c2->n_allow, 2);

        /* Errors name the file. */
        f = fopen(path, "we");
        assert_non_null(f);
        fputs("{\n  \"limits\": {\"devices\": -3}\n}\n", f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(config_load(path, &c3, &error), -EINVAL);
        assert_null(c3);
        assert_non_null(error);
        assert_true(streq(startswith(error, path) ?: "", ": limits.devices: -3 is negative"));

        /* A directory is no file. */
        assert_true(config_load(dir, &c3, &error2) < 0);
        assert_null(c3);
        assert_non_null(strstr(error2, "not a regular file"));

        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void write_file(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *path = NULL;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static void test_dropins(void **state) {
        char dir[] = "/tmp/test-config-XXXXXX";
        _cleanup_free_ char *main_path = NULL, *dropins = NULL, *error = NULL, *path = NULL;
        _cleanup_(config_freep) Config *c = NULL, *c2 = NULL, *c3 = NULL;

        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&main_path, "%s/viommud.conf", dir) > 0);
        assert_true(asprintf(&dropins, "%s/viommud.conf.d", dir) > 0);
        assert_int_equal(mkdir(dropins, 0755), 0);

        write_file(dir, "viommud.conf",
                   "{\"allow\": [{\"devices\": [{\"group\": 1}], \"users\": [1000]}],\n"
                   " \"limits\": {\"objects\": 10, \"devices\": 5, \"pinned-bytes\": \"1G\"}}\n");
        /* Made out of order; read in lexical order (byte order, so "B" before "a"). */
        write_file(dropins, "b.conf", "{\"limits\": {\"objects\": 30}}");
        write_file(dropins, "a.conf",
                   "{\"limits\": {\"objects\": 20, \"devices\": 6},\n"
                   " \"allow\": [{\"devices\": [{\"group\": 2}], \"users\": [1001]}]}");
        write_file(dropins, "B.conf", "{\"allow\": [{\"devices\": [{\"group\": 3}], \"users\": [1002]}]}");
        write_file(dropins, "empty.conf", "");
        /* Not drop-ins: another suffix, hidden. */
        write_file(dropins, "c.conf.bak", "{\"limits\": {\"objects\": 99}}");
        write_file(dropins, ".d.conf", "{\"limits\": {\"objects\": 99}}");

        assert_int_equal(config_load(main_path, &c, &error), 0);
        assert_null(error);
        assert_int_equal(c->n_files, 5);
        assert_string_equal(c->files[0], main_path);
        assert_non_null(strstr(c->files[1], ".d/B.conf"));
        assert_non_null(strstr(c->files[2], ".d/a.conf"));
        assert_non_null(strstr(c->files[3], ".d/b.conf"));
        assert_non_null(strstr(c->files[4], ".d/empty.conf"));
        /* Limits: the last file that sets one wins; unset ones stay. */
        assert_int_equal(config_limit(c, CONFIG_LIMIT_OBJECTS), 30);
        assert_int_equal(config_limit(c, CONFIG_LIMIT_DEVICES), 6);
        assert_true(config_limit(c, CONFIG_LIMIT_PINNED_BYTES) == 1ULL << 30);
        /* Rules add up, in the order read, each with its file and line. */
        assert_int_equal(c->n_allow, 3);
        assert_int_equal(c->allow[0].users[0].id, 1000);
        assert_ptr_equal(c->allow[0].file, c->files[0]);
        assert_int_equal(c->allow[1].users[0].id, 1002);
        assert_ptr_equal(c->allow[1].file, c->files[1]);
        assert_int_equal(c->allow[2].users[0].id, 1001);
        assert_ptr_equal(c->allow[2].file, c->files[2]);
        assert_int_equal(c->allow[2].line, 2);

        /* A bad drop-in rejects the whole, named with its place. */
        write_file(dropins, "a2.conf", "{\n  \"limits\": {\"objects\": 1.5}\n}");
        assert_int_equal(config_load(main_path, &c2, &error), -EINVAL);
        assert_null(c2);
        assert_non_null(error);
        assert_non_null(startswith(error, dropins));
        assert_non_null(strstr(error, "/a2.conf: limits.objects: 1.5 is not a whole number"));
        error = mfree(error);
        write_file(dropins, "a2.conf", "{\n  \"limits\": {\"objects\": 1,}\n}");
        assert_int_equal(config_load(main_path, &c2, &error), -EINVAL);
        assert_non_null(strstr(error, "/a2.conf:2:27: "));
        error = mfree(error);

        /* Refused unread: a drop-in over the size limit (sparse, so only its
         * size is large) and a FIFO, which a blocking open would wait on. */
        {
                _cleanup_close_ int fd = -EBADF;

                path = mfree(path);
                assert_true(asprintf(&path, "%s/a2.conf", dropins) > 0);
                fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
                assert_true(fd >= 0);
                assert_int_equal(ftruncate(fd, CONFIG_FILE_MAX + 1), 0);
                assert_int_equal(config_load(main_path, &c2, &error), -EFBIG);
                assert_non_null(strstr(error, "/a2.conf: larger than 8 MiB, not read"));
                error = mfree(error);
                assert_int_equal(unlink(path), 0);
                assert_int_equal(mkfifo(path, 0600), 0);
                assert_int_equal(config_load(main_path, &c2, &error), -EINVAL);
                assert_non_null(strstr(error, "/a2.conf: not a regular file"));
                error = mfree(error);
                assert_int_equal(unlink(path), 0);
        }
        /* A link to /dev/null masks a drop-in, as in systemd. */
        assert_int_equal(symlink("/dev/null", path), 0);
        assert_int_equal(config_load(main_path, &c2, &error), 0);
        assert_null(error);
        assert_int_equal(c2->n_files, 5);
        assert_int_equal(c2->n_allow, 3);
        c2 = config_free(c2);
        assert_int_equal(unlink(path), 0);

        /* A control character in a file name stays out of the one-line
         * messages: errors, and the rules' places in the reload's diff. */
        path = mfree(path);
        assert_true(asprintf(&path, "%s/a\nb.conf", dropins) > 0);
        write_file(dropins, "a\nb.conf", "{\"limits\": {\"objects\": -1}}");
        assert_int_equal(config_load(main_path, &c2, &error), -EINVAL);
        assert_non_null(strstr(error, "/a?b.conf: limits.objects"));
        error = mfree(error);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(config_load(main_path, &c2, &error), -EINVAL);
        assert_non_null(strstr(error, "/a?b.conf: not a regular file"));
        error = mfree(error);
        assert_int_equal(rmdir(path), 0);
        write_file(dropins, "a\nb.conf", "{\"allow\": [{\"devices\": [{\"group\": 4}], \"users\": [1003]}]}");
        assert_int_equal(config_load(main_path, &c2, &error), 0);
        {
                _cleanup_free_ char *changes = NULL;

                assert_int_equal(config_diff(c, c2, &changes), 1);
                assert_non_null(strstr(changes, "/a?b.conf:1)"));
                assert_null(strchr(changes, '\n'));
        }
        c2 = config_free(c2);
        assert_int_equal(unlink(path), 0);

        /* Without a main file, the drop-ins apply over the defaults. */
        assert_int_equal(unlink(main_path), 0);
        assert_int_equal(config_load(main_path, &c3, &error), 0);
        assert_int_equal(c3->n_files, 4);
        assert_int_equal(c3->n_allow, 2);
        assert_int_equal(config_limit(c3, CONFIG_LIMIT_OBJECTS), 30);
        assert_true(config_limit(c3, CONFIG_LIMIT_PINNED_BYTES) == CONFIG_DEFAULT_PINNED_BYTES);

        path = mfree(path);
        assert_true(asprintf(&path, "rm -rf '%s'", dir) > 0);
        assert_int_equal(system(path), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_syntax_errors),
                cmocka_unit_test(test_duplicate_keys),
                cmocka_unit_test(test_integer_overflow),
                cmocka_unit_test(test_large_file),
                cmocka_unit_test(test_semantic_errors),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_format_bytes),
                cmocka_unit_test(test_match_devices),
                cmocka_unit_test(test_bind),
                cmocka_unit_test(test_match_callers),
                cmocka_unit_test(test_observers),
                cmocka_unit_test(test_diff),
                cmocka_unit_test(test_load),
                cmocka_unit_test(test_dropins),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
