/*
 * training_args_type.c - swifttrain._swifttrain.TrainingArgs: one st_training_args.
 *
 *     args = TrainingArgs()                  # st_training_args_init: the library's defaults
 *     args.set("learning_rate", "0.001")     # st_training_args_set: HF name, string value
 *     args.validate()                        # st_training_args_validate
 *     args.update({"learning_rate": "0.001", "optim": "sgd"})  # all at once, validated
 *     args.as_dict()                         # training_args.json's fields (enums by name)
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

PyDoc_STRVAR(TrainingArgs_update_doc,
             "update($self, values, /)\n--\n\n"
             "Sets every field of the dict `values` (HF name -> string) and validates, in one "
             "call (st_training_args_update); on an error nothing changes.");

static PyObject *TrainingArgs_update(st_py_training_args *self, PyObject *values)
{
    if (!PyDict_Check(values))
        return PyErr_Format(PyExc_TypeError, "TrainingArgs.update: expected a dict, got %.100s",
                            Py_TYPE(values)->tp_name);
    Py_ssize_t count = PyDict_Size(values), i = 0, position = 0;
    const char **names = PyMem_Calloc((size_t)count + 1, sizeof(char *));
    const char **texts = PyMem_Calloc((size_t)count + 1, sizeof(char *));
    PyObject *key, *value, *result = NULL;
    if (names == NULL || texts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    while (PyDict_Next(values, &position, &key, &value)) { /* borrowed: valid while the dict is */
        if ((names[i] = PyUnicode_AsUTF8(key)) == NULL || (texts[i] = PyUnicode_AsUTF8(value)) == NULL)
            goto done;
        i++;
    }
    int status = st_training_args_update(&self->args, names, texts, (size_t)count);
    if (status != ST_OK) {
        st_py_raise_status(st_py_state_of(Py_TYPE(self)), status);
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(names);
    PyMem_Free(texts);
    return result;
}

PyDoc_STRVAR(TrainingArgs_as_dict_doc,
             "as_dict($self, /)\n--\n\n"
             "Every field by its HF name, as the library writes training_args.json "
             "(st_training_args_json): enums by name, option strings as str.");

static PyObject *TrainingArgs_as_dict(st_py_training_args *self, PyObject *unused)
{
    (void)unused;
    size_t length = 0;
    int status = st_training_args_json(NULL, 0, &length, &self->args);
    if (status != ST_OK && status != ST_ESHAPE)
        return st_py_raise_status(st_py_state_of(Py_TYPE(self)), status);
    char *text = PyMem_Malloc(length + 1);
    if (text == NULL)
        return PyErr_NoMemory();
    status = st_training_args_json(text, length + 1, &length, &self->args);
    PyObject *result = NULL;
    if (status != ST_OK) {
        st_py_raise_status(st_py_state_of(Py_TYPE(self)), status);
    } else {
        PyObject *json = PyImport_ImportModule("json");
        if (json != NULL)
            result = PyObject_CallMethod(json, "loads", "s#", text, (Py_ssize_t)length);
        Py_XDECREF(json);
    }
    PyMem_Free(text);
    return result;
}

static PyMethodDef TrainingArgs_methods[] = {
    {"set", (PyCFunction)TrainingArgs_set, METH_VARARGS, TrainingArgs_set_doc},
    {"validate", (PyCFunction)TrainingArgs_validate, METH_NOARGS, TrainingArgs_validate_doc},
    {"update", (PyCFunction)TrainingArgs_update, METH_O, TrainingArgs_update_doc},
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
