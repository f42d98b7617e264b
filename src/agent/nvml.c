/* SPDX-License-Identifier: Apache-2.0 */
/* GPUs of the host through NVIDIA's management library, loaded at run time (dlopen of
 * libnvidia-ml.so.1) so that cpnet neither links nor needs it: a host without NVIDIA drivers simply
 * has no GPU pool and no measured GPU power. Only the handful of calls the agent needs are bound:
 * device count, model name, memory, and power draw in milliwatts. */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "agent_int.h"

#define NVML_MAX_GPUS 64

struct nvml_memory {
    unsigned long long total, free, used;
};

struct agt_nvml {
    void *lib;
    unsigned n;
    void *dev[NVML_MAX_GPUS];
    int (*shutdown)(void);
    int (*name)(void *dev, char *name, unsigned len);
    int (*memory)(void *dev, struct nvml_memory *m);
    int (*power)(void *dev, unsigned *mw);
};

/* dlsym returns a data pointer; copying it into a function pointer is how POSIX means it to be
 * used. */
static int nvml_bind(void *lib, const char *name, void *fnptr, size_t size)
{
    void *sym = dlsym(lib, name);
    if (!sym)
        return -ENOENT;
    memcpy(fnptr, &sym, size);
    return 0;
}

int agt_nvml_open(struct agt_nvml **out)
{
    struct agt_nvml *g;
    int (*init)(void) = NULL;
    int (*count)(unsigned *) = NULL;
    int (*handle)(unsigned, void **) = NULL;
    unsigned n = 0;
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return -ENOENT;
    g = cpn_calloc(1, sizeof *g);
    if (!g) {
        dlclose(lib);
        return -ENOMEM;
    }
    g->lib = lib;
    if (nvml_bind(lib, "nvmlInit_v2", &init, sizeof init) ||
        nvml_bind(lib, "nvmlShutdown", &g->shutdown, sizeof g->shutdown) ||
        nvml_bind(lib, "nvmlDeviceGetCount_v2", &count, sizeof count) ||
        nvml_bind(lib, "nvmlDeviceGetHandleByIndex_v2", &handle, sizeof handle) ||
        nvml_bind(lib, "nvmlDeviceGetName", &g->name, sizeof g->name) ||
        nvml_bind(lib, "nvmlDeviceGetMemoryInfo", &g->memory, sizeof g->memory) ||
        nvml_bind(lib, "nvmlDeviceGetPowerUsage", &g->power, sizeof g->power) || init() != 0) {
        dlclose(lib);
        cpn_free(g);
        return -ENOENT;
    }
    if (count(&n) != 0 || n == 0) {
        g->shutdown();
        dlclose(lib);
        cpn_free(g);
        return -ENOENT;
    }
    for (unsigned i = 0; i < n && g->n < NVML_MAX_GPUS; i++)
        if (handle(i, &g->dev[g->n]) == 0)
            g->n++;
    if (!g->n) {
        agt_nvml_close(g);
        return -ENOENT;
    }
    *out = g;
    return 0;
}

unsigned agt_nvml_count(const struct agt_nvml *g)
{
    return g ? g->n : 0;
}

void agt_nvml_device(const struct agt_nvml *g, char *name, size_t size, double *mem_gib)
{
    struct nvml_memory m = { 0 };
    char buf[96] = "";
    if (!g || !g->n)
        return;
    if (g->name(g->dev[0], buf, sizeof buf) == 0) {
        const char *p = buf;
        if (!strncmp(p, "NVIDIA ", 7)) /* "NVIDIA H800" -> "H800", as the network names them */
            p += 7;
        cpn_strlcpy(name, p, size);
    }
    if (g->memory(g->dev[0], &m) == 0)
        *mem_gib = (double)m.total / (1024.0 * 1024.0 * 1024.0);
}

int agt_nvml_watts(struct agt_nvml *g, double *watts)
{
    double w = 0;
    for (unsigned i = 0; g && i < g->n; i++) {
        unsigned mw = 0;
        if (g->power(g->dev[i], &mw) != 0)
            return -EIO;
        w += mw / 1000.0;
    }
    *watts = w;
    return g ? 0 : -ENOENT;
}

void agt_nvml_close(struct agt_nvml *g)
{
    if (!g)
        return;
    g->shutdown();
    dlclose(g->lib);
    cpn_free(g);
}
