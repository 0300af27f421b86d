/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The reload log: what changed between two configurations, one line each. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

const char *config_format_bytes(char buf[static CONFIG_FORMAT_BYTES_MAX], uint64_t bytes) {
        static const char suffixes[] = "KMGTPE";
        int k = -1;

        if (bytes == CONFIG_LIMIT_INFINITY)
                return "infinity";
        while (bytes != 0 && bytes % 1024 == 0 && k < (int) sizeof(suffixes) - 2) {
                bytes /= 1024;
                k++;
        }
        if (k < 0)
                snprintf(buf, CONFIG_FORMAT_BYTES_MAX, "%" PRIu64, bytes);
        else
                snprintf(buf, CONFIG_FORMAT_BYTES_MAX, "%" PRIu64 "%c", bytes, suffixes[k]);
        return buf;
}

static const char *format_limit(char buf[static CONFIG_FORMAT_BYTES_MAX], ConfigLimit l, uint64_t v) {
        if (l == CONFIG_LIMIT_PINNED_BYTES || v == CONFIG_LIMIT_INFINITY)
                return config_format_bytes(buf, v);
        snprintf(buf, CONFIG_FORMAT_BYTES_MAX, "%" PRIu64, v);
        return buf;
}

static void print_identities(FILE *f, const char *what, const ConfigIdentity *ids, size_t n) {
        if (n == 0)
                return;
        fprintf(f, "; %s ", what);
        for (size_t i = 0; i < n; i++) {
                if (ids[i].name)
                        fprintf(f, "%s%s (%" PRIu32 ")", i > 0 ? ", " : "", ids[i].name, ids[i].id);
                else
                        fprintf(f, "%s%" PRIu32, i > 0 ? ", " : "", ids[i].id);
        }
}

/* "users alice (1000); groups adm (4)", or "none". */
static int observers_to_string(const Config *c, char **ret) {
        char *buf = NULL;
        size_t size;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        print_identities(f, "users", c->observer_users, c->n_observer_users);
        print_identities(f, "groups", c->observer_groups, c->n_observer_groups);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        /* print_identities() starts each list with "; ". */
        if (!*buf) {
                free(buf);
                buf = strdup("none");
                if (!buf)
                        return -ENOMEM;
        } else
                memmove(buf, buf + 2, strlen(buf + 2) + 1);
        *ret = buf;
        return 0;
}

/* One line for a rule, the same for rules that allow the same. */
static int rule_to_string(const AllowRule *r, char **ret) {
        _cleanup_free_ char *buf = NULL;
        FILE *f;
        size_t size;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fputs("devices ", f);
        for (size_t i = 0; i < r->n_devices; i++) {
                const DeviceSelector *s = &r->devices[i];

                if (i > 0)
                        fputs(", ", f);
                switch (s->type) {
                case DEVICE_SELECTOR_PCI:
                        fprintf(f, "pci %04x:%02x:%02x.%x", s->pci.domain, s->pci.bus, s->pci.slot, s->pci.function);
                        break;
                case DEVICE_SELECTOR_ID:
                        fprintf(f, "id %04x:%04x", s->id.vendor, s->id.device);
                        break;
                case DEVICE_SELECTOR_GROUP:
                        fprintf(f, "group %u", s->group);
                        break;
                default:
                        break;
                }
        }
        print_identities(f, "users", r->users, r->n_users);
        print_identities(f, "groups", r->groups, r->n_groups);
        if (r->n_units > 0) {
                fputs("; units ", f);
                for (size_t i = 0; i < r->n_units; i++)
                        fprintf(f, "%s%s", i > 0 ? ", " : "", r->units[i]);
        }
        if (r->bind)
                fputs("; bind", f);

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static void free_strings(char **l, size_t n) {
        if (!l)
                return;
        for (size_t i = 0; i < n; i++)
                free(l[i]);
        free(l);
}

static int rules_to_strings(const Config *c, char ***ret) {
        char **l;
        int r;

        l = calloc(c->n_allow ?: 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_allow; i++) {
                r = rule_to_string(&c->allow[i], &l[i]);
                if (r < 0) {
                        free_strings(l, c->n_allow);
                        return r;
                }
        }
        *ret = l;
        return 0;
}

int config_diff(const Config *old, const Config *new, char **ret) {
        _cleanup_(config_freep) Config *defaults = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ bool *old_kept = NULL, *new_kept = NULL;
        _cleanup_free_ char *old_observers = NULL, *new_observers = NULL;
        char **old_rules = NULL, **new_rules = NULL;
        FILE *f = NULL;
        size_t size;
        int r, changes = 0;

        if (!old || !new) {
                r = config_new(&defaults);
                if (r < 0)
                        return r;
                old = old ?: defaults;
                new = new ?: defaults;
        }

        r = rules_to_strings(old, &old_rules);
        if (r < 0)
                goto finish;
        r = rules_to_strings(new, &new_rules);
        if (r < 0)
                goto finish;
        old_kept = calloc(old->n_allow ?: 1, sizeof(bool));
        new_kept = calloc(new->n_allow ?: 1, sizeof(bool));
        f = open_memstream(&buf, &size);
        if (!old_kept || !new_kept || !f) {
                r = -ENOMEM;
                goto finish;
        }

        /* Rules that stayed, pairwise, so that a rule given twice and kept once still shows. */
        for (size_t i = 0; i < old->n_allow; i++)
                for (size_t k = 0; k < new->n_allow; k++)
                        if (!new_kept[k] && streq(old_rules[i], new_rules[k])) {
                                old_kept[i] = new_kept[k] = true;
                                break;
                        }

        for (ConfigLimit l = 0; l < _CONFIG_LIMIT_MAX; l++) {
                char a[CONFIG_FORMAT_BYTES_MAX], b[CONFIG_FORMAT_BYTES_MAX];

                if (old->limits[l] == new->limits[l])
                        continue;
                fprintf(f, "%slimits.%s: %s -> %s", changes++ > 0 ? "\n" : "", config_limit_to_string(l),
                        format_limit(a, l, old->limits[l]), format_limit(b, l, new->limits[l]));
        }
        r = observers_to_string(old, &old_observers);
        if (r >= 0)
                r = observers_to_string(new, &new_observers);
        if (r < 0)
                goto finish;
        if (!streq(old_observers, new_observers))
                fprintf(f, "%sobservers: %s -> %s", changes++ > 0 ? "\n" : "", old_observers, new_observers);
        if (old->restore_on_release != new->restore_on_release)
                fprintf(f, "%srestore-on-release: %s -> %s", changes++ > 0 ? "\n" : "",
                        old->restore_on_release ? "true" : "false", new->restore_on_release ? "true" : "false");
        for (size_t i = 0; i < old->n_allow; i++)
                if (!old_kept[i])
                        fprintf(f, "%sallow: removed rule (was %s:%u): %s", changes++ > 0 ? "\n" : "",
                                old->allow[i].file, old->allow[i].line, old_rules[i]);
        for (size_t k = 0; k < new->n_allow; k++)
                if (!new_kept[k])
                        fprintf(f, "%sallow: added rule (%s:%u): %s", changes++ > 0 ? "\n" : "",
                                new->allow[k].file, new->allow[k].line, new_rules[k]);

        r = fclose(f) == 0 ? 0 : -ENOMEM;
        f = NULL;
        if (r < 0)
                goto finish;

        *ret = changes > 0 ? TAKE_PTR(buf) : NULL;
        r = changes;
finish:
        if (f)
                fclose(f);
        free_strings(old_rules, old->n_allow);
        free_strings(new_rules, new->n_allow);
        return r;
}
