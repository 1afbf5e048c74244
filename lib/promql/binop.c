/* Binary operators: scalar/scalar, vector/scalar and vector matching
 * (one-to-one, many-to-one, one-to-many, and/or/unless), as Prometheus 2.42
 * engine.go (VectorBinop, VectorAnd/Or/Unless, resultMetric). */
#include <math.h>
#include <stdlib.h>

#include "eval_internal.h"

static bool drops_name(promql_binop op)
{
    switch (op) {
    case PROMQL_OP_ADD:
    case PROMQL_OP_SUB:
    case PROMQL_OP_MUL:
    case PROMQL_OP_DIV:
    case PROMQL_OP_POW:
    case PROMQL_OP_MOD:
        return true; /* not ATAN2: Prometheus 2.42 keeps the name there */
    default:
        return false;
    }
}

static double elem_binop(promql_binop op, double l, double r, bool *keep)
{
    *keep = true;
    switch (op) {
    case PROMQL_OP_ADD: return l + r;
    case PROMQL_OP_SUB: return l - r;
    case PROMQL_OP_MUL: return l * r;
    case PROMQL_OP_DIV: return l / r;
    case PROMQL_OP_POW: return pow(l, r);
    case PROMQL_OP_MOD: return fmod(l, r);
    case PROMQL_OP_ATAN2: return atan2(l, r);
    case PROMQL_OP_EQL: *keep = l == r; return l;
    case PROMQL_OP_NEQ: *keep = l != r; return l;
    case PROMQL_OP_GTR: *keep = l > r; return l;
    case PROMQL_OP_LSS: *keep = l < r; return l;
    case PROMQL_OP_GTE: *keep = l >= r; return l;
    case PROMQL_OP_LTE: *keep = l <= r; return l;
    default: *keep = false; return NAN;
    }
}

typedef struct rm_entry {
    const pq_lset *l, *r, *out;
} rm_entry;

typedef struct binctx {
    const promql_node *n;
    promql_binop op;
    bool ret_bool, swap;
    const promql_vector_matching *vm;
    pq_map sigs;     /* lset ptr -> signature */
    pq_map right;    /* signature -> index in rhs vec */
    pq_map matched;  /* signature (or signature x metric) -> 1 */
    pq_map rmidx;    /* hash(l, r) -> index in rm */
    rm_entry *rm;
    size_t nrm, caprm;
    pq_lb lb;
    uint64_t *sc[2];  /* per-side signature by input series index */
    uint8_t *known[2];
    size_t nsrc[2];
} binctx;

static bool in_list(char *const *names, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return true;
    return false;
}

static int signature(pq_query *q, binctx *c, const pq_lset *m, uint64_t *out)
{
    bool isnew;
    uint64_t *slot = pq_map_put(&c->sigs, pq_ptrkey(m), &isnew);
    if (!slot)
        return pq_oom(q);
    if (!isnew) {
        *out = *slot;
        return 0;
    }
    labels_label tmp[m->n ? m->n : 1];
    size_t k = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        const labels_label *l = &m->ls[i];
        bool listed = in_list(c->vm->labels, c->vm->n_labels, l->name, l->name_len);
        if (c->vm->on ? listed
                      : (!listed && !(l->name_len == 8 && memcmp(l->name, "__name__", 8) == 0)))
            tmp[k++] = *l;
    }
    *slot = labels_hash(tmp, k);
    *out = *slot;
    return 0;
}

/* Signature of sample i of a side's vector, cached by input series index. */
static int sig_at(pq_query *q, binctx *c, const pq_vec *v, int side, size_t i, uint64_t *out)
{
    uint32_t src = v->s[i].src;
    if (src < c->nsrc[side] && c->known[side][src]) {
        *out = c->sc[side][src];
        return 0;
    }
    PQ_TRY(signature(q, c, v->s[i].m, out));
    if (src < c->nsrc[side]) {
        c->sc[side][src] = *out;
        c->known[side][src] = 1;
    }
    return 0;
}

/* Go Labels.MatchLabels(on, names...) formatted with String(). */
static char *match_labels_str(pq_query *q, binctx *c, const pq_lset *m)
{
    labels_label tmp[m->n ? m->n : 1];
    size_t k = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        const labels_label *l = &m->ls[i];
        bool listed = in_list(c->vm->labels, c->vm->n_labels, l->name, l->name_len);
        bool isname = l->name_len == 8 && memcmp(l->name, "__name__", 8) == 0;
        if (c->vm->on == listed && (c->vm->on || !isname))
            tmp[k++] = *l;
    }
    pq_lset fake = {.ls = tmp, .n = (uint32_t)k};
    (void)q;
    return pq_lset_str(&fake);
}

static const pq_lset *result_metric(pq_query *q, binctx *c, const pq_lset *l, const pq_lset *r)
{
    uint64_t key = pq_ptrkey(l) * 0x9E3779B97F4A7C15ULL ^ pq_ptrkey(r);
    uint64_t *slot = pq_map_get(&c->rmidx, key);
    if (slot && c->rm[*slot].l == l && c->rm[*slot].r == r)
        return c->rm[*slot].out;
    if (pq_lb_reset(&c->lb, l) < 0)
        return NULL;
    if (drops_name(c->op))
        pq_lb_del(&c->lb, "__name__", 8);
    if (c->vm->card == PROMQL_CARD_ONE_TO_ONE) {
        if (c->vm->on)
            pq_lb_keep(&c->lb, c->vm->labels, c->vm->n_labels);
        else
            for (size_t i = 0; i < c->vm->n_labels; i++)
                pq_lb_del(&c->lb, c->vm->labels[i], strlen(c->vm->labels[i]));
    }
    for (size_t i = 0; i < c->vm->n_include; i++) {
        const char *ln = c->vm->include[i];
        size_t vl = 0;
        const char *v = pq_lget(r, ln, &vl);
        if (v && vl) {
            if (pq_lb_set(&c->lb, ln, strlen(ln), v, vl) < 0)
                return NULL;
        } else {
            pq_lb_del(&c->lb, ln, strlen(ln));
        }
    }
    const pq_lset *out = pq_lb_intern(q, &c->lb);
    if (!out)
        return NULL;
    if (!slot) {
        bool isnew;
        slot = pq_map_put(&c->rmidx, key, &isnew);
        if (!slot)
            return NULL;
        if (c->nrm == c->caprm) {
            size_t nc = c->caprm ? c->caprm * 2 : 64;
            rm_entry *ne = realloc(c->rm, nc * sizeof *ne);
            if (!ne)
                return NULL;
            c->rm = ne;
            c->caprm = nc;
        }
        c->rm[c->nrm] = (rm_entry){l, r, out};
        *slot = c->nrm++;
    }
    return out;
}

static int step_vector_scalar(pq_ev *ev, void *ctx, pq_vec *in, size_t nin, int64_t ts, size_t step,
                              pq_vec *out)
{
    binctx *c = ctx;
    pq_vec *vec = c->swap ? &in[1] : &in[0];
    double sc = c->swap ? in[0].s[0].v : in[1].s[0].v;
    bool cmp = promql_binop_is_comparison(c->op);
    for (size_t i = 0; i < vec->n; i++) {
        double lv = vec->s[i].v, rv = sc;
        if (c->swap) {
            lv = sc;
            rv = vec->s[i].v;
        }
        bool keep;
        double val = elem_binop(c->op, lv, rv, &keep);
        if (cmp && c->swap)
            val = rv;
        if (c->ret_bool)
            val = keep ? 1.0 : 0.0;
        else if (!keep)
            continue;
        const pq_lset *m = vec->s[i].m;
        if (drops_name(c->op) || c->ret_bool) {
            m = pq_noname(ev->q, m);
            if (!m)
                return pq_oom(ev->q);
        }
        if (pq_vec_push(out, m, val, ts) < 0)
            return pq_oom(ev->q);
    }
    return 0;
}

static int step_set(pq_ev *ev, void *ctx, pq_vec *in, size_t nin, int64_t ts, size_t step,
                    pq_vec *out)
{
    binctx *c = ctx;
    pq_query *q = ev->q;
    pq_vec *l = &in[0], *r = &in[1];
    bool isnew;
    uint64_t sig;
    if (c->op == PROMQL_OP_AND) {
        if (!l->n || !r->n)
            return 0;
    } else if (c->op == PROMQL_OP_OR) {
        if (!l->n || !r->n) {
            pq_vec *src = l->n ? l : r;
            for (size_t i = 0; i < src->n; i++)
                if (pq_vec_push(out, src->s[i].m, src->s[i].v, ts) < 0)
                    return pq_oom(q);
            return 0;
        }
    } else { /* unless */
        if (!l->n || !r->n) {
            for (size_t i = 0; i < l->n; i++)
                if (pq_vec_push(out, l->s[i].m, l->s[i].v, ts) < 0)
                    return pq_oom(q);
            return 0;
        }
    }
    pq_map_clear(&c->right);
    pq_vec *setside = c->op == PROMQL_OP_OR ? l : r;
    int sside = c->op == PROMQL_OP_OR ? 0 : 1;
    for (size_t i = 0; i < setside->n; i++) {
        PQ_TRY(sig_at(q, c, setside, sside, i, &sig));
        if (!pq_map_put(&c->right, sig, &isnew))
            return pq_oom(q);
        if (c->op == PROMQL_OP_OR && pq_vec_push(out, l->s[i].m, l->s[i].v, ts) < 0)
            return pq_oom(q);
    }
    pq_vec *scan = c->op == PROMQL_OP_OR ? r : l;
    for (size_t i = 0; i < scan->n; i++) {
        PQ_TRY(sig_at(q, c, scan, 1 - sside, i, &sig));
        bool found = pq_map_get(&c->right, sig) != NULL;
        bool take = c->op == PROMQL_OP_AND ? found : !found;
        if (take && pq_vec_push(out, scan->s[i].m, scan->s[i].v, ts) < 0)
            return pq_oom(q);
    }
    return 0;
}

static int step_vector_vector(pq_ev *ev, void *ctx, pq_vec *in, size_t nin, int64_t ts, size_t step,
                              pq_vec *out)
{
    binctx *c = ctx;
    pq_query *q = ev->q;
    pq_vec *lhs = &in[0], *rhs = &in[1];
    if (!lhs->n || !rhs->n)
        return 0;
    bool otm = c->vm->card == PROMQL_CARD_ONE_TO_MANY;
    if (otm) {
        pq_vec *t = lhs;
        lhs = rhs;
        rhs = t;
    }
    pq_map_clear(&c->right);
    pq_map_clear(&c->matched);
    uint64_t sig;
    bool isnew;
    int lside = otm ? 1 : 0;
    for (size_t i = 0; i < rhs->n; i++) {
        PQ_TRY(sig_at(q, c, rhs, 1 - lside, i, &sig));
        uint64_t *slot = pq_map_put(&c->right, sig, &isnew);
        if (!slot)
            return pq_oom(q);
        if (!isnew) {
            char *ml = match_labels_str(q, c, rhs->s[i].m);
            char *a = pq_lset_str(rhs->s[i].m), *b = pq_lset_str(rhs->s[*slot].m);
            int rc = pq_errorf(q, -EINVAL,
                               "found duplicate series for the match group %s on the %s hand-side of the "
                               "operation: [%s, %s];many-to-many matching not allowed: matching labels "
                               "must be unique on one side",
                               ml ? ml : "", otm ? "left" : "right", a ? a : "", b ? b : "");
            free(ml);
            free(a);
            free(b);
            return rc;
        }
        *slot = i;
    }
    for (size_t i = 0; i < lhs->n; i++) {
        PQ_TRY(sig_at(q, c, lhs, lside, i, &sig));
        uint64_t *slot = pq_map_get(&c->right, sig);
        if (!slot)
            continue;
        pq_sample *rs = &rhs->s[*slot], *ls = &lhs->s[i];
        double vl = ls->v, vr = rs->v;
        if (otm) {
            vl = rs->v;
            vr = ls->v;
        }
        bool keep;
        double val = elem_binop(c->op, vl, vr, &keep);
        if (c->ret_bool)
            val = keep ? 1.0 : 0.0;
        else if (!keep)
            continue;
        const pq_lset *m = result_metric(q, c, ls->m, rs->m);
        if (m && c->ret_bool)
            m = pq_noname(q, m);
        if (!m)
            return pq_oom(q);
        if (c->vm->card == PROMQL_CARD_ONE_TO_ONE) {
            if (!pq_map_put(&c->matched, sig, &isnew))
                return pq_oom(q);
            if (!isnew)
                return pq_errorf(q, -EINVAL,
                                 "multiple matches for labels: many-to-one matching must be explicit "
                                 "(group_left/group_right)");
        } else {
            uint64_t key = sig * 0x9E3779B97F4A7C15ULL ^ m->hash;
            if (!pq_map_put(&c->matched, key, &isnew))
                return pq_oom(q);
            if (!isnew)
                return pq_errorf(q, -EINVAL,
                                 "multiple matches for labels: grouping labels must ensure unique matches");
        }
        if (pq_vec_push(out, m, val, ts) < 0)
            return pq_oom(q);
    }
    return 0;
}

typedef struct vsctx {
    promql_binop op;
    bool swap, ret_bool, cmp;
    const double *sv;
} vsctx;

static bool point_vector_scalar(void *ctx, size_t step, int64_t t, double v, double *out)
{
    vsctx *c = ctx;
    double lv = v, rv = c->sv[step];
    if (c->swap) {
        lv = c->sv[step];
        rv = v;
    }
    bool keep;
    double val = elem_binop(c->op, lv, rv, &keep);
    if (c->cmp && c->swap)
        val = rv;
    if (c->ret_bool)
        val = keep ? 1.0 : 0.0;
    else if (!keep)
        return false;
    *out = val;
    return true;
}

int pq_eval_binary(pq_ev *ev, const promql_node *n, pq_val *out)
{
    pq_query *q = ev->q;
    pq_val args[2] = {{0}, {0}};
    int rc = pq_eval(ev, n->binary.lhs, &args[0]);
    if (rc >= 0)
        rc = pq_eval(ev, n->binary.rhs, &args[1]);
    binctx c = {.n = n, .op = n->binary.op, .ret_bool = n->binary.return_bool, .vm = n->binary.matching};
    if (rc < 0)
        goto done;
    if (args[0].kind == PQ_SCALAR && args[1].kind == PQ_SCALAR) {
        *out = args[0];
        memset(&args[0], 0, sizeof args[0]);
        for (size_t k = 0; k < ev->nsteps; k++) {
            bool keep;
            double v = elem_binop(c.op, out->sv[k], args[1].sv[k], &keep);
            if (promql_binop_is_comparison(c.op))
                v = keep ? 1.0 : 0.0;
            out->sv[k] = v;
        }
        goto done;
    }
    if (args[0].kind == PQ_VECTOR && args[1].kind == PQ_VECTOR) {
        static const promql_vector_matching dflt = {.card = PROMQL_CARD_ONE_TO_ONE};
        static const promql_vector_matching dflt_set = {.card = PROMQL_CARD_MANY_TO_MANY};
        if (!c.vm)
            c.vm = promql_binop_is_set(c.op) ? &dflt_set : &dflt;
        for (int side = 0; side < 2; side++) {
            c.nsrc[side] = args[side].ns;
            c.sc[side] = malloc((args[side].ns + 1) * sizeof(uint64_t));
            c.known[side] = calloc(args[side].ns + 1, 1);
            if (!c.sc[side] || !c.known[side]) {
                rc = pq_oom(q);
                goto done;
            }
        }
        if (promql_binop_is_set(c.op))
            rc = pq_range_eval(ev, args, 2, step_set, &c, out);
        else
            rc = pq_range_eval(ev, args, 2, step_vector_vector, &c, out);
        goto done;
    }
    if (args[0].kind == PQ_VECTOR && args[1].kind == PQ_SCALAR) {
        c.swap = false;
    } else if (args[0].kind == PQ_SCALAR && args[1].kind == PQ_VECTOR) {
        c.swap = true;
    } else {
        rc = pq_errorf(q, -EINVAL, "invalid operand types for binary operator %s",
                       promql_binop_str(c.op));
        goto done;
    }
    {
        /* series-wise unless dropping the name makes two series collide */
        pq_val *vec = &args[c.swap ? 1 : 0];
        vsctx vc = {.op = c.op, .swap = c.swap, .ret_bool = c.ret_bool,
                    .cmp = promql_binop_is_comparison(c.op), .sv = args[c.swap ? 0 : 1].sv};
        rc = pq_map_series(ev, vec, drops_name(c.op) || c.ret_bool, point_vector_scalar, &vc);
        if (rc == 0) {
            *out = *vec;
            memset(vec, 0, sizeof *vec);
            goto done;
        }
    }
    if (rc == 1)
        rc = pq_range_eval(ev, args, 2, step_vector_scalar, &c, out);
done:
    pq_val_release(q, &args[0]);
    pq_val_release(q, &args[1]);
    pq_map_free(&c.sigs);
    pq_map_free(&c.right);
    pq_map_free(&c.matched);
    pq_map_free(&c.rmidx);
    free(c.rm);
    pq_lb_free(&c.lb);
    for (int side = 0; side < 2; side++) {
        free(c.sc[side]);
        free(c.known[side]);
    }
    return rc;
}
