/*
 * enum_names.c - the header's enums by name, for the Python package (which keeps no tables
 * of its own):
 *
 *     enum_value(kind, name) -> int        (st_enum_from_name; InvalidArgumentError, a
 *                                           ValueError, with the library's message)
 *     enum_names(kind) -> {name: value}    (st_enum_names, in the library's order)
 */
#include "_swifttrain.h"

PyDoc_STRVAR(enum_value_doc,
             "enum_value($module, kind, name, /)\n--\n\n"
             "The value of `name` in the enum `kind` (\"reduction\", \"optimizer\", ...) "
             "(st_enum_from_name).");

static PyObject *enum_value(PyObject *module, PyObject *args)
{
    const char *kind = NULL, *name = NULL;
    if (!PyArg_ParseTuple(args, "ss:enum_value", &kind, &name))
        return NULL;
    int value = 0;
    int status = st_enum_from_name(&value, kind, name);
    if (status != ST_OK)
        return st_py_raise_status(PyModule_GetState(module), status);
    return PyLong_FromLong(value);
}

PyDoc_STRVAR(enum_names_doc,
             "enum_names($module, kind, /)\n--\n\n"
             "Every name of the enum `kind` with its value, in the library's order "
             "(st_enum_names).");

static PyObject *enum_names(PyObject *module, PyObject *arg)
{
    st_py_state *state = PyModule_GetState(module);
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "enum_names: kind must be a str, got %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    const char *kind = PyUnicode_AsUTF8(arg);
    if (kind == NULL)
        return NULL;
    size_t count = 0;
    int status = st_enum_names(NULL, NULL, 0, &count, kind);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    const char **names = PyMem_Calloc(count ? count : 1, sizeof *names);
    int *values = PyMem_Calloc(count ? count : 1, sizeof *values);
    PyObject *result = NULL;
    if (names == NULL || values == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    status = st_enum_names(names, values, count, &count, kind);
    if (status != ST_OK) {
        st_py_raise_status(state, status);
        goto done;
    }
    result = PyDict_New();
    if (result == NULL)
        goto done;
    for (size_t i = 0; i < count; i++) {
        PyObject *value = PyLong_FromLong(values[i]);
        if (value == NULL || PyDict_SetItemString(result, names[i], value) < 0) {
            Py_XDECREF(value);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(value);
    }
done:
    PyMem_Free(names);
    PyMem_Free(values);
    return result;
}

PyMethodDef st_py_enum_name_functions[] = {
    {"enum_value", enum_value, METH_VARARGS, enum_value_doc},
    {"enum_names", enum_names, METH_O, enum_names_doc},
    {NULL, NULL, 0, NULL},
};
