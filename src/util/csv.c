/* SPDX-License-Identifier: Apache-2.0 */
/* A streaming RFC 4180 CSV reader: quoted fields with doubled quotes, embedded newlines, LF or CRLF
 * line ends, a UTF-8 byte-order mark at the start. It reads a file in 64 KiB chunks so that a
 * trace of millions of rows never sits in memory whole; a record is limited to 1 MiB. */
#include "cpnet/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CSV_CHUNK      65536
#define CSV_RECORD_MAX (1u << 20)

struct cpn_csv {
    FILE *f;
    const char *mem; /* borrowed input when reading from memory */
    size_t mem_len;
    size_t mem_pos;
    char chunk[CSV_CHUNK];
    size_t pos, len;
    bool eof;
    char name[256];
    long line;     /* current physical line */
    long rec_line; /* line where the last record began */
    char *rec;     /* field bytes, each NUL-terminated */
    size_t rec_len, rec_cap;
    size_t *offs; /* field start offsets into rec */
    char **fields;
    size_t nf, fcap, ofcap;
    bool first;
};

static int csv_alloc(const char *name, struct cpn_csv **out)
{
    struct cpn_csv *c = cpn_calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    cpn_strlcpy(c->name, name, sizeof c->name);
    c->line = 1;
    c->first = true;
    *out = c;
    return 0;
}

int cpn_csv_open(const char *path, struct cpn_csv **out, struct cpn_error *err)
{
    struct cpn_csv *c;
    FILE *f = fopen(path, "rb");
    int rc;
    if (!f)
        return cpn_errorf(err, -errno, "%s: cannot open: %s", path, strerror(errno));
    rc = csv_alloc(path, &c);
    if (rc) {
        fclose(f);
        return cpn_errorf(err, rc, "%s: out of memory", path);
    }
    c->f = f;
    *out = c;
    return 0;
}

int cpn_csv_from_mem(const char *data, size_t len, const char *name, struct cpn_csv **out)
{
    struct cpn_csv *c;
    int rc = csv_alloc(name, &c);
    if (rc)
        return rc;
    c->mem = data;
    c->mem_len = len;
    *out = c;
    return 0;
}

void cpn_csv_close(struct cpn_csv *c)
{
    if (!c)
        return;
    if (c->f)
        fclose(c->f);
    cpn_free(c->rec);
    cpn_free(c->offs);
    cpn_free(c->fields);
    cpn_free(c);
}

long cpn_csv_line(const struct cpn_csv *c)
{
    return c->rec_line;
}

const char *cpn_csv_name(const struct cpn_csv *c)
{
    return c->name;
}

/* Next byte or -1 at end of input. */
static int csv_getc(struct cpn_csv *c)
{
    if (c->pos == c->len) {
        if (c->eof)
            return -1;
        if (c->f) {
            c->len = fread(c->chunk, 1, sizeof c->chunk, c->f);
            if (c->len == 0) {
                c->eof = true;
                return -1;
            }
        } else {
            size_t n = c->mem_len - c->mem_pos;
            if (n == 0) {
                c->eof = true;
                return -1;
            }
            if (n > sizeof c->chunk)
                n = sizeof c->chunk;
            memcpy(c->chunk, c->mem + c->mem_pos, n);
            c->mem_pos += n;
            c->len = n;
        }
        c->pos = 0;
    }
    return (unsigned char)c->chunk[c->pos++];
}

static int csv_peek(struct cpn_csv *c)
{
    int ch = csv_getc(c);
    if (ch >= 0)
        c->pos--;
    return ch;
}

static int rec_put(struct cpn_csv *c, char ch)
{
    if (c->rec_len + 1 >= CSV_RECORD_MAX)
        return CPN_ELIMIT;
    if (cpn_grow(&c->rec, &c->rec_cap, c->rec_len + 1, 1))
        return -ENOMEM;
    c->rec[c->rec_len++] = ch;
    return 0;
}

static int field_end(struct cpn_csv *c)
{
    int rc = rec_put(c, '\0');
    if (rc)
        return rc;
    return 0;
}

static int field_start(struct cpn_csv *c)
{
    if (cpn_grow(&c->offs, &c->ofcap, c->nf + 1, sizeof *c->offs))
        return -ENOMEM;
    c->offs[c->nf++] = c->rec_len;
    return 0;
}

int cpn_csv_next(struct cpn_csv *c, char ***fields, size_t *n, struct cpn_error *err)
{
    int ch, rc;
    long col;
    for (;;) {
        c->nf = 0;
        c->rec_len = 0;
        c->rec_line = c->line;
        col = 1;
        if (c->first) {
            c->first = false;
            if (csv_peek(c) == 0xEF) {
                csv_getc(c);
                if (csv_getc(c) != 0xBB || csv_getc(c) != 0xBF)
                    return cpn_errorf(err, CPN_EPARSE, "%s:1:1: invalid byte-order mark", c->name);
            }
        }
        ch = csv_peek(c);
        if (ch < 0)
            return 0;
        if (ch == '\n' || ch == '\r') { /* blank line */
            csv_getc(c);
            if (ch == '\r' && csv_peek(c) == '\n')
                csv_getc(c);
            c->line++;
            continue;
        }
        for (;;) { /* one field per iteration */
            if ((rc = field_start(c)))
                goto fail;
            ch = csv_getc(c);
            if (ch == '"') {
                col++;
                for (;;) {
                    ch = csv_getc(c);
                    if (ch < 0)
                        return cpn_errorf(err, CPN_EPARSE,
                                          "%s:%ld: quoted field not closed before end of input",
                                          c->name, c->rec_line);
                    if (ch == '"') {
                        if (csv_peek(c) == '"') {
                            csv_getc(c);
                            if ((rc = rec_put(c, '"')))
                                goto fail;
                            col += 2;
                            continue;
                        }
                        col++;
                        break;
                    }
                    if (ch == '\n') {
                        c->line++;
                        col = 0;
                    }
                    if ((rc = rec_put(c, (char)ch)))
                        goto fail;
                    col++;
                }
                ch = csv_getc(c);
                if (ch != ',' && ch != '\n' && ch != '\r' && ch >= 0)
                    return cpn_errorf(err, CPN_EPARSE,
                                      "%s:%ld:%ld: expected ',' or end of line after a quoted "
                                      "field, found '%c'",
                                      c->name, c->line, col, ch);
            } else {
                while (ch >= 0 && ch != ',' && ch != '\n' && ch != '\r') {
                    if (ch == '"')
                        return cpn_errorf(err, CPN_EPARSE,
                                          "%s:%ld:%ld: quote inside an unquoted field (quote the "
                                          "whole field and double the quote)",
                                          c->name, c->line, col);
                    if (ch == 0)
                        return cpn_errorf(err, CPN_EPARSE, "%s:%ld:%ld: NUL byte in input", c->name,
                                          c->line, col);
                    if ((rc = rec_put(c, (char)ch)))
                        goto fail;
                    col++;
                    ch = csv_getc(c);
                }
            }
            if ((rc = field_end(c)))
                goto fail;
            if (ch == ',') {
                col++;
                continue;
            }
            if (ch == '\r' && csv_peek(c) == '\n')
                csv_getc(c);
            if (ch == '\n' || ch == '\r')
                c->line++;
            break;
        }
        if (cpn_grow(&c->fields, &c->fcap, c->nf, sizeof *c->fields)) {
            rc = -ENOMEM;
            goto fail;
        }
        for (size_t i = 0; i < c->nf; i++)
            c->fields[i] = c->rec + c->offs[i];
        *fields = c->fields;
        *n = c->nf;
        return 1;
    }
fail:
    if (rc == CPN_ELIMIT)
        return cpn_errorf(err, rc, "%s:%ld: record longer than %u bytes", c->name, c->rec_line,
                          CSV_RECORD_MAX);
    return cpn_errorf(err, rc, "%s:%ld: %s", c->name, c->rec_line, cpn_strerror(rc));
}
