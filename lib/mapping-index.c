/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A B+ tree keyed by IOVA. Ranges never overlap, so ordering by first byte
 * also orders by last byte: the mapping holding an IOVA is the one with the
 * greatest start at or below it, and overlap checks need only the two
 * neighbours of the insertion point.
 *
 * Leaves hold up to LEAF_MAX mappings inline (no per-mapping allocation, no
 * per-mapping pointers) and are linked in order, which gives the neighbours
 * across a leaf boundary and iteration. Inner nodes hold separators: every
 * start in child[i] is below key[i], every start in child[i+1] at or above
 * it. Separators are not updated when mappings go, so they bound a subtree
 * without being its minimum.
 *
 * Nodes split in half, except at the two ends of the tree: appending to the
 * last leaf or prepending to the first keeps the full node full, so mappings
 * made in ascending or descending order (an IOVA allocator working up or
 * down) fill their leaves instead of leaving them half empty. Removal merges
 * or evens out a node that falls below half with a sibling.
 */

#include <assert.h>
#include <inttypes.h>
#include <limits.h>

#include "mapping-index.h"

#define LEAF_MAX 32
#define LEAF_MIN (LEAF_MAX / 2)
#define INNER_MAX 64
#define INNER_MIN (INNER_MAX / 2)

/* Far above what memory allows (a million mappings take 4 levels); insertion
 * refuses to pass it rather than overrun a path. */
#define HEIGHT_MAX 32

struct leaf {
        struct leaf *prev, *next;
        unsigned n;
        struct viommu_mapping m[LEAF_MAX];
};

struct inner {
        unsigned n;                     /* children */
        uint64_t key[INNER_MAX - 1];
        void *child[INNER_MAX];
};

struct viommu_mapping_index {
        void *root;                     /* NULL when empty */
        unsigned height;                /* inner levels above the leaves */
        size_t count;
        uint64_t bytes;
        size_t n_leaves, n_inner;
};

/* The inner nodes passed on the way down: node[0] is the root. */
struct path {
        struct inner *node[HEIGHT_MAX];
        unsigned ci[HEIGHT_MAX];
};

/* Which end of the tree a split happens at, decided at the leaf. */
enum split_kind {
        SPLIT_MIDDLE,
        SPLIT_APPEND,
        SPLIT_PREPEND,
};

static uint64_t mapping_last(const struct viommu_mapping *m) {
        return m->iova + (m->length - 1);
}

static bool mapping_holds(const struct viommu_mapping *m, uint64_t iova) {
        return iova >= m->iova && iova - m->iova < m->length;
}

/* First position whose start is above iova. */
static unsigned leaf_upper(const struct leaf *l, uint64_t iova) {
        unsigned lo = 0, hi = l->n;

        while (lo < hi) {
                unsigned mid = (lo + hi) / 2;

                if (l->m[mid].iova <= iova)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* The child whose range holds iova. */
static unsigned inner_child(const struct inner *in, uint64_t iova) {
        unsigned lo = 0, hi = in->n - 1;

        while (lo < hi) {
                unsigned mid = (lo + hi) / 2;

                if (in->key[mid] <= iova)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static struct leaf *descend(const struct viommu_mapping_index *idx, uint64_t iova, struct path *p) {
        void *node = idx->root;

        for (unsigned h = 0; h < idx->height; h++) {
                struct inner *in = node;
                unsigned c = inner_child(in, iova);

                if (p) {
                        p->node[h] = in;
                        p->ci[h] = c;
                }
                node = in->child[c];
        }
        return node;
}

/*
 * The mappings around the point where iova would go: the greatest start at
 * or below iova and the least start above it. Every leaf but an empty root
 * holds something, so a neighbour leaf always has an entry to give.
 */
static const struct viommu_mapping *leaf_before(const struct leaf *l, unsigned pos) {
        if (pos > 0)
                return &l->m[pos - 1];
        if (l->prev)
                return &l->prev->m[l->prev->n - 1];
        return NULL;
}

static const struct viommu_mapping *leaf_at(const struct leaf *l, unsigned pos) {
        if (pos < l->n)
                return &l->m[pos];
        if (l->next)
                return &l->next->m[0];
        return NULL;
}

/* The lowest mapping with a byte in [iova, last]. */
static const struct viommu_mapping *first_in(const struct viommu_mapping_index *idx, uint64_t iova, uint64_t last) {
        const struct viommu_mapping *m;
        const struct leaf *l;
        unsigned pos;

        if (!idx->root)
                return NULL;

        l = descend(idx, iova, NULL);
        pos = leaf_upper(l, iova);

        m = leaf_before(l, pos);
        if (m && mapping_last(m) >= iova)
                return m;
        m = leaf_at(l, pos);
        if (m && m->iova <= last)
                return m;
        return NULL;
}

int viommu_mapping_index_new(struct viommu_mapping_index **ret) {
        struct viommu_mapping_index *idx;

        assert(ret);

        idx = calloc(1, sizeof(*idx));
        if (!idx)
                return -ENOMEM;
        *ret = idx;
        return 0;
}

static void node_free(void *node, unsigned height) {
        if (height > 0) {
                struct inner *in = node;

                for (unsigned i = 0; i < in->n; i++)
                        node_free(in->child[i], height - 1);
        }
        free(node);
}

uint64_t viommu_mapping_index_remove_all(struct viommu_mapping_index *idx) {
        uint64_t bytes;

        assert(idx);

        bytes = idx->bytes;
        if (idx->root)
                node_free(idx->root, idx->height);
        *idx = (struct viommu_mapping_index) {};
        return bytes;
}

struct viommu_mapping_index *viommu_mapping_index_free(struct viommu_mapping_index *idx) {
        if (!idx)
                return NULL;
        viommu_mapping_index_remove_all(idx);
        return mfree(idx);
}

size_t viommu_mapping_index_count(const struct viommu_mapping_index *idx) {
        assert(idx);
        return idx->count;
}

uint64_t viommu_mapping_index_bytes(const struct viommu_mapping_index *idx) {
        assert(idx);
        return idx->bytes;
}

size_t viommu_mapping_index_memory(const struct viommu_mapping_index *idx) {
        assert(idx);
        return sizeof(*idx) + idx->n_leaves * sizeof(struct leaf) + idx->n_inner * sizeof(struct inner);
}

const struct viommu_mapping *viommu_mapping_index_lookup(const struct viommu_mapping_index *idx, uint64_t iova) {
        const struct viommu_mapping *m;
        const struct leaf *l;

        assert(idx);

        if (!idx->root)
                return NULL;

        l = descend(idx, iova, NULL);
        m = leaf_before(l, leaf_upper(l, iova));
        return m && mapping_holds(m, iova) ? m : NULL;
}

const struct viommu_mapping *viommu_mapping_index_find_first(
                const struct viommu_mapping_index *idx, uint64_t iova, uint64_t length) {

        assert(idx);

        if (length == 0)
                return NULL;
        return first_in(idx, iova, length - 1 > UINT64_MAX - iova ? UINT64_MAX : iova + (length - 1));
}

/* Puts item (of size bytes) at pos of an array of n items. */
static void array_insert(void *array, size_t size, unsigned n, unsigned pos, const void *item) {
        uint8_t *a = array;

        memmove(a + (pos + 1) * size, a + pos * size, (n - pos) * size);
        memcpy(a + pos * size, item, size);
}

static void array_delete(void *array, size_t size, unsigned n, unsigned pos, unsigned count) {
        uint8_t *a = array;

        memmove(a + pos * size, a + (pos + count) * size, (n - pos - count) * size);
}

/*
 * Splits the full leaf l to take m at pos, moving the upper part into the
 * empty leaf r; returns r's first start, the separator for the parent.
 */
static uint64_t leaf_split(struct leaf *l, struct leaf *r, unsigned pos, const struct viommu_mapping *m,
                           enum split_kind kind) {
        struct viommu_mapping all[LEAF_MAX + 1];
        unsigned s;

        memcpy(all, l->m, sizeof(l->m));
        array_insert(all, sizeof(all[0]), LEAF_MAX, pos, m);

        s = kind == SPLIT_APPEND ? LEAF_MAX :
            kind == SPLIT_PREPEND ? 1 : (LEAF_MAX + 1) / 2;

        memcpy(l->m, all, s * sizeof(all[0]));
        l->n = s;
        memcpy(r->m, all + s, (LEAF_MAX + 1 - s) * sizeof(all[0]));
        r->n = LEAF_MAX + 1 - s;

        r->prev = l;
        r->next = l->next;
        if (l->next)
                l->next->prev = r;
        l->next = r;

        return r->m[0].iova;
}

/* Adds child c, whose starts begin at key, at position pos of in (not full). */
static void inner_insert(struct inner *in, unsigned pos, uint64_t key, void *c) {
        assert(pos >= 1 && pos <= in->n);

        array_insert(in->key, sizeof(in->key[0]), in->n - 1, pos - 1, &key);
        array_insert(in->child, sizeof(in->child[0]), in->n, pos, &c);
        in->n++;
}

/* As leaf_split() for the full inner node l: r gets the upper part; returns
 * the separator between them. */
static uint64_t inner_split(struct inner *l, struct inner *r, unsigned pos, uint64_t key, void *c,
                            enum split_kind kind) {
        uint64_t keys[INNER_MAX];
        void *children[INNER_MAX + 1];
        unsigned s;

        memcpy(keys, l->key, sizeof(l->key));
        memcpy(children, l->child, sizeof(l->child));
        array_insert(keys, sizeof(keys[0]), INNER_MAX - 1, pos - 1, &key);
        array_insert(children, sizeof(children[0]), INNER_MAX, pos, &c);

        /* A prepend adds its new child at 1, next to the first one that keeps
         * taking the new mappings: those two stay, the full rest moves. */
        s = kind == SPLIT_APPEND && pos == INNER_MAX ? INNER_MAX :
            kind == SPLIT_PREPEND && pos == 1 ? 2 : (INNER_MAX + 1) / 2;

        memcpy(l->key, keys, (s - 1) * sizeof(keys[0]));
        memcpy(l->child, children, s * sizeof(children[0]));
        l->n = s;
        memcpy(r->key, keys + s, (INNER_MAX - s) * sizeof(keys[0]));
        memcpy(r->child, children + s, (INNER_MAX + 1 - s) * sizeof(children[0]));
        r->n = INNER_MAX + 1 - s;

        return keys[s - 1];
}

int viommu_mapping_index_insert(struct viommu_mapping_index *idx, const struct viommu_mapping *m) {
        struct inner *spare_inner[HEIGHT_MAX + 1] = {};
        unsigned n_spare_inner = 0, h;
        _cleanup_free_ struct leaf *spare_leaf = NULL;
        const struct viommu_mapping *neighbour;
        enum split_kind kind;
        struct path p;
        struct leaf *l;
        unsigned pos;
        uint64_t key;
        void *child;

        assert(idx);
        assert(m);

        if (m->length == 0 || m->length - 1 > UINT64_MAX - m->iova)
                return -EINVAL;

        if (!idx->root) {
                l = calloc(1, sizeof(*l));
                if (!l)
                        return -ENOMEM;
                l->m[0] = *m;
                l->n = 1;
                idx->root = l;
                idx->n_leaves = 1;
                goto done;
        }

        l = descend(idx, m->iova, &p);
        pos = leaf_upper(l, m->iova);

        neighbour = leaf_before(l, pos);
        if (neighbour && mapping_last(neighbour) >= m->iova)
                return -EEXIST;
        neighbour = leaf_at(l, pos);
        if (neighbour && neighbour->iova <= mapping_last(m))
                return -EEXIST;

        if (l->n < LEAF_MAX) {
                array_insert(l->m, sizeof(l->m[0]), l->n, pos, m);
                l->n++;
                goto done;
        }

        /* Allocate every node the split needs first, so that running out of
         * memory leaves the tree as it was. */
        spare_leaf = calloc(1, sizeof(struct leaf));
        if (!spare_leaf)
                return -ENOMEM;
        for (h = idx->height; h > 0 && p.node[h - 1]->n == INNER_MAX; h--)
                n_spare_inner++;
        if (h == 0) {
                if (idx->height == HEIGHT_MAX)
                        return -E2BIG;
                n_spare_inner++;        /* a new root */
        }
        for (unsigned i = 0; i < n_spare_inner; i++) {
                spare_inner[i] = calloc(1, sizeof(struct inner));
                if (!spare_inner[i]) {
                        for (unsigned j = 0; j < i; j++)
                                free(spare_inner[j]);
                        return -ENOMEM;
                }
        }

        kind = pos == LEAF_MAX && !l->next ? SPLIT_APPEND :
               pos == 0 && !l->prev ? SPLIT_PREPEND : SPLIT_MIDDLE;

        key = leaf_split(l, spare_leaf, pos, m, kind);
        child = TAKE_PTR(spare_leaf);
        idx->n_leaves++;

        for (h = idx->height; h > 0; h--) {
                struct inner *parent = p.node[h - 1], *r;
                unsigned cpos = p.ci[h - 1] + 1;

                if (parent->n < INNER_MAX) {
                        inner_insert(parent, cpos, key, child);
                        goto done;
                }

                r = spare_inner[--n_spare_inner];
                key = inner_split(parent, r, cpos, key, child, kind);
                child = r;
                idx->n_inner++;
        }

        /* The root split: a new root above it. */
        assert(n_spare_inner == 1);
        *spare_inner[0] = (struct inner) {
                .n = 2,
                .key[0] = key,
                .child = { idx->root, child },
        };
        idx->root = spare_inner[0];
        idx->height++;
        idx->n_inner++;

done:
        idx->count++;
        idx->bytes += m->length;
        return 0;
}

/* Drops child ci of in and the separator beside it. */
static void inner_drop(struct viommu_mapping_index *idx, struct inner *in, unsigned ci, bool leaf) {
        void *c = in->child[ci];

        if (leaf) {
                struct leaf *l = c;

                if (l->prev)
                        l->prev->next = l->next;
                if (l->next)
                        l->next->prev = l->prev;
                idx->n_leaves--;
        } else
                idx->n_inner--;
        free(c);

        if (in->n > 1)
                array_delete(in->key, sizeof(in->key[0]), in->n - 1, ci > 0 ? ci - 1 : 0, 1);
        array_delete(in->child, sizeof(in->child[0]), in->n, ci, 1);
        in->n--;
}

/* Merges leaves i and i+1 of parent if they fit in one, else evens them out. */
static void leaf_pair_fix(struct viommu_mapping_index *idx, struct inner *parent, unsigned i) {
        struct leaf *l = parent->child[i], *r = parent->child[i + 1];
        unsigned total = l->n + r->n, s;

        if (total <= LEAF_MAX) {
                memcpy(l->m + l->n, r->m, r->n * sizeof(r->m[0]));
                l->n = total;
                inner_drop(idx, parent, i + 1, true);
                return;
        }

        s = total / 2;
        if (l->n < s) {
                unsigned k = s - l->n;

                memcpy(l->m + l->n, r->m, k * sizeof(r->m[0]));
                array_delete(r->m, sizeof(r->m[0]), r->n, 0, k);
        } else {
                unsigned k = l->n - s;

                memmove(r->m + k, r->m, r->n * sizeof(r->m[0]));
                memcpy(r->m, l->m + s, k * sizeof(r->m[0]));
        }
        l->n = s;
        r->n = total - s;
        parent->key[i] = r->m[0].iova;
}

/* The same for inner nodes, whose separator comes down from the parent. */
static void inner_pair_fix(struct viommu_mapping_index *idx, struct inner *parent, unsigned i) {
        struct inner *l = parent->child[i], *r = parent->child[i + 1];
        uint64_t keys[2 * INNER_MAX - 1];
        void *children[2 * INNER_MAX];
        unsigned total = l->n + r->n, s;

        if (total <= INNER_MAX) {
                l->key[l->n - 1] = parent->key[i];
                memcpy(l->key + l->n, r->key, (r->n - 1) * sizeof(r->key[0]));
                memcpy(l->child + l->n, r->child, r->n * sizeof(r->child[0]));
                l->n = total;
                inner_drop(idx, parent, i + 1, false);
                return;
        }

        memcpy(keys, l->key, (l->n - 1) * sizeof(keys[0]));
        keys[l->n - 1] = parent->key[i];
        memcpy(keys + l->n, r->key, (r->n - 1) * sizeof(keys[0]));
        memcpy(children, l->child, l->n * sizeof(children[0]));
        memcpy(children + l->n, r->child, r->n * sizeof(children[0]));

        s = total / 2;
        memcpy(l->key, keys, (s - 1) * sizeof(keys[0]));
        memcpy(l->child, children, s * sizeof(children[0]));
        l->n = s;
        parent->key[i] = keys[s - 1];
        memcpy(r->key, keys + s, (total - s - 1) * sizeof(keys[0]));
        memcpy(r->child, children + s, (total - s) * sizeof(children[0]));
        r->n = total - s;
}

/*
 * After entries left the leaf at the end of path p: mends every node on the
 * way up that fell below half, then drops roots left with one child.
 */
static void rebalance(struct viommu_mapping_index *idx, const struct path *p) {
        for (unsigned h = idx->height; h > 0; h--) {
                struct inner *parent = p->node[h - 1];
                unsigned ci = p->ci[h - 1];
                bool leaf = h == idx->height;
                void *node = parent->child[ci];
                unsigned n = leaf ? ((struct leaf *) node)->n : ((struct inner *) node)->n;

                if (n >= (leaf ? LEAF_MIN : INNER_MIN))
                        return;

                if (n == 0)
                        inner_drop(idx, parent, ci, leaf);
                else if (parent->n > 1) {
                        unsigned i = ci > 0 ? ci - 1 : 0;

                        if (leaf)
                                leaf_pair_fix(idx, parent, i);
                        else
                                inner_pair_fix(idx, parent, i);
                }
                /* A node alone under its parent waits: the parent is below
                 * half too, and mending it brings siblings. */
        }

        while (idx->height > 0) {
                struct inner *root = idx->root;

                if (root->n > 1)
                        return;

                idx->root = root->n == 1 ? root->child[0] : NULL;
                idx->height = idx->root ? idx->height - 1 : 0;
                idx->n_inner--;
                free(root);
        }

        if (idx->root && ((struct leaf *) idx->root)->n == 0) {
                idx->root = mfree(idx->root);
                idx->n_leaves--;
        }
}

int viommu_mapping_index_remove(struct viommu_mapping_index *idx, uint64_t iova, uint64_t length, uint64_t *ret_bytes) {
        const struct leaf *head, *tail;
        const struct viommu_mapping *m;
        uint64_t last, key, bytes = 0;
        struct path p;

        assert(idx);

        if (length == 0)
                return -EINVAL;
        if (iova == 0 && length == UINT64_MAX)
                last = UINT64_MAX;
        else if (length - 1 > UINT64_MAX - iova)
                return -EINVAL;
        else
                last = iova + (length - 1);

        /* Check both ends before touching anything: in between, every
         * mapping lies wholly inside. */
        m = first_in(idx, iova, last);
        if (!m)
                return -ENOENT;
        if (m->iova < iova)
                return -EINVAL;
        key = m->iova;

        m = viommu_mapping_index_lookup(idx, last);
        if (m && mapping_last(m) > last)
                return -EINVAL;

        /* Everything goes? Then freeing beats rebalancing. */
        head = descend(idx, 0, NULL);
        tail = descend(idx, UINT64_MAX, NULL);
        if (key == head->m[0].iova && mapping_last(&tail->m[tail->n - 1]) <= last) {
                bytes = viommu_mapping_index_remove_all(idx);
                goto done;
        }

        for (;;) {
                struct leaf *l = descend(idx, key, &p);
                unsigned pos = leaf_upper(l, key) - 1, end;
                bool more;

                assert(l->m[pos].iova == key);

                for (end = pos; end < l->n && l->m[end].iova <= last; end++)
                        bytes += l->m[end].length;

                /* Read on before rebalancing moves things around. */
                more = end == l->n && l->next && l->next->m[0].iova <= last;
                if (more)
                        key = l->next->m[0].iova;

                array_delete(l->m, sizeof(l->m[0]), l->n, pos, end - pos);
                l->n -= end - pos;
                idx->count -= end - pos;
                rebalance(idx, &p);

                if (!more)
                        break;
        }
        idx->bytes -= bytes;

done:
        if (ret_bytes)
                *ret_bytes = bytes;
        return 0;
}

void viommu_mapping_index_iter_init(const struct viommu_mapping_index *idx, uint64_t iova, struct viommu_mapping_iter *ret) {
        const struct viommu_mapping *m;
        const struct leaf *l;
        unsigned pos;

        assert(idx);
        assert(ret);

        *ret = (struct viommu_mapping_iter) {};
        if (!idx->root)
                return;

        l = descend(idx, iova, NULL);
        pos = leaf_upper(l, iova);

        m = leaf_before(l, pos);
        if (m && mapping_holds(m, iova)) {
                if (pos > 0)
                        pos--;
                else {
                        l = l->prev;
                        pos = l->n - 1;
                }
        }
        *ret = (struct viommu_mapping_iter) { .leaf = l, .pos = pos };
}

const struct viommu_mapping *viommu_mapping_iter_next(struct viommu_mapping_iter *it) {
        const struct leaf *l;

        assert(it);

        l = it->leaf;
        while (l && it->pos >= l->n) {
                l = l->next;
                it->pos = 0;
        }
        it->leaf = l;
        if (!l)
                return NULL;
        return &l->m[it->pos++];
}

/* Checks the subtree under node, whose starts must lie in [lo, hi]. Leaves
 * must come in list order: *expect is the one due next. Adds up mappings,
 * bytes and inner nodes. */
static int verify_node(const void *node, unsigned height, uint64_t lo, uint64_t hi, bool root,
                       const struct leaf **expect, size_t *count, uint64_t *bytes, size_t *inner) {
        if (height == 0) {
                const struct leaf *l = node;

                if (l->n == 0 || l->n > LEAF_MAX || l != *expect)
                        return -EUCLEAN;
                for (unsigned i = 0; i < l->n; i++) {
                        const struct viommu_mapping *m = &l->m[i];

                        if (m->length == 0 || m->length - 1 > UINT64_MAX - m->iova)
                                return -EUCLEAN;
                        if (m->iova < lo || m->iova > hi)
                                return -EUCLEAN;
                        if (i > 0 && mapping_last(&l->m[i - 1]) >= m->iova)
                                return -EUCLEAN;
                        *bytes += m->length;
                }
                if (l->next && (l->next->prev != l || mapping_last(&l->m[l->n - 1]) >= l->next->m[0].iova))
                        return -EUCLEAN;
                *count += l->n;
                *expect = l->next;
                return 0;
        }

        const struct inner *in = node;

        if (in->n == 0 || in->n > INNER_MAX || (root && in->n < 2))
                return -EUCLEAN;
        (*inner)++;
        for (unsigned i = 0; i < in->n; i++) {
                uint64_t clo = i > 0 ? in->key[i - 1] : lo;
                uint64_t chi = i < in->n - 1 ? in->key[i] - 1 : hi;
                int r;

                if (i < in->n - 1 && (in->key[i] < lo || in->key[i] > hi || in->key[i] == 0))
                        return -EUCLEAN;
                if (i > 0 && i < in->n - 1 && in->key[i - 1] >= in->key[i])
                        return -EUCLEAN;
                r = verify_node(in->child[i], height - 1, clo, chi, false, expect, count, bytes, inner);
                if (r < 0)
                        return r;
        }
        return 0;
}

int viommu_mapping_index_verify(const struct viommu_mapping_index *idx) {
        const struct leaf *first;
        size_t count = 0, inner = 0;
        uint64_t bytes = 0;
        int r;

        assert(idx);

        if (!idx->root)
                return idx->count == 0 && idx->bytes == 0 && idx->height == 0 &&
                       idx->n_leaves == 0 && idx->n_inner == 0 ? 0 : -EUCLEAN;
        if (idx->height > HEIGHT_MAX)
                return -EUCLEAN;

        first = descend(idx, 0, NULL);
        if (first->prev)
                return -EUCLEAN;
        for (const struct leaf *l = first; l && count <= idx->n_leaves; l = l->next)
                count++;
        if (count != idx->n_leaves)
                return -EUCLEAN;

        count = 0;
        r = verify_node(idx->root, idx->height, 0, UINT64_MAX, true, &first, &count, &bytes, &inner);
        if (r < 0)
                return r;
        if (first || count != idx->count || bytes != idx->bytes || inner != idx->n_inner)
                return -EUCLEAN;
        return 0;
}

/* The compact encoding */

static uint8_t *put_varint(uint8_t *p, uint64_t v) {
        for (; v >= 0x80; v >>= 7)
                *p++ = (uint8_t) v | 0x80;
        *p++ = (uint8_t) v;
        return p;
}

/* -EINVAL past the end or for more than 64 bits. */
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret) {
        uint64_t v = 0;

        for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
                uint8_t b = *(*p)++;

                if (shift == 63 && b > 1)
                        return -EINVAL;
                v |= (uint64_t) (b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *ret = v;
                        return 0;
                }
        }
        return -EINVAL;
}

#define VARINT_MAX 10

int viommu_mapping_index_encode(const struct viommu_mapping_index *idx, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *buf = NULL;
        const struct viommu_mapping *m;
        struct viommu_mapping_iter it;
        uint64_t next = 0;
        uint8_t *p;

        assert(idx);
        assert(ret);
        assert(ret_size);

        buf = malloc(VARINT_MAX * (1 + 5 * idx->count));
        if (!buf)
                return -ENOMEM;
        p = put_varint(buf, idx->count);
        VIOMMU_MAPPING_INDEX_FOREACH(m, idx, it) {
                p = put_varint(p, m->iova - next);
                p = put_varint(p, m->length);
                p = put_varint(p, m->offset);
                p = put_varint(p, m->flags);
                /* NO_BACKING, the common case, in one byte. */
                p = put_varint(p, (uint32_t) (m->backing + 1));
                next = m->iova + m->length;
        }
        *ret_size = p - buf;
        *ret = TAKE_PTR(buf);
        return 0;
}

int viommu_mapping_index_decode(const void *data, size_t size, struct viommu_mapping_index **ret) {
        _cleanup_(viommu_mapping_index_freep) struct viommu_mapping_index *idx = NULL;
        const uint8_t *p = data, *end = p + size;
        uint64_t n, next = 0, v[5];
        bool at_top = false;
        int r;

        assert(data || size == 0);
        assert(ret);

        r = viommu_mapping_index_new(&idx);
        if (r < 0)
                return r;
        if (get_varint(&p, end, &n) < 0 || n > size)
                return -EINVAL;
        for (uint64_t i = 0; i < n; i++) {
                for (size_t k = 0; k < ELEMENTSOF(v); k++)
                        if (get_varint(&p, end, &v[k]) < 0)
                                return -EINVAL;
                /* In IOVA order, and nothing after one that ends at 2^64. */
                if (at_top || v[0] > UINT64_MAX - next || v[3] > UINT32_MAX || v[4] > UINT32_MAX)
                        return -EINVAL;
                r = viommu_mapping_index_insert(idx, &(struct viommu_mapping) {
                        .iova = next + v[0],
                        .length = v[1],
                        .offset = v[2],
                        .flags = v[3],
                        .backing = (uint32_t) v[4] - 1,
                });
                if (r == -EEXIST)
                        return -EINVAL;
                if (r < 0)
                        return r;
                next += v[0] + v[1];
                at_top = next == 0;
        }
        if (p != end)
                return -EINVAL;
        *ret = TAKE_PTR(idx);
        return 0;
}
