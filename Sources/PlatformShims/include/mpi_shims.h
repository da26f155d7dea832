/* Open MPI, loaded at run time (mpi_loader.c): the library never links MPI, so it works where
 * MPI is absent, and loads libmpi.so.40 only when a run asks for data-parallel training. */
#ifndef SWIFTTRAIN_MPI_SHIMS_H
#define SWIFTTRAIN_MPI_SHIMS_H

#include <stddef.h>

/** Loads Open MPI and initialises it (unless the process already did, e.g. mpi4py), once;
 *  thread-safe. 0 on success with the world's rank and size, -1 with stx_mpi_error(). */
int stx_mpi_init(int *rank, int *size);
/** Why stx_mpi_init failed. */
const char *stx_mpi_error(void);
/** Whether Open MPI's mpirun started this process among more than one
 *  (OMPI_COMM_WORLD_SIZE > 1); reads the environment only. */
int stx_mpi_launched(void);
/** In-place reductions over MPI_COMM_WORLD; 0 or an MPI error code. */
int stx_mpi_allreduce_sum_float(float *values, size_t count);
int stx_mpi_allreduce_sum_double(double *values, size_t count);
int stx_mpi_allreduce_max_double(double *values, size_t count);
int stx_mpi_allreduce_min_double(double *values, size_t count);
/** Starts summing `count` floats in place on the communication thread (the call returns at
 *  once; on the calling thread when MPI's thread level is below MPI_THREAD_SERIALIZED).
 *  The values must stay untouched until stx_mpi_wait. 0 or an MPI error code. */
int stx_mpi_sum_float_start(float *values, size_t count);
/** Waits for the sums started; 0, or the first failed one's MPI error code. Every other
 *  collective waits for them first. */
int stx_mpi_wait(void);
/** Whether started sums overlap the caller's work (a communication thread runs them). */
int stx_mpi_overlaps(void);
/** A collective that makes no progress for `seconds` (<= 0: never) ends the job with
 *  MPI_Abort and a message naming the rank and the collective (HF's ddp_timeout). */
void stx_mpi_set_timeout(double seconds);
/** Broadcasts `bytes` from rank `root`. 0 or an MPI error code. */
int stx_mpi_broadcast(void *bytes, size_t count, int root);
/** A training on this process failed: at exit, MPI is not finalised (a finalise would wait
 *  for the ranks still in a collective; without it the launcher ends the job). */
void stx_mpi_mark_failed(void);

#endif
