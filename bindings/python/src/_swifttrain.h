/*
 * _swifttrain.h - what the C files of the swifttrain._swifttrain extension share.
 *
 * The extension is a thin translation layer over include/swifttrain.h: handles become
 * Python objects, st_status codes become exceptions, st_metrics become dicts, numpy arrays
 * reach the library through the buffer protocol without a copy, and Python callables are
 * called from the trainer's C callbacks. It contains no training logic.
 *
 * Files: _swifttrain.c (module, runtime functions), errors.c (status -> exception),
 * metrics.c (st_metrics / st_trainer_state -> dict), tensor_type.c (st_tensor: creation,
 * properties, autograd, buffer protocol), tensor_ops.c (element-wise, activation, reduction
 * and shape functions), functional.c (linear algebra, neural-network functions, losses),
 * module_type.c (st_module and its methods), layers.c (the layer constructors),
 * dataset_type.c (st_dataset over Py_buffer), training_args_type.c (st_training_args),
 * trainer_type.c (st_trainer), trainer_callbacks.c (the callback trampoline),
 * trainer_state_type.c (TrainerState's library fields), optim_type.c
 * (st_optim), schedule_type.c (st_lr_schedule, st_plateau), enum_names.c (the header's enums
 * by name: st_enum_from_name, st_enum_names).
 */
#ifndef SWIFTTRAIN_PY_H
#define SWIFTTRAIN_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "swifttrain.h"

#if PY_VERSION_HEX < 0x030A0000 /* Python 3.9 */
static inline PyObject *Py_NewRef(PyObject *obj)
{
    Py_INCREF(obj);
    return obj;
}
static inline PyObject *Py_XNewRef(PyObject *obj)
{
    Py_XINCREF(obj);
    return obj;
}
#endif
#if PY_VERSION_HEX < 0x030C0000 /* Python 3.12's API for exceptions kept and raised again */
static inline PyObject *PyErr_GetRaisedException(void)
{
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL)
        PyException_SetTraceback(value, traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
}
static inline void PyErr_SetRaisedException(PyObject *exception) /* steals `exception` */
{
    if (exception != NULL)
        PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exception)), exception,
                      PyException_GetTraceback(exception));
}
#endif

/* ---- per-module state -------------------------------------------------------------- */

typedef struct st_py_state {
    /* Exceptions: SwiftTrainError and one subclass per st_status (see errors.c). */
    PyObject *SwiftTrainError;
    PyObject *InvalidArgumentError;  /* ST_EINVAL */
    PyObject *ShapeError;            /* ST_ESHAPE */
    PyObject *OutOfMemoryError;      /* ST_ENOMEM */
    PyObject *MisuseError;           /* ST_EMISUSE */
    PyObject *InternalError;         /* ST_ERROR */
    PyObject *TrainingAbortedError;  /* ST_EUSER without a Python exception to re-raise */
    PyObject *BlasError;             /* ST_EBLAS */
    PyObject *NotFoundError;         /* ST_ENOTFOUND */
    PyObject *FileError;             /* ST_EIO */
    PyObject *CorruptFileError;      /* ST_ECORRUPT */
    PyObject *CheckpointNotFoundError; /* ST_ENOTFOUND from a resume */
    PyObject *StateDictError;        /* any status from st_module_load_state_dict */
    /* Types. */
    PyTypeObject *TensorType;        /* the C type */
    PyTypeObject *TensorClass;       /* what results are made as: TensorType or the package's
                                        subclass (set_tensor_class) */
    PyTypeObject *ModuleType;
    PyTypeObject *DatasetType;
    PyTypeObject *TrainingArgsType;
    PyTypeObject *TrainerType;
    PyTypeObject *OptimType;
    PyTypeObject *LRScheduleType;
    PyTypeObject *PlateauType;
    PyTypeObject *MetricsLoggerType;
    PyTypeObject *EventDataType;
    PyTypeObject *TrainerStateBaseType;
    /* Python callbacks (trainer_callbacks.c): names made once, and what the package gives
     * once (set_callback_protocol). */
    PyObject *CallbackNames;  /* interned: args, state, control, model, run_event, the flags */
    PyObject *EventNames;     /* interned: each event's HF method name, by event number */
    PyObject *EventKwnames;   /* each event's keyword names (model, event_data, ...) */
    PyObject *ControlClass;   /* TrainerControl: what a callback may return */
    PyObject *OptimizerClass; /* called with the EventData: the optimizer= keyword */
    PyObject *SchedulerClass; /* likewise: lr_scheduler= */
    PyObject *BatchesClass;   /* called with the batch count: eval_dataloader= */
} st_py_state;

/* The state of the module that defined `type` (the extension's types are final, so an
 * instance's type is always one of them). */
static inline st_py_state *st_py_state_of(PyTypeObject *type)
{
    return (st_py_state *)PyType_GetModuleState(type);
}

/* Creates a heap type from `spec` for `module` and adds it to the module as `spec`'s name. */
int st_py_add_type(PyObject *module, PyType_Spec *spec, PyTypeObject **out);

/* ---- errors.c ---------------------------------------------------------------------- */

int st_py_errors_init(PyObject *module, st_py_state *state);

/* Raises the exception for `status` with st_last_error_message() as its message. Returns
 * NULL so callers can `return st_py_raise_status(...)`. */
PyObject *st_py_raise_status(st_py_state *state, int status);

/* Raises the exception for `status` with a message of the binding's own. Returns NULL. */
PyObject *st_py_raise(st_py_state *state, int status, const char *format, ...);

/* Raises StateDictError (a RuntimeError, as torch's load_state_dict raises) for a failed
 * st_module_load_state_dict, with the library's message and the status. Returns NULL. */
PyObject *st_py_raise_state_dict_status(st_py_state *state, int status);
/* As st_py_raise_status, but ST_ENOTFOUND (no checkpoint) raises CheckpointNotFoundError. */
PyObject *st_py_raise_resume_status(st_py_state *state, int status);

/* ---- metrics.c --------------------------------------------------------------------- */

/* {name: value} in the metrics' order; an empty dict for NULL. */
PyObject *st_py_metrics_to_dict(st_py_state *state, const st_metrics *metrics);

/* The fields of st_trainer_state by their C names, with "metrics" a dict or None. */
PyObject *st_py_trainer_state_to_dict(st_py_state *state, const st_trainer_state *trainer_state);
/* A dict of name -> number as arrays for the library (a snapshot: `items` keeps the names
 * alive); 0, or -1 with a TypeError naming `what`. Free with st_py_numbers_free. */
typedef struct st_py_numbers {
    PyObject *items;
    const char **names;
    double *values;
    size_t count;
} st_py_numbers;
int st_py_numbers_from_dict(st_py_numbers *out, PyObject *dict, const char *what);
void st_py_numbers_free(st_py_numbers *numbers);

/* ---- tensor_type.c: swifttrain._swifttrain.Tensor ------------------------------------ */

typedef struct st_py_tensor {
    PyObject_HEAD
    st_tensor *tensor;
    /* The exporter's memory, when the tensor was made with ST_DATA_BORROW; .obj is NULL
     * otherwise. Released after the handle is freed. */
    Py_buffer borrowed;
    /* What this tensor may read borrowed memory through (a view of a borrowing tensor, or
     * an autograd graph that recorded one): the borrowing tensor, a tuple of such, or NULL.
     * Every result of an operation keeps those of its inputs. */
    PyObject *keepalive;
    PyObject *weakreflist;                     /* weak references (as torch tensors allow) */
    int from_op;                               /* made by an operation, not a leaf */
    st_dtype dtype;                            /* fixed for a handle, read once */
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    Py_ssize_t buffer_shape[ST_MAX_DIMS];      /* for the buffer protocol */
    Py_ssize_t buffer_strides[ST_MAX_DIMS];
} st_py_tensor;

int st_py_tensor_type_init(PyObject *module, st_py_state *state);
extern PyMethodDef st_py_tensor_functions[];     /* creation, grad mode, set_tensor_class */
extern PyMethodDef st_py_tensor_op_functions[];  /* tensor_ops.c */
extern PyMethodDef st_py_functional_functions[]; /* functional.c */

/* functional.c: st_pool2d_options from (kernel_size, stride or None, padding, dilation,
 * ceil_mode, count_include_pad, divisor_override or None), shared with layers.c. */
int st_py_pool2d_options(st_pool2d_options *options, PyObject *kernel, PyObject *stride,
                         PyObject *padding, PyObject *dilation, int ceil_mode,
                         int count_include_pad, PyObject *divisor_override);

/* The module state of a tensor of the C type or of a Python subclass of it. */
st_py_state *st_py_tensor_state(PyObject *tensor);

/* Whether `obj` is a Tensor (or subclass instance). */
static inline int st_py_is_tensor(st_py_state *state, PyObject *obj)
{
    return PyObject_TypeCheck(obj, state->TensorType);
}

static inline st_tensor *st_py_handle(PyObject *tensor)
{
    return ((st_py_tensor *)tensor)->tensor;
}

/* Wraps a new handle (ownership taken; freed if the wrapper cannot be made) as
 * state->TensorClass. `sources` are the input Tensor objects (entries may be NULL) whose
 * borrowed memory the result may reach; `from_op` marks results of operations. */
PyObject *st_py_tensor_wrap(st_py_state *state, st_tensor *handle, int from_op,
                            PyObject *const *sources, size_t count);

/* The result of an operation: raises for `status`, else wraps `handle` (from_op = 1). */
PyObject *st_py_tensor_result(st_py_state *state, int status, st_tensor *handle,
                              PyObject *const *sources, size_t count);
#define ST_PY_RESULT(state, status, handle, ...)                                           \
    st_py_tensor_result((state), (status), (handle), (PyObject *const[]){__VA_ARGS__},      \
                        sizeof((PyObject *const[]){__VA_ARGS__}) / sizeof(PyObject *))

/* Argument converters (all set a TypeError naming `what` and return -1 on failure). */
/* A Tensor argument. */
int st_py_tensor_arg(st_py_state *state, PyObject *obj, const char *what, PyObject **out);
/* A Tensor or None (then *out = NULL). */
int st_py_optional_tensor_arg(st_py_state *state, PyObject *obj, const char *what,
                              PyObject **out);
/* An int or a sequence of ints, into out[0..*count), at most `capacity`. */
int st_py_int64_list_arg(PyObject *obj, const char *what, int64_t *out, size_t capacity,
                         size_t *count);
/* A pair of ints from an int or a 2-sequence (torch's _pair). */
int st_py_pair_arg(PyObject *obj, const char *what, int64_t out[2]);
/* A dtype code (0 float32, 1 int64, 2 bool). */
int st_py_dtype_arg(PyObject *obj, st_dtype *out);

/* ---- module_type.c: swifttrain._swifttrain.Module ------------------------------------ */

typedef struct st_py_module {
    PyObject_HEAD
    st_module *module;
} st_py_module;

int st_py_module_type_init(PyObject *module, st_py_state *state);
extern PyMethodDef st_py_module_functions[];

/* Takes ownership of `handle`; frees it if the wrapper cannot be made. */
PyObject *st_py_module_wrap(st_py_state *state, st_module *handle);

/* [(name, Tensor), ...] from named tensors; frees `named` (also on failure). */
PyObject *st_py_named_tensors_to_list(st_py_state *state, st_named_tensors *named);

/* Named tensors from a sequence of (name, Tensor) pairs (the list references the handles),
 * or NULL with an exception set. `what` names the caller in TypeErrors. */
st_named_tensors *st_py_named_tensors_from_items(st_py_state *state, PyObject *items,
                                                 const char *what);

/* ---- config_registry.c: config types registered from Python -------------------------- */

extern PyMethodDef st_py_config_registry_functions[];
/* st_py_raise_status for a config's call, with the exception a Python factory raised (if
 * any) as the __cause__. Returns NULL. */
PyObject *st_py_raise_config_status(st_py_state *state, int status);
/* Forgets a factory's exception left by a call that did not raise it (before a config call). */
void st_py_config_forget_exception(void);

/* ---- layers.c: the layer constructors ------------------------------------------------ */

extern PyMethodDef st_py_layer_functions[];

/* ---- dataset_type.c: swifttrain._swifttrain.Dataset ---------------------------------- */

typedef struct st_py_dataset {
    PyObject_HEAD
    st_dataset *dataset;  /* borrows features.buf and targets.buf (ST_DATA_BORROW) */
    Py_buffer features;   /* float32 [num_samples, num_features]; keeps its exporter alive */
    Py_buffer targets;    /* int64 labels or float32 targets; targets.obj NULL if none */
} st_py_dataset;

int st_py_dataset_type_init(PyObject *module, st_py_state *state);
/* Whether a buffer holds native float32 items, and numpy's name for its item type. */
int st_py_buffer_is_float32(const Py_buffer *view);
const char *st_py_buffer_dtype_name(const Py_buffer *view);

/* ---- training_args_type.c: swifttrain._swifttrain.TrainingArgs ----------------------- */

typedef struct st_py_training_args {
    PyObject_HEAD
    st_training_args args;
} st_py_training_args;

int st_py_training_args_type_init(PyObject *module, st_py_state *state);

/* ---- trainer_type.c / trainer_callbacks.c: swifttrain._swifttrain.Trainer ----------- */

/* One Python callable registered with st_trainer_add_callback. Heap-allocated so its
 * address (the callback's user_data) never moves; freed after the st_trainer. */
typedef struct st_py_callback_slot {
    struct st_py_trainer *owner;  /* borrowed: the owner frees the slot */
    PyObject *handler;            /* the callback object; NULL once removed: the event then
                                     costs one branch */
    int run_event;                /* call handler.run_event(name, ...) instead of handler.<name> */
    uint64_t muted;               /* events it is registered for but skipped in this run */
} st_py_callback_slot;

typedef struct st_py_trainer {
    PyObject_HEAD
    st_trainer *trainer;
    PyObject *model;          /* st_py_module: the model handle outlives the trainer */
    PyObject *train_dataset;  /* st_py_dataset or NULL: its buffers outlive the trainer */
    PyObject *eval_datasets;  /* list of the evaluation st_py_datasets, or NULL */
    PyObject *compute_metrics; /* callable or NULL (trainer_callbacks.c) */
    PyObject *compute_loss;    /* callable or NULL (trainer_callbacks.c) */
    PyObject *log_function;    /* callable or NULL: a subclass's log (trainer_callbacks.c) */
    PyObject *evaluate_function; /* callable or NULL: a subclass's evaluate */
    int in_evaluate_function;  /* evaluate() from inside it runs at once, nested */
    PyObject *optimizer_function; /* callable or NULL: a subclass's create_optimizer... */
    PyObject *optimizers_lent;    /* its last result, whose handles the library was lent */
    PyObject *computed;        /* its last result: the metric names the library reads */
    st_py_callback_slot **slots;
    Py_ssize_t slot_count, slot_capacity;
    int running;                     /* inside train / evaluate / predict */
    unsigned long running_thread;    /* the thread that runs it */
    int training;                    /* the run is train(): Ctrl-C stops it gracefully */
    PyObject *pending;               /* what a callback raised, re-raised after the call */
    PyObject *interrupt;             /* a Ctrl-C during train(), raised after it ends */
    int stop_requested;              /* Ctrl-C asked the core to stop this train() */
    PyObject *state_save;            /* callables of the Python callbacks' state, or NULL */
    PyObject *state_load;
    PyObject *state_bytes;           /* the last bytes state_save gave, read by the library */
    /* Python callbacks (trainer_callbacks.c) */
    PyObject *owner;                 /* weak reference to the Python Trainer (its args, state,
                                        control and model), or NULL */
    PyObject *snapshot;              /* the TrainerState last refreshed, and the event it was */
    uint64_t snapshot_serial;        /* refreshed for (st_trainer_state.event_serial) */
    uint64_t event_serial;           /* the event the next two are of */
    PyObject *event_metrics;         /* its metrics as a dict, or NULL */
    int64_t event_batches;           /* its eval_batches */
    PyObject *event_data;            /* the EventData and the optimizer= / lr_scheduler= objects */
    PyObject *event_optimizer;       /* over it, reused from event to event while no callback */
    PyObject *event_scheduler;       /* keeps one */
    Py_ssize_t event_data_refs;      /* the EventData's references when nobody else has one */
    PyObject *synced_control;        /* the control object whose flags are synced_flags (as */
    st_trainer_control synced_flags; /* last written or read back), or NULL */
} st_py_trainer;

int st_py_trainer_type_init(PyObject *module, st_py_state *state);
extern PyMethodDef st_py_trainer_functions[];  /* format_trainer_state_json */
int st_py_metrics_logger_type_init(PyObject *module, st_py_state *state);
/* The st_metrics_logger of a MetricsLogger object (borrowed), or NULL with TypeError. */
st_metrics_logger *st_py_metrics_logger_handle(st_py_state *state, PyObject *obj);

/* optim_type.c / schedule_type.c: the handle of an Optim / LRSchedule object (borrowed), or
 * NULL with TypeError; an LRSchedule over `schedule` (taken over; freed on failure); an
 * st_optim_options as optim_options_init's dict. */
st_optim *st_py_optim_handle(st_py_state *state, PyObject *obj);
st_lr_schedule *st_py_lr_schedule_handle(st_py_state *state, PyObject *obj);
PyObject *st_py_lr_schedule_wrap(st_py_state *state, st_lr_schedule *schedule);
PyObject *st_py_optim_options_to_dict(const st_optim_options *options);

/* event_data_type.c: EventData, a callback's view of st_event_data */
int st_py_event_data_type_init(PyObject *module, st_py_state *state);
/* A new EventData over `data` (and the Python exception `error`, may be NULL). */
PyObject *st_py_event_data_new(st_py_state *state, st_event_data *data, PyObject *error);
/* Marks it as past its callback (its data may no longer be read). */
void st_py_event_data_end(PyObject *event_data);
/* Makes an ended one current again, over `data` (and `error`): for reuse by the next event. */
void st_py_event_data_begin(PyObject *event_data, st_event_data *data, PyObject *error);

/* trainer_state_type.c: TrainerStateBase, the library's fields of a TrainerState */
int st_py_trainer_state_type_init(PyObject *module, st_py_state *state);
/* Gives `state_obj` (a TrainerStateBase) the values of `s`; 0, or -1 with an exception. */
int st_py_trainer_state_refresh(st_py_state *state, PyObject *state_obj, const st_trainer_state *s);

/* trainer_callbacks.c */
int st_py_callback_trampoline(st_event_data *data, const st_trainer_state *state,
                              st_trainer_control *control, void *user_data);
int st_py_state_save(void *user_data, const void **data, size_t *size);
int st_py_state_load(void *user_data, const void *data, size_t size);
int st_py_interrupt_check(st_event event, const st_trainer_state *state,
                          st_trainer_control *control, void *user_data);
int st_py_compute_metrics_trampoline(st_metric_value *out, size_t capacity, size_t *out_count,
                                     const st_eval_prediction *prediction, void *user_data);
int st_py_compute_loss_trampoline(st_tensor **loss, const st_outputs *outputs, const st_batch *batch,
                                  void *user_data);
int st_py_log_function_trampoline(const st_metrics *logs, void *user_data);
int st_py_evaluate_function_trampoline(st_metrics **out, void *user_data);
int st_py_optimizer_function_trampoline(st_optim **optimizer, st_lr_schedule **schedule,
                                        int64_t num_training_steps, void *user_data);
/* Moves the current exception into *saved (dropping what it held). */
static inline void st_py_error_save(PyObject **saved)
{
    Py_XSETREF(*saved, PyErr_GetRaisedException());
}
/* Raises *saved again, unchanged, and empties it. */
static inline void st_py_error_restore(PyObject **saved)
{
    PyErr_SetRaisedException(*saved);
    *saved = NULL;
}
/* The names of st_trainer_control's flags, in struct order. */
PyObject *st_py_control_flag_names(void);
/* Makes the module state's CallbackNames and EventNames; 0, or -1 with an exception. */
int st_py_callback_names_init(st_py_state *state);
extern PyMethodDef st_py_callback_functions[];  /* set_callback_protocol */

/* ---- user_code.c: Python forwards and datasets inside the loop ----------------------- */

extern PyMethodDef st_py_user_code_functions[];
/* {name: Tensor} of a library batch or of a forward's outputs, or NULL with an exception. */
PyObject *st_py_batch_to_dict(st_py_state *state, const st_batch *batch);
PyObject *st_py_outputs_to_dict(st_py_state *state, const st_outputs *outputs);
/* Raises the exception a forward or data trampoline kept on this thread, with a note of
 * where the library was; returns 1 if there was one, else 0. */
int st_py_host_error_restore(void);
void st_py_host_error_clear(void);

/* ---- optim_type.c / schedule_type.c: Optim, LRSchedule, Plateau -------------------- */

int st_py_optim_type_init(PyObject *module, st_py_state *state);
extern PyMethodDef st_py_optim_functions[];  /* optim_options_init */
extern PyMethodDef st_py_safetensors_functions[];  /* safetensors.c */
int st_py_schedule_types_init(PyObject *module, st_py_state *state);

/* ---- enum_names.c: enum_value, enum_names ------------------------------------------ */

extern PyMethodDef st_py_enum_name_functions[];
/* {name: value} of the str `key` by st_layer_defaults (floats) if `layer_defaults`, else by
 * st_enum_names (ints), in the library's order; `what` names `key` in a TypeError. */
PyObject *st_py_names_and_values(PyObject *module, PyObject *key, const char *what,
                                 int layer_defaults);

/* ---- shared helpers: what several C files would otherwise repeat ------------------- */

/* `static PyType_Spec Name_spec` for swifttrain._swifttrain.Name over the slots given. */
#define ST_PY_TYPE_SPEC(Name, Struct, Flags, ...)                                          \
    static PyType_Slot Name##_slots[] = {__VA_ARGS__, {0, NULL}};                          \
    static PyType_Spec Name##_spec = {.name = "swifttrain._swifttrain." #Name,            \
                                      .basicsize = sizeof(Struct),                        \
                                      .flags = (Flags),                                   \
                                      .slots = Name##_slots}

/* For a type whose objects own one library handle (`Handle *field` of `Struct`):
 * `static PyObject *Name_wrap(PyTypeObject *, Handle *)`, which takes ownership (the handle
 * is freed if the object cannot be made), and `static void Name_dealloc(Struct *)`. */
#define ST_PY_HANDLE_FUNCTIONS(Name, Struct, field, Handle, free_fn)                       \
    static PyObject *Name##_wrap(PyTypeObject *type, Handle *handle)                       \
    {                                                                                      \
        Struct *self = (Struct *)type->tp_alloc(type, 0);                                  \
        if (self == NULL) {                                                                \
            free_fn(handle);                                                               \
            return NULL;                                                                   \
        }                                                                                  \
        self->field = handle;                                                              \
        return (PyObject *)self;                                                           \
    }                                                                                      \
    static void Name##_dealloc(Struct *self)                                               \
    {                                                                                      \
        PyTypeObject *type = Py_TYPE(self);                                                \
        free_fn(self->field);                                                              \
        type->tp_free((PyObject *)self);                                                   \
        Py_DECREF(type);                                                                   \
    }

/* The module state of an object of one of the extension's (final) types. */
#define ST_PY_STATE(obj) st_py_state_of(Py_TYPE(obj))

/* None, or the exception for a failed status. */
static inline PyObject *st_py_none_or_raise(st_py_state *state, int status)
{
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    Py_RETURN_NONE;
}

/* One converted argument of a module function made with ST_PY_CALL. */
typedef struct st_py_arg {
    PyObject *obj;             /* the argument (NULL for a None tensor) */
    st_tensor *tensor;         /* T, t: the handle (NULL for None) */
    int64_t i;                 /* L, K, p (0 / 1), d, n (ST_NO_INDEX for None) */
    double f;                  /* f, F */
    int none;                  /* the argument is None */
    int64_t list[ST_MAX_DIMS]; /* D (none for None), S */
    size_t n;                  /* the length of list */
} st_py_arg;

/* What a call returns when it raised a Python exception (a library status is <= 0). */
#define ST_PY_RAISED 1
#define ST_PY_MAX_ARGS 12

/* py_<name>(module, args): the positional arguments converted by `kinds`, one letter per
 * parameter named in `params` ("input, dim"): T a Tensor, t a Tensor or None, L an int, K
 * an unsigned int (modulo 2^64), p a bool, f a float, F a float or None, n an int or None,
 * D None or ints, S ints, d a dtype code, O any object (errors name "<name>: <param>").
 * Then `call`, an st_status expression of `a` (the st_py_arg array) and `out`
 * (st_tensor *[2]), which may give ST_PY_RAISED; its result is returned (wrapped with the
 * tensor arguments as sources; a new leaf without any), or both as a pair when it set out[1].
 * `doc` follows the signature in the docstring; ST_PY_CALL's names st_<name>. */
typedef int (*st_py_call_fn)(st_tensor **out, const st_py_arg *a);
PyObject *st_py_call(PyObject *module, PyObject *args, const char *name, const char *kinds,
                     const char *params, st_py_call_fn call);
#define ST_PY_FUNCTION(name, kinds, params, doc, call)                                     \
    PyDoc_STRVAR(name##_doc, #name "($module, " params ", /)\n--\n\n" doc);                \
    static int call_##name(st_tensor **out, const st_py_arg *a)                            \
    {                                                                                      \
        return call;                                                                       \
    }                                                                                      \
    static PyObject *py_##name(PyObject *module, PyObject *args)                            \
    {                                                                                      \
        return st_py_call(module, args, #name, kinds, params, call_##name);                \
    }
#define ST_PY_CALL(name, kinds, params, note, call)                                        \
    ST_PY_FUNCTION(name, kinds, params, note "(st_" #name ")", call)

/* A module function py_<name> that calls `helper(module, args, st_<name>, "<format>:<name>")`
 * (the format's name part names the function in errors), with a docstring of its
 * parameters and a note. */
#define ST_PY_OP(helper, name, format, params, note)                                       \
    PyDoc_STRVAR(name##_doc, #name "($module, " params ", /)\n--\n\n" note "(st_" #name ")"); \
    static PyObject *py_##name(PyObject *module, PyObject *args)                            \
    {                                                                                      \
        return helper(module, args, st_##name, format ":" #name);                          \
    }

/* A new module handle (module_type.c): raises for `status`, else wraps `handle`. */
PyObject *st_py_module_result(st_py_state *state, int status, st_module *handle);

/* The text a library function writes with the buffer protocol (`get(buffer, capacity,
 * &length, arg)`: the length first, then the text), decoded from UTF-8 with `errors`. */
typedef int (*st_py_text_fn)(char *buffer, size_t capacity, size_t *length, const void *arg);
PyObject *st_py_text(st_py_state *state, st_py_text_fn get, const void *arg, const char *errors);

/* The handle of an optional tensor (from st_py_optional_tensor_arg), or NULL. */
static inline st_tensor *st_py_handle_or_null(PyObject *tensor)
{
    return tensor != NULL ? st_py_handle(tensor) : NULL;
}

/* An int argument that may be None (then *out is left as it is: the caller's default). */
int st_py_optional_int64_arg(PyObject *obj, const char *what, int64_t *out);

/* The handles of a sequence of Tensors (a PyMem array in *handles, freed by the caller),
 * their count and the sequence (PySequence_Fast, a new reference) that holds them.
 * `what` names the argument in errors. */
int st_py_tensor_handles(st_py_state *state, PyObject *obj, const char *what,
                         st_tensor ***handles, size_t *count, PyObject **sequence);

/* (first, second): two results wrapped together (either may be NULL: then None), freeing
 * both handles on failure. `sources` as for st_py_tensor_wrap. */
PyObject *st_py_tensor_pair(st_py_state *state, st_tensor *first, st_tensor *second,
                            PyObject *const *sources, size_t count);

#endif /* SWIFTTRAIN_PY_H */
