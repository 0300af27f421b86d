/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A pager on a terminal, as systemd's tools have: $SYSTEMD_PAGER, $PAGER, less. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "viommuctl.h"

static pid_t pager_pid = 0;

/* The pager the environment names; NULL when it says none ("" or "cat"). */
static const char *pager_command(void) {
        const char *p = getenv("SYSTEMD_PAGER");

        if (!p)
                p = getenv("PAGER");
        if (!p)
                return "less";
        p += strspn(p, " \t");
        return isempty(p) || streq(p, "cat") ? NULL : p;
}

int pager_open(bool no_pager) {
        const char *command;
        int fd[2];
        pid_t pid;

        if (no_pager || pager_pid > 0 || !isatty(STDOUT_FILENO))
                return 0;
        command = pager_command();
        if (!command)
                return 0;
        if (fflush(stdout) != 0 || pipe2(fd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int r = -errno;

                close(fd[0]);
                close(fd[1]);
                return r;
        }
        if (pid == 0) {
                /* The pager: its input is our output; it goes when we go. */
                if (dup2(fd[0], STDIN_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                /* Quit when the text fits, keep colours, do not wrap, quit on Ctrl-C. */
                (void) setenv("LESS", "FRSXMK", false);
                if (arg_utf8)
                        (void) setenv("LESSCHARSET", "utf-8", false);
                execl("/bin/sh", "sh", "-c", command, (char *) NULL);
                _exit(EXIT_FAILURE);
        }
        if (dup2(fd[1], STDOUT_FILENO) < 0) {
                int r = -errno;

                close(fd[0]);
                close(fd[1]);
                (void) kill(pid, SIGTERM);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        close(fd[0]);
        close(fd[1]);
        pager_pid = pid;
        /* Ctrl-C is the pager's (less -K quits on it); we finish writing. */
        (void) signal(SIGINT, SIG_IGN);
        /* A pager that quit early closes the pipe: writes fail, we do not die. */
        (void) signal(SIGPIPE, SIG_IGN);
        return 1;
}

void pager_close(void) {
        if (pager_pid <= 0)
                return;
        /* End of input for the pager, then wait for the person to quit it. */
        (void) fflush(stdout);
        (void) close(STDOUT_FILENO);
        (void) waitpid(pager_pid, NULL, 0);
        pager_pid = 0;
}
