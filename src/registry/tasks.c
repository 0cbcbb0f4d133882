#include "tasks.h"

#include <errno.h>

#include "error.h"

void reg_slots_init(struct reg_slots *s, int n) {
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->cv, NULL);
        s->free = n > 0 ? n : 1;
}

void reg_slots_take(struct reg_slots *s) {
        pthread_mutex_lock(&s->mu);
        while (s->free == 0)
                pthread_cond_wait(&s->cv, &s->mu);
        s->free--;
        pthread_mutex_unlock(&s->mu);
}

void reg_slots_give(struct reg_slots *s) {
        pthread_mutex_lock(&s->mu);
        s->free++;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
}

void reg_slots_destroy(struct reg_slots *s) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
}

int reg_run_tasks(struct reg_task *t, size_t n, volatile int *abort,
                  struct berr *err) {
        int r = 0;
        for (size_t i = 0; i < n; i++) {
                if (!t[i].run)
                        continue;
                if (pthread_create(&t[i].thread, NULL, t[i].fn, t[i].arg) !=
                    0) {
                        r = berr_setx(err, EAGAIN, "start a transfer thread");
                        *abort = 1;
                        break;
                }
                t[i].started = true;
        }
        for (size_t i = 0; i < n; i++)
                if (t[i].started)
                        pthread_join(t[i].thread, NULL);
        /* Two passes: a job's own failure explains more than the
         * cancellation it caused in the others. */
        for (int pass = 0; pass < 2 && r >= 0; pass++)
                for (size_t i = 0; i < n && r >= 0; i++) {
                        if (!t[i].started || *t[i].rc >= 0 ||
                            (pass == 0 && *t[i].rc == -ECANCELED))
                                continue;
                        r = *t[i].rc;
                        if (err)
                                *err = *t[i].err;
                }
        return r;
}
