/* SPDX-License-Identifier: Apache-2.0 */
/* What every executor shares: the names of task states (as the agent protocol spells them, except
 * "pending", which the agent reports as "dispatched") and the one way to free an executor. */
#include "cpnet/agent.h"

const char *cpn_task_state_name(enum cpn_task_state s)
{
    switch (s) {
    case CPN_TASK_PENDING:
        return "pending";
    case CPN_TASK_RUNNING:
        return "running";
    case CPN_TASK_COMPLETED:
        return "completed";
    case CPN_TASK_FAILED:
        return "failed";
    case CPN_TASK_CANCELLED:
        return "cancelled";
    case CPN_TASK_LOST:
        return "lost";
    }
    return "unknown";
}

void cpn_executor_destroy(struct cpn_executor *x)
{
    if (x && x->ops && x->ops->destroy)
        x->ops->destroy(x);
}
