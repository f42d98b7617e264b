/* SPDX-License-Identifier: Apache-2.0 */
/* The LP bound of policy "optimal": the LP relaxation of the time-indexed placement of all jobs at
 * once, solved with GLPK by column generation with lazy rows. Every job has an "unplaced" slack
 * with a large penalty, so the LP is always feasible; the first columns are each job's cheapest
 * option and a greedy capacity-feasible placement (lp_greedy.c). A column is one placement of one
 * job (a window, or a set of k slots of an interruptible job), so the job rows are convexity rows
 * and the LP is the convex hull of the jobs' placements under capacity. Each round solves, adds
 * the capacity and power chains of the resources the solution overloads and prices new columns
 * against the duals (lp_price.c). When a round adds nothing, the restricted LP's optimum is the
 * full LP's: a lower bound on the objective of any integer placement. A round limit turns a stall
 * into CPN_ESOLVER, never into a wrong bound. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched/lp_int.h"

/* Solve-price rounds before giving up. */
#define LP_MAX_ROUNDS 200
/* Relative gap between the restricted LP's objective and the Lagrangian bound at which column
 * generation stops early (its tail adds columns that barely move the objective). */
#define LP_GAP 1e-4
/* Options per job whose best columns enter the LP in one pricing round. */
#define LP_KEEP_PER_JOB 3
/* Share of a resource's limit that the greedy placement must reach in some slot for the resource
 * to get its chain before the first solve. */
#define LP_CHAIN_SHARE 0.9
/* Overload (relative, and absolute below 1) that makes a resource's chain enter. */
#define LP_ROW_TOL 1e-9

static const char *glp_ret_name(int r)
{
    switch (r) {
    case GLP_EBADB:
        return "GLP_EBADB (invalid basis)";
    case GLP_ESING:
        return "GLP_ESING (singular basis matrix)";
    case GLP_ECOND:
        return "GLP_ECOND (ill-conditioned basis matrix)";
    case GLP_EBOUND:
        return "GLP_EBOUND (invalid bounds)";
    case GLP_EFAIL:
        return "GLP_EFAIL (solver failure)";
    case GLP_EOBJLL:
        return "GLP_EOBJLL (objective lower limit reached)";
    case GLP_EOBJUL:
        return "GLP_EOBJUL (objective upper limit reached)";
    case GLP_EITLIM:
        return "GLP_EITLIM (iteration limit exceeded)";
    case GLP_ETMLIM:
        return "GLP_ETMLIM (time limit exceeded)";
    case GLP_ENOPFS:
        return "GLP_ENOPFS (no primal feasible solution)";
    case GLP_ENODFS:
        return "GLP_ENODFS (no dual feasible solution)";
    default:
        return "an unknown GLPK return code";
    }
}

static const char *glp_status_name(int s)
{
    switch (s) {
    case GLP_OPT:
        return "GLP_OPT";
    case GLP_FEAS:
        return "GLP_FEAS (feasible, not proven optimal)";
    case GLP_INFEAS:
        return "GLP_INFEAS";
    case GLP_NOFEAS:
        return "GLP_NOFEAS (no feasible solution)";
    case GLP_UNBND:
        return "GLP_UNBND (unbounded)";
    case GLP_UNDEF:
        return "GLP_UNDEF (undefined)";
    default:
        return "an unknown GLPK status";
    }
}

static int nomem(struct cpn_error *err, const struct lp *L)
{
    return cpn_errorf(err, -ENOMEM, "lp: out of memory with %zu columns generated", L->ncols);
}

/* Index and value scratch for n entries (GLPK arrays are 1-based). */
static int ensure_iv(struct lp *L, size_t n)
{
    size_t cap = L->iv_cap;
    if (n + 1 <= cap)
        return 0;
    if (cpn_grow(&L->ind, &cap, n + 1, sizeof *L->ind))
        return -ENOMEM;
    cap = L->iv_cap;
    if (cpn_grow(&L->val, &cap, n + 1, sizeof *L->val))
        return -ENOMEM;
    L->iv_cap = cap;
    return 0;
}

static int slack_col(size_t j)
{
    return (int)j + 1;
}

/* Adds candidates [0, n) as columns, with their entries in the job row and the chains. */
static int add_cols(struct lp *L, size_t n)
{
    size_t ns = (size_t)L->nslots, m = 0;
    int first;
    /* drop candidates already in the LP (the cheapest option may be the greedy one) */
    for (size_t i = 0; i < n; i++) {
        const struct lp_cand *cd = &L->cand[i];
        if (lp_find(L, cd->opt, L->cruns + cd->run_off, cd->nruns) < 0)
            L->cand[m++] = *cd;
    }
    n = m;
    if (n == 0)
        return 0;
    if (cpn_grow(&L->cols, &L->cols_cap, L->ncols + n, sizeof *L->cols))
        return -ENOMEM;
    first = glp_add_cols(L->prob, (int)n);
    for (size_t i = 0; i < n; i++) {
        const struct lp_cand *cd = &L->cand[i];
        const struct lp_opt *o = &L->opts[cd->opt];
        struct lp_col *c = &L->cols[L->ncols];
        const struct cpn_slot_run *runs;
        size_t r[2];
        double coef[2];
        int len = 0, j = first + (int)i;
        if (cpn_grow(&L->runs, &L->runs_cap, L->nruns + cd->nruns, sizeof *L->runs) ||
            ensure_iv(L, 1 + 4 * (size_t)cd->nruns))
            return -ENOMEM;
        memcpy(L->runs + L->nruns, L->cruns + cd->run_off, cd->nruns * sizeof *L->runs);
        c->gcol = j;
        c->opt = cd->opt;
        c->run_off = (uint32_t)L->nruns;
        c->nruns = cd->nruns;
        L->nruns += cd->nruns;
        runs = L->runs + c->run_off;
        lp_runs_costs(L, cd->opt, runs, c->nruns, c);
        if (lp_put(L, (int32_t)L->ncols))
            return -ENOMEM;
        L->ncols++;
        L->ind[++len] = L->jobs[o->job].row;
        L->val[len] = 1.0;
        lp_opt_res(L, o, r, coef);
        for (int q = 0; q < 2; q++) {
            const int *row = L->res_row + r[q] * ns;
            if (!row[0])
                continue;
            for (uint32_t k = 0; k < c->nruns; k++) {
                size_t e = (size_t)(runs[k].start + runs[k].len);
                L->ind[++len] = row[runs[k].start];
                L->val[len] = -coef[q];
                if (e < ns) {
                    L->ind[++len] = row[e];
                    L->val[len] = coef[q];
                }
            }
        }
        glp_set_mat_col(L->prob, j, len, L->ind, L->val);
        glp_set_obj_coef(L->prob, j, c->obj);
        glp_set_col_bnds(L->prob, j, GLP_LO, 0.0, 0.0);
    }
    return 0;
}

static bool overloaded(double use, double cap)
{
    return use > cap + LP_ROW_TOL * (cap > 1 ? cap : 1);
}

/* Resource use per slot of the current solution, into L->use. */
static void solution_use(struct lp *L)
{
    size_t ns = (size_t)L->nslots;
    memset(L->use, 0, L->nres * ns * sizeof *L->use);
    for (size_t i = 0; i < L->ncols; i++) {
        const struct lp_col *c = &L->cols[i];
        const struct cpn_slot_run *runs = L->runs + c->run_off;
        size_t r[2];
        double coef[2];
        if (!(L->x[i] > 1e-12))
            continue;
        lp_opt_res(L, &L->opts[c->opt], r, coef);
        for (uint32_t k = 0; k < c->nruns; k++) {
            for (int32_t t = runs[k].start; t < runs[k].start + runs[k].len; t++) {
                L->use[r[0] * ns + (size_t)t] += coef[0] * L->x[i];
                L->use[r[1] * ns + (size_t)t] += coef[1] * L->x[i];
            }
        }
    }
}

/* Adds the chain of every limited resource whose use in L->use reaches share x its limit (above
 * it when share is 1) in some slot; *added counts the rows. */
static int add_chains(struct lp *L, double share, int *added)
{
    size_t ns = (size_t)L->nslots, nnew = 0, total = 0;
    int r0 = glp_get_num_rows(L->prob), *cnt = NULL, *pos = NULL, *ind = NULL;
    double *val = NULL;
    for (size_t r = 0; r < L->nres; r++) {
        double lim = lp_res_limit(L, r);
        bool over = false;
        if (lim <= 0 || L->res_row[r * ns] != 0)
            continue;
        for (size_t t = 0; t < ns && !over; t++)
            over =
                share < 1 ? L->use[r * ns + t] >= share * lim : overloaded(L->use[r * ns + t], lim);
        if (!over)
            continue;
        {
            int row0 = glp_add_rows(L->prob, (int)ns), col0 = glp_add_cols(L->prob, (int)ns);
            for (size_t t = 0; t < ns; t++) {
                L->res_row[r * ns + t] = row0 + (int)t;
                L->res_load[r * ns + t] = col0 + (int)t;
                glp_set_row_bnds(L->prob, row0 + (int)t, GLP_FX, 0.0, 0.0);
                glp_set_col_bnds(L->prob, col0 + (int)t, GLP_DB, 0.0, lim);
            }
        }
        nnew += ns;
    }
    *added += (int)nnew;
    if (nnew == 0)
        return 0;
    /* the entries of the new rows: loads, then every column touching them, counted then filled */
    cnt = cpn_calloc(nnew + 1, sizeof *cnt);
    pos = cpn_calloc(nnew + 1, sizeof *pos);
    if (!cnt || !pos)
        goto nomem;
    for (int pass = 0; pass < 2; pass++) {
#define LP_ENTRY(row_, col_, v_)                                                                   \
    do {                                                                                           \
        size_t k_ = (size_t)((row_)-r0 - 1);                                                       \
        if (pass == 0) {                                                                           \
            cnt[k_]++;                                                                             \
        } else {                                                                                   \
            int at_ = ++pos[k_];                                                                   \
            ind[at_] = (col_);                                                                     \
            val[at_] = (v_);                                                                       \
        }                                                                                          \
    } while (0)
        for (size_t r = 0; r < L->nres; r++) {
            const int *row = L->res_row + r * ns, *load = L->res_load + r * ns;
            if (!row[0] || row[0] <= r0)
                continue;
            for (size_t t = 0; t < ns; t++) {
                LP_ENTRY(row[t], load[t], 1.0);
                if (t + 1 < ns)
                    LP_ENTRY(row[t + 1], load[t], -1.0);
            }
        }
        for (size_t i = 0; i < L->ncols; i++) {
            const struct lp_col *c = &L->cols[i];
            const struct cpn_slot_run *runs = L->runs + c->run_off;
            size_t r[2];
            double coef[2];
            lp_opt_res(L, &L->opts[c->opt], r, coef);
            for (int q = 0; q < 2; q++) {
                const int *row = L->res_row + r[q] * ns;
                if (row[0] <= r0)
                    continue;
                for (uint32_t k = 0; k < c->nruns; k++) {
                    size_t e = (size_t)(runs[k].start + runs[k].len);
                    LP_ENTRY(row[runs[k].start], c->gcol, -coef[q]);
                    if (e < ns)
                        LP_ENTRY(row[e], c->gcol, coef[q]);
                }
            }
        }
#undef LP_ENTRY
        if (pass == 0) {
            for (size_t k = 0; k < nnew; k++) {
                pos[k] = (int)total;
                total += (size_t)cnt[k];
            }
            ind = cpn_calloc(total + 1, sizeof *ind);
            val = cpn_calloc(total + 1, sizeof *val);
            if (!ind || !val)
                goto nomem;
        }
    }
    for (size_t k = 0, off = 0; k < nnew; off += (size_t)cnt[k], k++)
        glp_set_mat_row(L->prob, r0 + 1 + (int)k, cnt[k], ind + off, val + off);
    cpn_free(cnt);
    cpn_free(pos);
    cpn_free(ind);
    cpn_free(val);
    return 0;
nomem:
    cpn_free(cnt);
    cpn_free(pos);
    cpn_free(ind);
    cpn_free(val);
    return -ENOMEM;
}

static int solve(struct lp *L, int meth, int round, struct cpn_error *err)
{
    glp_smcp parm;
    int r, st;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.meth = meth;
    parm.presolve = GLP_OFF;
    /* Units (up to millions of cores) and money per column differ by many orders of magnitude:
     * scale rows and columns so that the simplex stays well conditioned. */
    glp_scale_prob(L->prob, GLP_SF_AUTO);
    r = glp_simplex(L->prob, &parm);
    if (r == GLP_EBADB || r == GLP_ESING || r == GLP_ECOND || r == GLP_EFAIL) {
        /* a warm start gone bad: once more from an advanced basis, primal */
        glp_adv_basis(L->prob, 0);
        parm.meth = GLP_PRIMAL;
        r = glp_simplex(L->prob, &parm);
    }
    if (r == GLP_EFAIL || r == GLP_ESING || r == GLP_ECOND) {
        /* and once from the standard (all-slack) basis, with GLPK's presolver */
        glp_std_basis(L->prob);
        parm.presolve = GLP_ON;
        r = glp_simplex(L->prob, &parm);
    }
    if (r != 0)
        return cpn_errorf(
            err, CPN_ESOLVER, "lp: glp_simplex returned %s in round %d (%d rows, %d columns)",
            glp_ret_name(r), round, glp_get_num_rows(L->prob), glp_get_num_cols(L->prob));
    st = glp_get_status(L->prob);
    if (st != GLP_OPT)
        return cpn_errorf(err, CPN_ESOLVER,
                          "lp: glp_simplex ended with status %s in round %d, expected GLP_OPT "
                          "(the LP with slack columns is always feasible and bounded)",
                          glp_status_name(st), round);
    return 0;
}

/* Reads primal values and duals. */
static int read_solution(struct lp *L)
{
    size_t ns = (size_t)L->nslots, n1 = ns + 1, nr = (size_t)glp_get_num_rows(L->prob) + 1;
    size_t cap = L->ncols + 1;
    cpn_free(L->x);
    L->x = cpn_calloc(cap, sizeof *L->x);
    if (!L->x)
        return -ENOMEM;
    if (nr > L->rdual_n) {
        cpn_free(L->rdual);
        L->rdual_n = 0;
        L->rdual = cpn_calloc(nr + nr / 2, sizeof *L->rdual);
        if (!L->rdual)
            return -ENOMEM;
    }
    L->rdual_n = nr;
    for (size_t i = 0; i < L->ncols; i++)
        L->x[i] = glp_get_col_prim(L->prob, L->cols[i].gcol);
    for (size_t r = 1; r < nr; r++)
        L->rdual[r] = glp_get_row_dual(L->prob, (int)r);
    for (size_t r = 0; r < L->nres; r++) {
        long double *d = L->res_dual + r * n1;
        const int *row = L->res_row + r * ns;
        for (size_t t = 0; t < ns; t++)
            d[t] = lp_dual(L, row[t]);
        d[ns] = 0;
    }
    return 0;
}

static int alloc_state(struct lp *L)
{
    size_t ns = (size_t)L->nslots, maxo = 1;
    for (size_t j = 0; j < L->njobs; j++)
        if ((size_t)L->jobs[j].opt_count > maxo)
            maxo = (size_t)L->jobs[j].opt_count;
    L->nres = L->net->npools + L->net->nclusters;
    L->res_row = cpn_calloc(L->nres * ns + 1, sizeof *L->res_row);
    L->res_load = cpn_calloc(L->nres * ns + 1, sizeof *L->res_load);
    L->res_dual = cpn_calloc(L->nres * (ns + 1) + 1, sizeof *L->res_dual);
    L->use = cpn_calloc(L->nres * ns + 1, sizeof *L->use);
    L->grp_o = cpn_calloc(maxo + 1, sizeof *L->grp_o);
    if (!L->res_row || !L->res_load || !L->res_dual || !L->use || !L->grp_o)
        return -ENOMEM;
    return 0;
}

/* The problem with job rows, slack columns and each job's cheapest option. */
static int build(struct lp *L)
{
    size_t n = 0;
    int nrows = 0;
    L->prob = glp_create_prob();
    glp_set_obj_dir(L->prob, GLP_MIN);
    if (L->njobs == 0)
        return 0;
    glp_add_rows(L->prob, (int)L->njobs);
    glp_add_cols(L->prob, (int)L->njobs);
    for (size_t j = 0; j < L->njobs; j++) {
        int ind[2], col = slack_col(j);
        double val[2];
        L->jobs[j].row = (int)j + 1;
        glp_set_row_bnds(L->prob, L->jobs[j].row, GLP_FX, 1.0, 1.0);
        ind[1] = L->jobs[j].row;
        val[1] = 1.0;
        glp_set_mat_col(L->prob, col, 1, ind, val);
        glp_set_col_bnds(L->prob, col, GLP_LO, 0.0, 0.0);
        glp_set_obj_coef(L->prob, col, L->jobs[j].penalty);
    }
    /* the resources the greedy placement fills up get their chains at once */
    if (lp_greedy(L, &n) || add_cols(L, n) || add_chains(L, LP_CHAIN_SHARE, &nrows))
        return -ENOMEM;
    n = 0;
    L->ncruns = 0;
    for (size_t j = 0; j < L->njobs; j++)
        if (lp_price_job(L, j, true, 1, &n))
            return -ENOMEM;
    return add_cols(L, n);
}

static void fill_result(const struct lp *L, int rounds, struct cpn_lp_result *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < L->ncols; i++) {
        const struct lp_col *c = &L->cols[i];
        out->objective += c->obj * L->x[i];
        out->carbon_kg += c->carbon_kg * L->x[i];
        out->energy_kwh += c->energy_kwh * L->x[i];
        out->cost_cny += c->money_cny * L->x[i];
    }
    for (size_t j = 0; j < L->njobs; j++) {
        double u = glp_get_col_prim(L->prob, slack_col(j));
        out->placed += 1.0 - (u < 0 ? 0 : u > 1 ? 1 : u);
    }
    out->infeasible = L->ninfeasible;
    out->columns = L->ncols;
    out->rows = (size_t)glp_get_num_rows(L->prob);
    out->iterations = rounds;
}

static void lp_free(struct lp *L)
{
    if (L->prob)
        glp_delete_prob(L->prob);
    cpn_free(L->ci);
    cpn_free(L->price);
    cpn_free(L->rate);
    cpn_free(L->ci_pre);
    cpn_free(L->price_pre);
    cpn_free(L->rate_pre);
    cpn_free(L->jobs);
    cpn_free(L->opts);
    cpn_free(L->cols);
    cpn_free(L->hash);
    cpn_free(L->hash_val);
    cpn_free(L->res_row);
    cpn_free(L->res_load);
    cpn_free(L->rdual);
    cpn_free(L->slots);
    cpn_free(L->full);
    cpn_free(L->last);
    cpn_free(L->heap);
    cpn_free(L->runs);
    cpn_free(L->cruns);
    cpn_free(L->res_dual);
    cpn_free(L->x);
    cpn_free(L->use);
    cpn_free(L->cand);
    cpn_free(L->grp_o);
    cpn_free(L->ind);
    cpn_free(L->val);
}

/* The Lagrangian (Lasdon) bound of the last solve: the restricted LP's optimum plus, per job, its
 * most negative reduced cost (the job rows are convexity rows: a job takes its options once).
 * Resources without rows price at 0, which only relaxes them further, so the bound holds while
 * rows are still missing. d[first .. n) are the candidates of one job after another; the pricing
 * tolerance (1e-9 of a column's cost) is the bound's only slack. */
static double lagrangian_bound(const struct lp *L, const size_t *first, size_t n)
{
    long double lb = glp_get_obj_val(L->prob);
    for (size_t j = 0; j < L->njobs; j++) {
        size_t e = j + 1 < L->njobs ? first[j + 1] : n;
        double m = 0;
        for (size_t k = first[j]; k < e; k++)
            if (L->cand[k].d < m)
                m = L->cand[k].d;
        lb += m;
    }
    return (double)lb;
}

static int run(struct lp *L, int *rounds, double *bound, struct cpn_error *err)
{
    int meth = GLP_PRIMAL, rc;
    size_t *first = cpn_calloc(L->njobs + 1, sizeof *first);
    if (!first)
        return nomem(err, L);
    *bound = -INFINITY;
    for (int round = 1;; round++) {
        size_t n = 0;
        int nrows = 0;
        double z, lb;
        *rounds = round;
        L->ncruns = 0;
        if ((rc = solve(L, meth, round, err)) != 0)
            break;
        if (read_solution(L)) {
            rc = nomem(err, L);
            break;
        }
        solution_use(L);
        if (add_chains(L, 1.0, &nrows)) {
            rc = nomem(err, L);
            break;
        }
        rc = 0;
        for (size_t j = 0; j < L->njobs && !rc; j++) {
            first[j] = n;
            rc = lp_price_job(L, j, false, LP_KEEP_PER_JOB, &n);
        }
        if (rc) {
            rc = nomem(err, L);
            break;
        }
        z = glp_get_obj_val(L->prob);
        lb = lagrangian_bound(L, first, n);
        if (lb > *bound)
            *bound = lb;
        if (nrows == 0 && n == 0) {
            *bound = z;
            break;
        }
        /* tailing off: the solution is feasible and within LP_GAP of the bound */
        if (nrows == 0 && z - *bound <= LP_GAP * fmax(1.0, fabs(z)))
            break;
        if (round >= LP_MAX_ROUNDS) {
            rc =
                cpn_errorf(err, CPN_ESOLVER,
                           "lp: column generation did not converge in %d rounds (%zu columns, "
                           "%d rows; %d rows and %zu columns still to add; objective %.6g, "
                           "bound %.6g)",
                           LP_MAX_ROUNDS, L->ncols, glp_get_num_rows(L->prob), nrows, n, z, *bound);
            break;
        }
        if (add_cols(L, n)) {
            rc = nomem(err, L);
            break;
        }
        meth = n == 0 ? GLP_DUALP : GLP_PRIMAL;
    }
    cpn_free(first);
    return rc;
}

int cpn_lp_bound(const struct cpn_network *net,
                 const struct cpn_signals *sig,
                 const struct cpn_jobset *js,
                 const struct cpn_policy *pol,
                 int64_t t0,
                 int32_t nslots,
                 struct cpn_lp_result *out,
                 struct cpn_error *err)
{
    struct lp L;
    int rc, rounds = 0, term;
    double bound = 0;
    memset(&L, 0, sizeof L);
    L.net = net;
    L.js = js;
    L.money_weight = pol->money_weight;
    L.carbon_cny_per_kg = pol->carbon_cny_per_kg;
    L.t0 = t0;
    L.nslots = nslots;
    /* GLPK's terminal output is process-wide; silenced here and restored on return */
    term = glp_term_out(GLP_OFF);
    rc = lp_setup(&L, sig, err);
    if (rc == 0 && alloc_state(&L))
        rc = nomem(err, &L);
    if (rc == 0 && build(&L))
        rc = nomem(err, &L);
    if (rc == 0 && L.njobs > 0)
        rc = run(&L, &rounds, &bound, err);
    if (rc == 0) {
        fill_result(&L, rounds, out);
        /* net of the unplaced jobs' penalty, like objective */
        out->bound = L.njobs > 0 ? bound - (glp_get_obj_val(L.prob) - out->objective) : 0;
    }
    lp_free(&L);
    glp_term_out(term);
    return rc;
}
