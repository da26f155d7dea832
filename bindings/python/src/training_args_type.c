/*
 * training_args_type.c - swifttrain._swifttrain.TrainingArgs: one st_training_args.
 *
 *     args = TrainingArgs()                  # st_training_args_init: the library's defaults
 *     args.set("learning_rate", "0.001")     # st_training_args_set: HF name, string value
 *     args.validate()                        # st_training_args_validate
 *     args.as_dict()                         # the struct's fields (enums as their numbers)
 *
 * The library parses and checks every value; this type only carries strings to it.
 */
#include "_swifttrain.h"

#include <string.h>

static PyObject *TrainingArgs_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, ":TrainingArgs", keywords))
        return NULL;
    st_py_training_args *self = (st_py_training_args *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    int status = st_training_args_init(&self->args, ST_TRAINING_ARGS_VERSION);
    if (status != ST_OK) {
        Py_DECREF(self);
        return st_py_raise_status(st_py_state_of(type), status);
    }
    return (PyObject *)self;
}

static void TrainingArgs_dealloc(st_py_training_args *self)
{
    PyTypeObject *type = Py_TYPE(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

PyDoc_STRVAR(TrainingArgs_set_doc,
             "set($self, name, value, /)\n--\n\n"
             "Sets one field by its HuggingFace name from a string (st_training_args_set).");

static PyObject *TrainingArgs_set(st_py_training_args *self, PyObject *args)
{
    const char *name = NULL, *value = NULL;
    if (!PyArg_ParseTuple(args, "ss:set", &name, &value))
        return NULL;
    int status = st_training_args_set(&self->args, name, value);
    if (status != ST_OK)
        return st_py_raise_status(st_py_state_of(Py_TYPE(self)), status);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(TrainingArgs_validate_doc,
             "validate($self, /)\n--\n\n"
             "Checks every field (st_training_args_validate); raises InvalidArgumentError "
             "naming the first bad one.");

static PyObject *TrainingArgs_validate(st_py_training_args *self, PyObject *unused)
{
    (void)unused;
    int status = st_training_args_validate(&self->args);
    if (status != ST_OK)
        return st_py_raise_status(st_py_state_of(Py_TYPE(self)), status);
    Py_RETURN_NONE;
}

static int put(PyObject *dict, const char *key, PyObject *value)
{
    if (value == NULL)
        return -1;
    int rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

/* An option-string field (NUL-terminated within ST_OPTIONS_CAPACITY). */
static PyObject *option_text(const char *field)
{
    return PyUnicode_DecodeUTF8(field, (Py_ssize_t)strnlen(field, ST_OPTIONS_CAPACITY),
                                "replace");
}

PyDoc_STRVAR(TrainingArgs_as_dict_doc,
             "as_dict($self, /)\n--\n\n"
             "The fields of st_training_args by name; enum fields as their numeric values, "
             "option strings as str.");

static PyObject *TrainingArgs_as_dict(st_py_training_args *self, PyObject *unused)
{
    (void)unused;
    const st_training_args *a = &self->args;
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    if (put(d, "version", PyLong_FromUnsignedLong(a->version)) < 0 ||
        put(d, "num_train_epochs", PyFloat_FromDouble(a->num_train_epochs)) < 0 ||
        put(d, "max_steps", PyLong_FromLongLong(a->max_steps)) < 0 ||
        put(d, "per_device_train_batch_size",
            PyLong_FromLongLong(a->per_device_train_batch_size)) < 0 ||
        put(d, "per_device_eval_batch_size",
            PyLong_FromLongLong(a->per_device_eval_batch_size)) < 0 ||
        put(d, "optim", PyLong_FromLong((long)a->optim)) < 0 ||
        put(d, "learning_rate", PyFloat_FromDouble(a->learning_rate)) < 0 ||
        put(d, "weight_decay", PyFloat_FromDouble(a->weight_decay)) < 0 ||
        put(d, "adam_beta1", PyFloat_FromDouble(a->adam_beta1)) < 0 ||
        put(d, "adam_beta2", PyFloat_FromDouble(a->adam_beta2)) < 0 ||
        put(d, "adam_epsilon", PyFloat_FromDouble(a->adam_epsilon)) < 0 ||
        put(d, "sgd_momentum", PyFloat_FromDouble(a->sgd_momentum)) < 0 ||
        put(d, "max_grad_norm", PyFloat_FromDouble(a->max_grad_norm)) < 0 ||
        put(d, "lr_scheduler_type", PyLong_FromLong((long)a->lr_scheduler_type)) < 0 ||
        put(d, "warmup_steps", PyFloat_FromDouble(a->warmup_steps)) < 0 ||
        put(d, "logging_strategy", PyLong_FromLong((long)a->logging_strategy)) < 0 ||
        put(d, "logging_steps", PyFloat_FromDouble(a->logging_steps)) < 0 ||
        put(d, "logging_first_step", PyBool_FromLong(a->logging_first_step)) < 0 ||
        put(d, "eval_strategy", PyLong_FromLong((long)a->eval_strategy)) < 0 ||
        put(d, "eval_steps", PyFloat_FromDouble(a->eval_steps)) < 0 ||
        put(d, "seed", PyLong_FromLongLong(a->seed)) < 0 ||
        put(d, "data_seed", PyLong_FromLongLong(a->data_seed)) < 0 ||
        put(d, "dataloader_drop_last", PyBool_FromLong(a->dataloader_drop_last)) < 0 ||
        put(d, "gradient_accumulation_steps",
            PyLong_FromLongLong(a->gradient_accumulation_steps)) < 0 ||
        put(d, "max_micro_batch_size", PyLong_FromLongLong(a->max_micro_batch_size)) < 0 ||
        put(d, "warmup_ratio", PyFloat_FromDouble(a->warmup_ratio)) < 0 ||
        put(d, "max_grad_value", PyFloat_FromDouble(a->max_grad_value)) < 0 ||
        put(d, "nonfinite_grad_norm", PyLong_FromLong((long)a->nonfinite_grad_norm)) < 0 ||
        put(d, "ema_decay", PyFloat_FromDouble(a->ema_decay)) < 0 ||
        put(d, "momentum_scheduler_type", PyLong_FromLong((long)a->momentum_scheduler_type)) < 0 ||
        put(d, "optim_args", option_text(a->optim_args)) < 0 ||
        put(d, "lr_scheduler_kwargs", option_text(a->lr_scheduler_kwargs)) < 0 ||
        put(d, "momentum_scheduler_kwargs", option_text(a->momentum_scheduler_kwargs)) < 0 ||
        put(d, "metric_for_best_model", option_text(a->metric_for_best_model)) < 0 ||
        put(d, "logging_nan_inf_filter", PyBool_FromLong(a->logging_nan_inf_filter)) < 0 ||
        put(d, "eval_delay", PyFloat_FromDouble(a->eval_delay)) < 0 ||
        put(d, "eval_on_start", PyBool_FromLong(a->eval_on_start)) < 0 ||
        put(d, "greater_is_better", PyLong_FromLong(a->greater_is_better)) < 0 ||
        put(d, "load_best_model_at_end", PyBool_FromLong(a->load_best_model_at_end)) < 0 ||
        put(d, "early_stopping_patience", PyLong_FromLongLong(a->early_stopping_patience)) < 0 ||
        put(d, "early_stopping_threshold", PyFloat_FromDouble(a->early_stopping_threshold)) < 0 ||
        put(d, "dataloader_shuffle", PyBool_FromLong(a->dataloader_shuffle)) < 0 ||
        put(d, "ignore_data_skip", PyBool_FromLong(a->ignore_data_skip)) < 0 ||
        put(d, "label_smoothing_factor", PyFloat_FromDouble(a->label_smoothing_factor)) < 0 ||
        put(d, "label_names", option_text(a->label_names)) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

static PyMethodDef TrainingArgs_methods[] = {
    {"set", (PyCFunction)TrainingArgs_set, METH_VARARGS, TrainingArgs_set_doc},
    {"validate", (PyCFunction)TrainingArgs_validate, METH_NOARGS, TrainingArgs_validate_doc},
    {"as_dict", (PyCFunction)TrainingArgs_as_dict, METH_NOARGS, TrainingArgs_as_dict_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(TrainingArgs_doc,
             "TrainingArgs()\n--\n\n"
             "An st_training_args filled with the library's defaults.");

static PyType_Slot TrainingArgs_slots[] = {
    {Py_tp_doc, (void *)TrainingArgs_doc},
    {Py_tp_new, (void *)TrainingArgs_new},
    {Py_tp_dealloc, (void *)TrainingArgs_dealloc},
    {Py_tp_methods, TrainingArgs_methods},
    {0, NULL},
};

static PyType_Spec TrainingArgs_spec = {
    .name = "swifttrain._swifttrain.TrainingArgs",
    .basicsize = sizeof(st_py_training_args),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = TrainingArgs_slots,
};

int st_py_training_args_type_init(PyObject *module, st_py_state *state)
{
    return st_py_add_type(module, &TrainingArgs_spec, &state->TrainingArgsType);
}
