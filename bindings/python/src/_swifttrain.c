/*
 * _swifttrain.c - the swifttrain._swifttrain extension module: definition, per-module
 * state, multi-phase initialisation and the runtime functions of include/swifttrain.h.
 *
 * The Python package `swifttrain` (trainer.py, callbacks.py, ...) is the public face; this
 * module is its private C half and keeps to translation: one small function per C entry
 * point, handles as objects, statuses as exceptions.
 */
#include "_swifttrain.h"

#include <limits.h>

int st_py_add_type(PyObject *module, PyType_Spec *spec, PyTypeObject **out)
{
    *out = (PyTypeObject *)PyType_FromModuleAndSpec(module, spec, NULL);
    if (*out == NULL)
        return -1;
    return PyModule_AddType(module, *out); /* adds its own reference */
}

PyObject *st_py_text(st_py_state *state, st_py_text_fn get, const void *arg, const char *errors)
{
    size_t length = 0;
    int status = get(NULL, 0, &length, arg);
    if (status != ST_OK && status != ST_ESHAPE)
        return st_py_raise_status(state, status);
    char *buffer = PyMem_Malloc(length + 1);
    if (buffer == NULL)
        return PyErr_NoMemory();
    status = get(buffer, length + 1, &length, arg);
    PyObject *text = status == ST_OK ? PyUnicode_DecodeUTF8(buffer, (Py_ssize_t)length, errors)
                                     : st_py_raise_status(state, status);
    PyMem_Free(buffer);
    return text;
}

/* ---- runtime functions ------------------------------------------------------------ */

/* An int argument; -1 with an exception set when it is not an int or out of range. */
static int int_arg(PyObject *arg, const char *what, int *out)
{
    long value = PyLong_AsLong(arg);
    if (value == -1 && PyErr_Occurred())
        return -1;
    if (value < INT_MIN || value > INT_MAX) {
        PyErr_Format(PyExc_OverflowError, "%s: %ld does not fit in a C int", what, value);
        return -1;
    }
    *out = (int)value;
    return 0;
}

/* name($module, /), returning `result`, with `doc` after the signature. */
#define NOARGS_FUNCTION(name, doc, result)                                                 \
    PyDoc_STRVAR(name##_doc, #name "($module, /)\n--\n\n" doc);                            \
    static PyObject *name(PyObject *module, PyObject *unused)                              \
    {                                                                                      \
        (void)module, (void)unused;                                                        \
        return result;                                                                     \
    }

NOARGS_FUNCTION(version_string, "\"MAJOR.MINOR.PATCH\" of the loaded library (st_version_string).",
                PyUnicode_FromString(st_version_string()))
NOARGS_FUNCTION(version_number,
                "MAJOR * 10000 + MINOR * 100 + PATCH of the loaded library (st_version_number).",
                PyLong_FromLong(st_version_number()))
NOARGS_FUNCTION(blas_init, "Loads OpenBLAS if it is not loaded yet (st_blas_init).",
                st_py_none_or_raise(PyModule_GetState(module), st_blas_init()))
NOARGS_FUNCTION(blas_corename,
                "The OpenBLAS core type in use, or \"unavailable\" (st_blas_corename).",
                PyUnicode_FromString(st_blas_corename()))
NOARGS_FUNCTION(blas_config, "OpenBLAS's build configuration, or \"unavailable\" (st_blas_config).",
                PyUnicode_FromString(st_blas_config()))

PyDoc_STRVAR(blas_set_num_threads_doc,
             "blas_set_num_threads($module, num_threads, /)\n--\n\n"
             "Sets the number of threads OpenBLAS uses (st_blas_set_num_threads).");

static PyObject *blas_set_num_threads(PyObject *module, PyObject *arg)
{
    int num_threads = 0;
    if (int_arg(arg, "blas_set_num_threads", &num_threads) < 0)
        return NULL;
    return st_py_none_or_raise(PyModule_GetState(module), st_blas_set_num_threads(num_threads));
}

PyDoc_STRVAR(set_num_threads_doc,
             "set_num_threads($module, num_threads, /)\n--\n\n"
             "Sets the library's thread count, OpenBLAS's and the worker pool's (st_set_num_threads).");

static PyObject *set_num_threads(PyObject *module, PyObject *arg)
{
    int num_threads = 0;
    if (int_arg(arg, "set_num_threads", &num_threads) < 0)
        return NULL;
    return st_py_none_or_raise(PyModule_GetState(module), st_set_num_threads(num_threads));
}

NOARGS_FUNCTION(get_num_threads, "The library's thread count (st_get_num_threads).",
                PyLong_FromLong(st_get_num_threads()))

PyDoc_STRVAR(manual_seed_doc,
             "manual_seed($module, seed, /)\n--\n\n"
             "Seeds the generator that initialises new modules' parameters (st_manual_seed).");

static PyObject *manual_seed(PyObject *module, PyObject *arg)
{
    if (!PyLong_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "manual_seed: seed must be an int, got %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    unsigned long long seed = PyLong_AsUnsignedLongLong(arg);
    if (seed == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return st_py_raise(PyModule_GetState(module), ST_EINVAL,
                           "manual_seed: seed must be in [0, 2**64), got %R", arg);
    }
    st_manual_seed((uint64_t)seed);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(event_name_doc,
             "event_name($module, event, /)\n--\n\n"
             "HuggingFace's callback method name of an event (st_event_name), or None.");

static PyObject *event_name(PyObject *module, PyObject *arg)
{
    (void)module;
    int event = 0;
    if (int_arg(arg, "event_name", &event) < 0)
        return NULL;
    const char *name = st_event_name(event);
    return name != NULL ? PyUnicode_FromString(name) : Py_NewRef(Py_None);
}

PyDoc_STRVAR(status_string_doc,
             "status_string($module, status, /)\n--\n\n"
             "The name and meaning of a status code (st_status_string).");

static PyObject *status_string(PyObject *module, PyObject *arg)
{
    (void)module;
    int status = 0;
    if (int_arg(arg, "status_string", &status) < 0)
        return NULL;
    return PyUnicode_FromString(st_status_string(status));
}

PyDoc_STRVAR(cli_main_doc,
             "cli_main($module, argv, /)\n--\n\n"
             "Runs the swifttrain command line (st_cli_main) with argv (argv[0] the program name) and "
             "returns its exit code; the GIL is released while it runs.");

static PyObject *cli_main(PyObject *module, PyObject *arg)
{
    (void)module;
    PyObject *items = PySequence_Tuple(arg); /* a copy: no other thread changes it meanwhile */
    if (items == NULL)
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(items);
    const char **argv = PyMem_Calloc((size_t)count + 1, sizeof *argv);
    PyObject *result = NULL;
    if (argv == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++)
        if ((argv[i] = PyUnicode_AsUTF8(PyTuple_GET_ITEM(items, i))) == NULL)
            goto done;
    int code;
    Py_BEGIN_ALLOW_THREADS
    code = st_cli_main((int)count, argv);
    Py_END_ALLOW_THREADS
    result = PyLong_FromLong(code);
done:
    PyMem_Free(argv);
    Py_DECREF(items);
    return result;
}

PyDoc_STRVAR(config_build_doc,
             "config_build($module, config, overrides, /)\n--\n\n"
             "The pieces of a JSON config's experiment (st_config_build): (Module, Dataset, Dataset or "
             "None, TrainingArgs, loss code).");

static PyObject *config_build(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    const char *config = NULL, *overrides = NULL;
    if (!PyArg_ParseTuple(args, "sz:config_build", &config, &overrides))
        return NULL;
    st_module *model = NULL;
    st_dataset *train = NULL, *validation = NULL;
    st_loss loss;
    st_py_training_args *core = (st_py_training_args *)state->TrainingArgsType->tp_alloc(state->TrainingArgsType, 0);
    if (core == NULL)
        return NULL;
    int status;
    st_py_config_forget_exception();
    Py_BEGIN_ALLOW_THREADS
    status = st_config_build(&model, &train, &validation, &core->args, &loss, config, overrides);
    Py_END_ALLOW_THREADS
    if (status != ST_OK) {
        Py_DECREF(core);
        return st_py_raise_config_status(state, status); /* (a Python model factory's exception as the cause) */
    }
    PyObject *datasets[2] = {NULL, NULL};
    st_dataset *handles[2] = {train, validation};
    for (int i = 0; i < 2; i++) {
        if (handles[i] == NULL)
            continue;
        st_py_dataset *d = (st_py_dataset *)state->DatasetType->tp_alloc(state->DatasetType, 0);
        if (d == NULL) {
            st_dataset_free(handles[i]);
        } else {
            d->dataset = handles[i];
        }
        datasets[i] = (PyObject *)d;
    }
    PyObject *wrapped = st_py_module_wrap(state, model);
    PyObject *result = NULL;
    if (wrapped != NULL && datasets[0] != NULL && (validation == NULL || datasets[1] != NULL))
        result = Py_BuildValue("(OOOOi)", wrapped, datasets[0], datasets[1] ? datasets[1] : Py_None,
                               (PyObject *)core, (int)loss);
    Py_XDECREF(wrapped);
    Py_XDECREF(datasets[0]);
    Py_XDECREF(datasets[1]);
    Py_DECREF(core);
    return result;
}

static PyMethodDef runtime_functions[] = {
    {"version_string", version_string, METH_NOARGS, version_string_doc},
    {"version_number", version_number, METH_NOARGS, version_number_doc},
    {"blas_init", blas_init, METH_NOARGS, blas_init_doc},
    {"blas_corename", blas_corename, METH_NOARGS, blas_corename_doc},
    {"blas_config", blas_config, METH_NOARGS, blas_config_doc},
    {"blas_set_num_threads", blas_set_num_threads, METH_O, blas_set_num_threads_doc},
    {"set_num_threads", set_num_threads, METH_O, set_num_threads_doc},
    {"get_num_threads", get_num_threads, METH_NOARGS, get_num_threads_doc},
    {"manual_seed", manual_seed, METH_O, manual_seed_doc},
    {"event_name", event_name, METH_O, event_name_doc},
    {"status_string", status_string, METH_O, status_string_doc},
    {"cli_main", cli_main, METH_O, cli_main_doc},
    {"config_build", config_build, METH_VARARGS, config_build_doc},
    {NULL, NULL, 0, NULL},
};

/* ---- module definition ---------------------------------------------------------------- */

static int check_library_version(void)
{
    int loaded = st_version_number();
    if (loaded / 10000 == SWIFTTRAIN_VERSION_MAJOR && loaded >= SWIFTTRAIN_VERSION_NUMBER)
        return 0;
    PyErr_Format(PyExc_ImportError,
                 "swifttrain: the extension was built for libswifttrain %d.%d.%d but loaded "
                 "libswifttrain %s; reinstall swifttrain so both come from the same build",
                 SWIFTTRAIN_VERSION_MAJOR, SWIFTTRAIN_VERSION_MINOR, SWIFTTRAIN_VERSION_PATCH,
                 st_version_string());
    return -1;
}

static int module_exec(PyObject *module)
{
    st_py_state *state = PyModule_GetState(module);
    if (check_library_version() < 0 || st_py_errors_init(module, state) < 0 ||
        st_py_tensor_type_init(module, state) < 0 ||
        st_py_module_type_init(module, state) < 0 || st_py_dataset_type_init(module, state) < 0 ||
        st_py_training_args_type_init(module, state) < 0 ||
        st_py_trainer_type_init(module, state) < 0 ||
        st_py_metrics_logger_type_init(module, state) < 0 ||
        st_py_event_data_type_init(module, state) < 0 ||
        st_py_trainer_state_type_init(module, state) < 0 || st_py_callback_names_init(state) < 0 ||
        st_py_optim_type_init(module, state) < 0 ||
        st_py_schedule_types_init(module, state) < 0 ||
        PyModule_AddFunctions(module, st_py_module_functions) < 0 ||
        PyModule_AddFunctions(module, st_py_layer_functions) < 0 ||
        PyModule_AddFunctions(module, st_py_tensor_functions) < 0 ||
        PyModule_AddFunctions(module, st_py_tensor_op_functions) < 0 ||
        PyModule_AddFunctions(module, st_py_functional_functions) < 0 ||
        PyModule_AddFunctions(module, st_py_optim_functions) < 0 ||
        PyModule_AddFunctions(module, st_py_safetensors_functions) < 0 ||
        PyModule_AddFunctions(module, st_py_enum_name_functions) < 0 ||
        PyModule_AddFunctions(module, st_py_user_code_functions) < 0 ||
        PyModule_AddFunctions(module, st_py_trainer_functions) < 0 ||
        PyModule_AddFunctions(module, st_py_config_registry_functions) < 0 ||
        PyModule_AddFunctions(module, st_py_callback_functions) < 0 ||
        PyModule_AddIntConstant(module, "EVENT_COUNT", ST_EVENT_COUNT) < 0 ||
        PyModule_AddIntConstant(module, "HEADER_VERSION_NUMBER", SWIFTTRAIN_VERSION_NUMBER) < 0)
        return -1;
    PyObject *flags = st_py_control_flag_names();
    if (flags == NULL || PyModule_AddObject(module, "CONTROL_FLAGS", flags) < 0) {
        Py_XDECREF(flags);
        return -1;
    }
    return 0;
}

/* Every object the module state holds. */
#define STATE_OBJECTS(X)                                                                   \
    X(TensorType) X(TensorClass) X(ModuleType) X(DatasetType) X(TrainingArgsType)         \
    X(TrainerType) X(OptimType) X(LRScheduleType) X(PlateauType) X(MetricsLoggerType)     \
    X(EventDataType) X(SwiftTrainError) X(InvalidArgumentError) X(ShapeError)              \
    X(OutOfMemoryError) X(MisuseError) X(InternalError) X(TrainingAbortedError)            \
    X(BlasError) X(NotFoundError) X(FileError) X(CorruptFileError)                         \
    X(CheckpointNotFoundError) X(StateDictError) X(TrainerStateBaseType) X(CallbackNames)   \
    X(EventNames) X(EventKwnames) X(ControlClass) X(OptimizerClass) X(SchedulerClass)      \
    X(BatchesClass)

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    st_py_state *state = PyModule_GetState(module);
#define VISIT(field) Py_VISIT(state->field);
    STATE_OBJECTS(VISIT)
#undef VISIT
    return 0;
}

static int module_clear(PyObject *module)
{
    st_py_state *state = PyModule_GetState(module);
#define CLEAR(field) Py_CLEAR(state->field);
    STATE_OBJECTS(CLEAR)
#undef CLEAR
    return 0;
}

static void module_free(void *module)
{
    module_clear((PyObject *)module);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)module_exec},
#ifdef Py_mod_multiple_interpreters
    /* Callbacks use PyGILState_Ensure, which knows only the main interpreter. */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
    {0, NULL},
};

PyDoc_STRVAR(module_doc,
             "The C half of swifttrain: a thin layer over include/swifttrain.h. Use the "
             "`swifttrain` package instead of this module.");

static struct PyModuleDef swifttrain_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "swifttrain._swifttrain",
    .m_doc = module_doc,
    .m_size = sizeof(st_py_state),
    .m_methods = runtime_functions,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit__swifttrain(void)
{
    return PyModuleDef_Init(&swifttrain_module);
}
