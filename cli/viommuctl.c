/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* viommuctl: the command line over viommud's D-Bus API. */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "views.h"
#include "viommuctl.h"

JsonMode arg_json = JSON_OFF;
bool arg_utf8 = false;
bool arg_no_legend = false;
const char *arg_output = NULL;
bool colors_enabled = false;
static bool arg_no_pager = false;
static enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER } arg_color = COLOR_AUTO;
uint64_t arg_timeout_usec = 0;
const char *arg_bus_description = "system bus";
static const char *arg_bus = "system";
static const char *arg_address = NULL;
static int arg_ask_password = -1;       /* -1: when stdin is a terminal */

enum {
        VERB_PAGER      = 1 << 0,       /* its output goes through the pager */
        VERB_ANY_COLUMN = 1 << 1,       /* -o names columns known only from the reply */
};

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args;    /* after the verb's name */
        VerbFunction run;
        const char *args;               /* for messages */
        const char *help;
        unsigned flags;
        const Columns *columns;         /* what -o may name; NULL: -o is refused */
} Verb;

static const Verb verbs[] = {
        { "status",   0, 0, verb_status,   NULL,      "Show the daemon, the kernel and what is in use",
          VERB_PAGER, &status_columns },
        { "features", 0, 0, verb_features, NULL,      "Show which iommufd features this kernel has",
          VERB_PAGER, &features_columns },
        { "devices",  0, 0, verb_devices,  NULL,      "List the host's devices and who claimed them",
          VERB_PAGER, &devices_columns },
        { "device",   1, 1, verb_device,   "NAME",    "Show all properties of one device",
          VERB_PAGER | VERB_ANY_COLUMN, NULL },
        { "sessions", 0, 0, verb_sessions, NULL,      "List the sessions",
          VERB_PAGER, &sessions_columns },
        { "session",  1, 1, verb_session,  "ID|PATH", "Show a session and its objects",
          VERB_PAGER, NULL },
        { "close",    1, 1, verb_close,    "ID|PATH", "Close a session, destroying its objects",
          0, NULL },
        { "viommus",  0, 1, verb_viommus,  "[ID|PATH]", "List the vIOMMUs and their vDEVICEs",
          VERB_PAGER, &viommus_columns },
        { "bind",     1, 1, verb_bind,     "DEVICE",  "Move a device from its host driver to vfio-pci",
          0, NULL },
        { "unbind",   1, 1, verb_unbind,   "DEVICE",  "Give a device on vfio-pci back to its driver",
          0, NULL },
        { "describe", 0, 0, verb_describe, NULL,      "Print the daemon's whole state as JSON",
          VERB_PAGER, NULL },
        { "monitor",  0, 0, verb_monitor,  NULL,      "Print device and session events as they come",
          0, NULL },
};

int log_error_errno_impl(int r, const char *format, ...) {
        va_list ap;

        fputs(program_invocation_short_name, stderr);
        fputs(": ", stderr);
        va_start(ap, format);
        errno = r < 0 ? -r : r;
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return r;
}

int usage_error(const char *format, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", program_invocation_short_name);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fprintf(stderr, "\nTry '%s --help' for more information.\n", program_invocation_short_name);
        return EXIT_USAGE;
}

/* "DEVICE,DRIVER,...": what -o takes for a view. */
static void print_column_names(const Columns *c) {
        for (size_t i = 0; i < c->n; i++) {
                char name[32];

                /* Record labels ("Mock devices") are named by their key. */
                snprintf(name, sizeof(name), "%s", strchr(c->list[i].header, ' ') ? c->list[i].key :
                                                   c->list[i].header);
                for (char *p = name; *p; p++)
                        *p = (char) toupper((unsigned char) *p);
                printf("%s%s", i > 0 ? "," : "", name);
        }
}

static void help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n\n"
               "Shows and manages what viommud serves: the host's IOMMU devices and the\n"
               "VMM sessions with their iommufd objects.\n\n"
               "Commands:\n", program_invocation_short_name);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                char buf[32];

                snprintf(buf, sizeof(buf), "%s%s%s", verbs[i].name, verbs[i].args ? " " : "",
                         verbs[i].args ?: "");
                printf("  %-18s %s\n", buf, verbs[i].help);
        }
        printf("\nOptions:\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --json=pretty|short|off\n"
               "                         Print JSON, indented or on one line; or text (off,\n"
               "                         the default). --json alone is --json=pretty\n"
               "  -o --output=COLUMN,... Show these columns, in this order (see below)\n"
               "     --no-legend         Print no header line and no \"No devices.\"\n"
               "     --no-pager          Do not pipe the output into a pager\n"
               "     --color=auto|always|never\n"
               "                         Colour the output (auto: on a terminal, unless\n"
               "                         $NO_COLOR is set and not empty)\n"
               "     --bus=system|session\n"
               "                         Talk to viommud on this bus (default: system)\n"
               "     --address=ADDRESS   Talk to viommud on the bus at this D-Bus address\n"
               "     --no-ask-password   Never let polkit ask for a password\n"
               "     --force             bind: even a device the host uses (an interface up,\n"
               "                         a mounted disk, the boot VGA device)\n"
               "     --restore           bind: give the device back when its claim ends;\n"
               "                         unbind: back to its driver (the default)\n"
               "     --no-restore        bind: keep it on vfio-pci when its claim ends;\n"
               "                         unbind: leave it without a driver\n"
               "     --timeout=SECONDS   How long monitor watches; for other commands, how\n"
               "                         long to wait for the daemon's reply (default: 25)\n"
               "\nColumns for -o (names in any case; the JSON keys work too):\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                if (!verbs[i].columns)
                        continue;
                printf("  %-9s ", verbs[i].name);
                print_column_names(verbs[i].columns);
                putchar('\n');
        }
        printf("  %-9s the property names device shows (Name, Driver, ...)\n"
               "\nSee viommuctl(1) for details.\n", "device");
}

static int parse_timeout(const char *s, uint64_t *ret) {
        char *end;
        double d;

        /* Seconds in decimal: strtod() would take hexadecimal too. */
        if (strpbrk(s, "xX"))
                return -EINVAL;
        errno = 0;
        d = strtod(s, &end);
        if (errno != 0 || end == s || *end || !(d > 0) || d > 365.0 * 24 * 3600)
                return -EINVAL;
        /* At least 1 us: 0 would mean no timeout at all. */
        *ret = MAX((uint64_t) (d * 1e6), (uint64_t) 1);
        return 0;
}

/* 1: go on; 0: done (--help, --version); EXIT_USAGE: told the user why not. */
static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_BUS,
                ARG_ADDRESS,
                ARG_NO_ASK_PASSWORD,
                ARG_NO_PAGER,
                ARG_NO_LEGEND,
                ARG_COLOR,
                ARG_TIMEOUT,
                ARG_FORCE,
                ARG_RESTORE,
                ARG_NO_RESTORE,
        };
        static const struct option options[] = {
                { "help",            no_argument,       NULL, 'h'                 },
                { "version",         no_argument,       NULL, ARG_VERSION         },
                { "json",            optional_argument, NULL, ARG_JSON            },
                { "bus",             required_argument, NULL, ARG_BUS             },
                { "address",         required_argument, NULL, ARG_ADDRESS         },
                { "no-ask-password", no_argument,       NULL, ARG_NO_ASK_PASSWORD },
                { "no-pager",        no_argument,       NULL, ARG_NO_PAGER        },
                { "no-legend",       no_argument,       NULL, ARG_NO_LEGEND       },
                { "color",           required_argument, NULL, ARG_COLOR           },
                { "output",          required_argument, NULL, 'o'                 },
                { "timeout",         required_argument, NULL, ARG_TIMEOUT         },
                { "force",           no_argument,       NULL, ARG_FORCE           },
                { "restore",         no_argument,       NULL, ARG_RESTORE         },
                { "no-restore",      no_argument,       NULL, ARG_NO_RESTORE      },
                {}
        };
        int c;

        /* "+" would stop at the verb; options may follow it, as in systemctl. */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "ho:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("viommuctl %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_JSON:
                        if (!optarg || streq(optarg, "pretty"))
                                arg_json = JSON_PRETTY;
                        else if (streq(optarg, "short"))
                                arg_json = JSON_SHORT;
                        else if (streq(optarg, "off"))
                                arg_json = JSON_OFF;
                        else
                                return usage_error("--json= takes 'pretty', 'short' or 'off', not '%s'", optarg);
                        break;
                case ARG_BUS:
                        if (!streq(optarg, "system") && !streq(optarg, "session"))
                                return usage_error("--bus= takes 'system' or 'session', not '%s'", optarg);
                        arg_bus = optarg;
                        break;
                case ARG_ADDRESS:
                        if (isempty(optarg))
                                return usage_error("--address= needs a D-Bus address");
                        arg_address = optarg;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case ARG_NO_PAGER:
                        arg_no_pager = true;
                        break;
                case ARG_NO_LEGEND:
                        arg_no_legend = true;
                        break;
                case ARG_COLOR:
                        if (streq(optarg, "auto"))
                                arg_color = COLOR_AUTO;
                        else if (streq(optarg, "always"))
                                arg_color = COLOR_ALWAYS;
                        else if (streq(optarg, "never"))
                                arg_color = COLOR_NEVER;
                        else
                                return usage_error("--color= takes 'auto', 'always' or 'never', not '%s'", optarg);
                        break;
                case 'o':
                        if (isempty(optarg) || optarg[strspn(optarg, ",")] == '\0')
                                return usage_error("-o/--output= needs column names");
                        arg_output = optarg;
                        break;
                case ARG_TIMEOUT:
                        if (parse_timeout(optarg, &arg_timeout_usec) < 0)
                                return usage_error("--timeout= takes a positive number of seconds, not '%s'",
                                                   optarg);
                        break;
                case ARG_FORCE:
                        arg_force = true;
                        break;
                case ARG_RESTORE:
                case ARG_NO_RESTORE:
                        if (arg_restore >= 0 && arg_restore != (c == ARG_RESTORE))
                                return usage_error("--restore and --no-restore exclude each other");
                        arg_restore = c == ARG_RESTORE;
                        break;
                case '?':
                        /* A long option's optopt is its value, which may be a letter. */
                        if (startswith(argv[optind - 1], "--")) {
                                if (!optopt)
                                        return usage_error("Unknown option '%s'", argv[optind - 1]);
                                return usage_error(strchr(argv[optind - 1], '=') ? "Option '%s' takes no argument" :
                                                   "Option '%s' needs an argument", argv[optind - 1]);
                        }
                        if (optopt == 'o')
                                return usage_error("Option '-o' needs an argument");
                        if (optopt)
                                return usage_error("Unknown option '-%c'", optopt);
                        return usage_error("Unknown option '%s'", argv[optind - 1]);
                default:
                        return usage_error("Unhandled option");
                }
        return 1;
}

static sd_bus *connection = NULL;

int acquire_bus(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        if (connection) {
                *ret = sd_bus_ref(connection);
                return 0;
        }

        if (!arg_address) {
                arg_bus_description = streq(arg_bus, "session") ? "session bus" : "system bus";
                r = streq(arg_bus, "session") ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus);
        } else {
                static char description[256];

                snprintf(description, sizeof(description), "bus at %s", arg_address);
                arg_bus_description = description;
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_address(bus, arg_address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, true);
                if (r >= 0)
                        r = sd_bus_start(bus);
        }
        if (r < 0) {
                sd_bus_unref(bus);
                return log_error_errno(r, "Cannot connect to the %s: %m", arg_bus_description);
        }

        /* polkit may ask whoever sits at the terminal, and only them. */
        r = sd_bus_set_allow_interactive_authorization(bus, arg_ask_password);
        if (r >= 0 && arg_timeout_usec > 0)
                r = sd_bus_set_method_call_timeout(bus, arg_timeout_usec);
        if (r < 0) {
                sd_bus_unref(bus);
                return log_error_errno(r, "Cannot set up the bus connection: %m");
        }
        connection = bus;
        *ret = sd_bus_ref(bus);
        return 0;
}

/* Colour where a person reads it, unless told otherwise (https://no-color.org). */
static bool want_colors(void) {
        const char *term = getenv("TERM");

        if (arg_color != COLOR_AUTO)
                return arg_color == COLOR_ALWAYS;
        return isatty(STDOUT_FILENO) && isempty(getenv("NO_COLOR")) && !streq_ptr(term, "dumb");
}

unsigned table_flags(void) {
        return (colors_enabled ? TABLE_COLOR : 0) | (arg_no_legend ? TABLE_NO_LEGEND : 0) |
               (arg_utf8 ? 0 : TABLE_ASCII);
}

int print_table(Table *t, const char *what) {
        int r;

        if (arg_output) {
                _cleanup_free_ char *bad = NULL;

                r = table_select(t, arg_output, &bad);
                if (r == -ENOENT)
                        return log_error_errno(r, "The %s have no column '%s'", what, bad);
                if (r < 0)
                        return log_error_errno(r, "Cannot choose the columns: %m");
        }
        table_set_flags(t, table_flags());
        r = table_print(t, arg_json, stdout);
        if (r < 0)
                return log_error_errno(r, "Cannot show the %s: %m", what);
        return 0;
}

/* -o for a view whose columns are known: checked before any call. */
static int check_output(const Verb *verb) {
        _cleanup_free_ char *bad = NULL;
        int r;

        if (!arg_output || verb->flags & VERB_ANY_COLUMN)
                return 0;
        if (!verb->columns)
                return usage_error("'%s' has no columns to choose with -o", verb->name);
        r = columns_check(verb->columns->list, verb->columns->n, arg_output, &bad);
        if (r == -ENOENT)
                return usage_error("'%s' has no column '%s'; see --help for its columns", verb->name, bad);
        if (r < 0)
                return log_error_errno(r, "%m");
        return 0;
}

int main(int argc, char *argv[]) {
        const Verb *verb = NULL;
        const char *name;
        int r;

        setlocale(LC_ALL, "");
        arg_utf8 = streq(nl_langinfo(CODESET), "UTF-8");

        r = parse_argv(argc, argv);
        if (r != 1)
                return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
        if (arg_ask_password < 0)
                arg_ask_password = isatty(STDIN_FILENO);

        name = optind < argc ? argv[optind] : "status";
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        verb = &verbs[i];
        if (!verb)
                return usage_error("Unknown command '%s'", name);

        /* The verb's own arguments, its name not counted. */
        int n = optind < argc ? argc - optind - 1 : 0;
        if ((unsigned) n < verb->min_args)
                return usage_error("'%s' needs %s", verb->name, verb->args);
        if ((unsigned) n > verb->max_args)
                return usage_error("'%s' takes %s%s", verb->name,
                                   verb->args ? "only " : "no arguments", verb->args ?: "");

        r = check_output(verb);
        if (r != 0)
                return r == EXIT_USAGE ? EXIT_USAGE : EXIT_FAILURE;

        colors_enabled = want_colors();
        if (verb->flags & VERB_PAGER)
                (void) pager_open(arg_no_pager);

        r = verb->run(n + 1, optind < argc ? argv + optind : (char *[]) { (char *) name, NULL });
        /* A pager quit before the end: no one reads the rest. */
        if (fflush(stdout) != 0 && errno != EPIPE && r >= 0)
                r = log_error_errno(-errno, "Cannot write the output: %m");
        pager_close();
        connection = sd_bus_flush_close_unref(connection);
        return r < 0 ? EXIT_FAILURE : r;
}
