/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "log.h"

/* -v: every mapping and object is logged. */
int log_verbose;
