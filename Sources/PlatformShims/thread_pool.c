/* The library's worker pool for element-wise work (optimizer updates, gradient norms, ...):
 * a few persistent threads that run chunks of a loop beside the calling thread.
 *
 * - No allocation per call. Workers are created when a loop first needs them (after a change
 *   of the thread count, at most once per worker) and live until the process ends.
 * - Idle workers spin for a short, bounded time (a loop that follows soon finds them awake),
 *   then sleep on a condition variable: an idle pool costs no CPU.
 * - One loop at a time: a second thread that calls while the pool is busy (two trainers in two
 *   threads), or a chunk that calls it again, runs its loop inline. Never a deadlock.
 * - After fork() the child has no workers; it creates its own when it needs them.
 * - Chunks are [k * grain, min(n, (k + 1) * grain)); which thread runs which chunk varies from
 *   call to call, so a chunk's result must not depend on it (see stx_sum_squares). */
#define _GNU_SOURCE
#include "PlatformShims.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* How long an idle worker, and the caller waiting for the last chunk, check for news before
 * sleeping: SPIN_ROUNDS pauses, a sched_yield() after every YIELD_EVERY of them (an OpenBLAS
 * thread waiting for the same core gets it), about 50-100 µs in all (bench/README.md). */
enum { SPIN_ROUNDS = 2048, YIELD_EVERY = 32 };

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* The loop being run. Written by the caller before the ticket that announces it, read by a
 * worker only after it joined the loop (see `state`). */
static struct {
    void (*fn)(void *ctx, size_t begin, size_t end);
    void *ctx;
    size_t n, grain, chunks;
} job;

/* The generation of the latest loop: workers wait for it to change. */
static _Atomic uint64_t ticket;
/* (generation << 32) | CLOSED | the workers inside the loop. A worker joins by incrementing
 * it while the generation is its ticket's and CLOSED is not set; the caller sets CLOSED once
 * every chunk is taken and then waits only for the workers inside. A worker that was asleep,
 * or not scheduled, is never waited for: the caller runs the chunks it did not take. */
static _Atomic uint64_t state;
#define CLOSED ((uint64_t)1 << 31)
#define INSIDE ((uint64_t)0x7fffffff)
static _Atomic size_t next_chunk;
static _Atomic int participants;    /* worker i may join iff i < this (the thread count) */
static atomic_flag busy = ATOMIC_FLAG_INIT;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;    /* a new ticket */
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;    /* the last worker left a closed loop */
static _Atomic int sleepers;        /* workers asleep on `wake` */
static int caller_waiting;          /* under lock */

static int started;                 /* workers created (under the busy flag) */
static uint64_t first_ticket[STX_MAX_THREADS]; /* the ticket when worker i was created */
static _Atomic int threads_wanted;  /* the thread count, caller included; 0 until first read */
static pthread_once_t defaults_once = PTHREAD_ONCE_INIT;
static char default_source[64] = "";

static void run_chunks(void) {
    for (;;) {
        size_t k = atomic_fetch_add_explicit(&next_chunk, 1, memory_order_relaxed);
        if (k >= job.chunks) return;
        size_t begin = k * job.grain, end = begin + job.grain < job.n ? begin + job.grain : job.n;
        job.fn(job.ctx, begin, end);
    }
}

/* Joins loop `generation` unless it is closed or over; whether it did. */
static int join(uint64_t generation) {
    uint64_t s = atomic_load(&state);
    for (;;) {
        if ((s >> 32) != (generation & 0xffffffffu) || (s & CLOSED)) return 0;
        if (atomic_compare_exchange_weak(&state, &s, s + 1)) return 1;
    }
}

static void *worker_main(void *arg) {
    int index = (int)(intptr_t)arg;
    uint64_t seen = first_ticket[index]; /* a loop announced after that is for this worker */
    for (;;) {
        uint64_t now = atomic_load_explicit(&ticket, memory_order_acquire);
        for (int i = 1; now == seen && i <= SPIN_ROUNDS; i++) {
            if (i % YIELD_EVERY == 0) sched_yield();
            else cpu_relax();
            now = atomic_load_explicit(&ticket, memory_order_acquire);
        }
        if (now == seen) {
            pthread_mutex_lock(&lock);
            atomic_fetch_add(&sleepers, 1);
            while ((now = atomic_load(&ticket)) == seen)
                pthread_cond_wait(&wake, &lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&lock);
        }
        seen = now;
        if (index >= atomic_load_explicit(&participants, memory_order_relaxed) || !join(now)) continue;
        run_chunks();
        uint64_t left = atomic_fetch_sub(&state, 1) - 1;
        if ((left & CLOSED) && (left & INSIDE) == 0) {
            pthread_mutex_lock(&lock);
            if (caller_waiting) pthread_cond_signal(&done);
            pthread_mutex_unlock(&lock);
        }
    }
    return NULL;
}

/* In a forked child only the forking thread exists: forget the workers and any loop. */
static void after_fork_in_child(void) {
    started = 0;
    atomic_flag_clear(&busy);
    atomic_store(&sleepers, 0);
    caller_waiting = 0;
    pthread_mutex_init(&lock, NULL);
    pthread_cond_init(&wake, NULL);
    pthread_cond_init(&done, NULL);
}

/* A positive count from an environment variable, or 0 when unset or not a number in
 * [1, STX_MAX_THREADS]. */
static int count_from(const char *name) {
    const char *text = getenv(name);
    if (!text || !*text) return 0;
    char *end = NULL;
    long value = strtol(text, &end, 10);
    while (end && (*end == ' ' || *end == '\t')) end++;
    if (!end || *end != '\0' || value < 1 || value > STX_MAX_THREADS) return 0;
    return (int)value;
}

static void read_defaults(void) {
    pthread_atfork(NULL, NULL, after_fork_in_child);
    static const char *const names[] = {"SWIFTTRAIN_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                        "OMP_NUM_THREADS"};
    int count = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !count; i++) {
        count = count_from(names[i]);
        if (count) strcpy(default_source, names[i]);
    }
    if (!count) {
        cpu_set_t cpus;
        count = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
        if (count < 1) count = 1;
        if (count > STX_MAX_THREADS) count = STX_MAX_THREADS;
        strcpy(default_source, "sched_getaffinity");
    }
    int unset = 0;
    atomic_compare_exchange_strong(&threads_wanted, &unset, count);
}

int stx_num_threads(void) {
    pthread_once(&defaults_once, read_defaults);
    return atomic_load_explicit(&threads_wanted, memory_order_relaxed);
}

const char *stx_num_threads_default_source(void) {
    pthread_once(&defaults_once, read_defaults);
    return default_source;
}

int stx_set_num_threads(int n) {
    if (n < 1 || n > STX_MAX_THREADS) return -1;
    pthread_once(&defaults_once, read_defaults);
    atomic_store(&threads_wanted, n);
    stx_blas_apply_num_threads();
    return 0;
}

/* Creates workers up to `wanted` (caller excluded); returns how many exist. Under `busy`. */
static int ensure_workers(int wanted) {
    while (started < wanted) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t thread;
        first_ticket[started] = atomic_load(&ticket);
        int failed = pthread_create(&thread, &attr, worker_main, (void *)(intptr_t)started);
        pthread_attr_destroy(&attr);
        if (failed) break; /* fewer workers, never an error */
        started++;
    }
    return started;
}

void stx_parallel_for(size_t n, size_t grain, void (*fn)(void *ctx, size_t begin, size_t end), void *ctx) {
    if (n == 0) return;
    if (grain == 0) grain = 1;
    size_t chunks = n / grain + (n % grain != 0);
    int threads = stx_num_threads();
    if (chunks < 2 || threads < 2 || atomic_flag_test_and_set_explicit(&busy, memory_order_acquire)) {
        fn(ctx, 0, n);
        return;
    }
    int workers = ensure_workers(threads - 1);
    if ((size_t)workers > chunks - 1) workers = (int)(chunks - 1);
    if (workers < 1) {
        atomic_flag_clear_explicit(&busy, memory_order_release);
        fn(ctx, 0, n);
        return;
    }
    atomic_store_explicit(&participants, workers, memory_order_relaxed);
    job.fn = fn;
    job.ctx = ctx;
    job.n = n;
    job.grain = grain;
    job.chunks = chunks;
    atomic_store_explicit(&next_chunk, 0, memory_order_relaxed);
    uint64_t generation = atomic_load_explicit(&ticket, memory_order_relaxed) + 1;
    atomic_store(&state, (generation & 0xffffffffu) << 32);
    atomic_store(&ticket, generation); /* seq_cst: see sleepers */
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&lock);
    }
    run_chunks();
    /* every chunk is taken: close the loop, wait for the workers inside */
    if (atomic_fetch_or(&state, CLOSED) & INSIDE) {
        for (int i = 0; (atomic_load_explicit(&state, memory_order_acquire) & INSIDE) && i < SPIN_ROUNDS; i++)
            cpu_relax();
        if (atomic_load(&state) & INSIDE) {
            pthread_mutex_lock(&lock);
            caller_waiting = 1;
            while (atomic_load(&state) & INSIDE)
                pthread_cond_wait(&done, &lock);
            caller_waiting = 0;
            pthread_mutex_unlock(&lock);
        }
    }
    atomic_flag_clear_explicit(&busy, memory_order_release);
}
