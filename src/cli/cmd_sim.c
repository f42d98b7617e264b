/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder while the sim command is being built in this session; replaced by its real file. */
#include <stdio.h>

#include "cli.h"

int cpn_cmd_sim(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "cpnet %s: not built yet\n", argv[0]);
    return CPN_EXIT_FAIL;
}
