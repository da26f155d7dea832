/*
 * enum_names.c - the header's enums by name, for the Python package (which keeps no tables
 * of its own):
 *
 *     enum_value(kind, name) -> int        (st_enum_from_name; InvalidArgumentError, a
 *                                           ValueError, with the library's message)
 *     enum_names(kind) -> {name: value}    (st_enum_names, in the library's order)
 *
 * and the names-and-values protocol st_enum_names shares with st_layer_defaults (layers.c).
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

/* st_layer_defaults (double values) or st_enum_names (int values). */
static int names_and_values(int layer_defaults, const char **names, void *values,
                            size_t capacity, size_t *count, const char *key)
{
    return layer_defaults ? st_layer_defaults(names, values, capacity, count, key)
                          : st_enum_names(names, values, capacity, count, key);
}

PyObject *st_py_names_and_values(PyObject *module, PyObject *key, const char *what,
                                 int layer_defaults)
{
    st_py_state *state = PyModule_GetState(module);
    if (!PyUnicode_Check(key)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, got %.100s", what,
                     Py_TYPE(key)->tp_name);
        return NULL;
    }
    const char *name = PyUnicode_AsUTF8(key);
    if (name == NULL)
        return NULL;
    size_t count = 0;
    int status = names_and_values(layer_defaults, NULL, NULL, 0, &count, name);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    const char **names = PyMem_Calloc(count ? count : 1, sizeof *names);
    void *values = PyMem_Calloc(count ? count : 1, sizeof(double)); /* room for an int too */
    PyObject *result = NULL;
    if (names == NULL || values == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (count > 0 && (status = names_and_values(layer_defaults, names, values, count, &count,
                                                 name)) != ST_OK) {
        st_py_raise_status(state, status);
        goto done;
    }
    result = PyDict_New();
    for (size_t i = 0; result != NULL && i < count; i++) {
        PyObject *value = layer_defaults ? PyFloat_FromDouble(((double *)values)[i])
                                         : PyLong_FromLong(((int *)values)[i]);
        if (value == NULL || PyDict_SetItemString(result, names[i], value) < 0)
            Py_CLEAR(result);
        Py_XDECREF(value);
    }
done:
    PyMem_Free(names);
    PyMem_Free(values);
    return result;
}

PyDoc_STRVAR(enum_names_doc,
             "enum_names($module, kind, /)\n--\n\n"
             "Every name of the enum `kind` with its value, in the library's order "
             "(st_enum_names).");

static PyObject *enum_names(PyObject *module, PyObject *arg)
{
    return st_py_names_and_values(module, arg, "enum_names: kind", 0);
}

PyMethodDef st_py_enum_name_functions[] = {
    {"enum_value", enum_value, METH_VARARGS, enum_value_doc},
    {"enum_names", enum_names, METH_O, enum_names_doc},
    {NULL, NULL, 0, NULL},
};
