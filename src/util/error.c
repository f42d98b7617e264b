/* SPDX-License-Identifier: Apache-2.0 */
/* Error codes and messages: the one table of project codes (CPN_ERROR_TABLE) and the helpers that
 * fill a struct cpn_error. Messages are bounded; a longer one is cut, never overflowed. */
#include "cpnet/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int cpn_errorf(struct cpn_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int cpn_error_prefix(struct cpn_error *err, int code, const char *fmt, ...)
{
    char prefix[256];
    char old[sizeof err->msg];
    va_list ap;
    if (!err)
        return code;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    {
        size_t pl = strnlen(prefix, sizeof prefix - 1);
        size_t ol = strnlen(old, sizeof old - 1);
        if (pl > sizeof err->msg - 1)
            pl = sizeof err->msg - 1;
        if (ol > sizeof err->msg - 1 - pl)
            ol = sizeof err->msg - 1 - pl;
        memcpy(err->msg, prefix, pl);
        memcpy(err->msg + pl, old, ol);
        err->msg[pl + ol] = '\0';
    }
    if (err->code == 0)
        err->code = code;
    return err->code;
}

const char *cpn_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define CPN_X_(name, val, msg)                                                                     \
    case name:                                                                                     \
        return msg;
        CPN_ERROR_TABLE(CPN_X_)
#undef CPN_X_
    default:
        break;
    }
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}
