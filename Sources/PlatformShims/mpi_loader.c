/* Open MPI, loaded at run time, as blas_loader.c loads OpenBLAS: libswifttrain does not link
 * MPI, so it works where MPI is not installed; a run that asks for data-parallel training
 * dlopen()s libmpi.so.40 (Open MPI 4 and 5; RTLD_GLOBAL, which Open MPI's own plugins need)
 * and initialises it unless the process already did (mpi4py, a C host calling MPI_Init).
 *
 * MPI's handles are Open MPI's: MPI_COMM_WORLD is the address of ompi_mpi_comm_world,
 * MPI_FLOAT of ompi_mpi_float, MPI_SUM of ompi_mpi_op_sum and so on (its ABI since 1.x).
 * MPI_Finalize runs at exit when this library initialised MPI and no training failed. */
#define _GNU_SOURCE
#include "PlatformShims.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

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
        !SYMBOL(*(void **)&p_abort, "MPI_Abort") ||
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
        if (p_init_thread(NULL, NULL, THREAD_SERIALIZED, &provided) != 0) {
            snprintf(error, sizeof error, "MPI_Init_thread failed; was the process started by mpirun?");
            return;
        }
        initialised_here = 1;
    }
    atexit(at_exit);
    if (p_comm_rank(comm_world, &world_rank) != 0 || p_comm_size(comm_world, &world_size) != 0) {
        snprintf(error, sizeof error, "MPI_Comm_rank / MPI_Comm_size failed");
        return;
    }
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
    if (status != 0) return -1;
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

int stx_mpi_allreduce_sum_float(float *values, size_t count) {
    return reduce(values, count, sizeof *values, type_float, op_sum);
}
int stx_mpi_allreduce_sum_double(double *values, size_t count) {
    return reduce(values, count, sizeof *values, type_double, op_sum);
}
int stx_mpi_allreduce_max_double(double *values, size_t count) {
    return reduce(values, count, sizeof *values, type_double, op_max);
}
int stx_mpi_allreduce_min_double(double *values, size_t count) {
    return reduce(values, count, sizeof *values, type_double, op_min);
}

int stx_mpi_broadcast(void *bytes, size_t count, int root) {
    if (status != 0) return -1;
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
