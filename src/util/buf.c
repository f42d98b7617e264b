/* SPDX-License-Identifier: Apache-2.0 */
/* Growable byte buffers with a hard cap (limit), for output assembly and for reading files and
 * network input whose size must stay bounded. */
#include "cpnet/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int buf_reserve(struct cpn_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (b->limit && b->len + extra > b->limit)
        return CPN_ELIMIT;
    return cpn_grow(&b->data, &b->cap, need, 1);
}

int cpn_buf_append(struct cpn_buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int cpn_buf_puts(struct cpn_buf *b, const char *s)
{
    return cpn_buf_append(b, s, strlen(s));
}

int cpn_buf_vprintf(struct cpn_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    int rc;
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    /* Format straight into the free space; only a text that does not fit is formatted twice. */
    va_copy(ap2, ap);
    n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < room && (!b->limit || b->len + (size_t)n <= b->limit)) {
        b->len += (size_t)n;
        return 0;
    }
    if (room)
        b->data[b->len] = '\0'; /* undo the partial write */
    rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int cpn_buf_printf(struct cpn_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = cpn_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void cpn_buf_reset(struct cpn_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void cpn_buf_free(struct cpn_buf *b)
{
    cpn_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int cpn_buf_read_file(struct cpn_buf *b, const char *path, struct cpn_error *err)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = 0;
    if (!f)
        return cpn_errorf(err, -errno, "%s: cannot open: %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        rc = cpn_buf_append(b, chunk, n);
        if (rc) {
            fclose(f);
            return cpn_errorf(err, rc, "%s: %s (limit %zu bytes)", path, cpn_strerror(rc),
                              b->limit);
        }
    }
    if (ferror(f))
        rc = cpn_errorf(err, -EIO, "%s: read error", path);
    fclose(f);
    if (!rc && !b->data)
        rc = cpn_buf_append(b, "", 0);
    return rc;
}
