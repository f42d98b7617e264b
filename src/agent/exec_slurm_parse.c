/* SPDX-License-Identifier: Apache-2.0 */
/* Pure parsers of what Slurm's commands print, for the Slurm executor: sbatch --parsable, squeue
 * with a fixed format, the one-line `scontrol show job|node|partition -o` records and jobcomp
 * lines, plus the mapping of partitions and nodes to pools. The text formats are the ones Slurm
 * has kept stable across releases (20.11 to 23.x): Key=value records separated by blanks, where
 * a few values (Reason, OS, Comment) may themselves contain blanks, hence agt_slurm_kv's rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/exec_slurm_int.h"

static bool is_key_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':' || c == '/' || c == '.';
}

/* True when p starts "Key=" (a key of at least one key character, then '='). */
static bool starts_key(const char *p)
{
    const char *q = p;
    while (is_key_char(*q))
        q++;
    return q > p && *q == '=';
}

int agt_slurm_kv(const char *line, const char *key, char *out, size_t size)
{
    size_t kl = strlen(key);
    const char *p = line;
    if (!line || !kl)
        return 0;
    while ((p = strstr(p, key)) != NULL) {
        const char *v, *e;
        size_t n;
        if ((p != line && p[-1] != ' ') || p[kl] != '=') {
            p += kl;
            continue;
        }
        v = p + kl + 1;
        e = v;
        while (*e && *e != '\n' && *e != '\r') {
            if (*e == ' ') {
                const char *s = e;
                while (*s == ' ')
                    s++;
                if (!*s || *s == '\n' || starts_key(s))
                    break;
            }
            e++;
        }
        while (e > v && e[-1] == ' ')
            e--;
        n = (size_t)(e - v);
        if (size) {
            if (n >= size)
                n = size - 1;
            memcpy(out, v, n);
            out[n] = '\0';
        }
        return 1;
    }
    return 0;
}

int64_t agt_slurm_time(const char *s)
{
    int64_t t;
    if (!s || !*s || !strcmp(s, "Unknown") || !strcmp(s, "N/A") || !strcmp(s, "None"))
        return 0;
    if (s[0] < '0' || s[0] > '9' || !strchr(s, '-'))
        return 0; /* plain integers are not Slurm times */
    if (cpn_time_parse(s, &t))
        return 0;
    return t;
}

int agt_slurm_parse_sbatch(const char *out, char *id, size_t size, struct cpn_error *err)
{
    const char *p = out ? out : "";
    while (*p) {
        const char *q = p;
        size_t n = 0;
        while (*q == ' ' || *q == '\t')
            q++;
        while (q[n] >= '0' && q[n] <= '9')
            n++;
        if (n > 0 && (q[n] == ';' || q[n] == '\n' || q[n] == '\r' || q[n] == '\0' || q[n] == ' ')) {
            if (n >= size)
                return cpn_errorf(err, CPN_ELIMIT, "sbatch: job id '%.*s' is too long",
                                  (int)(n > 40 ? 40 : n), q);
            memcpy(id, q, n);
            id[n] = '\0';
            return 0;
        }
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    return cpn_errorf(err, CPN_EPARSE, "sbatch --parsable printed '%.120s': expected a job id",
                      out ? out : "");
}

/* Copies [s, e) into out[size] (truncating). */
static void copy_span(char *out, size_t size, const char *s, const char *e)
{
    size_t n = (size_t)(e - s);
    if (!size)
        return;
    if (n >= size)
        n = size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

int agt_slurm_parse_squeue(const char *line,
                           bool with_exit,
                           struct agt_slurm_job *j,
                           struct cpn_error *err)
{
    const size_t want = with_exit ? 7 : 6;
    const char *f[7], *end;
    char start[40], stop[40];
    size_t k = 0;
    const char *p = line;
    memset(j, 0, sizeof *j);
    f[k++] = p;
    while (k < want && (p = strchr(p, '|')) != NULL)
        f[k++] = ++p;
    if (k < want)
        return cpn_errorf(err, CPN_EPARSE, "squeue line '%.160s': %zu fields, expected %zu (%s)",
                          line, k, want, with_exit ? AGT_SLURM_SQUEUE_O : AGT_SLURM_SQUEUE_FMT);
    end = f[want - 1] + strcspn(f[want - 1], "\r\n");
    if (with_exit) {
        /* --Format ends every field with its suffix: the reason runs to the last '|' */
        while (end > f[want - 1] && end[-1] == ' ')
            end--;
        if (end > f[want - 1] && end[-1] == '|')
            end--;
    }
    copy_span(j->id, sizeof j->id, f[0], f[1] - 1);
    copy_span(j->name, sizeof j->name, f[1], f[2] - 1);
    copy_span(j->state, sizeof j->state, f[2], f[3] - 1);
    copy_span(start, sizeof start, f[3], f[4] - 1);
    copy_span(stop, sizeof stop, f[4], f[5] - 1);
    copy_span(j->reason, sizeof j->reason, f[want - 1], end);
    if (with_exit) {
        char raw[32];
        int64_t v;
        copy_span(raw, sizeof raw, f[5], f[6] - 1);
        if (cpn_parse_int64(raw, &v) || v < 0)
            return cpn_errorf(err, CPN_EPARSE,
                              "squeue line '%.160s': exit_code '%s': expected a wait status >= 0",
                              line, raw);
        j->has_exit = true;
        j->exit_status = (int)((v >> 8) & 0xff);
        j->exit_sig = (int)(v & 0x7f);
    }
    if (!j->id[0] || !j->state[0])
        return cpn_errorf(err, CPN_EPARSE, "squeue line '%.160s': empty job id or state", line);
    j->start_s = agt_slurm_time(start);
    j->end_s = agt_slurm_time(stop);
    return 0;
}

static int64_t kv_int(const char *line, const char *key, int64_t dflt)
{
    char v[64];
    int64_t x;
    if (!agt_slurm_kv(line, key, v, sizeof v) || cpn_parse_int64(v, &x))
        return dflt;
    return x;
}

int agt_slurm_parse_job(const char *line, struct agt_slurm_job *j, struct cpn_error *err)
{
    char v[64];
    memset(j, 0, sizeof *j);
    if (!agt_slurm_kv(line, "JobId", j->id, sizeof j->id) || !j->id[0])
        return cpn_errorf(err, CPN_EPARSE, "Slurm job record '%.120s': no JobId=", line);
    if (!agt_slurm_kv(line, "JobState", j->state, sizeof j->state) || !j->state[0])
        return cpn_errorf(err, CPN_EPARSE, "Slurm job %s: no JobState= in '%.120s'", j->id, line);
    if (!agt_slurm_kv(line, "JobName", j->name, sizeof j->name))
        agt_slurm_kv(line, "Name", j->name, sizeof j->name); /* jobcomp/filetxt */
    agt_slurm_kv(line, "Comment", j->comment, sizeof j->comment);
    agt_slurm_kv(line, "Reason", j->reason, sizeof j->reason);
    agt_slurm_kv(line, "Partition", j->partition, sizeof j->partition);
    if (agt_slurm_kv(line, "ExitCode", v, sizeof v)) {
        char *colon = strchr(v, ':');
        int64_t a, b = 0;
        if (colon)
            *colon = '\0';
        if (cpn_parse_int64(v, &a) == 0 && (!colon || cpn_parse_int64(colon + 1, &b) == 0)) {
            j->has_exit = true;
            j->exit_status = (int)a;
            j->exit_sig = (int)b;
        }
    }
    if (agt_slurm_kv(line, "StartTime", v, sizeof v))
        j->start_s = agt_slurm_time(v);
    if (agt_slurm_kv(line, "EndTime", v, sizeof v))
        j->end_s = agt_slurm_time(v);
    j->cpus = kv_int(line, "NumCPUs", kv_int(line, "ProcCnt", 0));
    j->restarts = (int)kv_int(line, "Restarts", 0);
    return 0;
}

enum cpn_task_state agt_slurm_state(const char *state, bool *final)
{
    static const struct {
        const char *word;
        enum cpn_task_state st;
        bool final;
    } map[] = {
        { "PENDING", CPN_TASK_PENDING, false },       { "REQUEUED", CPN_TASK_PENDING, false },
        { "REQUEUE_HOLD", CPN_TASK_PENDING, false },  { "REQUEUE_FED", CPN_TASK_PENDING, false },
        { "RESV_DEL_HOLD", CPN_TASK_PENDING, false }, { "CONFIGURING", CPN_TASK_PENDING, false },
        { "RUNNING", CPN_TASK_RUNNING, false },       { "COMPLETING", CPN_TASK_RUNNING, false },
        { "SUSPENDED", CPN_TASK_RUNNING, false },     { "STOPPED", CPN_TASK_RUNNING, false },
        { "SIGNALING", CPN_TASK_RUNNING, false },     { "STAGE_OUT", CPN_TASK_RUNNING, false },
        { "RESIZING", CPN_TASK_RUNNING, false },      { "UPDATE_DB", CPN_TASK_RUNNING, false },
        { "COMPLETED", CPN_TASK_COMPLETED, true },    { "CANCELLED", CPN_TASK_CANCELLED, true },
        { "REVOKED", CPN_TASK_CANCELLED, true },      { "DEADLINE", CPN_TASK_FAILED, true },
        { "FAILED", CPN_TASK_FAILED, true },          { "TIMEOUT", CPN_TASK_FAILED, true },
        { "NODE_FAIL", CPN_TASK_FAILED, true },       { "BOOT_FAIL", CPN_TASK_FAILED, true },
        { "OUT_OF_MEMORY", CPN_TASK_FAILED, true },   { "PREEMPTED", CPN_TASK_FAILED, true },
        { "SPECIAL_EXIT", CPN_TASK_FAILED, true },
    };
    char w[32];
    size_t n = 0;
    while (state && n + 1 < sizeof w && ((state[n] >= 'A' && state[n] <= 'Z') || state[n] == '_')) {
        w[n] = state[n];
        n++;
    }
    w[n] = '\0';
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(w, map[i].word)) {
            if (final)
                *final = map[i].final;
            return map[i].st;
        }
    if (final)
        *final = false;
    return CPN_TASK_PENDING;
}

int64_t agt_slurm_gres_gpus(const char *gres, char *type, size_t size)
{
    int64_t total = 0;
    const char *p = gres;
    bool typed = false;
    if (type && size)
        type[0] = '\0';
    if (!p)
        return 0;
    while (*p) {
        /* one item: up to a comma outside parentheses */
        const char *s = p, *e = p, *paren;
        char item[160], *f[4];
        size_t nf = 0;
        int depth = 0;
        while (*e && !(*e == ',' && depth == 0)) {
            if (*e == '(')
                depth++;
            else if (*e == ')' && depth > 0)
                depth--;
            e++;
        }
        p = *e ? e + 1 : e;
        paren = memchr(s, '(', (size_t)(e - s));
        copy_span(item, sizeof item, s, paren ? paren : e);
        if (!strncmp(item, "gres/", 5))
            memmove(item, item + 5, strlen(item + 5) + 1);
        f[nf++] = item;
        for (char *c = item; *c && nf < 4; c++)
            if (*c == ':' || *c == '=') {
                *c = '\0';
                f[nf++] = c + 1;
            }
        if (strcmp(f[0], "gpu") != 0)
            continue;
        {
            int64_t cnt = 1;
            const char *t = NULL;
            if (nf == 2 && cpn_parse_int64(f[1], &cnt) != 0) {
                t = f[1]; /* "gpu:t4": one of that type */
                cnt = 1;
            } else if (nf >= 3) {
                t = f[1];
                if (cpn_parse_int64(f[2], &cnt) != 0)
                    cnt = 0;
            }
            if (cnt < 0)
                cnt = 0;
            total += cnt;
            if (t && *t && !typed && type && size) {
                cpn_strlcpy(type, t, size);
                typed = true;
            }
        }
    }
    return total;
}

/* Whether a node State= value (e.g. "IDLE", "MIXED+DRAIN", "DOWN*") takes new work. */
static bool node_usable(const char *state)
{
    static const char *const bad[] = { "DOWN",    "DRAIN",          "FAIL",         "MAINT",
                                       "INVAL",   "FUTURE",         "RESERVED",     "REBOOT",
                                       "UNKNOWN", "NOT_RESPONDING", "POWERING_DOWN" };
    if (!state[0] || strchr(state, '*'))
        return false;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (strstr(state, bad[i]))
            return false;
    return true;
}

int agt_slurm_parse_node(const char *line, struct agt_slurm_node *n, struct cpn_error *err)
{
    char v[512], state[128];
    memset(n, 0, sizeof *n);
    if (!agt_slurm_kv(line, "NodeName", n->name, sizeof n->name) || !n->name[0])
        return cpn_errorf(err, CPN_EPARSE, "Slurm node record '%.120s': no NodeName=", line);
    agt_slurm_kv(line, "Partitions", n->partitions, sizeof n->partitions);
    n->cpus = kv_int(line, "CPUEfctv", kv_int(line, "CPUTot", 0));
    n->cpus_alloc = kv_int(line, "CPUAlloc", 0);
    if (agt_slurm_kv(line, "Gres", v, sizeof v))
        n->gpus = agt_slurm_gres_gpus(v, n->gpu_type, sizeof n->gpu_type);
    if (agt_slurm_kv(line, "GresUsed", v, sizeof v))
        n->gpus_used = agt_slurm_gres_gpus(v, NULL, 0);
    state[0] = '\0';
    agt_slurm_kv(line, "State", state, sizeof state);
    n->usable = node_usable(state);
    if (n->cpus < 0 || n->cpus_alloc < 0)
        return cpn_errorf(err, CPN_EPARSE, "Slurm node %s: negative CPU count", n->name);
    return 0;
}

int agt_slurm_parse_part(const char *line, struct agt_slurm_part *p, struct cpn_error *err)
{
    char v[64];
    memset(p, 0, sizeof *p);
    if (!agt_slurm_kv(line, "PartitionName", p->name, sizeof p->name) || !p->name[0])
        return cpn_errorf(err, CPN_EPARSE,
                          "Slurm partition record '%.120s': no PartitionName=", line);
    p->max_cpus_per_node = kv_int(line, "MaxCPUsPerNode", 0);
    if (p->max_cpus_per_node < 0)
        p->max_cpus_per_node = 0;
    p->is_default = agt_slurm_kv(line, "Default", v, sizeof v) && !strcmp(v, "YES");
    p->up = agt_slurm_kv(line, "State", v, sizeof v) && !strcmp(v, "UP");
    return 0;
}

/* Whether the comma list has the name as one of its items. */
static bool in_list(const char *list, const char *name)
{
    size_t nl = strlen(name);
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == nl && !strncmp(p, name, nl))
            return true;
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

void agt_slurm_part_use(const struct agt_slurm_node *nodes,
                        size_t nn,
                        const struct agt_slurm_part *part,
                        struct agt_slurm_use *use)
{
    memset(use, 0, sizeof *use);
    for (size_t k = 0; k < nn; k++) {
        const struct agt_slurm_node *nd = &nodes[k];
        int64_t c = nd->cpus, cf;
        if (!in_list(nd->partitions, part->name))
            continue;
        if (part->max_cpus_per_node > 0 && part->max_cpus_per_node < c)
            c = part->max_cpus_per_node;
        cf = nd->cpus - nd->cpus_alloc;
        if (cf > c)
            cf = c;
        use->cpus += c;
        use->gpus += nd->gpus;
        if (nd->usable && part->up) {
            use->cpus_free += cf > 0 ? cf : 0;
            use->gpus_free += nd->gpus > nd->gpus_used ? nd->gpus - nd->gpus_used : 0;
        }
        if (!use->gpu_type[0] && nd->gpu_type[0])
            cpn_strlcpy(use->gpu_type, nd->gpu_type, sizeof use->gpu_type);
    }
}

int agt_slurm_pools(const struct agt_slurm_node *nodes,
                    size_t nn,
                    const struct agt_slurm_part *parts,
                    size_t np,
                    struct cpn_agent_pool *out,
                    size_t max,
                    size_t *n,
                    struct cpn_error *err)
{
    if (np > max)
        return cpn_errorf(err, CPN_ELIMIT, "Slurm has %zu partitions, at most %zu pools fit", np,
                          max);
    for (size_t i = 0; i < np; i++) {
        const struct agt_slurm_part *pt = &parts[i];
        struct cpn_agent_pool *p = &out[i];
        struct agt_slurm_use u;
        agt_slurm_part_use(nodes, nn, pt, &u);
        memset(p, 0, sizeof *p);
        /* ids are [A-Za-z0-9._:-]: other characters of a partition name become '-' */
        cpn_strlcpy(p->id, pt->name, sizeof p->id);
        for (char *c = p->id; *c; c++)
            if (!is_key_char(*c) || *c == '/')
                *c = '-';
        cpn_strlcpy(p->partition, pt->name, sizeof p->partition);
        if (u.gpus > 0 && pt->max_cpus_per_node == 0) {
            p->cls = CPN_CLASS_INTELLIGENT;
            cpn_strlcpy(p->device, u.gpu_type[0] ? u.gpu_type : "gpu", sizeof p->device);
            p->total = u.gpus;
            p->available = u.gpus_free;
        } else {
            p->cls = CPN_CLASS_GENERAL;
            p->total = u.cpus;
            p->available = u.cpus_free;
        }
    }
    *n = np;
    return 0;
}

int64_t agt_slurm_minutes(double seconds)
{
    double m;
    if (!(seconds > 0))
        return 0;
    m = seconds / 60.0;
    if (m > 1e9)
        return 1000000000;
    {
        int64_t whole = (int64_t)m;
        if ((double)whole < m)
            whole++;
        return whole < 1 ? 1 : whole;
    }
}
