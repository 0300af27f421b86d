/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "subscribers.h"
#include "util.h"

static Subscriber *subscriber_free(Subscriber *sub) {
        if (!sub)
                return NULL;
        free(sub->creds.gids);
        free(sub->name);
        free(sub);
        return NULL;
}

int subscriber_add(Daemon *d, const char *name, const CallerCreds *creds) {
        Subscriber *sub;

        for (sub = d->subscribers; sub; sub = sub->next)
                if (streq(sub->name, name))
                        return 0;

        sub = calloc(1, sizeof(*sub));
        if (!sub)
                return -ENOMEM;
        sub->name = strdup(name);
        sub->creds = *creds;
        sub->creds.gids = creds->n_gids > 0 ? memdup(creds->gids, creds->n_gids * sizeof(gid_t)) : NULL;
        if (!sub->name || (creds->n_gids > 0 && !sub->creds.gids)) {
                sub->creds.gids = NULL;
                subscriber_free(sub);
                return -ENOMEM;
        }
        sub->next = d->subscribers;
        d->subscribers = sub;
        return 1;
}

bool subscriber_remove(Daemon *d, const char *name) {
        for (Subscriber **i = &d->subscribers; *i; i = &(*i)->next)
                if (streq((*i)->name, name)) {
                        Subscriber *sub = *i;

                        *i = sub->next;
                        subscriber_free(sub);
                        return true;
                }
        return false;
}

void subscribers_free(Daemon *d) {
        while (d->subscribers) {
                Subscriber *sub = d->subscribers;

                d->subscribers = sub->next;
                subscriber_free(sub);
        }
}

bool subscriber_sees(Daemon *d, const Subscriber *sub, const Session *s) {
        return sub->creds.uid == 0 || sub->creds.uid == s->uid || auth_observer(d, &sub->creds);
}
