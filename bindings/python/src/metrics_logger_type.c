/*
 * metrics_logger_type.c - swifttrain._swifttrain.MetricsLogger: one st_metrics_logger.
 *
 *     m = MetricsLogger(path, format)    # format: ST_METRICS_JSONL (0) or ST_METRICS_CSV (1)
 *     m.write({"loss": 0.5, ...}, step)  # one entry, as the library's LOG events write it
 *     trainer.add_metrics_logger(m)      # the trainer's LOG events write it (trainer_type.c)
 *
 * The library formats and writes; swifttrain.callbacks.MetricsLoggerCallback is the face.
 */
#include "_swifttrain.h"

typedef struct st_py_metrics_logger {
    PyObject_HEAD
    st_metrics_logger *logger;
} st_py_metrics_logger;

ST_PY_HANDLE_FUNCTIONS(MetricsLogger, st_py_metrics_logger, logger, st_metrics_logger,
                       st_metrics_logger_free)

static PyObject *MetricsLogger_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"path", "format", NULL};
    PyObject *path = NULL;
    int format = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&i:MetricsLogger", keywords,
                                     PyUnicode_FSConverter, &path, &format))
        return NULL;
    st_metrics_logger *logger = NULL;
    int status = st_metrics_logger_create(&logger, PyBytes_AS_STRING(path),
                                          (st_metrics_format)format);
    Py_DECREF(path);
    if (status != ST_OK)
        return st_py_raise_status(st_py_state_of(type), status);
    return MetricsLogger_wrap(type, logger);
}

st_metrics_logger *st_py_metrics_logger_handle(st_py_state *state, PyObject *obj)
{
    if (!Py_IS_TYPE(obj, state->MetricsLoggerType)) {
        PyErr_Format(PyExc_TypeError, "expected a _swifttrain.MetricsLogger, got %.100s",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return ((st_py_metrics_logger *)obj)->logger;
}

PyDoc_STRVAR(MetricsLogger_write_doc,
             "write($self, metrics, step, /)\n--\n\n"
             "Appends one entry: a dict of name -> number at global step `step` "
             "(st_metrics_logger_write).");

static PyObject *MetricsLogger_write(st_py_metrics_logger *self, PyObject *args)
{
    PyObject *metrics;
    long long step;
    if (!PyArg_ParseTuple(args, "O!L:write", &PyDict_Type, &metrics, &step))
        return NULL;
    /* A snapshot: converting a value may run Python code that changes the dict. The items
     * list keeps every name alive until the library has read it. */
    PyObject *items = PyDict_Items(metrics);
    if (items == NULL)
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(items);
    const char **names = PyMem_Calloc((size_t)count + 1, sizeof *names);
    double *values = PyMem_Calloc((size_t)count + 1, sizeof *values);
    PyObject *result = NULL;
    if (names == NULL || values == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *key = PyTuple_GET_ITEM(PyList_GET_ITEM(items, i), 0);
        PyObject *value = PyTuple_GET_ITEM(PyList_GET_ITEM(items, i), 1);
        if (!PyUnicode_Check(key)) {
            PyErr_Format(PyExc_TypeError, "MetricsLogger.write: metric names must be str, got "
                         "%.100s", Py_TYPE(key)->tp_name);
            goto done;
        }
        names[i] = PyUnicode_AsUTF8(key);
        if (names[i] == NULL)
            goto done;
        values[i] = PyFloat_AsDouble(value);
        if (values[i] == -1.0 && PyErr_Occurred())
            goto done;
    }
    int status = st_metrics_logger_write(self->logger, names, values, (size_t)count,
                                         (int64_t)step);
    if (status != ST_OK) {
        st_py_raise_status(st_py_state_of(Py_TYPE(self)), status);
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(names);
    PyMem_Free(values);
    Py_DECREF(items);
    return result;
}

static PyMethodDef MetricsLogger_methods[] = {
    {"write", (PyCFunction)MetricsLogger_write, METH_VARARGS, MetricsLogger_write_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(MetricsLogger_doc,
             "MetricsLogger(path, format)\n--\n\n"
             "An st_metrics_logger writing JSON Lines (format 0) or CSV (format 1) to `path`.");

ST_PY_TYPE_SPEC(MetricsLogger, st_py_metrics_logger, Py_TPFLAGS_DEFAULT,
                {Py_tp_doc, (void *)MetricsLogger_doc},
                {Py_tp_new, (void *)MetricsLogger_new},
                {Py_tp_dealloc, (void *)MetricsLogger_dealloc},
                {Py_tp_methods, MetricsLogger_methods});

int st_py_metrics_logger_type_init(PyObject *module, st_py_state *state)
{
    return st_py_add_type(module, &MetricsLogger_spec, &state->MetricsLoggerType);
}
