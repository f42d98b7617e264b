/* SPDX-License-Identifier: Apache-2.0 */
/* The outbox: state events the platform has not acknowledged yet, oldest first, kept in
 * DIR/outbox.jsonl as one {"job": ..., "event": {...}} object per line. The file is rewritten whole
 * through a temporary file, fsync and rename on every change, so a crash leaves either the old or
 * the new list and a restarted agent delivers what is left in order. The list is short (events
 * leave as soon as the platform answers), so rewriting it costs little. Also the agent's small file
 * helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_int.h"

bool agt_job_id_ok(const char *s)
{
    size_t n = 0;
    if (!s || !*s || *s == '.')
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return n < CPN_AGENT_JOB_ID_MAX;
}

int agt_mkdirs(const char *path, struct cpn_error *err)
{
    char p[4096];
    size_t n;
    if (cpn_strlcpy(p, path, sizeof p))
        return cpn_errorf(err, CPN_ELIMIT, "state directory %.200s...: longer than %zu bytes", path,
                          sizeof p - 1);
    n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) && errno != EEXIST)
            return cpn_errorf(err, -errno, "cannot create directory %s: %s", p, strerror(errno));
        p[i] = c;
    }
    return 0;
}

int agt_write_file(const char *path, const char *text, struct cpn_error *err)
{
    char tmp[4200];
    size_t len = strlen(text);
    int fd, rc = 0;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return cpn_errorf(err, CPN_ELIMIT, "%s: path too long", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return cpn_errorf(err, -errno, "cannot write %s: %s", tmp, strerror(errno));
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = cpn_errorf(err, -errno, "cannot write %s: %s", tmp, strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    if (!rc && fsync(fd))
        rc = cpn_errorf(err, -errno, "cannot sync %s: %s", tmp, strerror(errno));
    close(fd);
    if (!rc && rename(tmp, path))
        rc = cpn_errorf(err, -errno, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}

static int outbox_save(struct agt_outbox *o, struct cpn_error *err)
{
    struct cpn_buf b = { 0 };
    int rc = 0;
    for (size_t i = 0; i < o->n && !rc; i++)
        rc = cpn_buf_printf(&b, "{\"job\":\"%s\",\"event\":%s}\n", o->ev[i].job, o->ev[i].body);
    if (!rc)
        rc = cpn_buf_puts(&b, "");
    if (rc) {
        cpn_buf_free(&b);
        return cpn_errorf(err, -ENOMEM, "outbox: out of memory");
    }
    rc = agt_write_file(o->path, b.data, err);
    cpn_buf_free(&b);
    return rc;
}

static int
outbox_add(struct agt_outbox *o, const char *job, const char *body, struct cpn_error *err)
{
    char *copy;
    if (!agt_job_id_ok(job))
        return cpn_errorf(err, CPN_EFIELD, "outbox: job id '%.80s': expected an id", job);
    if (cpn_grow(&o->ev, &o->cap, o->n + 1, sizeof *o->ev) || !(copy = cpn_strdup(body)))
        return cpn_errorf(err, -ENOMEM, "outbox: out of memory");
    cpn_strlcpy(o->ev[o->n].job, job, sizeof o->ev[o->n].job);
    o->ev[o->n].body = copy;
    o->n++;
    return 0;
}

int agt_outbox_open(struct agt_outbox *o, const char *dir, struct cpn_error *err)
{
    struct cpn_buf b = { .limit = 64u << 20 };
    char *line, *next;
    long lineno = 0;
    int rc;
    memset(o, 0, sizeof *o);
    if ((size_t)snprintf(o->path, sizeof o->path, "%s/outbox.jsonl", dir) >= sizeof o->path)
        return cpn_errorf(err, CPN_ELIMIT, "%s: state directory path too long", dir);
    rc = cpn_buf_read_file(&b, o->path, NULL);
    if (rc == -ENOENT)
        return 0;
    if (rc) {
        cpn_buf_free(&b);
        return cpn_errorf(err, rc, "%s: cannot read: %s", o->path, cpn_strerror(rc));
    }
    for (line = b.data; line && *line; line = next) {
        json_t *v, *ev;
        json_error_t je;
        char *text;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (!*line)
            continue;
        v = json_loads(line, 0, &je);
        ev = json_object_get(v, "event");
        if (!json_is_string(json_object_get(v, "job")) || !json_is_object(ev)) {
            json_decref(v);
            /* a torn last line cannot happen (rename is atomic); anything else is damage */
            rc = cpn_errorf(err, CPN_EPARSE,
                            "%s:%ld: expected {\"job\": id, \"event\": {...}}: remove or repair "
                            "the line",
                            o->path, lineno);
            break;
        }
        text = json_dumps(ev, JSON_COMPACT);
        rc = text ? outbox_add(o, json_string_value(json_object_get(v, "job")), text, err)
                  : cpn_errorf(err, -ENOMEM, "outbox: out of memory");
        free(text);
        json_decref(v);
        if (rc)
            break;
    }
    cpn_buf_free(&b);
    if (rc)
        agt_outbox_close(o);
    return rc;
}

int agt_outbox_push(struct agt_outbox *o, const char *job, const char *body, struct cpn_error *err)
{
    int rc = outbox_add(o, job, body, err);
    if (!rc && (rc = outbox_save(o, err)) != 0) {
        o->n--;
        cpn_free(o->ev[o->n].body);
    }
    return rc;
}

int agt_outbox_pop(struct agt_outbox *o, struct cpn_error *err)
{
    if (!o->n)
        return 0;
    cpn_free(o->ev[0].body);
    memmove(o->ev, o->ev + 1, (o->n - 1) * sizeof *o->ev);
    o->n--;
    return outbox_save(o, err);
}

void agt_outbox_close(struct agt_outbox *o)
{
    for (size_t i = 0; i < o->n; i++)
        cpn_free(o->ev[i].body);
    cpn_free(o->ev);
    o->ev = NULL;
    o->n = o->cap = 0;
}
