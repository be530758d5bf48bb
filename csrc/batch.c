/* Batch decode (files) and normalize (in-memory patches) over a pool of pthreads; each worker
 * takes the next item from an atomic index. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tiffdec.h"

#define MAX_THREADS 256
#define MIN_PATCHES_PER_THREAD 32 /* normalize-from-memory */

typedef struct {
    const char *const *paths;      /* files to decode, or NULL when patches are given */
    const uint8_t *const *patches; /* in-memory patches to normalize */
    const ptrdiff_t *row_strides;
    size_t n;
    uint8_t *out; /* NULL for the read floor */
    size_t row_bytes;
    hcd_out_kind kind;
    const hcd_lut *lut;
    int32_t *status;
    atomic_size_t next;
} batch_job;

static void run_items(batch_job *job, hcd_ctx *ctx) {
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
        if (i >= job->n)
            return;
        if (job->patches != NULL) {
            job->status[i] = hcd_normalize_patch(ctx, job->patches[i], job->row_strides[i],
                                                 job->out + i * job->row_bytes, job->kind,
                                                 job->lut);
        } else if (job->out == NULL) {
            const uint8_t *data;
            size_t len;
            job->status[i] = hcd_read_file(ctx, job->paths[i], &data, &len);
        } else {
            job->status[i] = hcd_decode_file(ctx, job->paths[i], job->out + i * job->row_bytes,
                                             job->kind, job->lut);
        }
    }
}

static void *worker_main(void *arg) {
    batch_job *job = arg;
    hcd_ctx *ctx = hcd_ctx_new();
    if (ctx != NULL) /* without memory this worker takes no paths; the others do them all */
        run_items(job, ctx);
    hcd_ctx_free(ctx);
    return NULL;
}

static int run_batch(batch_job *job, int threads) {
    hcd_ctx *own = hcd_ctx_new();
    if (own == NULL) {
        for (size_t i = 0; i < job->n; i++)
            job->status[i] = HCD_NO_MEMORY;
        if (job->out != NULL)
            memset(job->out, 0, job->n * job->row_bytes);
        return HCD_NO_MEMORY;
    }
    if (threads < 1)
        threads = 1;
    if ((size_t)threads > job->n)
        threads = job->n > 0 ? (int)job->n : 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    pthread_t ids[MAX_THREADS];
    int started = 0;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&ids[started], NULL, worker_main, job) != 0)
            break; /* fewer workers still finish the batch */
        started++;
    }
    run_items(job, own);
    for (int t = 0; t < started; t++)
        pthread_join(ids[t], NULL);
    hcd_ctx_free(own);
    return HCD_OK;
}

int hcd_decode_batch(const char *const *paths, size_t n, void *out, hcd_out_kind kind,
                     const hcd_lut *lut, int threads, int32_t *status) {
    batch_job job = {paths, NULL, NULL, n, out, hcd_row_bytes(kind), kind, lut, status, 0};
    atomic_init(&job.next, 0);
    return run_batch(&job, threads);
}

int hcd_normalize_batch(const uint8_t *const *patches, const ptrdiff_t *row_strides, size_t n,
                        void *out, hcd_out_kind kind, const hcd_lut *lut, int threads,
                        int32_t *status) {
    batch_job job = {NULL, patches, row_strides, n, out, hcd_row_bytes(kind), kind, lut, status, 0};
    atomic_init(&job.next, 0);
    /* A patch takes ~15 us; a thread is only worth starting for a few dozen of them. */
    size_t useful = n / MIN_PATCHES_PER_THREAD;
    if ((size_t)threads > useful)
        threads = useful > 0 ? (int)useful : 1;
    return run_batch(&job, threads);
}

int hcd_read_batch(const char *const *paths, size_t n, int threads, int32_t *status) {
    batch_job job = {paths, NULL, NULL, n, NULL, 0, HCD_OUT_U8_HWC, NULL, status, 0};
    atomic_init(&job.next, 0);
    return run_batch(&job, threads);
}
