/*
 * module_type.c - swifttrain._swifttrain.Module: one st_module handle.
 *
 * Modules are made by the factory functions linear_create, relu_create and
 * sequential_create (st_linear_create, st_relu_create, st_sequential_create); freeing the
 * Python object releases the handle with st_module_free. The library reference-counts
 * modules itself, so a sequential or a trainer keeps its children alive on its own.
 */
#include "_swifttrain.h"

/* Takes ownership of `handle`; frees it if the wrapper cannot be made. */
static PyObject *wrap_module(st_py_state *state, st_module *handle)
{
    st_py_module *self = (st_py_module *)state->ModuleType->tp_alloc(state->ModuleType, 0);
    if (self == NULL) {
        st_module_free(handle);
        return NULL;
    }
    self->module = handle;
    return (PyObject *)self;
}

static PyObject *Module_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)type, (void)args, (void)kwargs;
    PyErr_SetString(PyExc_TypeError,
                    "_swifttrain.Module cannot be created directly; use swifttrain.nn.Linear, "
                    "nn.ReLU or nn.Sequential");
    return NULL;
}

static void Module_dealloc(st_py_module *self)
{
    PyTypeObject *type = Py_TYPE(self);
    st_module_free(self->module);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

PyDoc_STRVAR(Module_num_parameters_doc,
             "num_parameters($self, /)\n--\n\n"
             "Number of scalar parameters (weights and biases) in the module and its "
             "children (st_module_num_parameters).");

static PyObject *Module_num_parameters(st_py_module *self, PyObject *unused)
{
    (void)unused;
    int64_t count = 0;
    int status = st_module_num_parameters(&count, self->module);
    if (status != ST_OK)
        return st_py_raise_status(st_py_state_of(Py_TYPE(self)), status);
    return PyLong_FromLongLong(count);
}

static PyMethodDef Module_methods[] = {
    {"num_parameters", (PyCFunction)Module_num_parameters, METH_NOARGS,
     Module_num_parameters_doc},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Module_slots[] = {
    {Py_tp_doc, (void *)"A swifttrain module handle (st_module)."},
    {Py_tp_new, (void *)Module_new},
    {Py_tp_dealloc, (void *)Module_dealloc},
    {Py_tp_methods, Module_methods},
    {0, NULL},
};

static PyType_Spec Module_spec = {
    .name = "swifttrain._swifttrain.Module",
    .basicsize = sizeof(st_py_module),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = Module_slots,
};

int st_py_module_type_init(PyObject *module, st_py_state *state)
{
    return st_py_add_type(module, &Module_spec, &state->ModuleType);
}

/* ---- factories ---------------------------------------------------------------------- */

PyDoc_STRVAR(linear_create_doc,
             "linear_create($module, /, in_features, out_features, bias=True)\n--\n\n"
             "A fully connected layer y = x W^T + b (st_linear_create).");

static PyObject *linear_create(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"in_features", "out_features", "bias", NULL};
    long long in_features = 0, out_features = 0;
    int bias = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "LL|p:linear_create", keywords,
                                     &in_features, &out_features, &bias))
        return NULL;
    st_py_state *state = PyModule_GetState(module);
    st_module *handle = NULL;
    int status = st_linear_create(&handle, in_features, out_features, bias != 0);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    return wrap_module(state, handle);
}

PyDoc_STRVAR(relu_create_doc,
             "relu_create($module, /)\n--\n\n"
             "Element-wise max(x, 0) (st_relu_create).");

static PyObject *relu_create(PyObject *module, PyObject *unused)
{
    (void)unused;
    st_py_state *state = PyModule_GetState(module);
    st_module *handle = NULL;
    int status = st_relu_create(&handle);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    return wrap_module(state, handle);
}

PyDoc_STRVAR(sequential_create_doc,
             "sequential_create($module, modules, /)\n--\n\n"
             "Runs `modules` (a sequence of Module) in order (st_sequential_create).");

static PyObject *sequential_create(PyObject *module, PyObject *modules)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *sequence = PySequence_Fast(modules, "sequential_create: modules must be a "
                                                  "sequence of Module objects");
    if (sequence == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence);
    st_module **handles = PyMem_New(st_module *, count > 0 ? count : 1);
    if (handles == NULL) {
        Py_DECREF(sequence);
        return PyErr_NoMemory();
    }
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(sequence, i);
        if (!Py_IS_TYPE(item, state->ModuleType)) {
            PyErr_Format(PyExc_TypeError,
                         "sequential_create: item %zd is a %.100s, not a Module", i,
                         Py_TYPE(item)->tp_name);
            goto done;
        }
        handles[i] = ((st_py_module *)item)->module;
    }
    st_module *handle = NULL;
    int status = st_sequential_create(&handle, handles, (size_t)count);
    if (status != ST_OK) {
        st_py_raise_status(state, status);
        goto done;
    }
    result = wrap_module(state, handle);
done:
    PyMem_Free(handles);
    Py_DECREF(sequence);
    return result;
}

PyMethodDef st_py_module_functions[] = {
    {"linear_create", (PyCFunction)(void (*)(void))linear_create, METH_VARARGS | METH_KEYWORDS,
     linear_create_doc},
    {"relu_create", relu_create, METH_NOARGS, relu_create_doc},
    {"sequential_create", sequential_create, METH_O, sequential_create_doc},
    {NULL, NULL, 0, NULL},
};
