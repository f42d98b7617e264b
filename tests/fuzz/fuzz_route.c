/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the route matcher, which sees every request target from the network: the
 * first byte picks the method, the rest is the path. Checks that a match names a route of the
 * table whose method fits, that decoded params are NUL-terminated within their buffers, and that
 * a 405 always comes with a non-empty Allow list of whole method names. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cpn_route_match m;
    char path[2048], allow[64];
    enum cpn_http_method method;
    int rc;
    if (size < 1 || size > sizeof path)
        return 0;
    method = (enum cpn_http_method)(data[0] % (CPN_HTTP_OTHER + 1));
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    memset(&m, 0x55, sizeof m);
    rc = cpn_route_match(method, path, &m, allow, sizeof allow);
    if (rc == 0) {
        const struct cpn_route_info *ri = cpn_route_info(m.route);
        if (!ri)
            abort();
        if (ri->method != method && !(method == CPN_HTTP_HEAD && ri->method == CPN_HTTP_GET))
            abort();
        for (int i = 0; i < CPN_ROUTE_PARAMS; i++)
            if (!memchr(m.params[i], '\0', CPN_ROUTE_PARAM_MAX))
                abort();
        if (strchr(ri->path, '{') && m.params[0][0] == '\0')
            abort();
    } else if (rc == -EPERM) {
        if (allow[0] == '\0' || strlen(allow) >= sizeof allow)
            abort();
    } else if (rc != -ENOENT) {
        abort();
    }
    /* A short Allow buffer must never overflow. */
    char small[5];
    (void)cpn_route_match(method, path, &m, small, sizeof small);
    if (!memchr(small, '\0', sizeof small) && rc == -EPERM)
        abort();
    return 0;
}
