/*
 * swifttrain.h - the C interface of swifttrain, an embeddable training library.
 *
 * This header is the contract: a function that is not declared here is not part of the
 * published API. It compiles as C99 and as C++ (extern "C").
 *
 * Overview
 * --------
 * A program builds a model out of modules, wraps caller-owned arrays in datasets, fills a
 * st_training_args struct (HuggingFace TrainingArguments names and defaults), creates a
 * trainer, optionally registers callbacks, and trains:
 *
 *     st_module *layers[3], *model = NULL;
 *     st_linear_create(&layers[0], 64, 64, true);
 *     st_relu_create(&layers[1]);
 *     st_linear_create(&layers[2], 64, 10, true);
 *     st_sequential_create(&model, layers, 3);      // the sequential keeps its own references
 *     for (int i = 0; i < 3; i++) st_module_free(layers[i]);
 *
 *     st_dataset *train = NULL;
 *     st_dataset_create(&train, x, n, 64, labels, ST_DATA_COPY);
 *
 *     st_training_args args;
 *     st_training_args_init(&args, ST_TRAINING_ARGS_VERSION);
 *     st_training_args_set(&args, "learning_rate", "1e-3");   // or: args.learning_rate = 1e-3;
 *
 *     st_trainer *trainer = NULL;
 *     if (st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args) != ST_OK ||
 *         st_trainer_set_train_dataset(trainer, train) != ST_OK ||
 *         st_trainer_train(NULL, trainer) != ST_OK)
 *         fprintf(stderr, "swifttrain: %s\n", st_last_error_message());
 *     st_trainer_free(trainer); st_dataset_free(train); st_module_free(model);
 *
 * Conventions
 * -----------
 * - Every fallible function returns an st_status: ST_OK (0) or a negative ST_E* code. st_status
 *   is a plain enum of int's size and values, so `int rc = st_x(...)` keeps working.
 *   The return value decides whether a call failed; st_last_error_message() explains it.
 * - Statuses any function may return without saying so: ST_EINVAL for a required handle or
 *   out-pointer that is NULL, or a handle of another type; ST_EMISUSE for a handle that was
 *   already freed. Anything that multiplies matrices (st_matmul, st_linear, st_conv2d, model
 *   forwards, training, evaluation, prediction) may return ST_EBLAS. Each function documents
 *   the statuses beyond these, or its section does for all of its functions.
 * - Out-parameters come first. On failure, handle out-parameters (st_module **, st_metrics **,
 *   ...) are set to NULL when they are not NULL themselves; other out-parameters are left
 *   untouched.
 * - Which status: ST_EINVAL for a value that is wrong in itself (NULL, unknown enum value or
 *   name, nonsense hyper-parameter, a label outside [0, outputs), a dataset without the labels
 *   or targets the loss needs, an index out of range, eval_strategy without an evaluation
 *   dataset); ST_ESHAPE for sizes that do not fit together (features vs. the model's input,
 *   layers vs. each other, an output buffer vs. the predictions); ST_EMISUSE for a call the
 *   object's state forbids (training without a training dataset, calls from inside a callback).
 * - Handles are opaque and reference counted inside the library: an object that uses another
 *   (a sequential its children, a trainer its model and datasets) keeps its own reference, so
 *   handles may be freed in any order. Every *_free function accepts NULL.
 * - Ownership: a handle a function gives out (*out of a create function, a tensor operation or
 *   a getter) is the caller's reference, released with the type's *_free. Arguments are
 *   borrowed for the call only, unless the function says it keeps a reference. Strings and
 *   arrays the library returns stay its own: static storage, or valid while the object they
 *   came from lives, as each function says. Never free them.
 * - Structs that may grow start with `uint32_t struct_size`: the caller's struct is filled by
 *   its _init (a macro that passes sizeof as the caller compiled it) or, for a struct the
 *   library fills, has struct_size set by the caller; the library reads and writes only within
 *   struct_size. Structs the library hands to callbacks carry the library's struct_size. See
 *   docs/abi.md.
 * - The library never aborts the host process on bad input: arguments are checked at this
 *   boundary and reported through the status.
 * - Threads: one handle must not be used from two threads at the same time; distinct handles
 *   may. st_last_error_message() is per thread.
 */
#ifndef SWIFTTRAIN_H
#define SWIFTTRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SWIFTTRAIN_VERSION_MAJOR 0
#define SWIFTTRAIN_VERSION_MINOR 2
#define SWIFTTRAIN_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH; compare with st_version_number() at run time. */
#define SWIFTTRAIN_VERSION_NUMBER \
    (SWIFTTRAIN_VERSION_MAJOR * 10000 + SWIFTTRAIN_VERSION_MINOR * 100 + SWIFTTRAIN_VERSION_PATCH)

/** Marks every function of the API: exported from the shared library even when it is built
 *  with -fvisibility=hidden. Define it before including this header to override. */
#ifndef SWIFTTRAIN_API
#if defined(__GNUC__) || defined(__clang__)
#define SWIFTTRAIN_API __attribute__((visibility("default")))
#else
#define SWIFTTRAIN_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================================
 * Status codes and errors
 * ====================================================================================== */

/** Status codes. Values are stable; new codes are only ever appended. */
typedef enum st_status {
    ST_OK = 0,          /**< Success. */
    ST_ERROR = -1,      /**< An internal error; the message says what happened. */
    ST_EINVAL = -2,     /**< An argument is invalid: NULL handle, unknown enum value or name,
                             nonsense hyper-parameter. */
    ST_ESHAPE = -3,     /**< Sizes or shapes do not fit together. */
    ST_ENOMEM = -4,     /**< Memory could not be allocated. */
    ST_EMISUSE = -5,    /**< The call is not allowed in the object's current state
                             (for example training without a training dataset). */
    ST_EUSER = -6,      /**< A callback returned non-zero; training stopped early. */
    ST_EBLAS = -7,      /**< OpenBLAS could not be loaded. */
    ST_ENOTFOUND = -8,  /**< A named item (metric, ...) does not exist. */
    ST_EIO = -9,        /**< A file could not be opened, read or written; the message names
                             it and says why (errno's text). */
    ST_ECORRUPT = -10   /**< A file's contents are damaged or not in the expected format (a
                             truncated checkpoint, a checksum mismatch, a malformed
                             safetensors header); the message names the file and the fault. */
} st_status;

/** A static, human-readable name for a status code ("ST_EINVAL: invalid argument").
 *  Never NULL; unknown codes give "unknown status". */
SWIFTTRAIN_API
const char *st_status_string(int status);

/** The message of the last failed call on this thread. Never NULL (empty when there was no
 *  error). The text is owned by the library and valid until the next failing call on the
 *  same thread. Do not use it to decide whether a call failed: use the returned status. */
SWIFTTRAIN_API
const char *st_last_error_message(void);

/** Sets this thread's last error message: code of yours that the library calls (a config
 *  factory, a forward, a callback) explains its failure with it before returning non-zero; the
 *  library passes it on in its own message. NULL sets an empty message. */
SWIFTTRAIN_API
void st_set_last_error_message(const char *message);

/* ======================================================================================
 * Version and runtime
 * ====================================================================================== */

/** SWIFTTRAIN_VERSION_NUMBER of the library actually loaded. */
SWIFTTRAIN_API
int st_version_number(void);

/** "MAJOR.MINOR.PATCH" of the library actually loaded. Static storage. */
SWIFTTRAIN_API
const char *st_version_string(void);

/** Loads OpenBLAS if it is not loaded yet. Called implicitly by everything that computes.
 *
 *  OpenBLAS picks its kernels from OPENBLAS_CORETYPE when it is loaded. When that variable is
 *  not set, swifttrain sets it from the CPU's features (SkylakeX on AVX-512, Haswell on AVX2)
 *  before loading OpenBLAS, because OpenBLAS 0.3.21 misdetects recent CPUs and falls back to
 *  kernels several times slower. A value set by the user is always respected.
 *  @return ST_OK, or ST_EBLAS when libopenblas.so.0 cannot be loaded (install libopenblas0). */
SWIFTTRAIN_API
st_status st_blas_init(void);

/** The OpenBLAS core type in use ("SkylakeX", "Haswell", ...), or "unavailable" when OpenBLAS
 *  could not be loaded. Loads OpenBLAS if needed. Static storage, never NULL. */
SWIFTTRAIN_API
const char *st_blas_corename(void);

/** OpenBLAS's build configuration string ("OpenBLAS 0.3.21 DYNAMIC_ARCH ..."), or
 *  "unavailable". Static storage, never NULL. */
SWIFTTRAIN_API
const char *st_blas_config(void);

/** The older name of st_set_num_threads (it sets OpenBLAS's threads and the library's own
 *  together). Unlike it, loads OpenBLAS first and gives ST_EBLAS, changing nothing, when
 *  OpenBLAS cannot be loaded. */
SWIFTTRAIN_API
st_status st_blas_set_num_threads(int num_threads);

/** Sets how many threads the library computes with (like torch.set_num_threads): OpenBLAS's
 *  threads and the library's worker pool for element-wise work (optimizer updates, gradient
 *  norms), the calling thread included. Process-wide; safe from any thread (a computation
 *  already running keeps the count it started with).
 *
 *  Until it is called, the count is SWIFTTRAIN_NUM_THREADS, else OPENBLAS_NUM_THREADS, else
 *  OMP_NUM_THREADS (read once, when first needed; a value that is not a number in
 *  [1, ST_MAX_NUM_THREADS] is ignored), else the number of CPUs the process may run on
 *  (sched_getaffinity).
 *  @return ST_OK, or ST_EINVAL (nothing changes) unless 1 <= num_threads <= ST_MAX_NUM_THREADS. */
SWIFTTRAIN_API
st_status st_set_num_threads(int num_threads);

/** The thread count in use (like torch.get_num_threads): see st_set_num_threads. Never fails. */
SWIFTTRAIN_API
int st_get_num_threads(void);

/** The largest count st_set_num_threads accepts. */
#define ST_MAX_NUM_THREADS 1024

/** Seeds the generator used to initialise new modules' parameters (like torch.manual_seed).
 *  Modules created after this call with the same seed and the same sequence of creations
 *  get identical parameters. */
SWIFTTRAIN_API
void st_manual_seed(uint64_t seed);

/* ======================================================================================
 * Tensors
 *
 * An st_tensor is a contiguous, row-major array of float32, int64 or bool values with up
 * to ST_MAX_DIMS dimensions. Float32 tensors take part in reverse-mode automatic
 * differentiation: an operation on tensors that require gradients records itself, and
 * st_tensor_backward() on a scalar result adds to the gradient of every leaf tensor that
 * requires gradients (PyTorch semantics; the graph is released after the backward pass).
 *
 * Every function that makes a tensor returns a new handle in *out that the caller frees
 * with st_tensor_free(); its arguments are only borrowed. Errors name the operation and the
 * shapes involved. Statuses, unless a function says more: ST_EINVAL for a dtype the operation
 * does not take, an unknown enum value, or a dimension or index out of range; ST_ESHAPE for
 * shapes that do not fit together (that do not broadcast, element counts that differ).
 * ====================================================================================== */

typedef struct st_tensor st_tensor;

/** Element types. */
typedef enum st_dtype {
    ST_FLOAT32 = 0,  /**< 32-bit float: values, parameters, gradients */
    ST_INT64 = 1,    /**< 64-bit integer: indices and class labels */
    ST_BOOL = 2      /**< bool, one byte per element (0 or 1): masks, comparison results */
} st_dtype;

/** Most dimensions a tensor can have. */
#define ST_MAX_DIMS 8

/** An index argument that is absent (an embedding without padding index, ...). */
#define ST_NO_INDEX INT64_MIN

/** What the library does with the caller's buffers. */
typedef enum st_data_ownership {
    /** The library copies the buffers during the call; the caller may free them on return. */
    ST_DATA_COPY = 0,
    /** The library reads the caller's buffers in place. They must stay valid and unchanged
     *  until the object and everything using it have been freed. No copy is made. */
    ST_DATA_BORROW = 1
} st_data_ownership;

/** How a loss combines per-element values (PyTorch's `reduction`). */
typedef enum st_reduction {
    ST_REDUCTION_NONE = 0,
    ST_REDUCTION_MEAN = 1,
    ST_REDUCTION_SUM = 2,
    ST_REDUCTION_BATCHMEAN = 3  /**< sum / batch size; st_kl_div only */
} st_reduction;

/** A tensor of `shape` (ndim dimensions, 0 for a scalar) holding the caller's `data`
 *  (row-major, prod(shape) elements of `dtype`), copied or borrowed (ST_DATA_BORROW: the
 *  memory must outlive the tensor and everything computed from it in place, i.e. views). */
SWIFTTRAIN_API
st_status st_tensor_create(st_tensor **out, const void *data, const int64_t *shape, size_t ndim,
                           st_dtype dtype, st_data_ownership ownership);

/** A tensor over the caller's `data` (as ST_DATA_BORROW), whose lifetime the library
 *  manages: it calls release(user_data) exactly once, when nothing reads the memory any more
 *  (the tensor, its views and every autograd graph or batch that kept it are gone), on
 *  whatever thread that happens; also when creation fails, before this returns. For a
 *  binding whose objects own memory (a Python buffer, a refcounted array). ST_EINVAL for a
 *  NULL `release` (then it is not called), else as st_tensor_create. */
SWIFTTRAIN_API
st_status st_tensor_create_lent(st_tensor **out, void *data, const int64_t *shape, size_t ndim,
                                st_dtype dtype, void (*release)(void *user_data), void *user_data);

/** Zeros of the given shape and type. */
SWIFTTRAIN_API
st_status st_tensor_zeros(st_tensor **out, const int64_t *shape, size_t ndim, st_dtype dtype);

/** A float32 tensor filled with `value` (ones: value 1). */
SWIFTTRAIN_API
st_status st_tensor_full(st_tensor **out, const int64_t *shape, size_t ndim, float value);

/** start, start + step, ... excluding end, as float32 or int64 (torch.arange). */
SWIFTTRAIN_API
st_status st_tensor_arange(st_tensor **out, double start, double end, double step, st_dtype dtype);

/** Uniform values in [low, high) from a generator seeded with `seed`. */
SWIFTTRAIN_API
st_status st_tensor_uniform(st_tensor **out, const int64_t *shape, size_t ndim, float low,
                            float high, uint64_t seed);

/** Normal values N(mean, std^2) from a generator seeded with `seed`. */
SWIFTTRAIN_API
st_status st_tensor_normal(st_tensor **out, const int64_t *shape, size_t ndim, float mean,
                           float std, uint64_t seed);

/** Uniform values in [low, high) from the default generator (the one st_manual_seed seeds),
 *  like torch.rand. */
SWIFTTRAIN_API
st_status st_tensor_rand(st_tensor **out, const int64_t *shape, size_t ndim, float low, float high);
/** Normal values N(mean, std^2) from the default generator (torch.randn). */
SWIFTTRAIN_API
st_status st_tensor_randn(st_tensor **out, const int64_t *shape, size_t ndim, float mean,
                          float std);

/** Releases the caller's reference. NULL is a harmless no-op. Using a handle after it was
 *  freed returns ST_EMISUSE ("freed handle") rather than crashing. */
SWIFTTRAIN_API
void st_tensor_free(st_tensor *tensor);

/** Number of dimensions (0 for a scalar). */
SWIFTTRAIN_API
st_status st_tensor_ndim(size_t *out, const st_tensor *tensor);

/** Copies the shape into out[0..ndim); `capacity` is out's length (ST_MAX_DIMS is enough). */
SWIFTTRAIN_API
st_status st_tensor_shape(int64_t *out, size_t capacity, const st_tensor *tensor);

/** Number of elements. */
SWIFTTRAIN_API
st_status st_tensor_numel(int64_t *out, const st_tensor *tensor);

/** Element type. */
SWIFTTRAIN_API
st_status st_tensor_dtype(st_dtype *out, const st_tensor *tensor);

/** Copies the values into `out`, which must hold exactly numel * element-size bytes. */
SWIFTTRAIN_API
st_status st_tensor_copy_to(void *out, size_t out_bytes, const st_tensor *tensor);

/** The tensor's contiguous memory (numel elements of its dtype), valid while the tensor
 *  lives; writing to it changes the tensor (do not write while a graph that read it is
 *  still to be backpropagated). Check st_tensor_check_writable before writing. */
SWIFTTRAIN_API
st_status st_tensor_data(void **out, st_tensor *tensor);

/** ST_OK when writing into the tensor's memory changes everything PyTorch's write would.
 *  ST_EMISUSE, with a message naming what it is a copy of, for a copy that stands where
 *  PyTorch returns a view (a strided slice, a transpose, an expansion: st_slice, st_select,
 *  st_permute, st_transpose, st_expand and their views), whose writes would not reach the
 *  original. Slices of one contiguous block and reshapes are views and writable. */
SWIFTTRAIN_API
st_status st_tensor_check_writable(const st_tensor *tensor);

/** The value of a one-element tensor, as a double. */
SWIFTTRAIN_API
st_status st_tensor_item(double *out, const st_tensor *tensor);

/** Whether gradients flow to this tensor. Set it on leaves (parameters). ST_EINVAL to set it
 *  on a tensor that is not float32; ST_EMISUSE to clear it on a non-leaf (use st_tensor_detach). */
SWIFTTRAIN_API
st_status st_tensor_set_requires_grad(st_tensor *tensor, bool requires_grad);
/** Whether gradients flow to `tensor`, into *out. */
SWIFTTRAIN_API
st_status st_tensor_requires_grad(bool *out, const st_tensor *tensor);

/** The accumulated gradient as a new tensor sharing the gradient's memory, or *out = NULL
 *  when there is none (never computed, or dropped by st_tensor_zero_grad). */
SWIFTTRAIN_API
st_status st_tensor_grad(st_tensor **out, const st_tensor *tensor);

/** Drops the gradient (PyTorch's zero_grad(set_to_none=True)). */
SWIFTTRAIN_API
st_status st_tensor_zero_grad(st_tensor *tensor);

/** Backpropagates from `tensor`: a one-element tensor when `gradient` is NULL, else
 *  `gradient` (same shape) is d(loss)/d(tensor). ST_EMISUSE when the tensor does not
 *  require gradients or its graph was already released. */
SWIFTTRAIN_API
st_status st_tensor_backward(st_tensor *tensor, const st_tensor *gradient);
/** As st_tensor_backward; with `retain_graph` the graph is kept for another backward pass
 *  (torch's retain_graph=True), else released. */
SWIFTTRAIN_API
st_status st_tensor_backward_retain(st_tensor *tensor, const st_tensor *gradient,
                                    bool retain_graph);

/** A copy converted to `dtype` (float to int64 truncates toward zero; to bool tests != 0);
 *  a new handle to the same tensor when it already has that type. No gradient flows through
 *  a conversion. */
SWIFTTRAIN_API
st_status st_tensor_to(st_tensor **out, const st_tensor *tensor, st_dtype dtype);

/** A tensor sharing the values but cut off from the graph (torch.detach). */
SWIFTTRAIN_API
st_status st_tensor_detach(st_tensor **out, const st_tensor *tensor);

/** Turns recording of operations for autograd on or off for the calling thread
 *  (torch.no_grad); returns the previous setting. */
SWIFTTRAIN_API
bool st_set_grad_enabled(bool enabled);

/** Whether operations on the calling thread are recorded for autograd. */
SWIFTTRAIN_API
bool st_is_grad_enabled(void);

/* ---- element-wise, with broadcasting. add, sub, mul, neg, the *_scalar forms, maximum,
 *      minimum and comparisons also take int64 tensors (no gradient); the rest need float32 */

/** a + b. */
SWIFTTRAIN_API
st_status st_add(st_tensor **out, const st_tensor *a, const st_tensor *b);
/** a - b. */
SWIFTTRAIN_API
st_status st_sub(st_tensor **out, const st_tensor *a, const st_tensor *b);
/** a * b. */
SWIFTTRAIN_API
st_status st_mul(st_tensor **out, const st_tensor *a, const st_tensor *b);
/** a / b (float32). */
SWIFTTRAIN_API
st_status st_div(st_tensor **out, const st_tensor *a, const st_tensor *b);
/** a ^ b (float32). */
SWIFTTRAIN_API
st_status st_pow(st_tensor **out, const st_tensor *a, const st_tensor *b);
/** The larger of a and b, element by element. */
SWIFTTRAIN_API
st_status st_maximum(st_tensor **out, const st_tensor *a, const st_tensor *b);
/** The smaller of a and b, element by element. */
SWIFTTRAIN_API
st_status st_minimum(st_tensor **out, const st_tensor *a, const st_tensor *b);
/** a + value. */
SWIFTTRAIN_API
st_status st_add_scalar(st_tensor **out, const st_tensor *a, float value);
/** a * value. */
SWIFTTRAIN_API
st_status st_mul_scalar(st_tensor **out, const st_tensor *a, float value);
/** a ^ exponent. */
SWIFTTRAIN_API
st_status st_pow_scalar(st_tensor **out, const st_tensor *a, float exponent);
/** -a. */
SWIFTTRAIN_API
st_status st_neg(st_tensor **out, const st_tensor *a);
/** e^a. */
SWIFTTRAIN_API
st_status st_exp(st_tensor **out, const st_tensor *a);
/** Natural logarithm of a. */
SWIFTTRAIN_API
st_status st_log(st_tensor **out, const st_tensor *a);
/** Square root of a. */
SWIFTTRAIN_API
st_status st_sqrt(st_tensor **out, const st_tensor *a);
/** 1 / sqrt(a). */
SWIFTTRAIN_API
st_status st_rsqrt(st_tensor **out, const st_tensor *a);
/** |a|. */
SWIFTTRAIN_API
st_status st_abs(st_tensor **out, const st_tensor *a);
/** Limits to [min, max]; pass -INFINITY / INFINITY for a missing bound. */
SWIFTTRAIN_API
st_status st_clamp(st_tensor **out, const st_tensor *a, float min, float max);
/** condition (bool) ? a : b. */
SWIFTTRAIN_API
st_status st_where(st_tensor **out, const st_tensor *condition, const st_tensor *a,
                   const st_tensor *b);

/** Comparisons: bool results, no gradient. */
typedef enum st_comparison {
    ST_EQ = 0, ST_NE = 1, ST_LT = 2, ST_LE = 3, ST_GT = 4, ST_GE = 5
} st_comparison;
/** `a op b` element by element (bool result); ST_EINVAL for an unknown op. */
SWIFTTRAIN_API
st_status st_compare(st_tensor **out, const st_tensor *a, st_comparison op, const st_tensor *b);

/* ---- activations ---- */

/** max(a, 0). */
SWIFTTRAIN_API
st_status st_relu(st_tensor **out, const st_tensor *a);
/** a where a > 0, else negative_slope * a (PyTorch's default slope is 0.01). */
SWIFTTRAIN_API
st_status st_leaky_relu(st_tensor **out, const st_tensor *a, float negative_slope);
/** GELU, exact (erf) or, with tanh_approximation, PyTorch's approximate="tanh". */
SWIFTTRAIN_API
st_status st_gelu(st_tensor **out, const st_tensor *a, bool tanh_approximation);
/** a * sigmoid(a) (SiLU, swish). */
SWIFTTRAIN_API
st_status st_silu(st_tensor **out, const st_tensor *a);
/** tanh(a). */
SWIFTTRAIN_API
st_status st_tanh(st_tensor **out, const st_tensor *a);
/** 1 / (1 + e^-a). */
SWIFTTRAIN_API
st_status st_sigmoid(st_tensor **out, const st_tensor *a);
/** log(1 + e^(beta a)) / beta, linear where beta a > threshold (PyTorch: 1, 20). */
SWIFTTRAIN_API
st_status st_softplus(st_tensor **out, const st_tensor *a, float beta, float threshold);
/** Softmax along `dim` (negative counts from the end). */
SWIFTTRAIN_API
st_status st_softmax(st_tensor **out, const st_tensor *a, int64_t dim);
/** log(softmax(a)) along `dim`, computed stably. */
SWIFTTRAIN_API
st_status st_log_softmax(st_tensor **out, const st_tensor *a, int64_t dim);

/* ---- reductions: dims may be negative; ndims 0 reduces over every dimension ---- */

/** Sum over `dims` (torch.sum). */
SWIFTTRAIN_API
st_status st_sum(st_tensor **out, const st_tensor *a, const int64_t *dims, size_t ndims,
                 bool keepdim);
/** Mean over `dims` (torch.mean). */
SWIFTTRAIN_API
st_status st_mean(st_tensor **out, const st_tensor *a, const int64_t *dims, size_t ndims,
                  bool keepdim);
/** Variance with `correction` (1 = unbiased, torch.var's default). */
SWIFTTRAIN_API
st_status st_var(st_tensor **out, const st_tensor *a, const int64_t *dims, size_t ndims,
                 int64_t correction, bool keepdim);
/** Standard deviation with `correction`, as st_var. */
SWIFTTRAIN_API
st_status st_std(st_tensor **out, const st_tensor *a, const int64_t *dims, size_t ndims,
                 int64_t correction, bool keepdim);
/** Largest value along `dim` and its int64 index (the first among ties): two new handles. */
SWIFTTRAIN_API
st_status st_max_dim(st_tensor **out_values, st_tensor **out_indices, const st_tensor *a,
                     int64_t dim, bool keepdim);
/** As st_max_dim, for the smallest value. */
SWIFTTRAIN_API
st_status st_min_dim(st_tensor **out_values, st_tensor **out_indices, const st_tensor *a,
                     int64_t dim, bool keepdim);
/** The largest element (a scalar). */
SWIFTTRAIN_API
st_status st_max(st_tensor **out, const st_tensor *a);
/** The smallest element (a scalar). */
SWIFTTRAIN_API
st_status st_min(st_tensor **out, const st_tensor *a);
/** Index of the largest value along `dim` (int64); dim ST_NO_INDEX: of the flattened tensor. */
SWIFTTRAIN_API
st_status st_argmax(st_tensor **out, const st_tensor *a, int64_t dim, bool keepdim);
/** The `k` largest values along `dim` (the smallest unless `largest`) of a float32 or int64
 *  tensor and their int64 indices (torch.topk): two new handles, in order, ties by index, NaN
 *  as the largest. `sorted` false gives the same order. ST_ESHAPE for k outside 0..size. */
SWIFTTRAIN_API
st_status st_topk(st_tensor **out_values, st_tensor **out_indices, const st_tensor *a, int64_t k,
                  int64_t dim, bool largest, bool sorted);
/** Scales the gradients of parameters[0..count) together so that their total `norm_type`
 *  norm (2, any p > 0, or INFINITY) is at most `max_norm`, as
 *  torch.nn.utils.clip_grad_norm_; the norm before clipping into *out_norm. Tensors without
 *  a gradient are skipped. With `error_if_nonfinite`, a NaN or infinite norm is ST_EMISUSE
 *  and nothing changes. */
SWIFTTRAIN_API
st_status st_clip_grad_norm(double *out_norm, st_tensor *const *parameters, size_t count,
                            double max_norm, double norm_type, bool error_if_nonfinite);
/** Limits every gradient element of parameters[0..count) to [-clip_value, clip_value]
 *  (torch.nn.utils.clip_grad_value_). ST_EINVAL for a negative clip_value. */
SWIFTTRAIN_API
st_status st_clip_grad_value(st_tensor *const *parameters, size_t count, double clip_value);

/* ---- shape operations: reshape-like ones and slices of one contiguous block share memory,
 *      the others copy (see st_tensor_check_writable) ---- */

/** One dimension may be -1. */
SWIFTTRAIN_API
st_status st_reshape(st_tensor **out, const st_tensor *a, const int64_t *shape, size_t ndim);
/** Merges dimensions start_dim..end_dim (inclusive, negative counts from the end) into one. */
SWIFTTRAIN_API
st_status st_flatten(st_tensor **out, const st_tensor *a, int64_t start_dim, int64_t end_dim);
/** Removes dimension `dim` if it has size 1; dim ST_NO_INDEX removes every size-1 dimension. */
SWIFTTRAIN_API
st_status st_squeeze(st_tensor **out, const st_tensor *a, int64_t dim);
/** Inserts a dimension of size 1 at `dim` (-1: at the end). */
SWIFTTRAIN_API
st_status st_unsqueeze(st_tensor **out, const st_tensor *a, int64_t dim);
/** Swaps dimensions dim0 and dim1. */
SWIFTTRAIN_API
st_status st_transpose(st_tensor **out, const st_tensor *a, int64_t dim0, int64_t dim1);
/** Reorders the dimensions: dimension i of the result is dimension dims[i] of `a`;
 *  `dims` is a permutation of 0..ndim-1. */
SWIFTTRAIN_API
st_status st_permute(st_tensor **out, const st_tensor *a, const int64_t *dims, size_t ndims);
/** Repeats size-1 dimensions to `shape` (-1 keeps a dimension). */
SWIFTTRAIN_API
st_status st_expand(st_tensor **out, const st_tensor *a, const int64_t *shape, size_t ndim);
/** Concatenates tensors[0..count) along `dim`; they agree in every other dimension.
 *  ST_EINVAL for count 0 or a NULL entry. */
SWIFTTRAIN_API
st_status st_cat(st_tensor **out, st_tensor *const *tensors, size_t count, int64_t dim);
/** Stacks tensors[0..count) of one shape along a new dimension `dim`. ST_EINVAL for
 *  count 0 or a NULL entry. */
SWIFTTRAIN_API
st_status st_stack(st_tensor **out, st_tensor *const *tensors, size_t count, int64_t dim);
/** Elements start, start + step, ... before end along `dim` (Python slice rules: negative
 *  values count from the end, out-of-range bounds are clipped; INT64_MAX for "to the end").
 *  A view sharing memory when they are one contiguous block (every dimension before `dim` has
 *  size 1 or the slice takes all of `dim`, and step 1 or one element); else a copy. */
SWIFTTRAIN_API
st_status st_slice(st_tensor **out, const st_tensor *a, int64_t dim, int64_t start, int64_t end,
                   int64_t step);
/** Element `index` along `dim`, the dimension removed (a view or a copy, as st_slice). */
SWIFTTRAIN_API
st_status st_select(st_tensor **out, const st_tensor *a, int64_t dim, int64_t index);
/** Splits along `dim` into pieces of `size` (the last may be smaller). Writes the new
 *  handles into outs[0..count) and the number of pieces into *out_count. When `capacity` is
 *  too small it returns ST_ESHAPE, writes no handle, and *out_count still tells how many
 *  are needed. */
SWIFTTRAIN_API
st_status st_split(st_tensor **outs, size_t capacity, size_t *out_count, const st_tensor *a,
                   int64_t size, int64_t dim);
/** `chunks` pieces along `dim` (torch.chunk: fewer when the size does not divide), with
 *  st_split's output protocol. */
SWIFTTRAIN_API
st_status st_chunk(st_tensor **outs, size_t capacity, size_t *out_count, const st_tensor *a,
                   int64_t chunks, int64_t dim);
/** torch.gather: values along `dim` at the int64 `index` (same number of dimensions). */
SWIFTTRAIN_API
st_status st_gather(st_tensor **out, const st_tensor *a, int64_t dim, const st_tensor *index);
/** torch.index_select: entries along `dim` at a 1-D int64 `index`. */
SWIFTTRAIN_API
st_status st_index_select(st_tensor **out, const st_tensor *a, int64_t dim, const st_tensor *index);

/* ---- linear algebra and neural-network functions ---- */

/** torch.matmul: dot, matrix, and batched products with broadcast batch dimensions. */
SWIFTTRAIN_API
st_status st_matmul(st_tensor **out, const st_tensor *a, const st_tensor *b);
/** x [..., in] W^T + b with W [out, in]; bias may be NULL. */
SWIFTTRAIN_API
st_status st_linear(st_tensor **out, const st_tensor *x, const st_tensor *weight,
                    const st_tensor *bias);
/** Over the last `ndim` dimensions, which must equal normalized_shape; weight/bias may be NULL. */
SWIFTTRAIN_API
st_status st_layer_norm(st_tensor **out, const st_tensor *x, const int64_t *normalized_shape,
                        size_t ndim, const st_tensor *weight, const st_tensor *bias, float eps);
/** Input [N, C, ...]. In training, batch statistics are used and running_mean/running_var
 *  (may be NULL) are updated in place; otherwise the running statistics are used. */
SWIFTTRAIN_API
st_status st_batch_norm(st_tensor **out, const st_tensor *x, st_tensor *running_mean,
                        st_tensor *running_var, const st_tensor *weight, const st_tensor *bias,
                        bool training, float momentum, float eps);
/** Rows of weight [num, dim] at int64 indices (any shape); padding_index (or ST_NO_INDEX)
 *  rows get no gradient. */
SWIFTTRAIN_API
st_status st_embedding(st_tensor **out, const st_tensor *indices, const st_tensor *weight,
                       int64_t padding_index);
/** Zeroes elements with probability p (and scales the rest by 1/(1-p)) when training; the
 *  mask comes from the generator seeded by st_manual_seed(). */
SWIFTTRAIN_API
st_status st_dropout(st_tensor **out, const st_tensor *x, float p, bool training);

/** Convolution geometry. Fill with st_conv2d_options_init(), then change fields by name. */
typedef struct st_conv2d_options {
    uint32_t struct_size; /**< sizeof(st_conv2d_options) as the caller compiled it (set by _init) */
    int64_t stride[2];    /**< {1, 1} */
    int64_t padding[2];   /**< {0, 0} */
    int64_t dilation[2];  /**< {1, 1} */
    int64_t groups;       /**< 1 */
} st_conv2d_options;
/** Fills the `struct_size` bytes at `options` with the defaults above and sets struct_size.
 *  Call it through the st_conv2d_options_init macro, which passes sizeof(st_conv2d_options).
 *  Does nothing when `options` is NULL or struct_size is not a plausible size; a struct it
 *  left unfilled is then refused (ST_EINVAL) by the functions that read it. */
SWIFTTRAIN_API
void st_conv2d_options_init_sized(st_conv2d_options *options, size_t struct_size);
#define st_conv2d_options_init(options) \
    st_conv2d_options_init_sized((options), sizeof(st_conv2d_options))

/** Input [N, C, H, W], weight [O, C/groups, kh, kw], bias [O] or NULL; options NULL for
 *  the defaults. */
SWIFTTRAIN_API
st_status st_conv2d(st_tensor **out, const st_tensor *x, const st_tensor *weight,
                    const st_tensor *bias, const st_conv2d_options *options);

/** Pooling geometry. Fill with st_pool2d_options_init(), then change fields by name. */
typedef struct st_pool2d_options {
    uint32_t struct_size;     /**< sizeof(st_pool2d_options) as the caller compiled it */
    int64_t kernel[2];        /**< required */
    int64_t stride[2];        /**< {0, 0}: the kernel size */
    int64_t padding[2];       /**< {0, 0} */
    int64_t dilation[2];      /**< {1, 1} (max pooling only) */
    bool ceil_mode;           /**< false */
    bool count_include_pad;   /**< true (average pooling only) */
    int64_t divisor_override; /**< 0: none (average pooling only) */
} st_pool2d_options;
/** The defaults above with the given kernel size, as st_conv2d_options_init_sized does
 *  (through the st_pool2d_options_init macro). */
SWIFTTRAIN_API
void st_pool2d_options_init_sized(st_pool2d_options *options, size_t struct_size, int64_t kernel_h,
                                  int64_t kernel_w);
#define st_pool2d_options_init(options, kernel_h, kernel_w) \
    st_pool2d_options_init_sized((options), sizeof(st_pool2d_options), (kernel_h), (kernel_w))

/** Max pooling of x [N, C, H, W] with `options` (required: the kernel). */
SWIFTTRAIN_API
st_status st_max_pool2d(st_tensor **out, const st_tensor *x, const st_pool2d_options *options);
/** Average pooling, as st_max_pool2d (count_include_pad and divisor_override apply). */
SWIFTTRAIN_API
st_status st_avg_pool2d(st_tensor **out, const st_tensor *x, const st_pool2d_options *options);

/** softmax(q k^T * scale + mask) v for q [..., L, E], k [..., S, E], v [..., S, Ev]. mask
 *  (NULL for none): float (added) or bool (true = may attend). scale <= 0: 1/sqrt(E). */
SWIFTTRAIN_API
st_status st_scaled_dot_product_attention(st_tensor **out, const st_tensor *query,
                                          const st_tensor *key, const st_tensor *value,
                                          const st_tensor *mask, bool is_causal, float scale);

/* ---- losses (PyTorch's torch.nn.functional names and semantics): ST_EINVAL for an unknown
 *      reduction, targets of the wrong dtype or a class index out of range; ST_ESHAPE for a
 *      target (or weight) whose shape does not fit the input ---- */

/** Mean squared error of input against target (same shape). */
SWIFTTRAIN_API
st_status st_mse_loss(st_tensor **out, const st_tensor *input, const st_tensor *target,
                      st_reduction reduction);
/** Mean absolute error of input against target (same shape). */
SWIFTTRAIN_API
st_status st_l1_loss(st_tensor **out, const st_tensor *input, const st_tensor *target,
                     st_reduction reduction);
/** torch's smooth_l1_loss: quadratic below `beta`, linear above. */
SWIFTTRAIN_API
st_status st_smooth_l1_loss(st_tensor **out, const st_tensor *input, const st_tensor *target,
                            float beta, st_reduction reduction);
/** torch's huber_loss: quadratic below `delta`, linear above. */
SWIFTTRAIN_API
st_status st_huber_loss(st_tensor **out, const st_tensor *input, const st_tensor *target,
                        float delta, st_reduction reduction);
/** Logits [N, C, ...], int64 class targets [N, ...]; weight [C] or NULL; ignore_index
 *  (PyTorch's default is -100); label_smoothing in [0, 1]. */
SWIFTTRAIN_API
st_status st_cross_entropy(st_tensor **out, const st_tensor *input, const st_tensor *target,
                           const st_tensor *weight, int64_t ignore_index, st_reduction reduction,
                           float label_smoothing);
/** Log-probabilities [N, C, ...], int64 targets. */
SWIFTTRAIN_API
st_status st_nll_loss(st_tensor **out, const st_tensor *input, const st_tensor *target,
                      const st_tensor *weight, int64_t ignore_index, st_reduction reduction);
/** weight and pos_weight may be NULL; both broadcast to the input. */
SWIFTTRAIN_API
st_status st_binary_cross_entropy_with_logits(st_tensor **out, const st_tensor *input,
                                              const st_tensor *target, const st_tensor *weight,
                                              const st_tensor *pos_weight, st_reduction reduction);
/** input: log-probabilities; target: probabilities (log-probabilities with log_target). */
SWIFTTRAIN_API
st_status st_kl_div(st_tensor **out, const st_tensor *input, const st_tensor *target,
                    st_reduction reduction, bool log_target);

/* ---- named tensors: state dicts and parameter lists ---- */

/** An ordered list of (name, tensor) pairs. */
typedef struct st_named_tensors st_named_tensors;

/** An empty list in *out; free it with st_named_tensors_free(). */
SWIFTTRAIN_API
st_status st_named_tensors_create(st_named_tensors **out);
/** Appends (the list keeps its own reference to the tensor; the name is copied). */
SWIFTTRAIN_API
st_status st_named_tensors_add(st_named_tensors *list, const char *name, st_tensor *tensor);
/** Number of entries; 0 for NULL or a handle that is not a live list. */
SWIFTTRAIN_API
size_t st_named_tensors_count(const st_named_tensors *list);
/** Entry `index`: the name is owned by the list; *out_tensor is a new handle to free. */
SWIFTTRAIN_API
st_status st_named_tensors_entry(const char **out_name, st_tensor **out_tensor,
                                 const st_named_tensors *list, size_t index);
/** Releases the list and its references to its tensors. NULL is a harmless no-op. */
SWIFTTRAIN_API
void st_named_tensors_free(st_named_tensors *list);

/* ======================================================================================
 * Modules (models)
 *
 * Each st_*_create gives a new module in *out, freed with st_module_free(), and returns
 * ST_EINVAL for a size that is not positive or a hyper-parameter outside its range, naming
 * it. A forward returns ST_ESHAPE when the input does not fit the module.
 * ====================================================================================== */

/** A module: a layer or a container of layers. */
typedef struct st_module st_module;

/** A fully connected layer y = x W^T + b with W of shape [out_features, in_features], as
 *  torch.nn.Linear, initialised like PyTorch (uniform in +-1/sqrt(in_features)) from the
 *  generator seeded by st_manual_seed(). Parameters are named "weight" and "bias". */
SWIFTTRAIN_API
st_status st_linear_create(st_module **out, int64_t in_features, int64_t out_features, bool bias);

/** Element-wise max(x, 0). No parameters. */
SWIFTTRAIN_API
st_status st_relu_create(st_module **out);

/** Runs modules[0..count) in order. Children are named "0", "1", ... so parameters are named
 *  "0.weight", "0.bias", ... The sequential keeps its own references to the children: the
 *  caller may free its handles afterwards. The same module may not appear twice. */
SWIFTTRAIN_API
st_status st_sequential_create(st_module **out, st_module *const *modules, size_t count);

/** Number of scalar parameters (weights and biases) in the module and its children. */
SWIFTTRAIN_API
st_status st_module_num_parameters(int64_t *out, const st_module *module);

/** Runs the module on `input` (records autograd when parameters require gradients). */
SWIFTTRAIN_API
st_status st_module_forward(st_tensor **out, st_module *module, const st_tensor *input);

/** Training mode (true: dropout active, batch-norm batch statistics) or evaluation mode
 *  (false), for the module and all its children (torch.nn.Module.train / eval). */
SWIFTTRAIN_API
st_status st_module_train(st_module *module, bool training);

/** Parameters by dotted name ("0.weight", "self_attn.in_proj_weight"); the tensors share
 *  memory with the module. Free the list with st_named_tensors_free(). */
SWIFTTRAIN_API
st_status st_module_named_parameters(st_named_tensors **out, const st_module *module);

/** Parameters and buffers (running statistics) by name, as torch's state_dict(). */
SWIFTTRAIN_API
st_status st_module_state_dict(st_named_tensors **out, const st_module *module);

/** Copies values into the module's parameters and buffers by name. With `strict`, missing
 *  and unexpected names are errors; mismatched shapes always are. The message names every
 *  offending key. Nothing is changed on error. */
SWIFTTRAIN_API
st_status st_module_load_state_dict(st_module *module, const st_named_tensors *state, bool strict);

/** Writes the state dict to a safetensors file (readable by safetensors.torch.load_file and
 *  torch's load_state_dict with the same names); the file appears whole or not at all. */
SWIFTTRAIN_API
st_status st_module_save_safetensors(const st_module *module, const char *path);

/** Loads weights from a safetensors file (written by this library or by PyTorch's
 *  safetensors.torch.save_file) as st_module_load_state_dict does. ST_ECORRUPT for a damaged
 *  file; ST_EINVAL for tensors in a dtype other than F32/I64/BOOL. */
SWIFTTRAIN_API
st_status st_module_load_safetensors(st_module *module, const char *path, bool strict);

/** Drops every parameter's gradient. */
SWIFTTRAIN_API
st_status st_module_zero_grad(st_module *module);

/** torch.nn.Conv2d: weight [out, in/groups, kh, kw], PyTorch's default initialisation.
 *  options NULL for stride 1, no padding, dilation 1, one group. */
SWIFTTRAIN_API
st_status st_conv2d_create(st_module **out, int64_t in_channels, int64_t out_channels,
                           int64_t kernel_h, int64_t kernel_w, const st_conv2d_options *options,
                           bool bias);
/** torch.nn.MaxPool2d with `options` (required: the kernel; filled by
 *  st_pool2d_options_init). ST_EINVAL for a non-positive kernel or dilation, negative stride
 *  or padding. */
SWIFTTRAIN_API
st_status st_max_pool2d_create(st_module **out, const st_pool2d_options *options);
/** torch.nn.AvgPool2d, as st_max_pool2d_create. */
SWIFTTRAIN_API
st_status st_avg_pool2d_create(st_module **out, const st_pool2d_options *options);
/** torch.nn.Flatten (PyTorch's defaults: start_dim 1, end_dim -1). */
SWIFTTRAIN_API
st_status st_flatten_create(st_module **out, int64_t start_dim, int64_t end_dim);
/** torch.nn.Embedding: N(0, 1) initialisation; padding_index ST_NO_INDEX for none. */
SWIFTTRAIN_API
st_status st_embedding_create(st_module **out, int64_t num_embeddings, int64_t embedding_dim,
                              int64_t padding_index);
/** torch.nn.LayerNorm over the last ndim dimensions. */
SWIFTTRAIN_API
st_status st_layer_norm_create(st_module **out, const int64_t *normalized_shape, size_t ndim,
                               float eps, bool elementwise_affine, bool bias);
/** torch.nn.BatchNorm1d ([N, C] or [N, C, L]): running statistics when track_running_stats,
 *  weight and bias when affine. ST_EINVAL for num_features < 1. */
SWIFTTRAIN_API
st_status st_batch_norm1d_create(st_module **out, int64_t num_features, float eps, float momentum,
                                 bool affine, bool track_running_stats);
/** torch.nn.BatchNorm2d ([N, C, H, W]); arguments as st_batch_norm1d_create. */
SWIFTTRAIN_API
st_status st_batch_norm2d_create(st_module **out, int64_t num_features, float eps, float momentum,
                                 bool affine, bool track_running_stats);
/** torch.nn.Dropout: zeroes elements with probability p in training mode. ST_EINVAL
 *  unless 0 <= p <= 1. */
SWIFTTRAIN_API
st_status st_dropout_create(st_module **out, float p);

/** Activation modules without parameters of their own. */
typedef enum st_activation {
    ST_ACTIVATION_RELU = 0,
    ST_ACTIVATION_GELU = 1,       /**< exact (erf) */
    ST_ACTIVATION_GELU_TANH = 2,  /**< approximate="tanh" */
    ST_ACTIVATION_SILU = 3,
    ST_ACTIVATION_TANH = 4,
    ST_ACTIVATION_SIGMOID = 5
} st_activation;
/** A module applying `kind`. ST_EINVAL for an unknown kind. */
SWIFTTRAIN_API
st_status st_activation_create(st_module **out, st_activation kind);
/** torch.nn.LeakyReLU(negative_slope). */
SWIFTTRAIN_API
st_status st_leaky_relu_create(st_module **out, float negative_slope);
/** torch.nn.Softplus(beta, threshold). */
SWIFTTRAIN_API
st_status st_softplus_create(st_module **out, float beta, float threshold);
/** Softmax (or log-softmax) along `dim`. */
SWIFTTRAIN_API
st_status st_softmax_create(st_module **out, int64_t dim, bool log);

/** torch.nn.MultiheadAttention (in_proj_weight, in_proj_bias, out_proj.*). Its forward
 *  through st_module_forward is self-attention; st_attention_forward takes masks. */
SWIFTTRAIN_API
st_status st_multihead_attention_create(st_module **out, int64_t embed_dim, int64_t num_heads,
                                        float dropout, bool bias, bool batch_first);

/** torch.nn.TransformerEncoderLayer configuration. Fill with st_transformer_options_init. */
typedef struct st_transformer_options {
    uint32_t struct_size;     /**< sizeof(st_transformer_options) as the caller compiled it */
    int64_t d_model;
    int64_t nhead;
    int64_t dim_feedforward;  /**< 2048 */
    float dropout;            /**< 0.1 */
    st_activation activation; /**< ST_ACTIVATION_RELU (or ST_ACTIVATION_GELU) */
    float layer_norm_eps;     /**< 1e-5 */
    bool batch_first;         /**< false: inputs are [seq, batch, d_model] */
    bool norm_first;          /**< false */
    bool bias;                /**< true */
} st_transformer_options;
/** The defaults above with the given d_model and nhead, as st_conv2d_options_init_sized does
 *  (through the st_transformer_options_init macro). */
SWIFTTRAIN_API
void st_transformer_options_init_sized(st_transformer_options *options, size_t struct_size,
                                       int64_t d_model, int64_t nhead);
#define st_transformer_options_init(options, d_model, nhead) \
    st_transformer_options_init_sized((options), sizeof(st_transformer_options), (d_model), (nhead))
/** torch.nn.TransformerEncoderLayer from `options` (filled by
 *  st_transformer_options_init). ST_EINVAL for NULL options, an unfilled struct (struct_size),
 *  non-positive sizes, an activation other than RELU or GELU, or an nhead that does not
 *  divide d_model. */
SWIFTTRAIN_API
st_status st_transformer_encoder_layer_create(st_module **out,
                                              const st_transformer_options *options);

/** PyTorch's defaults of the layer, functional op or learning-rate scheduler `layer`, from
 *  the library's one table of them (the same values its layers, st_conv2d_options_init,
 *  st_pool2d_options_init, st_transformer_options_init and st_plateau use). `layer` is
 *  torch's name in snake case, one for a module and the functional of the same name:
 *  "linear", "conv2d", "max_pool2d", "avg_pool2d", "flatten", "layer_norm", "batch_norm"
 *  (BatchNorm1d / 2d and F.batch_norm), "dropout", "gelu", "leaky_relu", "softplus",
 *  "multihead_attention", "transformer_encoder_layer", "scaled_dot_product_attention",
 *  "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
 *  "binary_cross_entropy_with_logits", "kl_div", torch.optim.lr_scheduler's "step_lr"
 *  (StepLR) and "reduce_lr_on_plateau" (ReduceLROnPlateau), and Tensor methods':
 *  "tensor_flatten" (Tensor.flatten), "var", "std" and "reduce" (keepdim of sum, mean, max,
 *  min, argmax). Writes the argument names
 *  (torch's: "eps", "elementwise_affine", ...) into names[0..count), their defaults into
 *  values[0..count) and the number of arguments into *count. Values are numbers: booleans
 *  0 or 1, integers exact, enums their value ("activation" an st_activation, "reduction" an
 *  st_reduction), floats the decimal PyTorch writes (1e-5). "gelu"'s "approximate_tanh" 1
 *  stands for approximate="tanh"; "reduce_lr_on_plateau"'s "mode_max" 1 for mode="max" (0:
 *  "min") and "threshold_mode_abs" 1 for threshold_mode="abs" (0: "rel"). Arguments whose
 *  default is None, arguments without a default and the schedulers' last_epoch are not
 *  listed. The names are static strings (never freed). A call with `capacity`
 *  0 only asks for the count (names and values may then be NULL); when `capacity` is too
 *  small it returns ST_ESHAPE, writes nothing, and *count still tells how many are needed.
 *  ST_EINVAL for NULL arguments or an unknown layer (the message lists the layers). */
SWIFTTRAIN_API
st_status st_layer_defaults(const char **names, double *values, size_t capacity, size_t *count,
                            const char *layer);

/** Attention with masks, for MultiheadAttention (key and value NULL: self-attention) and
 *  TransformerEncoderLayer (key and value must be NULL). mask: bool (true = may NOT attend,
 *  PyTorch's convention for these modules) or float (added to the scores), or NULL.
 *  out_weights (MultiheadAttention only, may be NULL) receives the attention weights
 *  averaged over heads [batch, L, S]. */
SWIFTTRAIN_API
st_status st_attention_forward(st_tensor **out, st_tensor **out_weights, st_module *module,
                               const st_tensor *query, const st_tensor *key, const st_tensor *value,
                               const st_tensor *mask, bool is_causal);

/** Releases the caller's reference. NULL is a harmless no-op. */
SWIFTTRAIN_API
void st_module_free(st_module *module);

/* ---- models of your own: a forward written in C ------------------------------------------
 * A custom module holds a forward function and the parameters and child modules its owner
 * declares. The trainer calls the forward once per micro-batch with the batch's named tensors
 * ("input_ids", "attention_mask", "labels", ...); the forward builds its outputs from st_*
 * operations on them and the declared parameters (autograd stays in the library) and sets
 * them by name: "logits", and optionally "loss" (the trainer then minimises that loss, as
 * HF's Trainer does with a model that returns one). Parameter names follow torch's: a child
 * declared as "encoder" gives "encoder.weight", ... A module built only from built-in layers
 * never calls back into the host. */

/** A batch of named tensors, each with the batch as its first dimension. The batch a forward,
 *  a loss function or a data provider receives is valid only during that call. */
typedef struct st_batch st_batch;

/** The outputs a custom forward sets (valid only during the call). */
typedef struct st_outputs st_outputs;

/** Number of entries of the batch. */
SWIFTTRAIN_API
size_t st_batch_count(const st_batch *batch);
/** Entry `index`: its name (owned by the batch, valid while it is) and a new tensor handle. */
SWIFTTRAIN_API
st_status st_batch_entry(const char **out_name, st_tensor **out_tensor, const st_batch *batch,
                         size_t index);
/** The tensor named `name` as a new handle; ST_ENOTFOUND (naming what the batch has) if absent. */
SWIFTTRAIN_API
st_status st_batch_get(st_tensor **out, const st_batch *batch, const char *name);
/** The number of samples (the first dimension). */
SWIFTTRAIN_API
st_status st_batch_size(int64_t *out, const st_batch *batch);
/** HF's num_items_in_batch: the label items (labels other than -100, or target elements) of
 *  the whole optimizer step the batch belongs to; 0 outside training. */
SWIFTTRAIN_API
st_status st_batch_num_items(int64_t *out, const st_batch *batch);
/** Adds an entry to a batch a data provider fills: prod(shape) values of `dtype` copied from
 *  `data` (ndim >= 1; every entry needs the same first dimension). */
SWIFTTRAIN_API
st_status st_batch_add(st_batch *batch, const char *name, const void *data, const int64_t *shape,
                       size_t ndim, st_dtype dtype);
/** Adds an existing tensor (the batch keeps its own reference). */
SWIFTTRAIN_API
st_status st_batch_add_tensor(st_batch *batch, const char *name, st_tensor *tensor);
/** Replaces the entry `name` with `tensor` (or adds it), keeping the batch size; allowed
 *  where st_batch_add is, and on an event callback's batch at AFTER_DATALOADER and
 *  BEFORE_FORWARD (st_event_data). The batch keeps its own reference. ST_EMISUSE for a
 *  read-only batch, ST_ESHAPE for another batch size. */
SWIFTTRAIN_API
st_status st_batch_set(st_batch *batch, const char *name, st_tensor *tensor);

/** Number of outputs; 0 for NULL. */
SWIFTTRAIN_API
size_t st_outputs_count(const st_outputs *outputs);
/** Output `index` (in the order set): its name (owned by the outputs) and a new tensor
 *  handle to free. ST_EINVAL for an index out of range. */
SWIFTTRAIN_API
st_status st_outputs_entry(const char **out_name, st_tensor **out_tensor, const st_outputs *outputs,
                           size_t index);
/** Sets an output of a custom forward: "logits", "loss" (a float32 scalar) or any other name
 *  (the outputs keep their own reference; a second set of a name replaces it). */
SWIFTTRAIN_API
st_status st_outputs_set(st_outputs *outputs, const char *name, st_tensor *tensor);
/** The output named `name` as a new handle ("logits": the output so named, else the first
 *  that is not the loss, as HF); ST_ENOTFOUND when absent. */
SWIFTTRAIN_API
st_status st_outputs_get(st_tensor **out, const st_outputs *outputs, const char *name);

/** A forward: set outputs from the batch. `training` tells training mode (dropout on) from
 *  evaluation. Return 0, or non-zero to fail the call that ran the model (ST_EUSER, with
 *  st_last_error_message() of the failing st_* call when there was one). */
typedef int (*st_forward_fn)(st_outputs *outputs, const st_batch *batch, bool training, void *user_data);

/** A module whose forward is `forward`. `type_name` names it in messages ("TextClassifier").
 *  `free_user_data` (may be NULL) is called with `user_data` when the module is freed; when
 *  this call fails it is not called (the data stays the caller's). */
SWIFTTRAIN_API
st_status st_module_create_custom(st_module **out, const char *type_name, st_forward_fn forward,
                                  void *user_data, void (*free_user_data)(void *user_data));
/** Declares a parameter of a custom module (a float32 leaf tensor; it is made to require
 *  gradients). Names are unique and contain no '.'. */
SWIFTTRAIN_API
st_status st_module_add_parameter(st_module *module, const char *name, st_tensor *tensor);
/** Declares a buffer (saved in the state dict, not trained). */
SWIFTTRAIN_API
st_status st_module_add_buffer(st_module *module, const char *name, st_tensor *tensor);
/** Declares a child module (built-in or custom): its parameters are "<name>.<its names>"
 *  and it follows the parent's training mode. */
SWIFTTRAIN_API
st_status st_module_add_child(st_module *module, const char *name, st_module *child);
/** Makes `custom` take `module`'s parameters, buffers and children as its own, under the
 *  same names, and pass its training mode on to it: a forward of your own around a built-in
 *  model (say, one that adds a loss) keeps that model's state-dict names. Call it before
 *  declaring anything else, once. */
SWIFTTRAIN_API
st_status st_module_adopt(st_module *custom, st_module *module);
/** A second handle to the same module in *out (its parameters are shared, not copied), freed
 *  with st_module_free on its own: for handing a module to an owner that frees what it gets
 *  (st_config_model_fn) while keeping one's own. */
SWIFTTRAIN_API
st_status st_module_share(st_module **out, st_module *module);
/** Runs a module on a batch of named tensors, as the trainer does: *out receives the
 *  "logits" output as a new handle and, when out_loss is not NULL, *out_loss the "loss"
 *  output or NULL. A built-in module takes the batch's one input (labels aside). */
SWIFTTRAIN_API
st_status st_module_forward_batch(st_tensor **out, st_tensor **out_loss, st_module *module,
                                  const st_batch *batch);

/* ======================================================================================
 * Datasets
 * ====================================================================================== */

/** An in-memory dataset: a row-major float32 feature matrix [num_samples, num_features] with
 *  either integer class labels or float regression targets (or neither, for prediction). */
typedef struct st_dataset st_dataset;

/** A classification dataset. labels[i] is the class index of row i (0 <= label < the number
 *  of model outputs; checked when training or evaluating starts). labels may be NULL for a
 *  dataset used only for prediction. */
SWIFTTRAIN_API
st_status st_dataset_create(st_dataset **out, const float *features, int64_t num_samples,
                            int64_t num_features, const int64_t *labels,
                            st_data_ownership ownership);

/** A regression dataset: targets is row-major [num_samples, num_targets]. */
SWIFTTRAIN_API
st_status st_dataset_create_regression(st_dataset **out, const float *features, int64_t num_samples,
                                       int64_t num_features, const float *targets,
                                       int64_t num_targets, st_data_ownership ownership);

/** Number of rows. */
SWIFTTRAIN_API
st_status st_dataset_num_samples(int64_t *out, const st_dataset *dataset);

/** The shape each sample's features are read as (default [num_features]); batches are
 *  [batch] + shape, e.g. {1, 8, 8} for images fed to a convolutional model. The product
 *  must equal num_features. */
SWIFTTRAIN_API
st_status st_dataset_set_sample_shape(st_dataset *dataset, const int64_t *shape, size_t ndim);

/* ---- data providers: data the library does not hold ------------------------------------
 * An in-memory dataset names its features "input" and its labels "labels". A provider gives
 * batches of any named tensors (int64 token ids, bool masks, float features, ...). */

/** Returned by an st_next_batch_fn at the end of an epoch. */
#define ST_DATA_END 1

/** Map-style: fill `batch` with the samples `indices[0..count)` (each in [0, num_samples)),
 *  in that order, with st_batch_add. The trainer's sampler picks the indices (shuffled per
 *  epoch with the data seed, or in order), so resume is exact. Return 0, or non-zero to fail
 *  training (ST_EUSER). */
typedef int (*st_fetch_fn)(st_batch *batch, const int64_t *indices, size_t count, void *user_data);

/** Iterable (streaming): fill `batch` with batch `index` (from 0) of `epoch`, of at most
 *  `batch_size` samples, and return 0; return ST_DATA_END when the epoch has no more batches.
 *  Indices come in order, except that a resumed run starts its first epoch at the batch it had
 *  reached (with ignore_data_skip, at 0). Training on one needs max_steps. */
typedef int (*st_next_batch_fn)(st_batch *batch, int64_t epoch, int64_t index, int64_t batch_size,
                                void *user_data);

/** A map-style dataset of `num_samples` (1 to 2^28) samples read through `fetch`. `free_user_data` (may
 *  be NULL) is called with `user_data` when the dataset is freed, never when this call fails. */
SWIFTTRAIN_API
st_status st_dataset_create_indexed(st_dataset **out, int64_t num_samples, st_fetch_fn fetch,
                                    void *user_data, void (*free_user_data)(void *user_data));

/** An iterable dataset read through `next`. st_dataset_num_samples gives ST_EINVAL for it. */
SWIFTTRAIN_API
st_status st_dataset_create_stream(st_dataset **out, st_next_batch_fn next, void *user_data,
                                   void (*free_user_data)(void *user_data));

/** Releases the caller's reference. NULL is a harmless no-op. */
SWIFTTRAIN_API
void st_dataset_free(st_dataset *dataset);

/* ======================================================================================
 * Metrics: named numbers (logs, evaluation results)
 * ====================================================================================== */

/** An ordered list of (name, value) pairs, e.g. {"eval_loss": 0.12, "eval_accuracy": 0.97}. */
typedef struct st_metrics st_metrics;

/** Number of entries; 0 for NULL. */
SWIFTTRAIN_API
size_t st_metrics_count(const st_metrics *metrics);

/** Entry `index`. The name is owned by the metrics object and lives as long as it does. */
SWIFTTRAIN_API
st_status st_metrics_entry(const char **out_name, double *out_value, const st_metrics *metrics,
                           size_t index);

/** The value named `name`; ST_ENOTFOUND when there is none. */
SWIFTTRAIN_API
st_status st_metrics_get(double *out_value, const st_metrics *metrics, const char *name);

/** Frees metrics returned to the caller. NULL is a harmless no-op. Never free the metrics
 *  a callback receives in st_trainer_state. */
SWIFTTRAIN_API
void st_metrics_free(st_metrics *metrics);

/* ======================================================================================
 * Training arguments (HuggingFace TrainingArguments names and defaults)
 * ====================================================================================== */

/** Optimizers, with PyTorch's update rules; names in st_training_args_set: HF's
 *  "adamw_torch_fused" (HF's default; training_args.json's name for AdamW), "adamw_torch",
 *  "sgd", "adagrad", "rmsprop", "lion_32bit", swifttrain's "adam" and "adadelta" (HF has
 *  neither), and the aliases "adamw" and "lion". Options HF passes through optim_args
 *  ("momentum=0.9,nesterov=true", "amsgrad=true", "alpha=0.9,centered=true", "lr_decay=0.01",
 *  "rho=0.95") go in st_training_args.optim_args. */
typedef enum st_optimizer {
    ST_OPTIM_ADAMW = 0,     /**< AdamW: decoupled weight decay, betas adam_beta1/2 */
    ST_OPTIM_SGD = 1,       /**< SGD: momentum (sgd_momentum or optim_args), dampening, nesterov */
    ST_OPTIM_ADAM = 2,      /**< Adam: L2 weight decay added to the gradient */
    ST_OPTIM_ADAGRAD = 3,
    ST_OPTIM_RMSPROP = 4,
    ST_OPTIM_ADADELTA = 5,
    ST_OPTIM_LION = 6       /**< Lion (Chen et al. 2023), betas adam_beta1/2 */
} st_optimizer;

/** Learning-rate schedules: HF's get_scheduler names and formulas, plus PyTorch's StepLR and
 *  ExponentialLR. Their options go in st_training_args.lr_scheduler_kwargs as
 *  "key=value,...": num_cycles (cosine, cosine_with_restarts, cosine_with_min_lr), lr_end and
 *  power (polynomial), timescale (inverse_sqrt), min_lr or min_lr_rate (cosine_with_min_lr),
 *  num_stable_steps, num_decay_steps, warmup_type, decay_type, min_lr_ratio
 *  (warmup_stable_decay), mode, factor, patience, threshold, threshold_mode, cooldown, min_lr
 *  (reduce_lr_on_plateau), step_size and gamma (step), gamma (exponential). */
typedef enum st_lr_scheduler {
    ST_LR_LINEAR = 0,               /**< warmup, then linear decay to 0 (HF default) */
    ST_LR_CONSTANT = 1,             /**< constant, no warmup */
    ST_LR_CONSTANT_WITH_WARMUP = 2,
    ST_LR_COSINE = 3,
    ST_LR_COSINE_WITH_RESTARTS = 4,
    ST_LR_POLYNOMIAL = 5,
    ST_LR_INVERSE_SQRT = 6,
    ST_LR_REDUCE_ON_PLATEAU = 7,    /**< after each evaluation, on metric_for_best_model (eval_loss) */
    ST_LR_COSINE_WITH_MIN_LR = 8,
    ST_LR_WARMUP_STABLE_DECAY = 9,
    ST_LR_STEP = 10,
    ST_LR_EXPONENTIAL = 11
} st_lr_scheduler;

/** What to do when the gradient norm is NaN or infinite. */
typedef enum st_nonfinite_policy {
    ST_NONFINITE_ERROR = 0,  /**< stop training with an error naming the step */
    ST_NONFINITE_SKIP = 1    /**< skip the optimizer step (counted in the state) and go on */
} st_nonfinite_policy;

/** Momentum schedules (an addition: AllenNLP's), stepped per epoch. */
typedef enum st_momentum_scheduler {
    ST_MOMENTUM_NONE = 0,
    ST_MOMENTUM_INVERTED_TRIANGULAR = 1  /**< options: cool_down, warm_up (epochs), ratio */
} st_momentum_scheduler;

/** Size of the option-string fields of st_training_args, including the terminating NUL. */
#define ST_OPTIONS_CAPACITY 256

typedef enum st_interval_strategy {
    ST_STRATEGY_NO = 0,     /**< Never. */
    ST_STRATEGY_STEPS = 1,  /**< Every N optimizer steps. */
    ST_STRATEGY_EPOCH = 2   /**< At the end of every epoch. */
} st_interval_strategy;

/** The trainer's built-in loss, applied to the model's logits and the batch's labels when the
 *  model sets no "loss" output and there is no compute-loss function. Logits [N, C] with
 *  labels [N], or [N, T, C] with [N, T] (token level, as HF's models). */
typedef enum st_loss {
    ST_LOSS_CROSS_ENTROPY = 0,  /**< Softmax cross-entropy over int64 labels; -100 is ignored
                                     and label_smoothing_factor applies (mean). */
    ST_LOSS_MSE = 1,            /**< Mean squared error over float targets (mean). */
    ST_LOSS_NLL = 2,            /**< Negative log-likelihood of log-probabilities, int64 labels. */
    ST_LOSS_L1 = 3,             /**< Mean absolute error. */
    ST_LOSS_SMOOTH_L1 = 4,      /**< torch's smooth_l1_loss, beta 1. */
    ST_LOSS_HUBER = 5,          /**< torch's huber_loss, delta 1. */
    ST_LOSS_BCE_WITH_LOGITS = 6,/**< Binary cross-entropy on logits, float targets of the same shape. */
    ST_LOSS_KL_DIV = 7          /**< KL divergence of log-probabilities from target probabilities
                                     ("batchmean"). */
} st_loss;

#define ST_TRAINING_ARGS_VERSION 8

/** Training configuration. Always fill it with st_training_args_init() first, then change
 *  fields directly or by name with st_training_args_set(). Values are checked when the
 *  trainer is created. */
/** When checkpoints are written (save_strategy). */
typedef enum st_save_strategy {
    ST_SAVE_NO = 0,      /**< Never. */
    ST_SAVE_STEPS = 1,   /**< Every save_steps optimizer steps, and at the last step (HF). */
    ST_SAVE_EPOCH = 2,   /**< At the end of every epoch, and at the last step. */
    ST_SAVE_BEST = 3     /**< Whenever an evaluation finds a new best metric_for_best_model. */
} st_save_strategy;

/** Size of st_training_args.output_dir, including the terminating NUL. */
#define ST_PATH_CAPACITY 4096

typedef struct st_training_args {
    uint32_t version;                     /**< ST_TRAINING_ARGS_VERSION */
    double num_train_epochs;              /**< 3.0; ignored when max_steps > 0 */
    int64_t max_steps;                    /**< -1: derived from num_train_epochs */
    int64_t per_device_train_batch_size;  /**< 8 */
    int64_t per_device_eval_batch_size;   /**< 8 */
    st_optimizer optim;                   /**< ST_OPTIM_ADAMW */
    double learning_rate;                 /**< 5e-5 */
    double weight_decay;                  /**< 0.0; never applied to biases */
    double adam_beta1;                    /**< 0.9 */
    double adam_beta2;                    /**< 0.999 */
    double adam_epsilon;                  /**< 1e-8 */
    double sgd_momentum;                  /**< 0.0 (SGD only) */
    double max_grad_norm;                 /**< 1.0; 0 disables gradient clipping */
    st_lr_scheduler lr_scheduler_type;    /**< ST_LR_LINEAR */
    double warmup_steps;                  /**< 0; a value below 1 is a ratio of the total steps */
    st_interval_strategy logging_strategy;/**< ST_STRATEGY_STEPS */
    double logging_steps;                 /**< 500; below 1: a ratio of the total steps */
    bool logging_first_step;              /**< false */
    st_interval_strategy eval_strategy;   /**< ST_STRATEGY_NO */
    double eval_steps;                    /**< 0: same as logging_steps; below 1: a ratio */
    int64_t seed;                         /**< 42; seeds the data order and, at the start of
                                               training, the generator dropout draws from */
    int64_t data_seed;                    /**< -1: use seed */
    bool dataloader_drop_last;            /**< false */
    /* version 2 */
    int64_t gradient_accumulation_steps;  /**< 1 */
    int64_t max_micro_batch_size;         /**< 0; addition: split larger batches into
                                               micro-batches that give the same update */
    double warmup_ratio;                  /**< 0 (HF v4); used when warmup_steps is 0 */
    double max_grad_value;                /**< 0; addition: clamp gradients to [-v, v] */
    st_nonfinite_policy nonfinite_grad_norm; /**< ST_NONFINITE_ERROR */
    double ema_decay;                     /**< 0; addition: moving average of the weights
                                               (AllenNLP), used for evaluation */
    st_momentum_scheduler momentum_scheduler_type; /**< ST_MOMENTUM_NONE */
    char optim_args[ST_OPTIONS_CAPACITY];            /**< "" */
    char lr_scheduler_kwargs[ST_OPTIONS_CAPACITY];   /**< "" */
    char momentum_scheduler_kwargs[ST_OPTIONS_CAPACITY]; /**< "" */
    char metric_for_best_model[ST_OPTIONS_CAPACITY]; /**< "": "loss" when load_best_model_at_end
                                                          or early stopping needs a metric */
    /* version 3 */
    bool logging_nan_inf_filter;          /**< true: a NaN/inf step loss counts as the average */
    double eval_delay;                    /**< 0: steps (or epochs) before the first evaluation */
    bool eval_on_start;                   /**< false: evaluate once before training */
    int greater_is_better;                /**< -1: derived (false for metrics ending in "loss"), 0, 1 */
    bool load_best_model_at_end;          /**< false: keep the best evaluated weights, restore them at the end */
    int64_t early_stopping_patience;      /**< 0 (off): stop after this many evaluations without
                                               improvement; "patience" in st_training_args_set */
    double early_stopping_threshold;      /**< 0: the least improvement that counts */
    /* version 4 */
    char output_dir[ST_PATH_CAPACITY];    /**< "trainer_output": checkpoints go to
                                               output_dir/checkpoint-<global_step>/ */
    st_save_strategy save_strategy;       /**< ST_SAVE_STEPS (HF's default) */
    double save_steps;                    /**< 500; below 1: a ratio of the total steps */
    int64_t save_total_limit;             /**< 0 (keep all): delete the oldest checkpoints beyond
                                               this many, never the best one */
    bool save_only_model;                 /**< false: checkpoints hold weights and trainer state
                                               only, and cannot be resumed */
    /* version 5 */
    bool dataloader_shuffle;              /**< true; addition (AllenNLP's shuffle): false feeds a
                                               map-style training set in order every epoch */
    bool ignore_data_skip;                /**< false: a resumed iterable dataset skips the batches
                                               already used; true starts its epoch over (HF) */
    double label_smoothing_factor;        /**< 0: label smoothing of ST_LOSS_CROSS_ENTROPY (HF) */
    char label_names[ST_OPTIONS_CAPACITY];/**< "labels": the batch entries that are labels,
                                               comma-separated (HF's label_names) */
    /* version 6 */
    char report_to[ST_OPTIONS_CAPACITY];  /**< "none": or "tensorboard" (event files under
                                               logging_dir, a scalar per logged value) or
                                               "all"; HF's report_to, comma-separated */
    char logging_dir[ST_PATH_CAPACITY];   /**< "": output_dir/runs/<Mon>DD_HH-MM-SS_<host>,
                                               HF's default, fixed when training starts */
    /* version 7 */
    char ddp_backend[ST_OPTIONS_CAPACITY];/**< "": data-parallel training over MPI when an MPI
                                               launcher started several processes (mpirun
                                               -np N), else alone; "mpi": over MPI (an error
                                               without Open MPI); "none": alone (HF's
                                               ddp_backend; docs/distributed.md) */
    /* version 8 */
    double ddp_timeout;                   /**< 1800: seconds a collective may make no progress
                                               before the job is ended (MPI_Abort, naming the
                                               rank): a hung process would keep the others
                                               waiting forever (HF's ddp_timeout); 0: never */
    double ddp_bucket_cap_mb;             /**< 0 (HF's None): 4; gradients of at most this many
                                               MB are summed in one message after the backward
                                               pass, larger ones per parameter during it */
    char other_fields[ST_PATH_CAPACITY]; /**< "{}": HF's other fields (run_name, do_train,
                                               dataloader_num_workers, ...) set to a value
                                               other than HF's default, as a JSON object; set
                                               them with st_training_args_set (what each one
                                               does: st_training_args_fields) */
} st_training_args;

/** Fills `args` with the defaults above. `version` must be ST_TRAINING_ARGS_VERSION. */
SWIFTTRAIN_API
st_status st_training_args_init(st_training_args *args, unsigned int version);

/** Sets one field by its HuggingFace name from a string, e.g. ("learning_rate", "1e-3"),
 *  ("optim", "adamw_torch"), ("eval_strategy", "epoch"), ("logging_first_step", "true"),
 *  ("run_name", "baseline"); "None" for HF's None, lists and dicts as JSON text. Every field of
 *  HF's TrainingArguments is a name (st_training_args_fields): one swifttrain cannot honour is
 *  accepted at HF's default only ("fp16", "false"), another value gives ST_EINVAL saying why
 *  and what to do. Unknown names ("did you mean 'learning_rate'?") and unparsable values give
 *  ST_EINVAL naming the argument; `args` is left unchanged then. */
SWIFTTRAIN_API
st_status st_training_args_set(st_training_args *args, const char *name, const char *value);

/** Checks every field of `args` (ranges, enum values, version) and reports the first bad one
 *  as ST_EINVAL with a message naming the argument. st_trainer_create() runs the same check. */
SWIFTTRAIN_API
st_status st_training_args_validate(const st_training_args *args);

/** Sets `count` fields by name, as st_training_args_set does for one (names[i] gets
 *  values[i]), then validates the result as st_training_args_validate does: one call for a
 *  binding's whole set of arguments. On any error (ST_EINVAL naming the argument) `args` is
 *  left unchanged. `names` and `values` may be NULL when `count` is 0. */
SWIFTTRAIN_API
st_status st_training_args_update(st_training_args *args, const char *const *names,
                                  const char *const *values, size_t count);

/** `args` as a JSON object of every field by its HF name (HF's fields in HF's order, then
 *  swifttrain's additions), as HF's to_dict writes them: enums by name (e.g. "optim":
 *  "adamw_torch_fused"), None as null, lists and dicts as JSON. A checkpoint splits it into
 *  training_args.json (what transformers.TrainingArguments loads) and swifttrain_args.json.
 *  From fresh st_training_args_init values it gives the library's defaults. Same buffer
 *  protocol as st_trainer_state_json; ST_EINVAL for invalid args. */
SWIFTTRAIN_API
st_status st_training_args_json(char *buffer, size_t capacity, size_t *length,
                                const st_training_args *args);

/** Every training argument st_training_args_set takes, as a JSON list in the order of
 *  st_training_args_json, each {"name", "category", "kind", "optional", "default", "note",
 *  "hf"}: category "honoured", "no_effect" (accepted and kept, changes nothing on a CPU) or
 *  "refused" (accepted at HF's default only; `note` says why and what to do); kind "bool",
 *  "int", "float", "number" (int or float), "str", "list" or "dict"; default HF's (the
 *  library's for an addition); hf false for swifttrain's additions. Same buffer protocol as
 *  st_trainer_state_json. */
SWIFTTRAIN_API
st_status st_training_args_fields(char *buffer, size_t capacity, size_t *length);

/** Parses a loss name: "cross_entropy", "mse", "nll", "l1", "smooth_l1", "huber",
 *  "bce_with_logits" or "kl_div". */
SWIFTTRAIN_API
st_status st_loss_from_name(st_loss *out, const char *name);

/** The value of `name` in the enum `kind`, by the names users write (HuggingFace's and
 *  PyTorch's spellings). Kinds and their names:
 *  - "dtype" (st_dtype): "float32", "int64", "bool";
 *  - "reduction" (st_reduction): "none", "mean", "sum", "batchmean";
 *  - "comparison" (st_comparison): "eq", "ne", "lt", "le", "gt", "ge";
 *  - "activation" (st_activation): "relu", "gelu", "gelu_tanh", "silu", "tanh", "sigmoid";
 *  - "optimizer" (st_optimizer) and "lr_scheduler" (st_lr_scheduler): the names of "optim"
 *    and "lr_scheduler_type" in st_training_args_set, aliases included ("adamw_torch");
 *  - "nonfinite_policy" (st_nonfinite_policy): "error", "skip";
 *  - "momentum_scheduler" (st_momentum_scheduler): "none", "inverted_triangular";
 *  - "interval_strategy" (st_interval_strategy): "no", "steps", "epoch";
 *  - "loss" (st_loss): the names of st_loss_from_name;
 *  - "save_strategy" (st_save_strategy): "no", "steps", "epoch", "best";
 *  - "metrics_format" (st_metrics_format): "jsonl", "csv".
 *  These are the tables the library parses names with (st_training_args_set, ...). ST_EINVAL
 *  for NULL arguments, an unknown kind (the message lists the kinds) or an unknown name (the
 *  message lists the names of the kind). */
SWIFTTRAIN_API
st_status st_enum_from_name(int *out, const char *kind, const char *name);

/** Every (name, value) of the enum `kind` (see st_enum_from_name), in a stable order: a
 *  value's main name before its aliases. Writes names[0..count) and values[0..count) and the
 *  number of pairs into *count; the names are static strings (never freed). A call with
 *  `capacity` 0 only asks for the count (names and values may then be NULL); when `capacity`
 *  is too small it returns ST_ESHAPE, writes no pair, and *count still tells how many are
 *  needed. ST_EINVAL for NULL arguments or an unknown kind. */
SWIFTTRAIN_API
st_status st_enum_names(const char **names, int *values, size_t capacity, size_t *count,
                        const char *kind);

/* ======================================================================================
 * Optimizers and learning-rate schedules, for loops written by hand (the trainer makes its
 * own from st_training_args). Create functions give a new handle freed with the type's
 * *_free and return ST_EINVAL for an unknown kind or a hyper-parameter out of range, naming it.
 * ====================================================================================== */

typedef struct st_optim st_optim;

/** Hyper-parameters of an optimizer; fill with st_optim_options_init(), which sets
 *  PyTorch's defaults for the chosen kind. Fields an optimizer does not use are ignored. */
typedef struct st_optim_options {
    uint32_t struct_size;             /**< sizeof(st_optim_options) as the caller compiled it */
    double lr;                        /**< SGD 1e-3, Adam/AdamW 1e-3, RMSprop/Adagrad 1e-2, Adadelta 1, Lion 1e-4 */
    double weight_decay;              /**< 0 (AdamW 1e-2) */
    double momentum;                  /**< SGD/RMSprop momentum 0, or beta1 of Adam/AdamW (0.9) and Lion (0.9) */
    double beta2;                     /**< Adam/AdamW 0.999, Lion 0.99 */
    double eps;                       /**< Adam 1e-8, RMSprop 1e-8, Adagrad 1e-10, Adadelta 1e-6 */
    double dampening;                 /**< SGD 0 */
    bool nesterov;                    /**< SGD false */
    bool amsgrad;                     /**< Adam/AdamW false */
    bool centered;                    /**< RMSprop false */
    double alpha;                     /**< RMSprop 0.99 */
    double lr_decay;                  /**< Adagrad 0 */
    double initial_accumulator_value; /**< Adagrad 0 */
    double rho;                       /**< Adadelta 0.9 */
} st_optim_options;

/** PyTorch's defaults for `kind`. ST_EINVAL for an unknown kind. */
SWIFTTRAIN_API
st_status st_optim_options_init_sized(st_optim_options *options, size_t struct_size,
                                      st_optimizer kind);
#define st_optim_options_init(options, kind) \
    st_optim_options_init_sized((options), sizeof(st_optim_options), (kind))

/** An optimizer over `params` (one parameter group). The optimizer keeps references to the
 *  tensors; their gradients are what st_optim_step() uses. */
SWIFTTRAIN_API
st_status st_optim_create(st_optim **out, st_optimizer kind, st_tensor *const *params, size_t count,
                          const st_optim_options *options);

/** Adds a parameter group with its own lr, weight decay and momentum (torch's add_param_group). */
SWIFTTRAIN_API
st_status st_optim_add_param_group(st_optim *optim, st_tensor *const *params, size_t count,
                                   double lr, double weight_decay, double momentum);

/** One update of every parameter that has a gradient (others are skipped). */
SWIFTTRAIN_API
st_status st_optim_step(st_optim *optim);

/** Drops every parameter's gradient. */
SWIFTTRAIN_API
st_status st_optim_zero_grad(st_optim *optim);

/** A parameter group's settings. */
typedef struct st_param_group_info {
    size_t num_params;
    double lr;           /**< used by the next step */
    double initial_lr;   /**< the group's lr when it was created */
    double weight_decay;
    double momentum;     /**< momentum or beta1, as in st_optim_options */
} st_param_group_info;

/** Number of parameter groups, into *out. */
SWIFTTRAIN_API
st_status st_optim_num_param_groups(size_t *out, const st_optim *optim);
/** Copies group `group`'s settings into *out. ST_EINVAL for a group out of range. */
SWIFTTRAIN_API
st_status st_optim_get_param_group(st_param_group_info *out, const st_optim *optim, size_t group);
/** Changes a group's lr, weight decay and momentum (num_params and initial_lr are ignored). */
SWIFTTRAIN_API
st_status st_optim_set_param_group(st_optim *optim, size_t group, const st_param_group_info *info);

/** The optimizer state as named tensors "<parameter index>.<field>", with PyTorch's field
 *  names ("0.step", "0.exp_avg", "1.momentum_buffer", ...); parameters are numbered across
 *  groups in order. Tensors are copies. */
SWIFTTRAIN_API
st_status st_optim_state_dict(st_named_tensors **out, const st_optim *optim);
/** Restores a state written by st_optim_state_dict for the same parameters. */
SWIFTTRAIN_API
st_status st_optim_load_state_dict(st_optim *optim, const st_named_tensors *state);
/** Releases the optimizer (and its references to the parameters). NULL is a harmless no-op. */
SWIFTTRAIN_API
void st_optim_free(st_optim *optim);

/** A learning-rate schedule as a pure function of the step (HF get_scheduler's formulas);
 *  not for ST_LR_REDUCE_ON_PLATEAU (see st_plateau). */
typedef struct st_lr_schedule st_lr_schedule;

/** `kwargs` as in st_training_args.lr_scheduler_kwargs ("num_cycles=2"), may be NULL.
 *  initial_lr is the optimizer's default lr (polynomial and cosine_with_min_lr use it). */
SWIFTTRAIN_API
st_status st_lr_schedule_create(st_lr_schedule **out, st_lr_scheduler kind,
                                int64_t num_warmup_steps, int64_t num_training_steps,
                                const char *kwargs, double initial_lr);
/** The factor for optimizer step `step` (0-based): lr = initial group lr * factor. */
SWIFTTRAIN_API
st_status st_lr_schedule_factor(double *out, const st_lr_schedule *schedule, int64_t step);
/** Releases the schedule. NULL is a harmless no-op. */
SWIFTTRAIN_API
void st_lr_schedule_free(st_lr_schedule *schedule);

/** ReduceLROnPlateau (PyTorch's semantics and argument names in `kwargs`, may be NULL). */
typedef struct st_plateau st_plateau;
/** A ReduceLROnPlateau from `kwargs` ("mode=max,patience=2", PyTorch's names and
 *  defaults). ST_EINVAL naming the option for an unknown name or a bad value. */
SWIFTTRAIN_API
st_status st_plateau_create(st_plateau **out, const char *kwargs);
/** Feeds one evaluation's metric; rates[0..count) are the groups' current lrs, updated in
 *  place when the metric has stalled for longer than the patience. */
SWIFTTRAIN_API
st_status st_plateau_step(st_plateau *plateau, double metric, double *rates, size_t count);
/** Releases the plateau. NULL is a harmless no-op. */
SWIFTTRAIN_API
void st_plateau_free(st_plateau *plateau);

/** ReduceLROnPlateau's counters (PyTorch's state_dict fields), to save and restore. Set
 *  struct_size = sizeof(st_plateau_state) before either call: fields may be appended. */
typedef struct st_plateau_state {
    uint32_t struct_size;        /**< sizeof(st_plateau_state) as the caller knows it */
    double best;                 /**< the best metric so far; NaN before the first */
    int64_t num_bad_epochs;      /**< evaluations since the best, after any cooldown */
    int64_t cooldown_counter;    /**< evaluations of cooldown left */
} st_plateau_state;
/** Copies the counters into *out, writing no more than out->struct_size bytes.
 *  ST_EINVAL when struct_size is smaller than the first version of the struct. */
SWIFTTRAIN_API
st_status st_plateau_get_state(st_plateau_state *out, const st_plateau *plateau);
/** ST_EINVAL for negative counters (the plateau is unchanged). */
SWIFTTRAIN_API
st_status st_plateau_set_state(st_plateau *plateau, const st_plateau_state *state);

/* ======================================================================================
 * safetensors files (https://github.com/huggingface/safetensors): read with every offset,
 * dtype and shape checked against the file, so untrusted files are safe to open
 * ====================================================================================== */

typedef struct st_safetensors st_safetensors;

/** One tensor of a safetensors file. */
typedef struct st_safetensors_entry {
    const char *name;
    const char *dtype;       /**< "F32", "I64", "BOOL", "F16", "BF16", "F64", "I32", "U8", ... */
    const int64_t *shape;
    size_t ndim;
    const void *data;        /**< little-endian bytes, not necessarily aligned */
    size_t nbytes;
} st_safetensors_entry;

/** Reads and checks a file. ST_ECORRUPT, naming the file and the fault, when it is not a
 *  valid safetensors file; ST_EIO when it cannot be read. */
SWIFTTRAIN_API
st_status st_safetensors_open(st_safetensors **out, const char *path);

/** Checks `size` bytes in memory (copied). */
SWIFTTRAIN_API
st_status st_safetensors_open_memory(st_safetensors **out, const void *data, size_t size);

/** Number of tensors; 0 for NULL. */
SWIFTTRAIN_API
size_t st_safetensors_count(const st_safetensors *file);
/** Number of metadata pairs ("__metadata__"); 0 for NULL. */
SWIFTTRAIN_API
size_t st_safetensors_metadata_count(const st_safetensors *file);

/** Tensor `index` (in file order). Every pointer stays valid until st_safetensors_free. */
SWIFTTRAIN_API
st_status st_safetensors_entry_at(st_safetensors_entry *out, const st_safetensors *file,
                                  size_t index);

/** Metadata pair `index`; valid until st_safetensors_free. */
SWIFTTRAIN_API
st_status st_safetensors_metadata_at(const char **key, const char **value,
                                     const st_safetensors *file, size_t index);

/** Every tensor as an st_tensor (F32, I64 and BOOL; ST_EINVAL naming the first other
 *  dtype), for st_module_load_state_dict. */
SWIFTTRAIN_API
st_status st_safetensors_tensors(st_named_tensors **out, const st_safetensors *file);

/** NULL is a harmless no-op. */
SWIFTTRAIN_API
void st_safetensors_free(st_safetensors *file);
/** Deprecated: the old name of st_safetensors_free (a macro; no such symbol is exported). */
#define st_safetensors_close(file) st_safetensors_free(file)

/** The bytes of a safetensors file holding `entries` (any safetensors dtype) and `metadata`,
 *  given as `metadata_count` pairs of strings (key0, value0, key1, value1, ...). Same buffer
 *  protocol as st_trainer_state_json, without the NUL: *length receives the size. */
SWIFTTRAIN_API
st_status st_safetensors_serialize(void *buffer, size_t capacity, size_t *length,
                                   const st_safetensors_entry *entries, size_t count,
                                   const char *const *metadata, size_t metadata_count);

/** Writes such a file to `path`, atomically. */
SWIFTTRAIN_API
st_status st_safetensors_save(const char *path, const st_safetensors_entry *entries, size_t count,
                              const char *const *metadata, size_t metadata_count);

/* ======================================================================================
 * The command line
 * ====================================================================================== */

/** The `swifttrain` command line (`train CONFIG -s DIR [--recover] [-o OVERRIDES]`,
 *  `describe CONFIG`, `evaluate DIR DATA`, `predict DIR DATA -o FILE`; `--help` lists them), run with `argv[1..argc)` (argv[0] is the program
 *  name): the installed `swifttrain` program is `return st_cli_main(argc, argv);`. Writes to
 *  stdout and stderr and returns a sysexits code: 0 done, 64 bad usage, 65 a bad config (the
 *  message names the key path), 66 a config that cannot be read, 70 training failed, 73 a
 *  directory that cannot be used, 74 an I/O error, 130 stopped by Ctrl-C (`train` installs a
 *  SIGINT handler while it runs: the step ends and is saved, `--recover` continues; a second
 *  Ctrl-C acts as before). docs/configs.md describes the config. */
SWIFTTRAIN_API
int st_cli_main(int argc, const char *const *argv);

/* ======================================================================================
 * Trainer, events and callbacks
 * ====================================================================================== */

typedef struct st_trainer st_trainer;

/** Events. For one optimizer step with gradient accumulation over N batches:
 *    STEP_BEGIN;
 *    N x (BEFORE_DATALOADER, AFTER_DATALOADER)       the whole window is fetched first, as HF;
 *    per micro-batch: BEFORE_FORWARD, AFTER_FORWARD, BEFORE_LOSS, AFTER_LOSS,
 *                     BEFORE_BACKWARD, AFTER_BACKWARD, then SUBSTEP_END for all but the last;
 *    PRE_OPTIMIZER_STEP (after clipping), OPTIMIZER_STEP, STEP_END;
 *    then LOG if logging is due, and, if evaluation is due, EVALUATE_BEGIN,
 *    PREDICTION_STEP per evaluation batch, LOG (the evaluation metrics) and EVALUATE;
 *    then SAVE if a checkpoint was due and written.
 *  A training run: INIT_END (once per trainer, before its first train, evaluate or predict),
 *  TRAIN_BEGIN, per epoch EPOCH_BEGIN ... EPOCH_END (followed by its own LOG / evaluation
 *  when due), LOG (train metrics), TRAIN_END, CLOSE, POST_CLOSE. When an error stops
 *  training, EXCEPTION, CLOSE and POST_CLOSE fire and the error is returned.
 *  st_trainer_evaluate fires EVALUATE_STANDALONE_BEGIN, then per dataset EVALUATE_BEGIN,
 *  per batch (EVALUATE_BATCH_BEGIN, EVALUATE_BEFORE_FORWARD, EVALUATE_AFTER_FORWARD,
 *  PREDICTION_STEP), LOG, EVALUATE (EVALUATE_BEFORE_ALL / _AFTER_ALL around them all when
 *  it evaluates the trainer's evaluation datasets, as training's evaluations do), then
 *  EVALUATE_STANDALONE_END; st_trainer_predict fires PREDICT_BEGIN, per batch the PREDICT_
 *  batch events and PREDICTION_STEP, then PREDICT. Each step ends with STEP_CHECKPOINT, each
 *  epoch with EPOCH_CHECKPOINT (after their evaluation and save). docs/events.md maps them to HF,
 *  Composer, AllenNLP and PyMarlin names. Values are stable and appended only. */
typedef enum st_event {
    ST_EVENT_TRAIN_BEGIN = 0,
    ST_EVENT_EPOCH_BEGIN = 1,
    ST_EVENT_STEP_BEGIN = 2,
    ST_EVENT_STEP_END = 3,
    ST_EVENT_LOG = 4,
    ST_EVENT_EVALUATE = 5,
    ST_EVENT_EPOCH_END = 6,
    ST_EVENT_TRAIN_END = 7,
    ST_EVENT_INIT_END = 8,
    ST_EVENT_BEFORE_DATALOADER = 9,
    ST_EVENT_AFTER_DATALOADER = 10,
    ST_EVENT_BEFORE_FORWARD = 11,
    ST_EVENT_AFTER_FORWARD = 12,
    ST_EVENT_BEFORE_LOSS = 13,
    ST_EVENT_AFTER_LOSS = 14,
    ST_EVENT_BEFORE_BACKWARD = 15,
    ST_EVENT_AFTER_BACKWARD = 16,
    ST_EVENT_SUBSTEP_END = 17,
    ST_EVENT_PRE_OPTIMIZER_STEP = 18,
    ST_EVENT_OPTIMIZER_STEP = 19,
    ST_EVENT_EVALUATE_BEGIN = 20,
    ST_EVENT_PREDICTION_STEP = 21,
    ST_EVENT_PREDICT_BEGIN = 22,
    ST_EVENT_PREDICT = 23,
    ST_EVENT_EXCEPTION = 24,
    ST_EVENT_CLOSE = 25,
    ST_EVENT_SAVE = 26,         /**< a checkpoint was written (after LOG / EVALUATE of the step) */
    /* Composer's events (since 0.2.0; docs/events.md maps them): */
    ST_EVENT_BEFORE_LOAD = 27,  /**< train() resuming: before the checkpoint is restored */
    ST_EVENT_AFTER_LOAD = 28,   /**< after it was restored, before TRAIN_BEGIN */
    ST_EVENT_BEFORE_TRAIN_BATCH = 29, /**< the step's batches fetched, before the first forward */
    ST_EVENT_STEP_CHECKPOINT = 30,    /**< the step complete: after its LOG, EVALUATE and SAVE
                                           (Composer's BATCH_CHECKPOINT) */
    ST_EVENT_EPOCH_CHECKPOINT = 31,   /**< the epoch complete: after EPOCH_END, its evaluation and
                                           save; metrics: that evaluation's, or NULL (AllenNLP's
                                           and PyMarlin's epoch callbacks) */
    ST_EVENT_EVALUATE_BEFORE_ALL = 32, /**< before evaluating every evaluation dataset */
    ST_EVENT_EVALUATE_AFTER_ALL = 33,  /**< after; metrics: all of their metrics */
    ST_EVENT_EVALUATE_BATCH_BEGIN = 34,    /**< each evaluation batch: fetched, */
    ST_EVENT_EVALUATE_BEFORE_FORWARD = 35, /**< about to be forwarded (the batch replaceable), */
    ST_EVENT_EVALUATE_AFTER_FORWARD = 36,  /**< forwarded (the outputs replaceable); then
                                                PREDICTION_STEP */
    ST_EVENT_PREDICT_BATCH_BEGIN = 37,     /**< the same three for each prediction batch */
    ST_EVENT_PREDICT_BEFORE_FORWARD = 38,
    ST_EVENT_PREDICT_AFTER_FORWARD = 39,
    ST_EVENT_EVALUATE_STANDALONE_BEGIN = 40, /**< st_trainer_evaluate (outside training): first */
    ST_EVENT_EVALUATE_STANDALONE_END = 41,   /**< and last; metrics: what it returns */
    ST_EVENT_POST_CLOSE = 42    /**< after every callback's CLOSE: the last event of a train() */
} st_event;

#define ST_EVENT_COUNT 43
/** The bit of one event in an event mask (64 bits: room for the events to come). */
#define ST_EVENT_MASK(event) ((uint64_t)1 << (unsigned)(event))
#define ST_EVENT_MASK_ALL UINT64_MAX

/** HuggingFace's callback method name of an event ("on_train_begin", "on_step_end", ...; in the
 *  same style for events HF lacks: "on_before_forward"), or NULL for a value that is not an
 *  event. Static storage. */
SWIFTTRAIN_API
const char *st_event_name(int event);

/** Whether `event` is a teardown event (EXCEPTION, CLOSE, POST_CLOSE): every callback of such
 *  an event runs even when one fails, and the first failure is what the run returns. false
 *  for other events and for a value that is not an event. */
SWIFTTRAIN_API
bool st_event_is_teardown(int event);

/** What a callback sees. Valid only during the callback; copy what you need. */
typedef struct st_trainer_state {
    uint32_t struct_size;        /**< sizeof(st_trainer_state) in the library */
    double epoch;                /**< fractional: 1.5 = half way through the second epoch */
    int64_t global_step;         /**< optimizer updates done so far */
    int64_t max_steps;           /**< total optimizer updates this training will do */
    int64_t num_train_epochs;    /**< epochs this training will run */
    int64_t train_batch_size;
    int64_t logging_steps;
    int64_t eval_steps;
    double loss;                 /**< mean training loss of the last optimizer step (NaN before) */
    double learning_rate;        /**< the learning rate the next optimizer step will use */
    double grad_norm;            /**< global gradient norm of the last step, before clipping */
    /** ST_EVENT_LOG: the logged values; ST_EVENT_EVALUATE: the evaluation metrics;
     *  ST_EVENT_PREDICT: the test metrics (possibly none); NULL for other events. Borrowed:
     *  do not free, do not keep. */
    const st_metrics *metrics;
    /* appended fields: check struct_size before reading them */
    int64_t micro_step;          /**< micro-batches processed (forward and backward passes) */
    double total_flos;           /**< estimated floating-point operations (6 x parameters x samples) */
    double best_metric;          /**< best value of metric_for_best_model so far (NaN: none yet) */
    int64_t best_global_step;    /**< the step it was reached at (-1: none yet) */
    int64_t skipped_steps;       /**< steps skipped for a non-finite gradient norm */
    int64_t eval_batches;        /**< batches of the evaluation or prediction in progress
                                      (for progress: PREDICTION_STEP fires once per batch);
                                      0 outside one */
    int64_t save_steps;          /**< the checkpoint interval in steps */
    const char *best_model_checkpoint; /**< the checkpoint directory of the best metric, or
                                            NULL; borrowed, valid during the callback
                                            (st_trainer_get_state leaves it NULL: read it from
                                            st_trainer_state_json) */
    uint64_t event_serial;       /**< numbers the events this trainer fired, from 1: every
                                      callback of one event sees the same number (to do
                                      per-event work once); 0 from st_trainer_get_state */
    int64_t world_size;          /**< the processes training together: 1 alone, N under
                                      `mpirun -np N` (data parallel, ddp_backend) */
    int64_t process_index;       /**< this process's index among them (MPI rank), from 0 */
    bool is_world_process_zero;  /**< process_index == 0: the process that logs and writes
                                      files (HF's is_world_process_zero) */
    bool is_local_process_zero;  /**< the first process on its machine */
} st_trainer_state;

/** What a callback may change. Flags set by a callback are acted on after all callbacks of
 *  the event have run. should_training_stop is sticky: once set, no callback can clear it.
 *  should_log / should_evaluate / should_save are reset before every step. */
typedef struct st_trainer_control {
    bool should_training_stop;
    bool should_epoch_stop;
    bool should_save;
    bool should_evaluate;
    bool should_log;
} st_trainer_control;

/** A callback. Return 0 to continue. A non-zero return aborts training at once:
 *  st_trainer_train() then returns ST_EUSER. To stop gracefully (HF style), set
 *  control->should_training_stop and return 0; set should_save as well to leave a checkpoint
 *  of that step to resume from (a signal handler's flag checked at STEP_END does this well). */
typedef int (*st_callback_fn)(st_event event, const st_trainer_state *state,
                              st_trainer_control *control, void *user_data);

/** Creates a trainer for `model` (the trainer keeps its own reference). `args` is copied. */
SWIFTTRAIN_API
st_status st_trainer_create(st_trainer **out, st_module *model, st_loss loss,
                            const st_training_args *args);

/** A trainer for the experiment the JSON text `config` describes (docs/configs.md: the model,
 *  the data, the loss and the training arguments, built in the core as the command line
 *  builds them), with `overrides` (a JSON object merged in key by key, or NULL). The trainer
 *  owns its model and datasets: train it with st_trainer_train, free it with
 *  st_trainer_free. The config's callbacks are registered on it (after the handle exists:
 *  a callback factory gets it). ST_EINVAL for a bad config, the message naming the key path
 *  ("config: model.layers[2].out_features: expected an integer, ..."). *out is NULL on
 *  failure. */
SWIFTTRAIN_API
st_status st_trainer_create_from_config(st_trainer **out, const char *config, const char *overrides);

/** The pieces of a config's experiment, for a binding that builds its own trainer around
 *  them (Python's Trainer.from_config): *model, *train_data and *validation_data (NULL when
 *  the config has none) receive new handles the caller frees, *args the training arguments
 *  (every field resolved, those the callbacks set included), *loss the loss. The callbacks
 *  that register on a trainer are left to st_config_add_callbacks, once the trainer exists.
 *  Errors as st_trainer_create_from_config; the out-parameters are NULL (handles) on
 *  failure. */
SWIFTTRAIN_API
st_status st_config_build(st_module **model, st_dataset **train_data, st_dataset **validation_data,
                          st_training_args *args, st_loss *loss, const char *config,
                          const char *overrides);

/** Adds the callbacks of the config `config` (with `overrides`) that register on a trainer
 *  (metrics_logger, progress_bar, terminate_on_nan and the types registered with
 *  st_config_register_callback) to `trainer`, one built around st_config_build's pieces (which
 *  leave them out; the training arguments the other callbacks set are in its args). Errors
 *  name the entry's key path ("config: callbacks[1]: ..."); the callbacks added before a
 *  failing one stay. */
SWIFTTRAIN_API
st_status st_config_add_callbacks(st_trainer *trainer, const char *config, const char *overrides);

/** Builds a model (a layer) type of configs: *out receives a new module handle, which passes
 *  to the library (it keeps its own reference and frees the handle; st_module_share gives one
 *  of a module you keep). `args_json` is the config object's arguments as a JSON object (every
 *  key but "type"; the factory checks them). Return ST_OK, or an error status after
 *  st_set_last_error_message: the config's error names the key path and your message
 *  ("config: model.layers[1]: the factory of \"my_block\" failed (ST_EINVAL: ...): ..."). */
typedef st_status (*st_config_model_fn)(st_module **out, const char *args_json, void *user_data);

/** Adds the callbacks of one entry of a config's "callbacks" to `trainer`
 *  (st_trainer_add_callback, st_trainer_add_event_callback, ...), from the entry's arguments
 *  (`args_json`, every key but "type"). `trainer` is the handle of the trainer being built
 *  (st_trainer_create_from_config's, the caller's of st_config_add_callbacks; for a trainer
 *  `swifttrain train` built, a handle that stops being live when that trainer is gone). Errors
 *  as st_config_model_fn's. */
typedef st_status (*st_config_callback_fn)(st_trainer *trainer, const char *args_json, void *user_data);

/** Registers a model (layer) type of configs, usable wherever a layer is ("model", "layers"
 *  of a sequential): AllenNLP's Registrable, from C. One process-wide registry (thread-safe):
 *  st_trainer_create_from_config, st_config_build, Python's Trainer.from_config and
 *  st_cli_main called in this process see the type (the installed `swifttrain` program, a
 *  process of its own, sees only the built-in ones). ST_EINVAL naming the type when `type`
 *  is empty, a built-in type's ("linear", ...) or registered already (unregister it first).
 *  `user_data` stays the caller's: keep it valid until the type is unregistered and no config
 *  is being built with it on another thread. */
SWIFTTRAIN_API
st_status st_config_register_model(const char *type, st_config_model_fn make, void *user_data);

/** Registers a callback type of configs' "callbacks" entries, as st_config_register_model
 *  (built-in callback types: early_stopping, metrics_logger, progress_bar, terminate_on_nan,
 *  tensorboard). */
SWIFTTRAIN_API
st_status st_config_register_callback(const char *type, st_config_callback_fn make, void *user_data);

/** Removes a model type registered with st_config_register_model: ST_ENOTFOUND when there is
 *  none (the message lists those registered), ST_EINVAL for a built-in type. */
SWIFTTRAIN_API
st_status st_config_unregister_model(const char *type);

/** Removes a callback type registered with st_config_register_callback, as
 *  st_config_unregister_model. */
SWIFTTRAIN_API
st_status st_config_unregister_callback(const char *type);

/** Sets the training dataset (the trainer keeps its own reference). */
SWIFTTRAIN_API
st_status st_trainer_set_train_dataset(st_trainer *trainer, st_dataset *dataset);

/** Sets the evaluation dataset used by eval_strategy and st_trainer_evaluate(), replacing
 *  every evaluation dataset (named ones too); NULL clears them all. Its metrics are eval_loss,
 *  eval_accuracy, ... */
SWIFTTRAIN_API
st_status st_trainer_set_eval_dataset(st_trainer *trainer, st_dataset *dataset);

/** Adds a named evaluation dataset (HF's eval_dataset dict): its metrics are
 *  eval_<name>_loss, eval_<name>_accuracy, ... and every evaluation (eval_strategy,
 *  st_trainer_evaluate with NULL) runs all named datasets in the order they were added, each
 *  firing EVALUATE_BEGIN, LOG and EVALUATE. `name` is letters, digits, '_' or '-', unique;
 *  ST_EMISUSE if the trainer has an unnamed evaluation dataset (clear it with
 *  st_trainer_set_eval_dataset(trainer, NULL) first). metric_for_best_model then names a
 *  metric of one set, e.g. "valid_accuracy" for eval_valid_accuracy. */
SWIFTTRAIN_API
st_status st_trainer_add_eval_dataset(st_trainer *trainer, const char *name, st_dataset *dataset);

/** Registers a callback for the events in `event_mask` (ST_EVENT_MASK(e) bits, or
 *  ST_EVENT_MASK_ALL), at priority 0 (see st_trainer_add_event_callback for the order), after
 *  the built-in flow logic that decides logging and evaluation. `user_data` is passed back
 *  unchanged. */
SWIFTTRAIN_API
st_status st_trainer_add_callback(st_trainer *trainer, st_callback_fn callback, void *user_data,
                                  uint64_t event_mask);

/** Unregisters every callback added with this `callback` and `user_data`. Takes effect from
 *  the next event (removed during an event, a callback still sees that event). Returns
 *  ST_OK, ST_ENOTFOUND when none is registered, ST_EINVAL for a NULL argument, ST_EMISUSE
 *  for a freed trainer. */
SWIFTTRAIN_API
st_status st_trainer_remove_callback(st_trainer *trainer, st_callback_fn callback, void *user_data);

/** What an event callback sees of the run besides the state and the control flags (the
 *  core's EventData; HF's keyword arguments, Composer's State). Owned by the library and
 *  valid during the callback only; every handle in it is borrowed (do not free it, do not
 *  keep it). Where Composer lets an algorithm replace a value, the callback may:
 *  - the batch at ST_EVENT_AFTER_DATALOADER and ST_EVENT_BEFORE_FORWARD, with
 *    st_batch_set (a batch replaced at AFTER_DATALOADER counts in the step's normalisation;
 *    one replaced at BEFORE_FORWARD is normalised by the original sample count), and at
 *    ST_EVENT_EVALUATE_BEFORE_FORWARD and ST_EVENT_PREDICT_BEFORE_FORWARD;
 *  - the outputs at ST_EVENT_AFTER_FORWARD and ST_EVENT_BEFORE_LOSS, with st_outputs_set,
 *    and at ST_EVENT_EVALUATE_AFTER_FORWARD and ST_EVENT_PREDICT_AFTER_FORWARD (what the
 *    metrics and predictions are computed from);
 *  - the loss at ST_EVENT_AFTER_LOSS and ST_EVENT_BEFORE_BACKWARD, with
 *    st_event_data_set_loss (a float32 scalar; it is backpropagated and logged);
 *  - the gradients at ST_EVENT_AFTER_BACKWARD and ST_EVENT_PRE_OPTIMIZER_STEP, in place
 *    (st_tensor_grad of the model's parameters).
 *  Changes at other events are ignored. Fields may be appended: check struct_size. */
typedef struct st_event_data {
    uint32_t struct_size;          /**< sizeof(st_event_data) in the library */
    st_event event;
    st_trainer *trainer;           /**< the trainer (for st_trainer_log) */
    st_module *model;
    st_optim *optimizer;           /**< the optimizer of the training in progress; NULL outside it.
                                        Its groups' lr may be changed at PRE_OPTIMIZER_STEP,
                                        after the schedule set the step's rate
                                        (st_optim_set_param_group) */
    st_lr_schedule *lr_scheduler;  /**< its schedule; NULL outside training and with
                                        reduce_lr_on_plateau */
    const st_metrics *metrics;     /**< LOG: the logged values; EVALUATE: the metrics;
                                        PREDICT: the test metrics; EVALUATE_AFTER_ALL,
                                        EVALUATE_STANDALONE_END, EPOCH_CHECKPOINT: see
                                        st_event; NULL otherwise */
    st_batch *batch;               /**< the (micro-)batch from AFTER_DATALOADER to STEP_END,
                                        and in evaluation and prediction from the batch's
                                        BATCH_BEGIN to PREDICTION_STEP; NULL otherwise */
    st_outputs *outputs;           /**< the model's outputs of `batch`, from AFTER_FORWARD */
    st_tensor *loss;               /**< the loss of `batch`, from AFTER_LOSS; NULL before */
    const char *error;             /**< EXCEPTION: the message of the error ending the run */
    void *internal_;               /**< the library's; do not touch */
} st_event_data;

/** An event callback: like st_callback_fn, with the event's data. Return 0 to continue;
 *  non-zero aborts training (ST_EUSER). */
typedef int (*st_event_fn)(st_event_data *data, const st_trainer_state *state,
                           st_trainer_control *control, void *user_data);

/** Registers an event callback for the events in `event_mask` at `priority`. Every callback
 *  of an event, from any language, runs in one list: by ascending priority and, among equal
 *  priorities, in registration order (AllenNLP's handler priorities; st_trainer_add_callback
 *  and Python's callbacks use 0). Returns ST_OK, ST_EINVAL for a NULL trainer or callback,
 *  ST_EMISUSE for a freed trainer. */
SWIFTTRAIN_API
st_status st_trainer_add_event_callback(st_trainer *trainer, st_event_fn callback, void *user_data,
                                        uint64_t event_mask, int priority);

/** Unregisters every event callback added with this `callback` and `user_data`, as
 *  st_trainer_remove_callback does. ST_ENOTFOUND when none is registered. */
SWIFTTRAIN_API
st_status st_trainer_remove_event_callback(st_trainer *trainer, st_event_fn callback, void *user_data);

/** Replaces the loss of the event in progress (see st_event_data): `loss` must be a float32
 *  scalar; the library keeps its own reference. ST_EMISUSE at an event where the loss
 *  cannot be replaced, or for a `data` that is not a running callback's; ST_EINVAL for
 *  another tensor. */
SWIFTTRAIN_API
st_status st_event_data_set_loss(st_event_data *data, st_tensor *loss);

/** Fires ST_EVENT_INIT_END now, unless it has fired: HF fires on_init_end at the end of
 *  Trainer.__init__, so a binding (or a host) calls this once its callbacks are registered.
 *  Without it, the first st_trainer_train, st_trainer_evaluate or st_trainer_predict fires
 *  it. Returns ST_OK, ST_EUSER when a callback aborts, ST_EMISUSE from inside a callback of
 *  the same trainer or for a freed trainer, ST_EINVAL for NULL. */
SWIFTTRAIN_API
st_status st_trainer_init_end(st_trainer *trainer);

/** Logs `count` values (HF's Trainer.log): they are appended to the log history with the
 *  current "step", and LOG fires with them, reaching every callback and logger. Called from
 *  a callback, LOG follows that event's callbacks. ST_EINVAL for an empty or repeated name. */
SWIFTTRAIN_API
st_status st_trainer_log(st_trainer *trainer, const char *const *names, const double *values, size_t count);

/** Asks training to stop gracefully at the end of the current optimizer step (or of the
 *  first step of the next st_trainer_train, if none is running): the step completes, is
 *  logged and evaluated as usual, and with `save` (and a save_strategy other than
 *  ST_SAVE_NO) saved as a checkpoint that st_trainer_resume continues
 *  exactly; TRAIN_END runs and st_trainer_train returns ST_OK. A request no step acted on is
 *  dropped when st_trainer_train returns.
 *  Safe from any thread and from a signal handler (no lock, no allocation, no error
 *  message: a scan of a fixed table and an atomic compare-and-swap), so a SIGINT handler may
 *  call it directly, also after st_trainer_free (ST_ENOTFOUND); it must not race with
 *  st_trainer_free of the same trainer. With more than 4096 live trainers, those created
 *  beyond that are served through the locked handle table: thread-safe, not signal-safe.
 *  Returns ST_OK, or ST_ENOTFOUND when `trainer` is NULL or not a live trainer (not the
 *  ST_EINVAL / ST_EMISUSE of other functions, whose checks need the lock). */
SWIFTTRAIN_API
st_status st_trainer_request_stop(st_trainer *trainer, bool save);

/** What a compute-metrics function sees after an evaluation (HF's EvalPrediction). The
 *  pointers are valid only during the call. */
typedef struct st_eval_prediction {
    uint32_t struct_size;          /**< sizeof(st_eval_prediction) in the library: fields that
                                        end beyond it are absent (check before reading them) */
    const float *predictions;      /**< [num_samples, num_outputs] row-major: logits for classification */
    int64_t num_samples;
    int64_t num_outputs;
    const int64_t *label_ids;      /**< [num_samples] class labels, or NULL */
    const float *targets;          /**< [num_samples, target_width] float targets, or NULL */
    int64_t target_width;          /**< 0 without float targets */
    const char *metric_key_prefix; /**< "eval", "eval_<name>" for a named dataset, "test" in predict */
    /* appended: outputs and labels of any shape (token level [N, T, V] too); batches that
     * differ in a dimension after the first are padded with -100, as HF's Trainer does */
    const int64_t *prediction_shape; /**< [num_samples, ...]: the predictions' shape */
    size_t prediction_ndim;
    const int64_t *label_shape;      /**< the labels' (or targets') shape; NULL without labels */
    size_t label_ndim;
} st_eval_prediction;

/** A metric a compute-metrics function returns. The library copies `name` after the function
 *  returns, so it must outlive the call: a string literal, or memory `user_data` owns. */
typedef struct st_metric_value {
    const char *name;   /**< "f2"; "<prefix>_" is added unless the name already starts with it */
    double value;
} st_metric_value;

/** The most metrics one compute-metrics call may return. */
#define ST_MAX_COMPUTED_METRICS 64

/** A compute-metrics function: writes up to `capacity` metrics into `out` and their number
 *  into *out_count. Return 0; non-zero aborts the evaluation (and training): the call that
 *  evaluated returns ST_EUSER. */
typedef int (*st_compute_metrics_fn)(st_metric_value *out, size_t capacity, size_t *out_count,
                                     const st_eval_prediction *prediction, void *user_data);

/** Sets a function that adds metrics to every evaluation (and to st_trainer_predict's test
 *  metrics when the dataset has labels), as HF's compute_metrics: they follow the built-in
 *  metrics and replace a built-in one of the same name, and metric_for_best_model may name
 *  them. The trainer collects every output of an evaluation for it (num_samples *
 *  num_outputs floats). NULL removes it. */
SWIFTTRAIN_API
st_status st_trainer_set_compute_metrics(st_trainer *trainer, st_compute_metrics_fn compute_metrics,
                                         void *user_data);

/** A loss of your own in place of the built-in one and of the model's "loss" output (HF's
 *  compute_loss_func): *loss receives a new float32 scalar tensor computed from `outputs` and
 *  `batch` (labels included). As in HF, it is used as it is, once per micro-batch: return the
 *  micro-batch's summed loss divided by st_batch_num_items (HF's num_items_in_batch, the label
 *  items of the whole optimizer step), which is the mean when a step is one batch; outside
 *  training num_items is 0: return the mean. Return 0, or non-zero to abort (ST_EUSER). */
typedef int (*st_loss_fn)(st_tensor **loss, const st_outputs *outputs, const st_batch *batch, void *user_data);

/** Sets (or with NULL removes) the trainer's compute-loss function; used in training and
 *  evaluation. */
SWIFTTRAIN_API
st_status st_trainer_set_compute_loss(st_trainer *trainer, st_loss_fn compute_loss,
                                      void *user_data);

/* ---- HF's overridable Trainer methods ----------------------------------------------------
 * For bindings whose users subclass HF's Trainer (Python's Trainer sets them when a subclass
 * overrides log or evaluate, or optimizers= is given). None set: nothing changes. */

/** HF's Trainer.log: receives every log the trainer emits (the training loss every
 *  logging_steps, each evaluation's metrics, train's summary) in place of the log history.
 *  It records what it wants with st_trainer_log(), which from inside it records at once (HF's
 *  super().log(logs)); a log it does not pass on is not recorded. `logs` is valid during the
 *  call. Return 0, or non-zero to abort the run (ST_EUSER). */
typedef int (*st_log_fn)(const st_metrics *logs, void *user_data);

/** Sets (or with NULL removes) the log function. ST_EMISUSE while the trainer runs. */
SWIFTTRAIN_API
st_status st_trainer_set_log_function(st_trainer *trainer, st_log_fn log, void *user_data);

/** HF's Trainer.evaluate as training calls it: *out receives the evaluation's metrics, new
 *  (st_trainer_evaluate's, or st_metrics_create's); the library frees them. From inside it,
 *  st_trainer_evaluate / st_trainer_evaluate_prefixed evaluate at once (without the
 *  standalone events). The metrics it returns drive metric_for_best_model, early stopping and
 *  reduce_lr_on_plateau. Return 0, or non-zero to abort the run (ST_EUSER). */
typedef int (*st_evaluate_fn)(st_metrics **out, void *user_data);

/** Sets (or with NULL removes) the evaluate function. ST_EMISUSE while the trainer runs. */
SWIFTTRAIN_API
st_status st_trainer_set_evaluate_function(st_trainer *trainer, st_evaluate_fn evaluate,
                                           void *user_data);

/** New metrics from `count` names (non-empty, distinct) and values; free with
 *  st_metrics_free(). */
SWIFTTRAIN_API
st_status st_metrics_create(st_metrics **out, const char *const *names, const double *values,
                            size_t count);

/** HF's optimizers=(optimizer, scheduler): training uses `optimizer` (every parameter of it a
 *  parameter of the trainer's model; a subset is fine) and sets each group's lr to its initial
 *  lr times `schedule`'s factor of the step. NULL for either: made from the arguments at each
 *  train, as without this call. The trainer holds references to both; a given optimizer keeps
 *  its state from one train to the next (as HF's) and checkpoints save and restore it.
 *  ST_EINVAL for a tensor not of the model, or a schedule with reduce_lr_on_plateau. */
SWIFTTRAIN_API
st_status st_trainer_set_optimizer(st_trainer *trainer, st_optim *optimizer,
                                   st_lr_schedule *schedule);

/** HF's create_optimizer_and_scheduler(num_training_steps), as training calls it: sets
 *  *optimizer and *schedule (either may stay NULL: made from the arguments) for a run of
 *  `num_training_steps` optimizer steps, before it starts (and before a resume loads the
 *  checkpoint into the optimizer). The handles are lent: they must stay valid until the
 *  function returns; the trainer keeps its own references, as st_trainer_set_optimizer does,
 *  and checks them as it does. Return 0, or non-zero to abort the run (ST_EUSER). */
typedef int (*st_optimizer_fn)(st_optim **optimizer, st_lr_schedule **schedule,
                               int64_t num_training_steps, void *user_data);

/** Sets (or with NULL removes) the optimizer function, called at the start of every
 *  training. ST_EMISUSE while the trainer runs. */
SWIFTTRAIN_API
st_status st_trainer_set_optimizer_function(st_trainer *trainer, st_optimizer_fn create,
                                            void *user_data);

/** The optimizer the trainer's arguments describe (HF's create_optimizer): its kind and its
 *  optimizer-wide hyper-parameters (optim, learning_rate, weight_decay, adam_beta1, ...,
 *  optim_args over the kind's defaults). Set out->struct_size = sizeof(st_optim_options)
 *  first. The trainer's groups: the parameters that decay (st_trainer_parameter_decays) with
 *  weight_decay, the others with 0. */
SWIFTTRAIN_API
st_status st_trainer_optimizer_options(st_optimizer *out_kind, st_optim_options *out,
                                       const st_trainer *trainer);

/** Whether the model's parameter `name` (a state-dict name) gets weight decay in the
 *  trainer's optimizer: not biases, not normalisation layers' (HF's
 *  get_decay_parameter_names). ST_ENOTFOUND when the model has no such parameter. */
SWIFTTRAIN_API
st_status st_trainer_parameter_decays(bool *out, const st_trainer *trainer, const char *name);

/** The learning-rate schedule the trainer's arguments describe for `num_training_steps`
 *  optimizer steps (HF's create_scheduler: lr_scheduler_type, its warmup and kwargs); free
 *  with st_lr_schedule_free(). ST_EINVAL for reduce_lr_on_plateau, no function of the step. */
SWIFTTRAIN_API
st_status st_trainer_create_schedule(st_lr_schedule **out, const st_trainer *trainer,
                                     int64_t num_training_steps);

/** Trains. On success, if out_metrics is not NULL, *out_metrics receives the final train
 *  metrics (train_loss, train_runtime, train_samples_per_second, train_steps_per_second,
 *  epoch); free it with st_metrics_free(). A trainer can train again: it continues from its
 *  current weights with a fresh optimizer and schedule (unless st_trainer_set_optimizer gave
 *  them). */
SWIFTTRAIN_API
st_status st_trainer_train(st_metrics **out_metrics, st_trainer *trainer);

/* ---- checkpoints -------------------------------------------------------------------------
 * With save_strategy other than ST_SAVE_NO, training writes output_dir/checkpoint-<step>/:
 * model.safetensors, optimizer.safetensors + optimizer.json, scheduler.json, rng_state.json,
 * progress.json, trainer_state.json (HF's layout), training_args.json, callback_states.safetensors
 * (when there are stateful callbacks), ema.safetensors / best_model.safetensors (with
 * ema_decay / load_best_model_at_end) and manifest.json (format version, SHA-256 and size of
 * every file). A checkpoint is written into a temporary directory, flushed, then renamed into
 * place: a crash leaves the previous checkpoint or the new one, never half of one.
 * docs/checkpoints.md describes every file. */

/** Trains like st_trainer_train, but first restores weights, optimizer, schedules, trainer
 *  state, callback states and random generators from a checkpoint, and continues that run
 *  exactly where it was saved (same data order, no batches replayed): the losses and final
 *  weights equal those of a run never interrupted. `checkpoint` is a checkpoint directory,
 *  or NULL for the newest one in output_dir that verifies (damaged newer ones are passed over
 *  and named by st_trainer_resumed_from). ST_ECORRUPT naming the file when the checkpoint does
 *  not match its manifest; ST_ENOTFOUND when there is no checkpoint; ST_EINVAL when it was
 *  written by an incompatible run (other dataset size, batch size, optimizer or seed) or with
 *  save_only_model. Nothing is changed when the checkpoint is refused. */
SWIFTTRAIN_API
st_status st_trainer_resume(st_metrics **out_metrics, st_trainer *trainer, const char *checkpoint);

/** The checkpoint the last training resumed from, followed by the newer ones it passed over and
 *  why; "" when it started fresh. Same buffer protocol as st_trainer_state_json. */
SWIFTTRAIN_API
st_status st_trainer_resumed_from(char *buffer, size_t capacity, size_t *length,
                                  const st_trainer *trainer);

/** A stateful callback's state (HF's stateful_callbacks, PyMarlin's get_state): `save` sets
 *  *data / *size to bytes to store in each checkpoint, which the library copies as soon as
 *  `save` returns (so a buffer in user_data is fine). `load` receives them back when a run
 *  resumes, before TRAIN_BEGIN (`data` valid during the call). Both return 0, or non-zero to
 *  fail the save or the resume with ST_EUSER. */
typedef int (*st_state_save_fn)(void *user_data, const void **data, size_t *size);
typedef int (*st_state_load_fn)(void *user_data, const void *data, size_t size);

/** Registers state under `name` (unique per trainer, at most 200 bytes). */
SWIFTTRAIN_API
st_status st_trainer_add_callback_state(st_trainer *trainer, const char *name,
                                        st_state_save_fn save, st_state_load_fn load,
                                        void *user_data);

/** Writes the model's weights to `directory`/model.safetensors (HF's save_model; NULL:
 *  output_dir), with the names of st_module_state_dict, atomically. */
SWIFTTRAIN_API
st_status st_trainer_save_model(st_trainer *trainer, const char *directory);

/** Copies the trainer's current state (after or between calls) into `out`. Set
 *  out->struct_size = sizeof(st_trainer_state) first: the library writes no more than that
 *  many bytes, so a program built against an older header stays safe when fields are
 *  appended. out->metrics is NULL. */
SWIFTTRAIN_API
st_status st_trainer_get_state(st_trainer_state *out, const st_trainer *trainer);

/** Evaluates on `dataset`, or on every evaluation dataset when it is NULL (the trainer does
 *  not keep a reference to a dataset passed here or to st_trainer_predict). *out receives
 *  eval_loss; for classification eval_accuracy, eval_top5_accuracy (more than 5 classes),
 *  eval_precision_macro, eval_recall_macro, eval_f1_macro; for regression eval_mse, eval_mae,
 *  eval_r2; then eval_runtime, eval_samples_per_second, eval_steps_per_second and epoch (named
 *  sets: eval_<name>_loss, ...). Free it with st_metrics_free(). Fires EVALUATE_BEGIN, LOG
 *  and EVALUATE per dataset. */
SWIFTTRAIN_API
st_status st_trainer_evaluate(st_metrics **out, st_trainer *trainer, st_dataset *dataset);

/** st_trainer_evaluate with HF's metric_key_prefix: metrics are named <prefix>_loss, ...
 *  (<prefix>_<name>_loss for named evaluation datasets). */
SWIFTTRAIN_API
st_status st_trainer_evaluate_prefixed(st_metrics **out, st_trainer *trainer, st_dataset *dataset,
                                       const char *metric_key_prefix);

/** Runs the model on every row of `dataset` and writes the outputs (logits for
 *  classification), row-major [num_samples, num_outputs], into `out`, which holds
 *  `out_count` floats; ST_ESHAPE if that is not exactly num_samples * num_outputs.
 *  If out_metrics is not NULL and the dataset has labels or targets, *out_metrics receives
 *  test_loss (and test_accuracy); otherwise it is set to NULL. */
SWIFTTRAIN_API
st_status st_trainer_predict(float *out, size_t out_count, st_metrics **out_metrics,
                             st_trainer *trainer, st_dataset *dataset);

/** HF's predict for outputs of any shape: *out_predictions receives the model's logits for
 *  every sample and *out_labels the dataset's labels (NULL when it has none), each
 *  concatenated over the batches and padded with -100 where batches differ in a dimension
 *  after the first (token-level [N, T, V] logits with [N, T] labels, say); *out_metrics, when
 *  not NULL, the test metrics (NULL without labels). Works for iterable datasets too. */
SWIFTTRAIN_API
st_status st_trainer_predict_tensors(st_tensor **out_predictions, st_tensor **out_labels,
                                     st_metrics **out_metrics, st_trainer *trainer,
                                     st_dataset *dataset);

/** The trainer's built-in loss of `logits` against `labels` (the mean), as training applies it
 *  to a model that returns no loss: HF's shapes, -100 ignored, label_smoothing_factor. For a
 *  compute-loss function that starts from it. *out is a new handle. */
SWIFTTRAIN_API
st_status st_trainer_builtin_loss(st_tensor **out, st_trainer *trainer, const st_tensor *logits,
                                  const st_tensor *labels);

/** HF's default Trainer.compute_loss, the rule training applies when no compute-loss function
 *  is given, for `outputs` (a model's outputs) on `inputs` (the batch it was given, labels
 *  included): the "loss" output when there is one and label_smoothing_factor is 0 (HF's label
 *  smoother replaces the model's loss), else the built-in loss (the mean) of the "logits"
 *  output against the first of the inputs' label_names present. For a compute-loss function
 *  that starts from the default (Python's `super().compute_loss`). *out is a new handle.
 *  ST_EINVAL when there are no logits or no labels to fall back on (the message lists what
 *  the outputs and inputs hold); ST_ESHAPE for a "loss" that is not a float32 scalar or
 *  inputs of different batch sizes. */
SWIFTTRAIN_API
st_status st_trainer_default_loss(st_tensor **out, st_trainer *trainer,
                                  const st_named_tensors *outputs, const st_named_tensors *inputs);

/** Number of outputs the trainer's model produces per sample of `dataset` (10 for a 10-class
 *  classifier): the size st_trainer_predict needs is num_samples * this. Fails, saying why,
 *  when the model does not accept the dataset's samples. */
SWIFTTRAIN_API
st_status st_trainer_num_outputs(int64_t *out, st_trainer *trainer, st_dataset *dataset);

/** AllenNLP's result of the last training (GradientDescentTrainer.train's metrics, its
 *  metrics.json), read from the log history: "epoch" (the last, from 0),
 *  "training_duration" ("H:MM:SS.ffffff"), "training_loss" (the mean of the losses logged in
 *  the last epoch), "validation_<metric>" (the last evaluation's, "eval_" renamed),
 *  "best_epoch" and "best_validation_<metric>" (the evaluation at best_global_step, else the
 *  lowest eval_loss); entries without data are left out. Keys sorted, two-space indent. The
 *  buffer protocol of st_trainer_state_json. */
SWIFTTRAIN_API
st_status st_trainer_allennlp_metrics_json(char *buffer, size_t capacity, size_t *length,
                                           st_trainer *trainer);

/** The trainer's state as HF's trainer_state.json (TrainerState.save_to_json layout: every
 *  field of HF's TrainerState, keys sorted, two-space indent). Writes the text and a NUL into
 *  `buffer` when `capacity` is enough; *length always receives the text's length (without
 *  the NUL), so a call with capacity 0 asks for the size. ST_ESHAPE when too small. */
SWIFTTRAIN_API
st_status st_trainer_state_json(char *buffer, size_t capacity, size_t *length,
                                const st_trainer *trainer);

/** The text of a trainer state given as JSON, in st_trainer_state_json's layout: `state` is a
 *  JSON object (any layout; NaN and Infinity as Python writes them) of HF's TrainerState
 *  fields, e.g. what a binding's own TrainerState holds; each field it names replaces that of
 *  a state before training, so "{}" gives every field's name. Same buffer protocol as
 *  st_trainer_state_json. ST_EINVAL, saying why, for text that is not JSON, not an object, or
 *  that names a field HF's TrainerState lacks. */
SWIFTTRAIN_API
st_status st_trainer_state_json_format(char *buffer, size_t capacity, size_t *length,
                                       const char *state);

/** Number of entries in the log history (HF TrainerState.log_history). */
SWIFTTRAIN_API
st_status st_trainer_log_history_count(size_t *out, const st_trainer *trainer);

/** A copy of log history entry `index` (each has "step" and the logged values); free it
 *  with st_metrics_free(). */
SWIFTTRAIN_API
st_status st_trainer_log_history_entry(st_metrics **out, const st_trainer *trainer, size_t index);

/* st_trainer_train, st_trainer_evaluate and st_trainer_predict called from inside a callback of
 * the same trainer return ST_EMISUSE. */

/* ---- built-in callbacks --------------------------------------------------------------- */

/** Writes the metrics of every LOG event to a file as they happen. */
typedef struct st_metrics_logger st_metrics_logger;

typedef enum st_metrics_format {
    ST_METRICS_JSONL = 0, /**< JSON Lines: one object per entry, "step" first */
    ST_METRICS_CSV = 1    /**< CSV: a header of every name seen so far ("step" first); the file
                               is rewritten when a new name appears (Lightning's CSVLogger) */
} st_metrics_format;

/** Creates (truncates) the file at `path`. ST_EIO, naming the file and why, when it cannot be
 *  opened; ST_EINVAL for an empty path or an unknown format. */
SWIFTTRAIN_API
st_status st_metrics_logger_create(st_metrics_logger **out, const char *path,
                                   st_metrics_format format);

/** Appends one entry: `count` metrics (`names[i]`, `values[i]`) at global step `step`. For use
 *  outside a trainer, or from a callback of your own. ST_EIO when the write fails. */
SWIFTTRAIN_API
st_status st_metrics_logger_write(st_metrics_logger *logger, const char *const *names,
                                  const double *values, size_t count, int64_t step);

/** Frees the logger (the trainer keeps its own reference while it uses it) and, when no trainer
 *  uses it, closes the file. NULL is allowed. */
SWIFTTRAIN_API
void st_metrics_logger_free(st_metrics_logger *logger);

/** Registers `logger` for the trainer's LOG events (train, eval and final train metrics); it
 *  runs after every other callback, as loggers do in Composer. */
SWIFTTRAIN_API
st_status st_trainer_add_metrics_logger(st_trainer *trainer, st_metrics_logger *logger);

/** Registers Keras' TerminateOnNaN: at the first step whose loss is NaN or infinite, training
 *  stops gracefully (that step ends, TRAIN_END runs, st_trainer_train returns ST_OK). With
 *  the default nonfinite_grad_norm "error" such a step fails first; with "skip" its update
 *  is skipped, so the weights stay those of the last good step. */
SWIFTTRAIN_API
st_status st_trainer_add_terminate_on_nan(st_trainer *trainer);

/** Registers the library's progress bar (HF's ProgressCallback, tqdm's look), writing to the
 *  file descriptor `fd` (2 for stderr). On a terminal: a bar redrawn in place at most every
 *  0.1 s with the rate, the ETA and the current loss, never wider than the terminal, and an
 *  evaluation bar over it during each evaluation. Otherwise (a file, a pipe): plain lines, one
 *  per tenth of training and one per evaluation, without carriage returns. A final line when
 *  training ends. The library prints nothing unless you add it (`swifttrain train` does,
 *  unless the config's trainer sets "disable_tqdm": true). ST_EINVAL when `fd` is not an
 *  open file descriptor. */
SWIFTTRAIN_API
st_status st_trainer_add_progress_bar(st_trainer *trainer, int fd);

/** Releases the caller's reference. NULL is a harmless no-op. Must not be called from a
 *  callback of the same trainer. */
SWIFTTRAIN_API
void st_trainer_free(st_trainer *trainer);

#ifdef __cplusplus
}
#endif

#endif /* SWIFTTRAIN_H */
