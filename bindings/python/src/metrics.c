/*
 * metrics.c - st_metrics and st_trainer_state as Python dicts.
 */
#include "_swifttrain.h"

#include <math.h>

#include <stddef.h>

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
    if (s->struct_size < offsetof(st_trainer_state, best_model_checkpoint) + sizeof(s->best_model_checkpoint))
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
