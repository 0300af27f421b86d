/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * JSON of the topology. Key order is fixed and lists come sorted, so the
 * output of one tree never changes: golden files depend on that. Unknown
 * values are null, values that do not exist are left out.
 */

#include <inttypes.h>
#include <json-c/json.h>
#include <sys/sysmacros.h>

#include "json-util.h"
#include "util.h"
#include "viommu-topology.h"

static int add_null(struct json_object *o, const char *key) {
        return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
}

static int add_string(struct json_object *o, const char *key, const char *s) {
        return s ? json_add(o, key, json_object_new_string(s)) : add_null(o, key);
}

static int add_bool(struct json_object *o, const char *key, bool b) {
        return json_add(o, key, json_object_new_boolean(b));
}

static int add_int(struct json_object *o, const char *key, int64_t i) {
        return json_add(o, key, json_object_new_int64(i));
}

/* Hex keeps 64-bit values exact for readers whose numbers are doubles. */
static int add_hex(struct json_object *o, const char *key, uint64_t v, int digits) {
        return json_add(o, key, json_new_hex(v, digits));
}

/* A PCI id: -1 is unknown. */
static int add_id(struct json_object *o, const char *key, int32_t v, int digits) {
        return v < 0 ? add_null(o, key) : add_hex(o, key, (uint64_t) v, digits);
}

static int add_strings(struct json_object *o, const char *key, char * const *l, size_t n) {
        _cleanup_(json_object_putp) struct json_object *a = NULL;

        a = json_object_new_array_ext(n);
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *s = json_object_new_string(l[i]);

                if (!s)
                        return -ENOMEM;
                if (json_object_array_add(a, s) < 0) {
                        json_object_put(s);
                        return -ENOMEM;
                }
        }
        return json_add(o, key, TAKE_PTR(a));
}

/* Objects keep their issues to themselves when they have none. */
static int add_issues(struct json_object *o, char * const *l, size_t n) {
        return n > 0 ? add_strings(o, "issues", l, n) : 0;
}

static int vtd_to_json(const struct viommu_vtd_info *v, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        char version[32];
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        /* No VT-d version 0.0 exists: that is what an unreadable one leaves. */
        snprintf(version, sizeof(version), "%u.%u", v->version_major, v->version_minor);
        r = add_string(o, "version", v->version_major > 0 ? version : NULL);
        if (r >= 0)
                r = add_hex(o, "cap", v->cap, 16);
        if (r >= 0)
                r = add_hex(o, "ecap", v->ecap, 16);
        if (r >= 0)
                r = v->domains_supported < 0 ? add_null(o, "domains_supported") :
                                               add_int(o, "domains_supported", v->domains_supported);
        if (r >= 0)
                r = v->domains_used < 0 ? add_null(o, "domains_used") :
                                          add_int(o, "domains_used", v->domains_used);
        if (r >= 0)
                r = add_int(o, "mgaw", v->mgaw);
        if (r >= 0)
                r = add_int(o, "pasid_bits", v->pasid_bits);
        if (r < 0)
                return r;

        const struct {
                const char *key;
                bool value;
        } flags[] = {
                { "caching_mode",        v->caching_mode        },
                { "scalable_mode",       v->scalable_mode       },
                { "first_level",         v->first_level         },
                { "second_level",        v->second_level        },
                { "nested",              v->nested              },
                { "dirty_tracking",      v->dirty_tracking      },
                { "pasid",               v->pasid               },
                { "page_request",        v->page_request        },
                { "device_iotlb",        v->device_iotlb        },
                { "pass_through",        v->pass_through        },
                { "interrupt_remapping", v->interrupt_remapping },
        };
        for (size_t i = 0; i < ELEMENTSOF(flags); i++) {
                r = add_bool(o, flags[i].key, flags[i].value);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(o);
        return 0;
}

static int amd_vi_to_json(const struct viommu_amd_vi_info *a, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        r = add_hex(o, "cap", a->cap, 8);
        if (r >= 0)
                r = add_hex(o, "efr", a->efr, 16);
        if (r >= 0)
                r = add_hex(o, "efr2", a->efr2, 16);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

_public_ int viommu_topology_iommu_to_json(const struct viommu_topology_iommu *u, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        int r;

        if (!u || !ret)
                return -EINVAL;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        r = add_string(o, "name", u->name);
        if (r >= 0)
                r = add_string(o, "kind", viommu_iommu_kind_to_string(u->kind));
        if (r >= 0)
                r = add_string(o, "devpath", u->devpath);
        if (r >= 0 && u->parent)
                r = add_string(o, "parent", u->parent);
        if (r >= 0 && u->parent_driver)
                r = add_string(o, "parent_driver", u->parent_driver);
        if (r >= 0 && u->has_address)
                r = add_hex(o, "address", u->address, 16);
        if (r >= 0)
                r = add_strings(o, "devices", u->devices, u->n_devices);
        if (r >= 0 && u->has_vtd) {
                struct json_object *v = NULL;

                r = vtd_to_json(&u->vtd, &v);
                if (r >= 0)
                        r = json_add(o, "intel_vtd", v);
        }
        if (r >= 0 && u->has_amd_vi) {
                struct json_object *a = NULL;

                r = amd_vi_to_json(&u->amd_vi, &a);
                if (r >= 0)
                        r = json_add(o, "amd_vi", a);
        }
        if (r >= 0)
                r = add_issues(o, u->issues, u->n_issues);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

static int regions_to_json(const struct viommu_topology_group *g, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *a = NULL;

        a = json_object_new_array_ext(g->n_regions);
        if (!a)
                return -ENOMEM;

        for (size_t i = 0; i < g->n_regions; i++) {
                _cleanup_(json_object_putp) struct json_object *o = NULL;
                int r;

                o = json_object_new_object();
                if (!o)
                        return -ENOMEM;
                r = add_hex(o, "start", g->regions[i].start, 16);
                if (r >= 0)
                        r = add_hex(o, "end", g->regions[i].end, 16);
                if (r >= 0)
                        r = add_string(o, "type", viommu_region_type_to_string(g->regions[i].type));
                if (r < 0)
                        return r;
                if (json_object_array_add(a, o) < 0)
                        return -ENOMEM;
                o = NULL;
        }

        *ret = TAKE_PTR(a);
        return 0;
}

_public_ int viommu_topology_group_to_json(const struct viommu_topology_group *g, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        int r;

        if (!g || !ret)
                return -EINVAL;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        r = add_int(o, "id", g->id);
        if (r >= 0)
                r = add_string(o, "type", g->type);
        if (r >= 0 && g->name)
                r = add_string(o, "name", g->name);
        if (r >= 0)
                r = add_strings(o, "devices", g->devices, g->n_devices);
        if (r >= 0) {
                struct json_object *a = NULL;

                if (g->regions_known) {
                        r = regions_to_json(g, &a);
                        if (r >= 0)
                                r = json_add(o, "reserved_regions", a);
                } else
                        r = add_null(o, "reserved_regions");
        }
        if (r >= 0)
                r = add_issues(o, g->issues, g->n_issues);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

static int pcie_caps_to_json(const struct viommu_pcie_caps *c, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        if (c->ats) {
                _cleanup_(json_object_putp) struct json_object *a = json_object_new_object();

                if (!a)
                        return -ENOMEM;
                r = add_bool(a, "enabled", c->ats_enabled);
                if (r >= 0)
                        r = add_int(a, "invalidate_queue_depth", c->ats_queue_depth);
                if (r >= 0)
                        r = add_bool(a, "page_aligned", c->ats_page_aligned);
                if (r >= 0)
                        r = json_add(o, "ats", TAKE_PTR(a));
                if (r < 0)
                        return r;
        }

        if (c->pri) {
                _cleanup_(json_object_putp) struct json_object *a = json_object_new_object();

                if (!a)
                        return -ENOMEM;
                r = add_bool(a, "enabled", c->pri_enabled);
                if (r >= 0)
                        r = add_int(a, "max_requests", c->pri_max_requests);
                if (r >= 0)
                        r = json_add(o, "pri", TAKE_PTR(a));
                if (r < 0)
                        return r;
        }

        if (c->pasid) {
                _cleanup_(json_object_putp) struct json_object *a = json_object_new_object();

                if (!a)
                        return -ENOMEM;
                r = add_bool(a, "enabled", c->pasid_enabled);
                if (r >= 0)
                        r = add_int(a, "width", c->pasid_width);
                if (r >= 0)
                        r = add_bool(a, "exec", c->pasid_exec);
                if (r >= 0)
                        r = add_bool(a, "privileged", c->pasid_privileged);
                if (r >= 0)
                        r = json_add(o, "pasid", TAKE_PTR(a));
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(o);
        return 0;
}

static int pci_to_json(const struct viommu_pci_info *p, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        r = add_id(o, "vendor", p->vendor, 4);
        if (r >= 0)
                r = add_id(o, "device", p->device, 4);
        if (r >= 0)
                r = add_id(o, "subsystem_vendor", p->subsystem_vendor, 4);
        if (r >= 0)
                r = add_id(o, "subsystem_device", p->subsystem_device, 4);
        if (r >= 0)
                r = add_id(o, "class", p->class_code, 6);
        if (r >= 0)
                r = add_id(o, "revision", p->revision, 2);
        if (r >= 0 && p->vendor_name)
                r = add_string(o, "vendor_name", p->vendor_name);
        if (r >= 0 && p->device_name)
                r = add_string(o, "device_name", p->device_name);
        if (r >= 0) {
                struct json_object *c = NULL;

                if (p->caps.known) {
                        r = pcie_caps_to_json(&p->caps, &c);
                        if (r >= 0)
                                r = json_add(o, "pcie_caps", c);
                } else
                        r = add_null(o, "pcie_caps");
        }
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

static int vfio_to_json(const struct viommu_topology_device *d, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        r = add_string(o, "cdev", d->vfio_cdev);
        if (r >= 0 && d->vfio_devnum == 0) {
                r = add_null(o, "major");
                if (r >= 0)
                        r = add_null(o, "minor");
        } else if (r >= 0) {
                r = add_int(o, "major", major(d->vfio_devnum));
                if (r >= 0)
                        r = add_int(o, "minor", minor(d->vfio_devnum));
        }
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

_public_ int viommu_topology_device_to_json(const struct viommu_topology_device *d, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        int r;

        if (!d || !ret)
                return -EINVAL;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        r = add_string(o, "name", d->name);
        if (r >= 0)
                r = add_string(o, "bus", d->bus);
        if (r >= 0)
                r = add_string(o, "devpath", d->devpath);
        if (r >= 0 && d->driver)
                r = add_string(o, "driver", d->driver);
        if (r >= 0 && d->iommu_group >= 0)
                r = add_int(o, "iommu_group", d->iommu_group);
        else if (r >= 0 && d->iommu_group == VIOMMU_TOPOLOGY_GROUP_UNKNOWN)
                r = add_null(o, "iommu_group");
        if (r >= 0 && d->iommu)
                r = add_string(o, "iommu", d->iommu);
        if (r >= 0 && d->vfio_cdev) {
                struct json_object *v = NULL;

                r = vfio_to_json(d, &v);
                if (r >= 0)
                        r = json_add(o, "vfio", v);
        }
        if (r >= 0 && d->is_pci) {
                struct json_object *p = NULL;

                r = pci_to_json(&d->pci, &p);
                if (r >= 0)
                        r = json_add(o, "pci", p);
        }
        if (r >= 0)
                r = add_issues(o, d->issues, d->n_issues);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

_public_ int viommu_topology_to_json(const struct viommu_topology *t, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = NULL, *iommus = NULL, *groups = NULL, *devices = NULL;
        int r;

        if (!t || !ret)
                return -EINVAL;

        o = json_object_new_object();
        iommus = json_object_new_array_ext(t->n_iommus);
        groups = json_object_new_array_ext(t->n_groups);
        devices = json_object_new_array_ext(t->n_devices);
        if (!o || !iommus || !groups || !devices)
                return -ENOMEM;

        for (size_t i = 0; i < t->n_iommus; i++) {
                struct json_object *e = NULL;

                r = viommu_topology_iommu_to_json(t->iommus[i], &e);
                if (r < 0)
                        return r;
                if (json_object_array_add(iommus, e) < 0) {
                        json_object_put(e);
                        return -ENOMEM;
                }
        }
        for (size_t i = 0; i < t->n_groups; i++) {
                struct json_object *e = NULL;

                r = viommu_topology_group_to_json(t->groups[i], &e);
                if (r < 0)
                        return r;
                if (json_object_array_add(groups, e) < 0) {
                        json_object_put(e);
                        return -ENOMEM;
                }
        }
        for (size_t i = 0; i < t->n_devices; i++) {
                struct json_object *e = NULL;

                r = viommu_topology_device_to_json(t->devices[i], &e);
                if (r < 0)
                        return r;
                if (json_object_array_add(devices, e) < 0) {
                        json_object_put(e);
                        return -ENOMEM;
                }
        }

        r = json_add(o, "iommus", TAKE_PTR(iommus));
        if (r >= 0)
                r = json_add(o, "groups", TAKE_PTR(groups));
        if (r >= 0)
                r = json_add(o, "devices", TAKE_PTR(devices));
        if (r >= 0)
                r = add_strings(o, "issues", t->issues, t->n_issues);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}
