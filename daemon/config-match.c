/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Who may claim, bind or observe: the parsed configuration against a device
 * and a caller. */

#include <string.h>

#include "config.h"
#include "util.h"
#include "viommu-topology.h"

static bool selector_matches(const DeviceSelector *s, const struct viommu_topology_device *dev) {
        switch (s->type) {
        case DEVICE_SELECTOR_PCI:
                return dev->is_pci && dev->pci.domain == s->pci.domain && dev->pci.bus == s->pci.bus &&
                        dev->pci.slot == s->pci.slot && dev->pci.function == s->pci.function;
        case DEVICE_SELECTOR_ID:
                return dev->is_pci && dev->pci.vendor == (int32_t) s->id.vendor &&
                        dev->pci.device == (int32_t) s->id.device;
        case DEVICE_SELECTOR_GROUP:
                return dev->iommu_group >= 0 && (unsigned) dev->iommu_group == s->group;
        default:
                return false;
        }
}

static bool unit_matches(const char *pattern, const char *unit) {
        const char *at = strchr(pattern, '@');

        if (streq(pattern, unit))
                return true;
        /* "vmm@.service" matches "vmm@guest1.service". */
        if (at && at[1] == '.') {
                size_t prefix = at - pattern + 1;
                const char *type = at + 1, *u_type = strrchr(unit, '.');

                return strncmp(unit, pattern, prefix) == 0 && u_type && u_type > unit + prefix &&
                        streq(u_type, type);
        }
        return false;
}

/* Is the caller one of the users, or in one of the groups? */
static bool identities_match(const ConfigIdentity *users, size_t n_users, const ConfigIdentity *groups,
                             size_t n_groups, uid_t uid, const gid_t *gids, size_t n_gids) {
        for (size_t i = 0; i < n_users; i++)
                if (users[i].id == uid)
                        return true;
        for (size_t i = 0; i < n_groups; i++)
                for (size_t k = 0; k < n_gids; k++)
                        if (groups[i].id == gids[k])
                                return true;
        return false;
}

static bool rule_matches_caller(const AllowRule *r, uid_t uid, const gid_t *gids, size_t n_gids, const char *unit) {
        if (identities_match(r->users, r->n_users, r->groups, r->n_groups, uid, gids, n_gids))
                return true;
        if (unit)
                for (size_t i = 0; i < r->n_units; i++)
                        if (unit_matches(r->units[i], unit))
                                return true;
        return false;
}

static int device_allowed(const Config *c, const struct viommu_topology_device *dev, uid_t uid,
                          const gid_t *gids, size_t n_gids, const char *unit, bool bind) {
        if (!c || !dev)
                return 0;

        for (size_t i = 0; i < c->n_allow; i++) {
                const AllowRule *r = &c->allow[i];
                bool device = false;

                if (bind && !r->bind)
                        continue;

                for (size_t k = 0; k < r->n_devices && !device; k++)
                        device = selector_matches(&r->devices[k], dev);
                if (device && rule_matches_caller(r, uid, gids, n_gids, unit))
                        return 1;
        }
        return 0;
}

int config_device_allowed(const Config *c, const struct viommu_topology_device *dev, uid_t uid,
                          const gid_t *gids, size_t n_gids, const char *unit) {
        return device_allowed(c, dev, uid, gids, n_gids, unit, false);
}

int config_device_bind_allowed(const Config *c, const struct viommu_topology_device *dev, uid_t uid,
                               const gid_t *gids, size_t n_gids, const char *unit) {
        return device_allowed(c, dev, uid, gids, n_gids, unit, true);
}

bool config_observer(const Config *c, uid_t uid, const gid_t *gids, size_t n_gids) {
        return c && identities_match(c->observer_users, c->n_observer_users, c->observer_groups,
                                     c->n_observer_groups, uid, gids, n_gids);
}
