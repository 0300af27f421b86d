/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Invalidate(u data_type, u entry_len, ay entries) -> (u handled, s error):
 * the same method on nested HWPTs and on vIOMMUs. */
int method_invalidate(sd_bus_message *m, void *userdata, sd_bus_error *error);
