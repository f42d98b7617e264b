/* SPDX-License-Identifier: Apache-2.0 */
/* Cryptographic random bytes from the kernel, for secrets (API tokens) and identifiers that must
 * not be guessable. getrandom(2) blocks only until the kernel's pool is first initialised and
 * never fails once it is; short reads (more than 256 bytes, or a signal) are retried. This is not
 * the deterministic generator of util.h: nothing reproducible may depend on it. */
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "cpnet/store.h"

int cpn_random_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}
