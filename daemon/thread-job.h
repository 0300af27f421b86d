/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Work that may wait on another process (the user database, a directory
 * server behind it) runs in a thread of its own, while the event loop
 * serves everyone else; the loop hears when it returned.
 */

#include <systemd/sd-event.h>
#include <time.h>

typedef struct ThreadJob ThreadJob;

/* In the thread. */
typedef void (*thread_job_work_t)(void *userdata);
/* In the loop, once the thread ended; the job is freed after. */
typedef void (*thread_job_done_t)(void *userdata);

int thread_job_start(sd_event *e, thread_job_work_t work, thread_job_done_t done, void *userdata, ThreadJob **ret);
/* At exit: 0 when the thread ended by deadline (CLOCK_REALTIME), and the
 * job is freed without done; -ETIMEDOUT when it did not, and the thread is
 * left to end with the process, with the job and userdata, which must stay. */
int thread_job_end(ThreadJob *j, const struct timespec *deadline);
