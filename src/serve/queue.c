/* SPDX-License-Identifier: Apache-2.0 */
/* The command queue between the HTTP threads and the event loop: a mutex-protected FIFO with a
 * condition variable. HTTP threads push; the loop takes everything pending at once (up to a batch
 * limit), which is what turns concurrent requests into one group commit. */
#include <errno.h>
#include <time.h>

#include "serve_int.h"

int srv_queue_init(struct srv_queue *q)
{
    pthread_condattr_t ca;
    q->head = q->tail = NULL;
    q->n = 0;
    q->stop = false;
    if (pthread_mutex_init(&q->mu, NULL))
        return -ENOMEM;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&q->cv, &ca)) {
        pthread_condattr_destroy(&ca);
        pthread_mutex_destroy(&q->mu);
        return -ENOMEM;
    }
    pthread_condattr_destroy(&ca);
    return 0;
}

void srv_queue_destroy(struct srv_queue *q)
{
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
}

void srv_queue_push(struct srv_queue *q, struct srv_cmd *c)
{
    c->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    q->n++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

struct srv_cmd *srv_queue_take(struct srv_queue *q, int timeout_ms, size_t max, bool *stop)
{
    struct srv_cmd *list, *last;
    size_t k = 1;
    pthread_mutex_lock(&q->mu);
    if (!q->head && !q->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!q->head && !q->stop)
            if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) == ETIMEDOUT)
                break;
    }
    *stop = q->stop;
    list = q->head;
    if (!list) {
        pthread_mutex_unlock(&q->mu);
        return NULL;
    }
    last = list;
    while (last->next && k < max) {
        last = last->next;
        k++;
    }
    q->head = last->next;
    if (!q->head)
        q->tail = NULL;
    q->n -= k;
    last->next = NULL;
    pthread_mutex_unlock(&q->mu);
    return list;
}

void srv_queue_stop(struct srv_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}
