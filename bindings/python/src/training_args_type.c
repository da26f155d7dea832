/*
 * training_args_type.c - swifttrain._swifttrain.TrainingArgs: one st_training_args.
 *
 *     args = TrainingArgs()                  # st_training_args_init: the library's defaults
 *     args.set("learning_rate", "0.001")     # st_training_args_set: HF name, string value
 *     args.validate()                        # st_training_args_validate
 *     args.update({"learning_rate": "0.001", "optim": "sgd"})  # all at once, validated
 *     args.as_dict()                         # every field by HF name (st_training_args_json)
 *     TrainingArgs.fields()                  # the table of arguments (st_training_args_fields)
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
    return st_py_none_or_raise(ST_PY_STATE(self), st_training_args_set(&self->args, name, value));
}

PyDoc_STRVAR(TrainingArgs_validate_doc,
             "validate($self, /)\n--\n\n"
             "Checks every field (st_training_args_validate); raises InvalidArgumentError "
             "naming the first bad one.");

static PyObject *TrainingArgs_validate(st_py_training_args *self, PyObject *unused)
{
    (void)unused;
    return st_py_none_or_raise(ST_PY_STATE(self), st_training_args_validate(&self->args));
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
    result = st_py_none_or_raise(ST_PY_STATE(self),
                                 st_training_args_update(&self->args, names, texts, (size_t)count));
done:
    PyMem_Free(names);
    PyMem_Free(texts);
    return result;
}

PyDoc_STRVAR(TrainingArgs_as_dict_doc,
             "as_dict($self, /)\n--\n\n"
             "Every field by its HF name (st_training_args_json): enums by name, None as None, "
             "lists and dicts as HF holds them.");

/* json.loads(text), stealing the reference to `text`. */
static PyObject *json_loads(PyObject *text)
{
    PyObject *json = text != NULL ? PyImport_ImportModule("json") : NULL;
    PyObject *result = json != NULL ? PyObject_CallMethod(json, "loads", "O", text) : NULL;
    Py_XDECREF(json);
    Py_XDECREF(text);
    return result;
}

static PyObject *TrainingArgs_as_dict(st_py_training_args *self, PyObject *unused)
{
    (void)unused;
    return json_loads(
        st_py_text(ST_PY_STATE(self), (st_py_text_fn)st_training_args_json, &self->args, "strict"));
}

PyDoc_STRVAR(TrainingArgs_fields_doc,
             "fields($type, /)\n--\n\n"
             "Every training argument as a list of dicts (st_training_args_fields): name, category "
             "(honoured, no_effect, refused), kind, optional, default, note, hf.");

static int fields_text(char *buffer, size_t capacity, size_t *length, const void *unused)
{
    (void)unused;
    return st_training_args_fields(buffer, capacity, length);
}

static PyObject *TrainingArgs_fields(PyTypeObject *type, PyObject *unused)
{
    (void)unused;
    return json_loads(st_py_text(st_py_state_of(type), fields_text, NULL, "strict"));
}

static PyMethodDef TrainingArgs_methods[] = {
    {"set", (PyCFunction)TrainingArgs_set, METH_VARARGS, TrainingArgs_set_doc},
    {"validate", (PyCFunction)TrainingArgs_validate, METH_NOARGS, TrainingArgs_validate_doc},
    {"update", (PyCFunction)TrainingArgs_update, METH_O, TrainingArgs_update_doc},
    {"as_dict", (PyCFunction)TrainingArgs_as_dict, METH_NOARGS, TrainingArgs_as_dict_doc},
    {"fields", (PyCFunction)TrainingArgs_fields, METH_CLASS | METH_NOARGS, TrainingArgs_fields_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(TrainingArgs_doc,
             "TrainingArgs()\n--\n\n"
             "An st_training_args filled with the library's defaults.");

ST_PY_TYPE_SPEC(TrainingArgs, st_py_training_args, Py_TPFLAGS_DEFAULT,
                {Py_tp_doc, (void *)TrainingArgs_doc}, {Py_tp_new, (void *)TrainingArgs_new},
                {Py_tp_dealloc, (void *)TrainingArgs_dealloc},
                {Py_tp_methods, TrainingArgs_methods});

int st_py_training_args_type_init(PyObject *module, st_py_state *state)
{
    return st_py_add_type(module, &TrainingArgs_spec, &state->TrainingArgsType);
}
