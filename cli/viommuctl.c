/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* viommuctl: the command line over viommud's D-Bus API. */

#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "viommuctl.h"

JsonMode arg_json = JSON_OFF;
bool arg_utf8 = false;
uint64_t arg_timeout_usec = 0;
const char *arg_bus_description = "system bus";
static const char *arg_bus = "system";
static const char *arg_address = NULL;
static int arg_ask_password = -1;       /* -1: when stdin is a terminal */

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args;    /* after the verb's name */
        VerbFunction run;
        const char *args;               /* for messages */
        const char *help;
} Verb;

static const Verb verbs[] = {
        { "status",   0, 0, verb_status,   NULL,         "Show the daemon, the kernel and what is in use" },
        { "features", 0, 0, verb_features, NULL,         "Show which iommufd features this kernel has" },
        { "devices",  0, 0, verb_devices,  NULL,         "List the host's devices and who claimed them" },
        { "device",   1, 1, verb_device,   "NAME",       "Show all properties of one device" },
        { "sessions", 0, 0, verb_sessions, NULL,         "List the sessions" },
        { "session",  1, 1, verb_session,  "ID|PATH",    "Show a session and its objects" },
        { "close",    1, 1, verb_close,    "ID|PATH",    "Close a session, destroying its objects" },
        { "describe", 0, 0, verb_describe, NULL,         "Print the daemon's whole state as JSON" },
        { "monitor",  0, 0, verb_monitor,  NULL,         "Print device and session events as they come" },
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
               "     --json[=pretty|short]\n"
               "                         Print JSON (for status and describe: the daemon's\n"
               "                         own Describe document)\n"
               "     --bus=system|session\n"
               "                         Talk to viommud on this bus (default: system)\n"
               "     --address=ADDRESS   Talk to viommud on the bus at this D-Bus address\n"
               "     --no-ask-password   Never let polkit ask for a password\n"
               "     --timeout=SECONDS   How long monitor watches; for other commands, how\n"
               "                         long to wait for the daemon's reply (default: 25)\n"
               "     --no-pager          Accepted for compatibility; nothing is paged\n"
               "\nSee viommuctl(1) for details.\n");
}

static int parse_timeout(const char *s, uint64_t *ret) {
        char *end;
        double d;

        errno = 0;
        d = strtod(s, &end);
        if (errno != 0 || end == s || *end || !(d > 0) || d > 365.0 * 24 * 3600)
                return -EINVAL;
        *ret = (uint64_t) (d * 1e6);
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
                ARG_TIMEOUT,
        };
        static const struct option options[] = {
                { "help",            no_argument,       NULL, 'h'                 },
                { "version",         no_argument,       NULL, ARG_VERSION         },
                { "json",            optional_argument, NULL, ARG_JSON            },
                { "bus",             required_argument, NULL, ARG_BUS             },
                { "address",         required_argument, NULL, ARG_ADDRESS         },
                { "no-ask-password", no_argument,       NULL, ARG_NO_ASK_PASSWORD },
                { "no-pager",        no_argument,       NULL, ARG_NO_PAGER        },
                { "timeout",         required_argument, NULL, ARG_TIMEOUT         },
                {}
        };
        int c;

        /* "+" would stop at the verb; options may follow it, as in systemctl. */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
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
                        else
                                return usage_error("--json= takes 'pretty' or 'short', not '%s'", optarg);
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
                        break;
                case ARG_TIMEOUT:
                        if (parse_timeout(optarg, &arg_timeout_usec) < 0)
                                return usage_error("--timeout= takes a positive number of seconds, not '%s'",
                                                   optarg);
                        break;
                case '?':
                        if (optopt >= ARG_VERSION)
                                return usage_error(strchr(argv[optind - 1], '=') ? "Option '%s' takes no argument" :
                                                   "Option '%s' needs an argument", argv[optind - 1]);
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

        r = verb->run(n + 1, optind < argc ? argv + optind : (char *[]) { (char *) name, NULL });
        if (fflush(stdout) != 0 && r >= 0)
                r = log_error_errno(-errno, "Cannot write the output: %m");
        connection = sd_bus_flush_close_unref(connection);
        return r < 0 ? EXIT_FAILURE : r;
}
