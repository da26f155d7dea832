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
 * - Every fallible function returns an int status: ST_OK (0) or a negative ST_E* code.
 *   The return value decides whether a call failed; st_last_error_message() explains it.
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
#define SWIFTTRAIN_VERSION_MINOR 1
#define SWIFTTRAIN_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH; compare with st_version_number() at run time. */
#define SWIFTTRAIN_VERSION_NUMBER \
    (SWIFTTRAIN_VERSION_MAJOR * 10000 + SWIFTTRAIN_VERSION_MINOR * 100 + SWIFTTRAIN_VERSION_PATCH)

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
    ST_ENOTFOUND = -8   /**< A named item (metric, ...) does not exist. */
} st_status;

/** A static, human-readable name for a status code ("ST_EINVAL: invalid argument").
 *  Never NULL; unknown codes give "unknown status". */
const char *st_status_string(int status);

/** The message of the last failed call on this thread. Never NULL (empty when there was no
 *  error). The text is owned by the library and valid until the next failing call on the
 *  same thread. Do not use it to decide whether a call failed: use the returned status. */
const char *st_last_error_message(void);

/* ======================================================================================
 * Version and runtime
 * ====================================================================================== */

/** SWIFTTRAIN_VERSION_NUMBER of the library actually loaded. */
int st_version_number(void);

/** "MAJOR.MINOR.PATCH" of the library actually loaded. Static storage. */
const char *st_version_string(void);

/** Loads OpenBLAS if it is not loaded yet. Called implicitly by everything that computes.
 *
 *  OpenBLAS picks its kernels from OPENBLAS_CORETYPE when it is loaded. When that variable is
 *  not set, swifttrain sets it from the CPU's features (SkylakeX on AVX-512, Haswell on AVX2)
 *  before loading OpenBLAS, because OpenBLAS 0.3.21 misdetects recent CPUs and falls back to
 *  kernels several times slower. A value set by the user is always respected.
 *  @return ST_OK, or ST_EBLAS when libopenblas.so.0 cannot be loaded (install libopenblas0). */
int st_blas_init(void);

/** The OpenBLAS core type in use ("SkylakeX", "Haswell", ...), or "unavailable" when OpenBLAS
 *  could not be loaded. Loads OpenBLAS if needed. Static storage, never NULL. */
const char *st_blas_corename(void);

/** OpenBLAS's build configuration string ("OpenBLAS 0.3.21 DYNAMIC_ARCH ..."), or
 *  "unavailable". Static storage, never NULL. */
const char *st_blas_config(void);

/** Sets the number of threads OpenBLAS uses (>= 1). */
int st_blas_set_num_threads(int num_threads);

/** Seeds the generator used to initialise new modules' parameters (like torch.manual_seed).
 *  Modules created after this call with the same seed and the same sequence of creations
 *  get identical parameters. */
void st_manual_seed(uint64_t seed);

/* ======================================================================================
 * Modules (models)
 * ====================================================================================== */

/** A module: a layer or a container of layers. */
typedef struct st_module st_module;

/** A fully connected layer y = x W^T + b with W of shape [out_features, in_features], as
 *  torch.nn.Linear, initialised like PyTorch (uniform in +-1/sqrt(in_features)) from the
 *  generator seeded by st_manual_seed(). Parameters are named "weight" and "bias". */
int st_linear_create(st_module **out, int64_t in_features, int64_t out_features, bool bias);

/** Element-wise max(x, 0). No parameters. */
int st_relu_create(st_module **out);

/** Runs modules[0..count) in order. Children are named "0", "1", ... so parameters are named
 *  "0.weight", "0.bias", ... The sequential keeps its own references to the children: the
 *  caller may free its handles afterwards. The same module may not appear twice. */
int st_sequential_create(st_module **out, st_module *const *modules, size_t count);

/** Number of scalar parameters (weights and biases) in the module and its children. */
int st_module_num_parameters(int64_t *out, const st_module *module);

/** Releases the caller's reference. NULL is a harmless no-op. */
void st_module_free(st_module *module);

/* ======================================================================================
 * Datasets
 * ====================================================================================== */

/** An in-memory dataset: a row-major float32 feature matrix [num_samples, num_features] with
 *  either integer class labels or float regression targets (or neither, for prediction). */
typedef struct st_dataset st_dataset;

/** What the library does with the caller's buffers. */
typedef enum st_data_ownership {
    /** The library copies the buffers during the call; the caller may free them on return. */
    ST_DATA_COPY = 0,
    /** The library reads the caller's buffers in place. They must stay valid and unchanged
     *  until the dataset and every trainer using it have been freed. No copy is made. */
    ST_DATA_BORROW = 1
} st_data_ownership;

/** A classification dataset. labels[i] is the class index of row i (0 <= label < the number
 *  of model outputs; checked when training or evaluating starts). labels may be NULL for a
 *  dataset used only for prediction. */
int st_dataset_create(st_dataset **out, const float *features, int64_t num_samples,
                      int64_t num_features, const int64_t *labels,
                      st_data_ownership ownership);

/** A regression dataset: targets is row-major [num_samples, num_targets]. */
int st_dataset_create_regression(st_dataset **out, const float *features, int64_t num_samples,
                                 int64_t num_features, const float *targets,
                                 int64_t num_targets, st_data_ownership ownership);

/** Number of rows. */
int st_dataset_num_samples(int64_t *out, const st_dataset *dataset);

/** Releases the caller's reference. NULL is a harmless no-op. */
void st_dataset_free(st_dataset *dataset);

/* ======================================================================================
 * Metrics: named numbers (logs, evaluation results)
 * ====================================================================================== */

/** An ordered list of (name, value) pairs, e.g. {"eval_loss": 0.12, "eval_accuracy": 0.97}. */
typedef struct st_metrics st_metrics;

/** Number of entries; 0 for NULL. */
size_t st_metrics_count(const st_metrics *metrics);

/** Entry `index`. The name is owned by the metrics object and lives as long as it does. */
int st_metrics_entry(const char **out_name, double *out_value, const st_metrics *metrics,
                     size_t index);

/** The value named `name`; ST_ENOTFOUND when there is none. */
int st_metrics_get(double *out_value, const st_metrics *metrics, const char *name);

/** Frees metrics returned to the caller. NULL is a harmless no-op. Never free the metrics
 *  a callback receives in st_trainer_state. */
void st_metrics_free(st_metrics *metrics);

/* ======================================================================================
 * Training arguments (HuggingFace TrainingArguments names and defaults)
 * ====================================================================================== */

typedef enum st_optimizer {
    ST_OPTIM_ADAMW = 0,  /**< AdamW (decoupled weight decay), PyTorch's update rule. */
    ST_OPTIM_SGD = 1     /**< SGD with optional momentum, PyTorch's update rule. */
} st_optimizer;

typedef enum st_lr_scheduler {
    ST_LR_LINEAR = 0,    /**< Linear warmup, then linear decay to 0 at max_steps (HF default). */
    ST_LR_CONSTANT = 1   /**< Constant after linear warmup (HF constant_with_warmup; with
                              warmup_steps = 0 it is HF constant). */
} st_lr_scheduler;

typedef enum st_interval_strategy {
    ST_STRATEGY_NO = 0,     /**< Never. */
    ST_STRATEGY_STEPS = 1,  /**< Every N optimizer steps. */
    ST_STRATEGY_EPOCH = 2   /**< At the end of every epoch. */
} st_interval_strategy;

typedef enum st_loss {
    ST_LOSS_CROSS_ENTROPY = 0,  /**< Softmax cross-entropy over integer labels (mean). */
    ST_LOSS_MSE = 1             /**< Mean squared error over float targets (mean). */
} st_loss;

#define ST_TRAINING_ARGS_VERSION 1

/** Training configuration. Always fill it with st_training_args_init() first, then change
 *  fields directly or by name with st_training_args_set(). Values are checked when the
 *  trainer is created. */
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
    int64_t warmup_steps;                 /**< 0 */
    st_interval_strategy logging_strategy;/**< ST_STRATEGY_STEPS */
    int64_t logging_steps;                /**< 500 */
    bool logging_first_step;              /**< false */
    st_interval_strategy eval_strategy;   /**< ST_STRATEGY_NO */
    int64_t eval_steps;                   /**< 0: same as logging_steps */
    int64_t seed;                         /**< 42; seeds data order */
    int64_t data_seed;                    /**< -1: use seed */
    bool dataloader_drop_last;            /**< false */
} st_training_args;

/** Fills `args` with the defaults above. `version` must be ST_TRAINING_ARGS_VERSION. */
int st_training_args_init(st_training_args *args, unsigned int version);

/** Sets one field by its HuggingFace name from a string, e.g. ("learning_rate", "1e-3"),
 *  ("optim", "adamw_torch"), ("eval_strategy", "epoch"), ("logging_first_step", "true").
 *  Unknown names and unparsable values give ST_EINVAL naming the argument; `args` is left
 *  unchanged then. */
int st_training_args_set(st_training_args *args, const char *name, const char *value);

/** Checks every field of `args` (ranges, enum values, version) and reports the first bad one
 *  as ST_EINVAL with a message naming the argument. st_trainer_create() runs the same check. */
int st_training_args_validate(const st_training_args *args);

/** Parses a loss name: "cross_entropy" or "mse". */
int st_loss_from_name(st_loss *out, const char *name);

/* ======================================================================================
 * Trainer, events and callbacks
 * ====================================================================================== */

typedef struct st_trainer st_trainer;

/** Events, fired in this order for one optimizer step:
 *  STEP_BEGIN, STEP_END, then LOG if logging is due, then (if evaluation is due) LOG with the
 *  evaluation metrics and EVALUATE. TRAIN_BEGIN and EPOCH_BEGIN open, EPOCH_END (followed by
 *  its own LOG / EVALUATE when due) and TRAIN_END (preceded by a LOG of the train metrics)
 *  close. st_trainer_evaluate() fires LOG and EVALUATE. Values are stable and appended only. */
typedef enum st_event {
    ST_EVENT_TRAIN_BEGIN = 0,
    ST_EVENT_EPOCH_BEGIN = 1,
    ST_EVENT_STEP_BEGIN = 2,
    ST_EVENT_STEP_END = 3,
    ST_EVENT_LOG = 4,
    ST_EVENT_EVALUATE = 5,
    ST_EVENT_EPOCH_END = 6,
    ST_EVENT_TRAIN_END = 7
} st_event;

#define ST_EVENT_COUNT 8
/** The bit of one event in an event mask. */
#define ST_EVENT_MASK(event) (1u << (unsigned)(event))
#define ST_EVENT_MASK_ALL 0xffffffffu

/** HuggingFace's callback method name of an event ("on_train_begin", "on_step_end", ...), or
 *  NULL for a value that is not an event. Static storage. */
const char *st_event_name(int event);

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
     *  NULL for other events. Borrowed: do not free, do not keep. */
    const st_metrics *metrics;
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
 *  control->should_training_stop and return 0. */
typedef int (*st_callback_fn)(st_event event, const st_trainer_state *state,
                              st_trainer_control *control, void *user_data);

/** Creates a trainer for `model` (the trainer keeps its own reference). `args` is copied. */
int st_trainer_create(st_trainer **out, st_module *model, st_loss loss,
                      const st_training_args *args);

/** Sets the training dataset (the trainer keeps its own reference). */
int st_trainer_set_train_dataset(st_trainer *trainer, st_dataset *dataset);

/** Sets the evaluation dataset used by eval_strategy and st_trainer_evaluate(); NULL clears. */
int st_trainer_set_eval_dataset(st_trainer *trainer, st_dataset *dataset);

/** Registers a callback for the events in `event_mask` (ST_EVENT_MASK(e) bits, or
 *  ST_EVENT_MASK_ALL). Callbacks run in registration order, after the built-in flow logic
 *  that decides logging and evaluation. `user_data` is passed back unchanged. */
int st_trainer_add_callback(st_trainer *trainer, st_callback_fn callback, void *user_data,
                            uint32_t event_mask);

/** Trains. On success, if out_metrics is not NULL, *out_metrics receives the final train
 *  metrics (train_loss, train_runtime, train_samples_per_second, train_steps_per_second,
 *  epoch); free it with st_metrics_free(). A trainer can train again: it continues from its
 *  current weights with a fresh optimizer and schedule. */
int st_trainer_train(st_metrics **out_metrics, st_trainer *trainer);

/** Copies the trainer's current state (after or between calls) into `out`. Set
 *  out->struct_size = sizeof(st_trainer_state) first: the library writes no more than that
 *  many bytes, so a program built against an older header stays safe when fields are
 *  appended. out->metrics is NULL. */
int st_trainer_get_state(st_trainer_state *out, const st_trainer *trainer);

/** Evaluates on `dataset`, or on the evaluation dataset when it is NULL (the trainer does not
 *  keep a reference to a dataset passed here or to st_trainer_predict). *out receives
 *  eval_loss, eval_accuracy (classification), eval_runtime, eval_samples_per_second,
 *  eval_steps_per_second and epoch; free it with st_metrics_free(). Fires LOG and EVALUATE. */
int st_trainer_evaluate(st_metrics **out, st_trainer *trainer, st_dataset *dataset);

/** Runs the model on every row of `dataset` and writes the outputs (logits for
 *  classification), row-major [num_samples, num_outputs], into `out`, which holds
 *  `out_count` floats; ST_ESHAPE if that is not exactly num_samples * num_outputs.
 *  If out_metrics is not NULL and the dataset has labels or targets, *out_metrics receives
 *  test_loss (and test_accuracy); otherwise it is set to NULL. */
int st_trainer_predict(float *out, size_t out_count, st_metrics **out_metrics,
                       st_trainer *trainer, st_dataset *dataset);

/** Number of outputs the trainer's model produces per sample of `dataset` (10 for a 10-class
 *  classifier): the size st_trainer_predict needs is num_samples * this. Fails, saying why,
 *  when the model does not accept the dataset's samples. */
int st_trainer_num_outputs(int64_t *out, st_trainer *trainer, st_dataset *dataset);

/** Number of entries in the log history (HF TrainerState.log_history). */
int st_trainer_log_history_count(size_t *out, const st_trainer *trainer);

/** A copy of log history entry `index` (each has "step" and the logged values); free it
 *  with st_metrics_free(). */
int st_trainer_log_history_entry(st_metrics **out, const st_trainer *trainer, size_t index);

/* st_trainer_train, st_trainer_evaluate and st_trainer_predict called from inside a callback of
 * the same trainer return ST_EMISUSE. */

/** Releases the caller's reference. NULL is a harmless no-op. Must not be called from a
 *  callback of the same trainer. */
void st_trainer_free(st_trainer *trainer);

#ifdef __cplusplus
}
#endif

#endif /* SWIFTTRAIN_H */
