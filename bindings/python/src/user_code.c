/*
 * user_code.c - Python code inside the library's training loop: models with a forward
 * written in Python, data from Python datasets. Each crossing happens once per micro-batch.
 *
 *     m = custom_module_create(type_name, target)   # st_module_create_custom
 *     module_add_parameter(m, name, tensor); module_add_buffer(m, name, tensor)
 *     module_add_child(m, name, child); module_adopt(m, builtin)
 *     d = indexed_dataset(num_samples, fetch)         # st_dataset_create_indexed
 *     d = stream_dataset(next_batch)                  # st_dataset_create_stream
 *
 * The forward trampoline takes the GIL and calls target(batch, training, num_items) with
 * `batch` a dict {name: Tensor}; it returns [(name, Tensor), ...] ("logits", "loss", ...).
 * The module holds `target` through a weak reference (the Python model holds the module:
 * a strong one would be a cycle through library memory no collector can see); a target
 * of None makes a module whose forward only the Python side runs (a Python child module).
 *
 * fetch(indices: list[int]) and next_batch(epoch, index, batch_size) return
 * [(name, ndarray), ...] of C-contiguous float32 / int64 / bool arrays (next_batch None at
 * the end of an epoch); the trampolines copy them into the library's batch.
 *
 * An exception raised in Python is kept (per thread) and the trampoline returns non-zero;
 * the library stops, and the call that ran it (Trainer.train, evaluate, predict) raises that
 * exception, unchanged, with a note of where the library was (st_py_host_error_restore).
 */
#include "_swifttrain.h"

#include <string.h>

/* ---- the exception a trampoline kept ----------------------------------------------------- */

static _Thread_local PyObject *host_error;

int st_py_host_error_restore(void)
{
    if (host_error == NULL)
        return 0;
    const char *where = st_last_error_message();
    if (where != NULL && where[0] != '\0' && PyObject_HasAttrString(host_error, "add_note")) {
        PyObject *r = PyObject_CallMethod(host_error, "add_note", "s", where); /* 3.11+ */
        Py_XDECREF(r);
        PyErr_Clear();
    }
    st_py_error_restore(&host_error);
    return 1;
}

void st_py_host_error_clear(void)
{
    Py_CLEAR(host_error);
}

/* Keeps the current exception; returns what the trampoline returns. */
static int keep_error(void)
{
    st_py_error_save(&host_error);
    return 1;
}

/* ---- host objects ---------------------------------------------------------------------- */

typedef struct st_py_host {
    PyObject *target; /* a weak reference (modules) or the callable (datasets); may be NULL */
    int weak;
    st_py_state *state;
} st_py_host;

static st_py_host *host_new(st_py_state *state, PyObject *target, int weak)
{
    st_py_host *host = PyMem_RawCalloc(1, sizeof(st_py_host));
    if (host == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    host->state = state;
    host->weak = weak;
    if (target != Py_None) {
        host->target = weak ? PyWeakref_NewRef(target, NULL) : Py_NewRef(target);
        if (host->target == NULL) {
            PyMem_RawFree(host);
            return NULL;
        }
    }
    return host;
}

/* Called by the library when the module or dataset goes, with or without the GIL. */
static void host_free(void *user_data)
{
    st_py_host *host = user_data;
    if (host == NULL)
        return;
    if (Py_IsInitialized()) {
        PyGILState_STATE gil = PyGILState_Ensure();
        Py_CLEAR(host->target);
        PyGILState_Release(gil);
    }
    PyMem_RawFree(host);
}

/* A new reference to the host's callable, or NULL with an exception. */
static PyObject *host_target(st_py_host *host, const char *what)
{
    if (host->target == NULL) {
        PyErr_Format(PyExc_RuntimeError, "%s: this module's forward runs only from Python "
                     "(it is a child of a Python model)", what);
        return NULL;
    }
    if (!host->weak)
        return Py_NewRef(host->target);
    PyObject *target = PyWeakref_GetObject(host->target);
    if (target == NULL || target == Py_None) {
        PyErr_Format(PyExc_RuntimeError, "%s: the Python model this module belongs to no "
                     "longer exists", what);
        return NULL;
    }
    return Py_NewRef(target);
}

/* ---- batches ----------------------------------------------------------------------------- */

/* {name: Tensor} of a library batch (st_py_batch_to_dict) or outputs (st_py_outputs_to_dict). */
#define ST_PY_ENTRIES_TO_DICT(function, Entries, count_fn, entry_fn)                      \
    PyObject *function(st_py_state *state, const Entries *entries)                         \
    {                                                                                      \
        PyObject *dict = PyDict_New();                                                     \
        size_t count = count_fn(entries);                                                  \
        for (size_t i = 0; dict != NULL && i < count; i++) {                               \
            const char *name = NULL;                                                       \
            st_tensor *handle = NULL;                                                      \
            int status = entry_fn(&name, &handle, entries, i);                             \
            PyObject *tensor = status == ST_OK ? st_py_tensor_wrap(state, handle, 0, NULL, 0) \
                                               : st_py_raise_status(state, status);        \
            if (tensor == NULL || PyDict_SetItemString(dict, name, tensor) < 0)            \
                Py_CLEAR(dict);                                                            \
            Py_XDECREF(tensor);                                                            \
        }                                                                                  \
        return dict;                                                                       \
    }
ST_PY_ENTRIES_TO_DICT(st_py_batch_to_dict, st_batch, st_batch_count, st_batch_entry)
ST_PY_ENTRIES_TO_DICT(st_py_outputs_to_dict, st_outputs, st_outputs_count, st_outputs_entry)

/* Iterates `pairs` (a sequence of (str, value) pairs), calling body(name, value). */
static int for_each_pair(PyObject *pairs, const char *what,
                         int (*body)(const char *name, PyObject *value, void *context),
                         void *context)
{
    PyObject *sequence = PySequence_Fast(pairs, what);
    if (sequence == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(sequence);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(sequence, i);
        const char *name = NULL;
        PyObject *value = NULL;
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2 ||
            (name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(item, 0))) == NULL) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s: expected (name, value) pairs with str names, "
                         "got %.100s", what, Py_TYPE(item)->tp_name);
            Py_DECREF(sequence);
            return -1;
        }
        value = PyTuple_GET_ITEM(item, 1);
        if (body(name, value, context) < 0) {
            Py_DECREF(sequence);
            return -1;
        }
    }
    Py_DECREF(sequence);
    return 0;
}

typedef struct fill_context {
    st_py_state *state;
    st_batch *batch;
    st_outputs *outputs;
} fill_context;

/* One array of a data provider's batch, copied in with st_batch_add. */
static int add_array(const char *name, PyObject *value, void *context)
{
    fill_context *c = context;
    Py_buffer view;
    if (PyObject_GetBuffer(value, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_ND) < 0)
        return -1;
    st_dtype dtype;
    const char *format = view.format != NULL ? view.format : "B";
    if (format[0] == '<' || format[0] == '=' || format[0] == '@')
        format++;
    if (strcmp(format, "f") == 0 && view.itemsize == 4)
        dtype = ST_FLOAT32;
    else if ((strcmp(format, "q") == 0 || strcmp(format, "l") == 0) && view.itemsize == 8)
        dtype = ST_INT64;
    else if (strcmp(format, "?") == 0 && view.itemsize == 1)
        dtype = ST_BOOL;
    else {
        PyErr_Format(PyExc_TypeError, "batch entry '%s': arrays must be float32, int64 or bool, "
                     "got format '%s'", name, view.format != NULL ? view.format : "B");
        PyBuffer_Release(&view);
        return -1;
    }
    if (view.ndim < 1 || view.ndim > ST_MAX_DIMS) {
        PyErr_Format(PyExc_ValueError, "batch entry '%s': needs 1 to %d dimensions (the batch "
                     "first), got %d", name, ST_MAX_DIMS, view.ndim);
        PyBuffer_Release(&view);
        return -1;
    }
    int64_t shape[ST_MAX_DIMS];
    for (int d = 0; d < view.ndim; d++)
        shape[d] = (int64_t)view.shape[d];
    int status = st_batch_add(c->batch, name, view.buf, shape, (size_t)view.ndim, dtype);
    PyBuffer_Release(&view);
    if (status != ST_OK) {
        st_py_raise_status(c->state, status);
        return -1;
    }
    return 0;
}

/* One output of a forward, set with st_outputs_set. */
static int set_output(const char *name, PyObject *value, void *context)
{
    fill_context *c = context;
    if (!st_py_is_tensor(c->state, value)) {
        PyErr_Format(PyExc_TypeError, "output '%s' is a %.100s; outputs must be swifttrain "
                     "tensors", name, Py_TYPE(value)->tp_name);
        return -1;
    }
    int status = st_outputs_set(c->outputs, name, st_py_handle(value));
    if (status != ST_OK) {
        st_py_raise_status(c->state, status);
        return -1;
    }
    return 0;
}

/* ---- trampolines ------------------------------------------------------------------------- */

static int forward_trampoline(st_outputs *outputs, const st_batch *batch, bool training,
                              void *user_data)
{
    st_py_host *host = user_data;
    PyGILState_STATE gil = PyGILState_Ensure();
    int rc = 0;
    int64_t items = 0;
    st_batch_num_items(&items, batch);
    PyObject *target = host_target(host, "forward");
    PyObject *dict = target != NULL ? st_py_batch_to_dict(host->state, batch) : NULL;
    PyObject *result = dict != NULL
                           ? PyObject_CallFunction(target, "OOL", dict, training ? Py_True : Py_False,
                                                   (long long)items)
                           : NULL;
    fill_context context = {host->state, NULL, outputs};
    if (result == NULL || for_each_pair(result, "the forward's outputs", set_output, &context) < 0)
        rc = keep_error();
    Py_XDECREF(result);
    Py_XDECREF(dict);
    Py_XDECREF(target);
    PyGILState_Release(gil);
    return rc;
}

/* Copies what a provider returned into `batch`; returns the trampoline's result. */
static int fill(st_py_host *host, st_batch *batch, PyObject *result)
{
    fill_context context = {host->state, batch, NULL};
    if (result == NULL || for_each_pair(result, "the dataset's batch", add_array, &context) < 0)
        return keep_error();
    return 0;
}

static int fetch_trampoline(st_batch *batch, const int64_t *indices, size_t count, void *user_data)
{
    st_py_host *host = user_data;
    PyGILState_STATE gil = PyGILState_Ensure();
    int rc;
    PyObject *list = PyList_New((Py_ssize_t)count);
    for (size_t i = 0; list != NULL && i < count; i++) {
        PyObject *index = PyLong_FromLongLong(indices[i]);
        if (index == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, index);
    }
    PyObject *result = list != NULL ? PyObject_CallOneArg(host->target, list) : NULL;
    rc = fill(host, batch, result);
    Py_XDECREF(result);
    Py_XDECREF(list);
    PyGILState_Release(gil);
    return rc;
}

static int next_trampoline(st_batch *batch, int64_t epoch, int64_t index, int64_t batch_size,
                           void *user_data)
{
    st_py_host *host = user_data;
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *result = PyObject_CallFunction(host->target, "LLL", (long long)epoch,
                                             (long long)index, (long long)batch_size);
    int rc = result == Py_None ? ST_DATA_END : fill(host, batch, result);
    Py_XDECREF(result);
    PyGILState_Release(gil);
    return rc;
}

/* ---- functions ----------------------------------------------------------------------------- */

PyDoc_STRVAR(custom_module_create_doc,
             "custom_module_create($module, type_name, target, /)\n--\n\n"
             "A module whose forward calls target(batch, training, num_items) -> [(name, "
             "Tensor), ...] (held weakly), or None for one only Python runs "
             "(st_module_create_custom).");

static PyObject *custom_module_create(PyObject *module, PyObject *args)
{
    const char *type_name;
    PyObject *target;
    if (!PyArg_ParseTuple(args, "sO:custom_module_create", &type_name, &target))
        return NULL;
    st_py_state *state = PyModule_GetState(module);
    st_py_host *host = host_new(state, target, 1);
    if (host == NULL)
        return NULL;
    st_module *handle = NULL;
    int status = st_module_create_custom(&handle, type_name, forward_trampoline, host, host_free);
    if (status != ST_OK)
        host_free(host);
    return st_py_module_result(state, status, handle);
}

static int module_arg(st_py_state *state, PyObject *obj, const char *what, st_module **out)
{
    if (!Py_IS_TYPE(obj, state->ModuleType)) {
        PyErr_Format(PyExc_TypeError, "%s: expected a _swifttrain.Module, got %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    *out = ((st_py_module *)obj)->module;
    return 0;
}

/* module_add_parameter / module_add_buffer / module_add_child / module_adopt */
static PyObject *declare(PyObject *module, PyObject *args, int kind)
{
    static const char *const names[] = {"module_add_parameter", "module_add_buffer",
                                        "module_add_child", "module_adopt"};
    st_py_state *state = PyModule_GetState(module);
    PyObject *owner, *value;
    const char *name = NULL;
    st_module *custom, *child;
    int ok = kind == 3 ? PyArg_ParseTuple(args, "OO", &owner, &value)
                       : PyArg_ParseTuple(args, "OsO", &owner, &name, &value);
    if (!ok || module_arg(state, owner, names[kind], &custom) < 0)
        return NULL;
    int status;
    if (kind >= 2) {
        if (module_arg(state, value, names[kind], &child) < 0)
            return NULL;
        status = kind == 2 ? st_module_add_child(custom, name, child) : st_module_adopt(custom, child);
    } else {
        if (!st_py_is_tensor(state, value)) {
            PyErr_Format(PyExc_TypeError, "%s: expected a Tensor, got %.100s", names[kind],
                         Py_TYPE(value)->tp_name);
            return NULL;
        }
        status = kind == 0 ? st_module_add_parameter(custom, name, st_py_handle(value))
                           : st_module_add_buffer(custom, name, st_py_handle(value));
    }
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    Py_RETURN_NONE;
}

static PyObject *module_add_parameter(PyObject *m, PyObject *a) { return declare(m, a, 0); }
static PyObject *module_add_buffer(PyObject *m, PyObject *a) { return declare(m, a, 1); }
static PyObject *module_add_child(PyObject *m, PyObject *a) { return declare(m, a, 2); }
static PyObject *module_adopt(PyObject *m, PyObject *a) { return declare(m, a, 3); }

/* A Dataset object for a new provider handle (no buffers of its own), or the exception for
 * `status` (then the library did not take `host`). */
static PyObject *dataset_result(st_py_state *state, int status, st_dataset *handle,
                               st_py_host *host)
{
    if (status != ST_OK) {
        host_free(host);
        return st_py_raise_status(state, status);
    }
    st_py_dataset *self = (st_py_dataset *)state->DatasetType->tp_alloc(state->DatasetType, 0);
    if (self == NULL) {
        st_dataset_free(handle);
        return NULL;
    }
    self->dataset = handle;
    return (PyObject *)self;
}

PyDoc_STRVAR(indexed_dataset_doc,
             "indexed_dataset($module, num_samples, fetch, /)\n--\n\n"
             "A map-style dataset: fetch(indices) -> [(name, ndarray), ...] "
             "(st_dataset_create_indexed).");

static PyObject *indexed_dataset(PyObject *module, PyObject *args)
{
    long long num_samples;
    PyObject *fetch;
    if (!PyArg_ParseTuple(args, "LO:indexed_dataset", &num_samples, &fetch))
        return NULL;
    st_py_state *state = PyModule_GetState(module);
    if (!PyCallable_Check(fetch)) {
        PyErr_SetString(PyExc_TypeError, "indexed_dataset: fetch must be callable");
        return NULL;
    }
    st_py_host *host = host_new(state, fetch, 0);
    if (host == NULL)
        return NULL;
    st_dataset *handle = NULL;
    int status = st_dataset_create_indexed(&handle, num_samples, fetch_trampoline, host, host_free);
    return dataset_result(state, status, handle, host);
}

PyDoc_STRVAR(stream_dataset_doc,
             "stream_dataset($module, next_batch, /)\n--\n\n"
             "An iterable dataset: next_batch(epoch, index, batch_size) -> [(name, ndarray), "
             "...] or None at the end of an epoch (st_dataset_create_stream).");

static PyObject *stream_dataset(PyObject *module, PyObject *next)
{
    st_py_state *state = PyModule_GetState(module);
    if (!PyCallable_Check(next)) {
        PyErr_SetString(PyExc_TypeError, "stream_dataset: next_batch must be callable");
        return NULL;
    }
    st_py_host *host = host_new(state, next, 0);
    if (host == NULL)
        return NULL;
    st_dataset *handle = NULL;
    int status = st_dataset_create_stream(&handle, next_trampoline, host, host_free);
    return dataset_result(state, status, handle, host);
}

PyMethodDef st_py_user_code_functions[] = {
    {"custom_module_create", custom_module_create, METH_VARARGS, custom_module_create_doc},
    {"module_add_parameter", module_add_parameter, METH_VARARGS,
     "module_add_parameter($module, custom, name, tensor, /)\n--\n\n(st_module_add_parameter)"},
    {"module_add_buffer", module_add_buffer, METH_VARARGS,
     "module_add_buffer($module, custom, name, tensor, /)\n--\n\n(st_module_add_buffer)"},
    {"module_add_child", module_add_child, METH_VARARGS,
     "module_add_child($module, custom, name, child, /)\n--\n\n(st_module_add_child)"},
    {"module_adopt", module_adopt, METH_VARARGS,
     "module_adopt($module, custom, builtin, /)\n--\n\n(st_module_adopt)"},
    {"indexed_dataset", indexed_dataset, METH_VARARGS, indexed_dataset_doc},
    {"stream_dataset", stream_dataset, METH_O, stream_dataset_doc},
    {NULL, NULL, 0, NULL},
};
