/* Open MPI, loaded at run time, as blas_loader.c loads OpenBLAS: libswifttrain does not link
 * MPI, so it works where MPI is not installed; a run that asks for data-parallel training
 * dlopen()s libmpi.so.40 (Open MPI 4 and 5; RTLD_GLOBAL, which Open MPI's own plugins need)
 * and initialises it unless the process already did (mpi4py, a C host calling MPI_Init).
 *
 * MPI's handles are Open MPI's: MPI_COMM_WORLD is the address of ompi_mpi_comm_world,
 * MPI_FLOAT of ompi_mpi_float, MPI_SUM of ompi_mpi_op_sum and so on (its ABI since 1.x).
 * MPI_Finalize runs at exit when this library initialised MPI and no training failed.
 *
 * Two threads of the library's own serve the collectives (docs/distributed.md):
 * - a communication thread runs the gradient sums started during the backward pass
 *   (stx_mpi_sum_float_start), so they overlap the rest of it; every other collective runs on
 *   the calling thread once those are done (stx_mpi_wait), so the processes issue their
 *   collectives in one order and never two at once (MPI_THREAD_SERIALIZED). Without that
 *   level (a host that called MPI_Init itself), the sums run at once on the calling thread.
 * - a watchdog ends the job (MPI_Abort, with a message naming the rank and the collective)
 *   when a collective has made no progress for the timeout (HF's ddp_timeout): a process that
 *   hangs, or that is not at the same step, would otherwise keep every other one waiting in a
 *   collective forever, which MPI cannot cancel. */
#define _GNU_SOURCE
#include "PlatformShims.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef void *handle;
#define IN_PLACE ((void *)1) /* Open MPI's MPI_IN_PLACE */
#define THREAD_SERIALIZED 2

static int (*p_initialized)(int *);
static int (*p_finalized)(int *);
static int (*p_init_thread)(int *, char ***, int, int *);
static int (*p_finalize)(void);
static int (*p_comm_rank)(handle, int *);
static int (*p_comm_size)(handle, int *);
static int (*p_allreduce)(const void *, void *, int, handle, handle, handle);
static int (*p_bcast)(void *, int, handle, int, handle);
static int (*p_abort)(handle, int);
static int (*p_query_thread)(int *);
static handle comm_world, type_float, type_double, type_byte, op_sum, op_max, op_min;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int status = -1, world_rank, world_size;
static int initialised_here, failed;
static char error[512] = "";

/* At exit: MPI_Finalize when this library started MPI and nothing failed. After a failure,
 * no finalize (it would wait for the processes still in a collective): the launcher sees a
 * process end without it and ends the job; and when the host started MPI (mpi4py, a C host),
 * whose own finalize would wait the same way, MPI_Abort ends the job at once. */
static void at_exit(void) {
    int done = 0;
    if (!p_finalized || p_finalized(&done) != 0 || done) return;
    if (failed) {
        if (!initialised_here && p_abort) p_abort(comm_world, 1);
        return;
    }
    if (initialised_here) p_finalize();
}

/* ---- the watchdog: a collective with no progress for `timeout_ns` ends the job ---- */

static _Atomic long long timeout_ns = 1800LL * 1000000000; /* HF's ddp_timeout default */
/* When the calling thread's collective (or its wait for the started sums) began, 0 when none
 * runs, and its name; the same for the communication thread. */
static _Atomic long long caller_since, comm_since;
static const char *_Atomic caller_what;
static const char *_Atomic comm_what;

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void *watchdog(void *unused) {
    (void)unused;
    for (;;) {
        long long limit = atomic_load(&timeout_ns), now = now_ns();
        long long since[2] = {atomic_load(&caller_since), atomic_load(&comm_since)};
        for (int i = 0; i < 2; i++) {
            if (limit <= 0 || since[i] == 0 || now - since[i] < limit) continue;
            const char *what = atomic_load(i ? &comm_what : &caller_what);
            fprintf(stderr,
                    "swifttrain: rank %d of %d: %s made no progress for %.0f s (ddp_timeout): another process "
                    "stopped responding or is not at the same step; ending the job (MPI_Abort)\n",
                    world_rank, world_size, what ? what : "a collective", (double)(now - since[i]) / 1e9);
            fflush(stderr);
            failed = 1;
            p_abort(comm_world, 1);
            _exit(1); /* MPI_Abort does not return; should it, the job must still end */
        }
        /* checks a few times per timeout, at most once a second */
        long long step = limit > 0 && limit / 4 < 1000000000 ? limit / 4 : 1000000000;
        if (step < 1000000) step = 1000000;
        struct timespec pause = {(time_t)(step / 1000000000), (long)(step % 1000000000)};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

void stx_mpi_set_timeout(double seconds) {
    atomic_store(&timeout_ns, seconds > 0 && seconds < 9e9 ? (long long)(seconds * 1e9) : 0);
}

/* ---- the communication thread: gradient sums started during the backward pass ---- */

static int serialized; /* MPI_THREAD_SERIALIZED or more, and the thread runs */
typedef struct {
    float *values;
    size_t count;
} sum_job;
enum { QUEUE = 256 };
static sum_job queue[QUEUE];
static size_t started, finished; /* jobs put in the queue, jobs done */
static int sums_rc;               /* the first failed sum's MPI error, until stx_mpi_wait reports it */
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;

static int reduce(void *values, size_t count, size_t size, handle type, handle op);

static void *communicate(void *unused) {
    (void)unused;
    pthread_mutex_lock(&queue_lock);
    for (;;) {
        while (finished == started) pthread_cond_wait(&work, &queue_lock);
        sum_job job = queue[finished % QUEUE];
        pthread_mutex_unlock(&queue_lock);
        atomic_store(&comm_what, "summing gradients (started during the backward pass)");
        atomic_store(&comm_since, now_ns());
        int rc = reduce(job.values, job.count, sizeof(float), type_float, op_sum);
        atomic_store(&comm_since, 0);
        pthread_mutex_lock(&queue_lock);
        if (rc != 0 && sums_rc == 0) sums_rc = rc;
        finished++;
        pthread_cond_broadcast(&done);
    }
    return NULL;
}

int stx_mpi_sum_float_start(float *values, size_t count) {
    if (status != 0) return -1;
    if (!serialized) return stx_mpi_allreduce_sum_float(values, count);
    pthread_mutex_lock(&queue_lock);
    while (started - finished == QUEUE) pthread_cond_wait(&done, &queue_lock);
    queue[started % QUEUE] = (sum_job){values, count};
    started++;
    pthread_cond_signal(&work);
    pthread_mutex_unlock(&queue_lock);
    return 0;
}

static int wait_sums(void) {
    if (!serialized) return 0;
    pthread_mutex_lock(&queue_lock);
    while (finished != started) pthread_cond_wait(&done, &queue_lock);
    int rc = sums_rc;
    sums_rc = 0;
    pthread_mutex_unlock(&queue_lock);
    return rc;
}

int stx_mpi_wait(void) {
    if (status != 0) return -1;
    atomic_store(&caller_what, "waiting for the gradient sums");
    atomic_store(&caller_since, now_ns());
    int rc = wait_sums();
    atomic_store(&caller_since, 0);
    return rc;
}

int stx_mpi_overlaps(void) { return serialized; }

static void load(void) {
    const char *names[] = {"libmpi.so.40", "libmpi.so"};
    void *lib = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !lib; i++)
        lib = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(error, sizeof error,
                 "could not load Open MPI (libmpi.so.40): %s; install it (Debian: 'apt-get install "
                 "openmpi-bin') and start the processes with mpirun",
                 why ? why : "not found");
        return;
    }
#define SYMBOL(var, name) (var = dlsym(lib, name))
    if (!SYMBOL(*(void **)&p_initialized, "MPI_Initialized") || !SYMBOL(*(void **)&p_finalized, "MPI_Finalized") ||
        !SYMBOL(*(void **)&p_init_thread, "MPI_Init_thread") || !SYMBOL(*(void **)&p_finalize, "MPI_Finalize") ||
        !SYMBOL(*(void **)&p_comm_rank, "MPI_Comm_rank") || !SYMBOL(*(void **)&p_comm_size, "MPI_Comm_size") ||
        !SYMBOL(*(void **)&p_allreduce, "MPI_Allreduce") || !SYMBOL(*(void **)&p_bcast, "MPI_Bcast") ||
        !SYMBOL(*(void **)&p_abort, "MPI_Abort") || !SYMBOL(*(void **)&p_query_thread, "MPI_Query_thread") ||
        !SYMBOL(comm_world, "ompi_mpi_comm_world") ||
        !SYMBOL(type_float, "ompi_mpi_float") || !SYMBOL(type_double, "ompi_mpi_double") ||
        !SYMBOL(type_byte, "ompi_mpi_byte") || !SYMBOL(op_sum, "ompi_mpi_op_sum") ||
        !SYMBOL(op_max, "ompi_mpi_op_max") || !SYMBOL(op_min, "ompi_mpi_op_min")) {
        snprintf(error, sizeof error,
                 "the loaded libmpi.so.40 is not Open MPI's (it lacks %s); data-parallel training "
                 "needs Open MPI 4 or 5", dlerror());
        return;
    }
#undef SYMBOL
    int ready = 0, provided = 0;
    if (p_initialized(&ready) != 0) {
        snprintf(error, sizeof error, "MPI_Initialized failed");
        return;
    }
    if (!ready) {
        /* Waiting processes yield the core instead of spinning (unless the launcher or the user
         * chose): the communication thread shares the cores with the BLAS threads, and a
         * spinning wait takes them from the computation it overlaps (docs/distributed.md:
         * W3 on 2 cores, 2 processes, 1.11 -> 2.11 steps/s) */
        setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
        if (p_init_thread(NULL, NULL, THREAD_SERIALIZED, &provided) != 0) {
            snprintf(error, sizeof error, "MPI_Init_thread failed; was the process started by mpirun?");
            return;
        }
        initialised_here = 1;
    }
    atexit(at_exit);
    if (p_comm_rank(comm_world, &world_rank) != 0 || p_comm_size(comm_world, &world_size) != 0 ||
        p_query_thread(&provided) != 0) {
        snprintf(error, sizeof error, "MPI_Comm_rank / MPI_Comm_size / MPI_Query_thread failed");
        return;
    }
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attributes, watchdog, NULL) != 0) {
        snprintf(error, sizeof error, "could not start the collectives' watchdog thread");
        pthread_attr_destroy(&attributes);
        return;
    }
    serialized = provided >= THREAD_SERIALIZED && pthread_create(&thread, &attributes, communicate, NULL) == 0;
    pthread_attr_destroy(&attributes);
    status = 0;
}

int stx_mpi_init(int *rank, int *size) {
    pthread_once(&once, load);
    if (status != 0) return -1;
    *rank = world_rank;
    *size = world_size;
    return 0;
}

const char *stx_mpi_error(void) { return error; }

int stx_mpi_launched(void) {
    /* Open MPI's mpirun only: other launchers (srun, MPICH's) also start independent jobs,
     * which ddp_backend "mpi" turns into one */
    const char *value = getenv("OMPI_COMM_WORLD_SIZE");
    return value && atoi(value) > 1;
}

/* Reduces in chunks of at most INT_MAX elements (MPI counts are int). */
static int reduce(void *values, size_t count, size_t size, handle type, handle op) {
    char *p = values;
    while (count > 0) {
        int n = count > (size_t)INT_MAX ? INT_MAX : (int)count;
        int rc = p_allreduce(IN_PLACE, p, n, type, op, comm_world);
        if (rc != 0) return rc;
        p += (size_t)n * size;
        count -= (size_t)n;
    }
    return 0;
}

/* A collective on the calling thread: after the started sums (one order on every process),
 * watched by the watchdog. */
static int collective(const char *what, void *values, size_t count, size_t size, handle type, handle op) {
    if (status != 0) return -1;
    atomic_store(&caller_what, what);
    atomic_store(&caller_since, now_ns());
    int rc = wait_sums();
    if (rc == 0) rc = reduce(values, count, size, type, op);
    atomic_store(&caller_since, 0);
    return rc;
}

int stx_mpi_allreduce_sum_float(float *values, size_t count) {
    return collective("summing gradients", values, count, sizeof *values, type_float, op_sum);
}
int stx_mpi_allreduce_sum_double(double *values, size_t count) {
    return collective("a sum across the processes", values, count, sizeof *values, type_double, op_sum);
}
int stx_mpi_allreduce_max_double(double *values, size_t count) {
    return collective("a maximum across the processes", values, count, sizeof *values, type_double, op_max);
}
int stx_mpi_allreduce_min_double(double *values, size_t count) {
    return collective("a minimum across the processes", values, count, sizeof *values, type_double, op_min);
}

static int broadcast(void *bytes, size_t count, int root);

int stx_mpi_broadcast(void *bytes, size_t count, int root) {
    if (status != 0) return -1;
    atomic_store(&caller_what, "sharing process 0's weights");
    atomic_store(&caller_since, now_ns());
    int rc = wait_sums();
    if (rc == 0) rc = broadcast(bytes, count, root);
    atomic_store(&caller_since, 0);
    return rc;
}

static int broadcast(void *bytes, size_t count, int root) {
    char *p = bytes;
    while (count > 0) {
        int n = count > (size_t)INT_MAX ? INT_MAX : (int)count;
        int rc = p_bcast(p, n, type_byte, root, comm_world);
        if (rc != 0) return rc;
        p += n;
        count -= (size_t)n;
    }
    return 0;
}


void stx_mpi_mark_failed(void) { failed = 1; }
