/* SPDX-License-Identifier: Apache-2.0 */
/* Names of resource classes and signal kinds, as they appear in files, on the command line and in
 * reports. Parsing is case-insensitive and accepts the everyday aliases cpu, gpu and hpc. */
#include <errno.h>
#include <strings.h>

#include "cpnet/model.h"

static const char *const class_names[CPN_CLASS_COUNT] = { "general", "intelligent", "super" };
static const char *const class_alias[CPN_CLASS_COUNT] = { "cpu", "gpu", "hpc" };
static const char *const kind_names[CPN_SIG_COUNT] = { "ci", "green", "price" };

const char *cpn_class_name(enum cpn_class c)
{
    if ((unsigned)c >= CPN_CLASS_COUNT)
        return "unknown";
    return class_names[c];
}

int cpn_class_parse(const char *s, enum cpn_class *out)
{
    for (int i = 0; i < CPN_CLASS_COUNT; i++) {
        if (!strcasecmp(s, class_names[i]) || !strcasecmp(s, class_alias[i])) {
            *out = (enum cpn_class)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *cpn_signal_kind_name(enum cpn_signal_kind k)
{
    if ((unsigned)k >= CPN_SIG_COUNT)
        return "unknown";
    return kind_names[k];
}
