/*
 * metrics.c - st_metrics and st_trainer_state as Python dicts, and dicts of numbers as the
 * arrays the library's writers take (st_trainer_log, st_metrics_logger_write).
 */
#include "_swifttrain.h"

#include <math.h>

#include <stddef.h>
#include <string.h>

PyObject *st_py_metrics_to_dict(st_py_state *state, const st_metrics *metrics)
{
    PyObject *dict = PyDict_New();
    if (dict == NULL)
        return NULL;
    size_t count = st_metrics_count(metrics);
    for (size_t i = 0; i < count; i++) {
        const char *name = NULL;
        double value = 0.0;
        int status = st_metrics_entry(&name, &value, metrics, i);
        if (status != ST_OK) {
            Py_DECREF(dict);
            return st_py_raise_status(state, status);
        }
        PyObject *number = PyFloat_FromDouble(value);
        if (number == NULL || PyDict_SetItemString(dict, name, number) < 0) {
            Py_XDECREF(number);
            Py_DECREF(dict);
            return NULL;
        }
        Py_DECREF(number);
    }
    return dict;
}

static int set_item(PyObject *dict, const char *key, PyObject *value)
{
    if (value == NULL)
        return -1;
    int rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

PyObject *st_py_trainer_state_to_dict(st_py_state *state, const st_trainer_state *s)
{
    /* The library says how large its st_trainer_state is; every field read here must be
     * inside it. */
    if (s->struct_size < offsetof(st_trainer_state, is_local_process_zero) + sizeof(s->is_local_process_zero))
        return st_py_raise(state, ST_ERROR,
                           "libswifttrain passed a st_trainer_state of %u bytes; this binding "
                           "needs %zu. Reinstall swifttrain so the extension and the library "
                           "match.",
                           (unsigned)s->struct_size, sizeof(st_trainer_state));
    PyObject *dict = PyDict_New();
    if (dict == NULL)
        return NULL;
    if (set_item(dict, "epoch", PyFloat_FromDouble(s->epoch)) < 0 ||
        set_item(dict, "global_step", PyLong_FromLongLong(s->global_step)) < 0 ||
        set_item(dict, "max_steps", PyLong_FromLongLong(s->max_steps)) < 0 ||
        set_item(dict, "num_train_epochs", PyLong_FromLongLong(s->num_train_epochs)) < 0 ||
        set_item(dict, "train_batch_size", PyLong_FromLongLong(s->train_batch_size)) < 0 ||
        set_item(dict, "logging_steps", PyLong_FromLongLong(s->logging_steps)) < 0 ||
        set_item(dict, "eval_steps", PyLong_FromLongLong(s->eval_steps)) < 0 ||
        set_item(dict, "loss", PyFloat_FromDouble(s->loss)) < 0 ||
        set_item(dict, "learning_rate", PyFloat_FromDouble(s->learning_rate)) < 0 ||
        set_item(dict, "grad_norm", PyFloat_FromDouble(s->grad_norm)) < 0 ||
        set_item(dict, "micro_step", PyLong_FromLongLong(s->micro_step)) < 0 ||
        set_item(dict, "total_flos", PyFloat_FromDouble(s->total_flos)) < 0 ||
        set_item(dict, "best_metric", isnan(s->best_metric) ? Py_NewRef(Py_None)
                                                            : PyFloat_FromDouble(s->best_metric)) < 0 ||
        set_item(dict, "best_global_step", s->best_global_step < 0 ? Py_NewRef(Py_None)
                                                                   : PyLong_FromLongLong(s->best_global_step)) < 0 ||
        set_item(dict, "skipped_steps", PyLong_FromLongLong(s->skipped_steps)) < 0 ||
        set_item(dict, "eval_batches", PyLong_FromLongLong(s->eval_batches)) < 0 ||
        set_item(dict, "save_steps", PyLong_FromLongLong(s->save_steps)) < 0 ||
        set_item(dict, "world_size", PyLong_FromLongLong(s->world_size)) < 0 ||
        set_item(dict, "process_index", PyLong_FromLongLong(s->process_index)) < 0 ||
        set_item(dict, "is_world_process_zero", PyBool_FromLong(s->is_world_process_zero)) < 0 ||
        set_item(dict, "is_local_process_zero", PyBool_FromLong(s->is_local_process_zero)) < 0 ||
        set_item(dict, "best_model_checkpoint",
                 s->best_model_checkpoint != NULL ? PyUnicode_DecodeFSDefault(s->best_model_checkpoint)
                                                  : Py_NewRef(Py_None)) < 0 ||
        set_item(dict, "metrics", s->metrics != NULL ? st_py_metrics_to_dict(state, s->metrics)
                                                     : Py_NewRef(Py_None)) < 0) {
        Py_DECREF(dict);
        return NULL;
    }
    return dict;
}

int st_py_numbers_from_dict(st_py_numbers *out, PyObject *dict, const char *what)
{
    memset(out, 0, sizeof *out);
    if (!PyDict_Check(dict)) {
        PyErr_Format(PyExc_TypeError, "%s: expected a dict of name -> number, got %.100s", what,
                     Py_TYPE(dict)->tp_name);
        return -1;
    }
    /* A snapshot: converting a value may run Python code that changes the dict. */
    if ((out->items = PyDict_Items(dict)) == NULL)
        return -1;
    Py_ssize_t count = PyList_GET_SIZE(out->items);
    out->names = PyMem_Calloc((size_t)count + 1, sizeof *out->names);
    out->values = PyMem_Calloc((size_t)count + 1, sizeof *out->values);
    if (out->names == NULL || out->values == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *key = PyTuple_GET_ITEM(PyList_GET_ITEM(out->items, i), 0);
        PyObject *value = PyTuple_GET_ITEM(PyList_GET_ITEM(out->items, i), 1);
        if (!PyUnicode_Check(key)) {
            PyErr_Format(PyExc_TypeError, "%s: metric names must be str, got %.100s", what,
                         Py_TYPE(key)->tp_name);
            goto fail;
        }
        if ((out->names[i] = PyUnicode_AsUTF8(key)) == NULL)
            goto fail;
        out->values[i] = PyFloat_AsDouble(value);
        if (out->values[i] == -1.0 && PyErr_Occurred())
            goto fail;
    }
    out->count = (size_t)count;
    return 0;
fail:
    st_py_numbers_free(out);
    return -1;
}

void st_py_numbers_free(st_py_numbers *numbers)
{
    PyMem_Free(numbers->names);
    PyMem_Free(numbers->values);
    Py_CLEAR(numbers->items);
    memset(numbers, 0, sizeof *numbers);
}
