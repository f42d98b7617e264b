/* SPDX-License-Identifier: Apache-2.0 */
/* Errors as HTTP: the one mapping of cpnet error codes to statuses, the reason phrases, and
 * application/problem+json bodies (RFC 9457) with an "errors" extension member that names the
 * offending field, so a client can point at the input it has to fix. Bodies are written by hand
 * into a capped buffer (no JSON library needed for four members), and a failing call leaves the
 * response untouched. */
#include <errno.h>
#include <string.h>

#include "api/api_int.h"

int cpn_http_status_for(int code)
{
    switch (code) {
    case 0:
        return 200;
    case -EINVAL:
    case CPN_EPARSE:
    case CPN_EFIELD:
    case CPN_EUSAGE:
        return 400;
    case -EACCES:
        return 401;
    case -EPERM:
        return 403;
    case -ENOENT:
    case CPN_EREF:
        return 404;
    case -EEXIST:
        return 409;
    case CPN_ELIMIT:
        return 413;
    case CPN_EINFEASIBLE:
        return 422;
    case -EBUSY:
        return 429;
    case CPN_EUNSUPPORTED:
        return 501;
    case -EAGAIN:
    case -ESHUTDOWN:
        return 503;
    default:
        return 500;
    }
}

const char *cpn_http_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        break;
    }
    if (status >= 100 && status < 200)
        return "Informational";
    if (status >= 200 && status < 300)
        return "Success";
    if (status >= 300 && status < 400)
        return "Redirection";
    if (status >= 400 && status < 500)
        return "Client Error";
    return "Server Error";
}

int cpn__json_escape(struct cpn_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    int rc = cpn_buf_append(b, "\"", 1);
    const char *run = s;
    for (const char *p = s; rc == 0 && *p; p++) {
        unsigned char c = (unsigned char)*p;
        char esc[7];
        size_t elen = 2;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = cpn_buf_append(b, run, (size_t)(p - run));
        run = p + 1;
        esc[0] = '\\';
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
            break;
        }
        if (rc == 0)
            rc = cpn_buf_append(b, esc, elen);
    }
    if (rc == 0)
        rc = cpn_buf_puts(b, run);
    return rc ? rc : cpn_buf_append(b, "\"", 1);
}

int cpn_problem(struct cpn_http_response *resp, int status, const char *detail, const char *field)
{
    struct cpn_buf b = { .limit = 64u << 10 };
    int rc = cpn_buf_puts(&b, "{\"type\":\"about:blank\",\"title\":");
    if (rc == 0)
        rc = cpn__json_escape(&b, cpn_http_status_text(status));
    if (rc == 0)
        rc = cpn_buf_printf(&b, ",\"status\":%d", status);
    if (rc == 0 && detail) {
        rc = cpn_buf_puts(&b, ",\"detail\":");
        if (rc == 0)
            rc = cpn__json_escape(&b, detail);
    }
    if (rc == 0 && field) {
        rc = cpn_buf_puts(&b, ",\"errors\":[{\"field\":");
        if (rc == 0)
            rc = cpn__json_escape(&b, field);
        if (rc == 0)
            rc = cpn_buf_puts(&b, ",\"detail\":");
        if (rc == 0)
            rc = cpn__json_escape(&b, detail ? detail : cpn_http_status_text(status));
        if (rc == 0)
            rc = cpn_buf_puts(&b, "}]");
    }
    if (rc == 0)
        rc = cpn_buf_puts(&b, "}");
    if (rc) {
        cpn_buf_free(&b);
        return rc == CPN_ELIMIT ? CPN_ELIMIT : -ENOMEM;
    }
    resp->status = status;
    resp->content_type = "application/problem+json";
    resp->body = b.data;
    resp->len = b.len;
    return 0;
}

void cpn_http_json(struct cpn_http_response *resp, int status, char *json)
{
    /* NULL is what a failed json_dumps() gives: answer 500 rather than an empty 200. */
    resp->status = json ? status : 500;
    resp->content_type = "application/json";
    resp->body = json;
    resp->len = json ? strlen(json) : 0;
}
