/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * viommuctl: what the verb files share. Verbs return 0, a negative errno
 * after having said what went wrong (exit status 1), or EXIT_USAGE after a
 * usage message.
 */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "output.h"

#define VIOMMU_BUS_NAME         "org.viommu1"
#define VIOMMU_MANAGER_PATH     "/org/viommu1"
#define VIOMMU_MANAGER_IFACE    "org.viommu1.Manager"
#define VIOMMU_SESSION_PREFIX   "/org/viommu1/session"

extern JsonMode arg_json;
extern bool arg_utf8;
extern bool arg_no_legend;
extern const char *arg_output;          /* -o: the columns; NULL: the view's own */
extern bool colors_enabled;
extern uint64_t arg_timeout_usec;       /* monitor; 0: none */
extern const char *arg_bus_description;
extern bool arg_force;                  /* bind: even if the host uses the device */
extern int arg_restore;                 /* --restore, --no-restore; -1: the daemon's default */ /* "system bus", "session bus", "bus at ADDRESS" */

typedef int (*VerbFunction)(int argc, char *argv[]);

/* The connection to the bus, made on first use so that usage errors come
 * before connection errors; says why it failed. */
int acquire_bus(sd_bus **ret);

/* Says "viommuctl: …" on stderr; returns r. */
int log_error_errno_impl(int r, const char *format, ...) _printf_(2, 3);
#define log_error_errno(r, ...) log_error_errno_impl((r), __VA_ARGS__)
/* Says "viommuctl: …" and where --help is; returns EXIT_USAGE. */
int usage_error(const char *format, ...) _printf_(1, 2);

/* Reports a failed call: "viommud is not running" when nothing owns
 * org.viommu1, else the error name's last part and its message. Returns r. */
int log_bus_error(const sd_bus_error *error, int r, const char *what);

/* Calls a Manager method, reporting failures itself. */
int call_manager(sd_bus *bus, const char *member, sd_bus_message **reply, const char *types, ...);
/* Manager.Describe, parsed. */
int fetch_describe(sd_bus *bus, struct json_object **ret);
/* Manager.Describe and the session arg (an id or path; NULL: none) names in
 * it, which *ret_session borrows from *ret_describe; reports failures itself,
 * EXIT_USAGE for an arg that is no session's id or path. */
int fetch_describe_session(const char *arg, struct json_object **ret_describe, struct json_object **ret_session);
/* Fetches Describe and prints one view of it; none (may be NULL) is what
 * text output says for an empty table. */
int show_describe_view(int (*view)(struct json_object *describe, Table **ret), const char *what,
                       const char *none);

/* Prints a view by the options: -o's columns, --no-legend, colour, --json;
 * says why it failed. */
int print_table(Table *t, const char *what);
/* The flags of table_set_flags() the options and the terminal ask for. */
unsigned table_flags(void);

/* A pager for stdout when it is a terminal, unless no_pager or the
 * environment says none: 1 if one runs. */
int pager_open(bool no_pager);
/* Waits for the pager to quit; nothing when none runs. */
void pager_close(void);

/* A session given as its id ("3") or object path, as a path. */
int parse_session(const char *arg, char **ret_path);

extern const Columns features_columns;

int verb_status(int argc, char *argv[]);
int verb_describe(int argc, char *argv[]);
int verb_features(int argc, char *argv[]);
int verb_devices(int argc, char *argv[]);
int verb_device(int argc, char *argv[]);
int verb_sessions(int argc, char *argv[]);
int verb_session(int argc, char *argv[]);
int verb_close(int argc, char *argv[]);
int verb_viommus(int argc, char *argv[]);
int verb_monitor(int argc, char *argv[]);
int verb_bind(int argc, char *argv[]);
int verb_unbind(int argc, char *argv[]);
