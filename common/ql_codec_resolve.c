/*
 * ql_codec_resolve: the resolvers from each writer schema to the newest
 * one (Avro specification, "Schema Resolution"), built at load time.
 */
#include "ql_codec.h"

#include <avro.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_codec_private.h"
#include "ql_time.h"

/*------------------------------------------------------------------------
 * Resolvers: how to read data written with one schema node as another
 * (Avro specification, "Schema Resolution").  Built once per writer schema
 * and memoised per node pair, so recursive types give cyclic resolvers.
 */

void codec_res_set_clear(res_set_t *set)
{
        for (size_t i = 0; i < set->n; i++) {
                free(set->v[i]->fields);
                free(set->v[i]->symbol_map);
                free(set->v[i]->branches);
                free(set->v[i]);
        }
        free(set->v);
        memset(set, 0, sizeof(*set));
}

static res_t *res_new(res_set_t *set, res_kind_t kind, const sch_node_t *w,
                      const sch_node_t *r, walk_t *wk)
{
        if (set->n == set->cap) {
                size_t cap = set->cap ? set->cap * 2 : 64;
                res_t **v = realloc(set->v, cap * sizeof(*v));
                if (!v)
                        return codec_walk_fail(wk, "out of memory"), NULL;
                set->v = v;
                set->cap = cap;
        }
        res_t *rs = calloc(1, sizeof(*rs));
        if (!rs)
                return codec_walk_fail(wk, "out of memory"), NULL;
        rs->kind = kind;
        rs->w = w;
        rs->r = r;
        set->v[set->n++] = rs;
        return rs;
}

static int names_match(const sch_node_t *w, const sch_node_t *r)
{
        if (strcmp(w->fullname, r->fullname) == 0 ||
            strcmp(codec_unqualified(w->fullname),
                   codec_unqualified(r->fullname)) == 0)
                return 1;
        for (size_t i = 0; i < r->n_aliases; i++)
                if (strcmp(r->aliases[i], w->fullname) == 0)
                        return 1;
        return 0;
}

static int promotable(sch_type_t w, sch_type_t r)
{
        return (w == SCH_INT &&
                (r == SCH_LONG || r == SCH_FLOAT || r == SCH_DOUBLE)) ||
               (w == SCH_LONG && (r == SCH_FLOAT || r == SCH_DOUBLE)) ||
               (w == SCH_FLOAT && r == SCH_DOUBLE) ||
               (w == SCH_STRING && r == SCH_BYTES) ||
               (w == SCH_BYTES && r == SCH_STRING);
}

const char *codec_node_name(const sch_node_t *n)
{
        return n->fullname ? n->fullname : codec_sch_type_names[n->type];
}

res_t *codec_resolve(res_set_t *set, const sch_node_t *w, const sch_node_t *r,
                     walk_t *wk);

static res_t *resolve_record(res_set_t *set, res_t *rs, walk_t *wk)
{
        const sch_node_t *w = rs->w, *r = rs->r;
        rs->n_fields = r->n_fields;
        rs->fields = calloc(r->n_fields ? r->n_fields : 1, sizeof(res_field_t));
        if (!rs->fields)
                return codec_walk_fail(wk, "out of memory"), NULL;
        for (size_t i = 0; i < r->n_fields; i++) {
                const sch_field_t *rf = &r->fields[i];
                res_field_t *f = &rs->fields[i];
                f->name = rf->name;
                f->name_len = strlen(rf->name);
                f->windex = -1;
                for (size_t k = 0; k < w->n_fields && f->windex < 0; k++) {
                        if (strcmp(w->fields[k].name, rf->name) == 0)
                                f->windex = (int)k;
                        for (size_t a = 0; a < rf->n_aliases; a++)
                                if (strcmp(w->fields[k].name, rf->aliases[a]) ==
                                    0)
                                        f->windex = (int)k;
                }
                if (f->windex >= 0) {
                        f->res = codec_resolve(set, w->fields[f->windex].type,
                                               rf->type, wk);
                        if (!f->res)
                                return codec_walk_up_name(wk, rf->name), NULL;
                } else if (rf->dflt) {
                        f->dflt = rf->dflt;
                } else {
                        codec_walk_fail(wk, "not in the writer's schema and "
                                            "without a default");
                        return codec_walk_up_name(wk, rf->name), NULL;
                }
        }
        return rs;
}

static res_t *resolve_enum(res_t *rs, walk_t *wk)
{
        const sch_node_t *w = rs->w, *r = rs->r;
        rs->symbol_map = calloc(w->n_symbols ? w->n_symbols : 1, sizeof(int));
        if (!rs->symbol_map)
                return codec_walk_fail(wk, "out of memory"), NULL;
        for (size_t i = 0; i < w->n_symbols; i++) {
                rs->symbol_map[i] = r->enum_default;
                for (size_t k = 0; k < r->n_symbols; k++)
                        if (strcmp(w->symbols[i], r->symbols[k]) == 0)
                                rs->symbol_map[i] = (int)k;
        }
        return rs;
}

/* The reader union branch a writer node is read as: the first of the same
 * type (and name), else the first it promotes to; -1 if none. */
static int reader_branch(const sch_node_t *w, const sch_node_t *r)
{
        for (size_t i = 0; i < r->n_branches; i++) {
                const sch_node_t *b = r->branches[i];
                if (b->type == w->type && (!w->fullname || names_match(w, b)))
                        return (int)i;
        }
        for (size_t i = 0; i < r->n_branches; i++)
                if (promotable(w->type, r->branches[i]->type))
                        return (int)i;
        return -1;
}

res_t *codec_resolve(res_set_t *set, const sch_node_t *w, const sch_node_t *r,
                     walk_t *wk)
{
        for (size_t i = 0; i < set->n; i++)
                if (set->v[i]->w == w && set->v[i]->r == r)
                        return set->v[i]->failed
                                   ? (codec_walk_fail(wk,
                                                      "%s cannot be read as %s",
                                                      codec_node_name(w),
                                                      codec_node_name(r)),
                                      NULL)
                                   : set->v[i];
        if (++wk->depth > CODEC_MAX_DEPTH) {
                wk->depth--;
                return codec_walk_fail(wk, "schema nested too deeply"), NULL;
        }
        res_t *rs = NULL, *ok = NULL;
        if (w->type == SCH_UNION) {
                if (!(rs = res_new(set, RES_WUNION, w, r, wk)))
                        goto out;
                rs->branches =
                    calloc(w->n_branches ? w->n_branches : 1, sizeof(res_t *));
                if (!rs->branches) {
                        codec_walk_fail(wk, "out of memory");
                        goto out;
                }
                size_t readable = 0;
                for (size_t i = 0; i < w->n_branches; i++) {
                        rs->branches[i] =
                            codec_resolve(set, w->branches[i], r, wk);
                        readable += rs->branches[i] != NULL;
                }
                /* A writer branch the reader cannot read is an error only
                 * for the data that uses it; none readable is an error. */
                if (readable || w->n_branches == 0)
                        ok = rs;
        } else if (r->type == SCH_UNION) {
                int b = reader_branch(w, r);
                if (b < 0) {
                        codec_walk_fail(wk,
                                        "%s is none of the reader's %zu union "
                                        "branches",
                                        codec_node_name(w), r->n_branches);
                        goto out;
                }
                if (!(rs = res_new(set, RES_RUNION, w, r, wk)))
                        goto out;
                if ((rs->inner = codec_resolve(set, w, r->branches[b], wk)))
                        ok = rs;
        } else if (w->type != r->type) {
                if (promotable(w->type, r->type))
                        ok = rs = res_new(set, RES_PRIM, w, r, wk);
                else
                        codec_walk_fail(wk, "%s cannot be read as %s",
                                        codec_node_name(w), codec_node_name(r));
        } else if (w->fullname && !names_match(w, r)) {
                codec_walk_fail(wk, "%s cannot be read as %s", w->fullname,
                                r->fullname);
        } else {
                switch (w->type) {
                case SCH_RECORD:
                        if ((rs = res_new(set, RES_RECORD, w, r, wk)))
                                ok = resolve_record(set, rs, wk);
                        break;
                case SCH_ENUM:
                        if ((rs = res_new(set, RES_ENUM, w, r, wk)))
                                ok = resolve_enum(rs, wk);
                        break;
                case SCH_ARRAY:
                case SCH_MAP: {
                        res_kind_t k =
                            w->type == SCH_ARRAY ? RES_ARRAY : RES_MAP;
                        if (!(rs = res_new(set, k, w, r, wk)))
                                break;
                        if ((rs->inner =
                                 codec_resolve(set, w->items, r->items, wk)))
                                ok = rs;
                        else
                                codec_walk_up_name(wk, "[]");
                        break;
                }
                case SCH_FIXED:
                        if (w->fixed_size != r->fixed_size)
                                codec_walk_fail(wk, "fixed %s changed size",
                                                w->fullname);
                        else
                                ok = rs = res_new(set, RES_FIXED, w, r, wk);
                        break;
                default:
                        ok = rs = res_new(set, RES_PRIM, w, r, wk);
                        break;
                }
        }
out:
        wk->depth--;
        if (rs && !ok)
                rs->failed = 1;
        return ok;
}
