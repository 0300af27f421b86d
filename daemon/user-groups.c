/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "thread-job.h"
#include "user-groups.h"
#include "util.h"

/* One look-up per uid at a time: the connections of a user that arrive
 * while it runs wait for its answer, so no user has the daemon start more
 * than one thread, however many connections it opens. */
struct UserGroupsLookup {
        Daemon *daemon;
        UserGroupsLookup *prev, *next;
        uid_t uid;
        ThreadJob *job;
        UserGroups *waiters;
        /* The thread's until it returns. */
        gid_t *gids;
        size_t n_gids;
        int error;
};

/* A caller waiting for a look-up. */
struct UserGroups {
        UserGroupsLookup *lookup;
        UserGroups *prev, *next;
        user_groups_done_t done;
        void *userdata;
        gid_t *gids;                    /* those the caller started with */
        size_t n_gids;
};

/* Out of the daemon's list: a look-up there may take more waiters. */
static void lookup_unlink(UserGroupsLookup *l) {
        if (l->prev)
                l->prev->next = l->next;
        else if (l->daemon->user_group_lookups == l)
                l->daemon->user_group_lookups = l->next;
        if (l->next)
                l->next->prev = l->prev;
        l->prev = l->next = NULL;
}

static UserGroupsLookup *lookup_free(UserGroupsLookup *l) {
        if (!l)
                return NULL;
        lookup_unlink(l);
        free(l->gids);
        free(l);
        return NULL;
}

static void waiter_unlink(UserGroups *w) {
        if (w->prev)
                w->prev->next = w->next;
        else
                w->lookup->waiters = w->next;
        if (w->next)
                w->next->prev = w->prev;
}

/* Appends uid's groups in the user database to gids; 0 for a uid without a
 * name, which has none. */
static int user_db_groups(uid_t uid, gid_t **gids, size_t *n) {
        _cleanup_free_ struct passwd *pw = NULL;
        _cleanup_free_ gid_t *list = NULL;
        int n_list = 64, r;
        gid_t *g;

        r = user_db_passwd(NULL, uid, &pw);
        if (r == -ESRCH)
                return 0;
        if (r < 0)
                return r;

        for (;;) {
                int want = n_list;
                gid_t *l = reallocarray(list, n_list, sizeof(gid_t));

                if (!l)
                        return -ENOMEM;
                list = l;
                if (getgrouplist(pw->pw_name, pw->pw_gid, list, &want) >= 0) {
                        n_list = want;
                        break;
                }
                if (want <= n_list || want > 65536)
                        return -E2BIG;
                n_list = want;
        }
        g = reallocarray(*gids, *n + n_list, sizeof(gid_t));
        if (!g)
                return -ENOMEM;
        memcpy(g + *n, list, n_list * sizeof(gid_t));
        *gids = g;
        *n += n_list;
        return 0;
}

static void lookup_work(void *userdata) {
        UserGroupsLookup *l = userdata;

        l->error = user_db_groups(l->uid, &l->gids, &l->n_gids);
}

static void lookup_done(void *userdata) {
        UserGroupsLookup *l = userdata;
        UserGroups *w;

        /* Answered: a connection of the user that comes now starts anew. */
        lookup_unlink(l);

        /* A waiter's callback may abandon the others: take the first each
         * time. */
        while ((w = l->waiters)) {
                user_groups_done_t done = w->done;
                void *caller = w->userdata;
                gid_t *gids = TAKE_PTR(w->gids), *all;
                size_t n = w->n_gids;
                int r = l->error;

                waiter_unlink(w);
                free(w);
                if (r >= 0 && l->n_gids > 0) {
                        all = reallocarray(gids, n + l->n_gids, sizeof(gid_t));
                        if (all) {
                                memcpy(all + n, l->gids, l->n_gids * sizeof(gid_t));
                                gids = all;
                                n += l->n_gids;
                        } else
                                r = -ENOMEM;
                }
                done(r, gids, n, caller);
        }
        lookup_free(l);
}

static int lookup_start(Daemon *d, uid_t uid, UserGroupsLookup **ret) {
        UserGroupsLookup *l;
        int r;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        *l = (UserGroupsLookup) { .daemon = d, .uid = uid };
        r = thread_job_start(d->event, lookup_work, lookup_done, l, &l->job);
        if (r < 0) {
                free(l);
                return r;
        }
        l->next = d->user_group_lookups;
        if (l->next)
                l->next->prev = l;
        d->user_group_lookups = l;
        *ret = l;
        return 0;
}

int user_groups_lookup(Daemon *d, uid_t uid, const gid_t *gids, size_t n_gids, user_groups_done_t done,
                       void *userdata, UserGroups **ret) {
        UserGroupsLookup *l;
        UserGroups *w;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (UserGroups) { .done = done, .userdata = userdata, .n_gids = n_gids };
        if (n_gids > 0) {
                w->gids = memdup(gids, n_gids * sizeof(gid_t));
                if (!w->gids) {
                        free(w);
                        return -ENOMEM;
                }
        }

        for (l = d->user_group_lookups; l && l->uid != uid; l = l->next)
                ;
        if (!l) {
                r = lookup_start(d, uid, &l);
                if (r < 0) {
                        free(w->gids);
                        free(w);
                        return r;
                }
        }
        w->lookup = l;
        w->next = l->waiters;
        if (w->next)
                w->next->prev = w;
        l->waiters = w;
        *ret = w;
        return 0;
}

UserGroups *user_groups_abandon(UserGroups *w) {
        if (!w)
                return NULL;
        /* The look-up runs on: its thread cannot be stopped, and another
         * connection of the user may come for its answer yet. */
        waiter_unlink(w);
        free(w->gids);
        free(w);
        return NULL;
}

void user_groups_free_all(Daemon *d) {
        struct timespec deadline;

        /* At exit a user database that hangs must not hold up the stop:
         * a thread still looking after a second is left to end with the
         * process, its look-up with it. */
        (void) clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 1;
        while (d->user_group_lookups) {
                UserGroupsLookup *l = d->user_group_lookups;

                while (l->waiters)
                        user_groups_abandon(l->waiters);
                if (thread_job_end(l->job, &deadline) >= 0)
                        lookup_free(l);
                else
                        lookup_unlink(l);
        }
}
