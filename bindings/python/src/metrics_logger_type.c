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
    st_py_numbers numbers;
    if (!PyArg_ParseTuple(args, "OL:write", &metrics, &step)
        || st_py_numbers_from_dict(&numbers, metrics, "MetricsLogger.write") < 0)
        return NULL;
    int status = st_metrics_logger_write(self->logger, numbers.names, numbers.values,
                                         numbers.count, (int64_t)step);
    st_py_numbers_free(&numbers);
    return st_py_none_or_raise(st_py_state_of(Py_TYPE(self)), status);
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
