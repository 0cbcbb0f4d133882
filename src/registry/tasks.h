/* Threads for the layers of a pull or push: a bound on how many transfer
 * at once, and running a set of them to the first real error.  Private to
 * src/registry/. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct berr;

struct reg_slots {
        pthread_mutex_t mu;
        pthread_cond_t cv;
        int free;
};
void reg_slots_init(struct reg_slots *s, int n);
void reg_slots_take(struct reg_slots *s);
void reg_slots_give(struct reg_slots *s);
void reg_slots_destroy(struct reg_slots *s);

/* One job: fn(arg) on a thread of its own when `run`; it leaves its
 * result in *rc and *err. */
struct reg_task {
        void *(*fn)(void *arg);
        void *arg;
        bool run;
        const int *rc;
        const struct berr *err;
        pthread_t thread;
        bool started;
};

/* Start every task that should run, wait for all of them, and return the
 * first failure that is not the -ECANCELED of a job stopped because
 * another failed (copying its message to err); 0 when all succeeded.
 * A task that cannot be started sets *abort for the others. */
int reg_run_tasks(struct reg_task *t, size_t n, volatile int *abort,
                  struct berr *err);
