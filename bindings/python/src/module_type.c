/*
 * module_type.c - swifttrain._swifttrain.Module: one st_module handle.
 *
 * Modules are made by sequential_create (st_sequential_create) here and the layer
 * constructors in layers.c; freeing the Python object releases the handle with
 * st_module_free. The library reference-counts modules itself, so a sequential or a
 * trainer keeps its children alive on its own.
 *
 * Methods: forward, attention_forward, train, named_parameters, state_dict,
 * load_state_dict, zero_grad, num_parameters. Named tensors (st_named_tensors) travel as
 * lists of (name, Tensor) pairs; the tensors share memory with the module.
 */
#include "_swifttrain.h"

ST_PY_HANDLE_FUNCTIONS(Module, st_py_module, module, st_module, st_module_free)

PyObject *st_py_module_wrap(st_py_state *state, st_module *handle)
{
    return Module_wrap(state->ModuleType, handle);
}

PyObject *st_py_module_result(st_py_state *state, int status, st_module *handle)
{
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    return st_py_module_wrap(state, handle);
}

static PyObject *Module_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)type, (void)args, (void)kwargs;
    PyErr_SetString(PyExc_TypeError,
                    "_swifttrain.Module cannot be created directly; use swifttrain.nn.Linear, "
                    "nn.ReLU or nn.Sequential");
    return NULL;
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

PyDoc_STRVAR(Module_forward_doc,
             "forward($self, input, /)\n--\n\n"
             "Runs the module on a Tensor (st_module_forward).");

static PyObject *Module_forward(st_py_module *self, PyObject *arg)
{
    st_py_state *state = st_py_state_of(Py_TYPE(self));
    PyObject *input = NULL;
    if (st_py_tensor_arg(state, arg, "forward: input", &input) < 0)
        return NULL;
    st_tensor *out = NULL;
    int status = st_module_forward(&out, self->module, st_py_handle(input));
    return ST_PY_RESULT(state, status, out, input);
}

PyDoc_STRVAR(Module_attention_forward_doc,
             "attention_forward($self, query, key, value, mask, is_causal, need_weights, /)"
             "\n--\n\n"
             "(output, weights averaged over heads or None) of a MultiheadAttention, or "
             "(output, None) of a TransformerEncoderLayer (key and value None) "
             "(st_attention_forward). mask: bool (True = may not attend) or float (added), "
             "or None.");

static PyObject *Module_attention_forward(st_py_module *self, PyObject *args)
{
    st_py_state *state = st_py_state_of(Py_TYPE(self));
    PyObject *q_obj, *k_obj, *v_obj, *m_obj, *q, *k, *v, *m;
    int is_causal = 0, need_weights = 0;
    if (!PyArg_ParseTuple(args, "OOOOpp:attention_forward", &q_obj, &k_obj, &v_obj, &m_obj,
                          &is_causal, &need_weights) ||
        st_py_tensor_arg(state, q_obj, "query", &q) < 0 ||
        st_py_optional_tensor_arg(state, k_obj, "key", &k) < 0 ||
        st_py_optional_tensor_arg(state, v_obj, "value", &v) < 0 ||
        st_py_optional_tensor_arg(state, m_obj, "mask", &m) < 0)
        return NULL;
    st_tensor *out = NULL, *weights = NULL;
    int status = st_attention_forward(&out, need_weights ? &weights : NULL, self->module,
                                      st_py_handle(q), st_py_handle_or_null(k),
                                      st_py_handle_or_null(v), st_py_handle_or_null(m),
                                      is_causal != 0);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    PyObject *sources[] = {q, k, v, m};
    return st_py_tensor_pair(state, out, weights, sources, 4);
}

PyDoc_STRVAR(Module_train_doc,
             "train($self, mode, /)\n--\n\n"
             "Training (True) or evaluation (False) mode, for the module and its children "
             "(st_module_train).");

static PyObject *Module_train(st_py_module *self, PyObject *arg)
{
    int mode = PyObject_IsTrue(arg);
    if (mode < 0)
        return NULL;
    return st_py_none_or_raise(ST_PY_STATE(self), st_module_train(self->module, mode != 0));
}

PyDoc_STRVAR(Module_zero_grad_doc,
             "zero_grad($self, /)\n--\n\nDrops every parameter's gradient "
             "(st_module_zero_grad).");

static PyObject *Module_zero_grad(st_py_module *self, PyObject *unused)
{
    (void)unused;
    return st_py_none_or_raise(ST_PY_STATE(self), st_module_zero_grad(self->module));
}

PyObject *st_py_named_tensors_to_list(st_py_state *state, st_named_tensors *named)
{
    size_t count = st_named_tensors_count(named);
    PyObject *list = PyList_New((Py_ssize_t)count);
    for (size_t i = 0; list != NULL && i < count; i++) {
        const char *name = NULL;
        st_tensor *handle = NULL;
        int status = st_named_tensors_entry(&name, &handle, named, i);
        PyObject *tensor = status == ST_OK ? st_py_tensor_wrap(state, handle, 0, NULL, 0)
                                           : st_py_raise_status(state, status);
        PyObject *pair = tensor != NULL ? Py_BuildValue("(sN)", name, tensor) : NULL;
        if (pair == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, pair);
    }
    st_named_tensors_free(named);
    return list;
}

st_named_tensors *st_py_named_tensors_from_items(st_py_state *state, PyObject *items,
                                                 const char *what)
{
    PyObject *sequence = PySequence_Fast(items, "items must be a sequence of (name, Tensor) "
                                                "pairs");
    if (sequence == NULL)
        return NULL;
    st_named_tensors *list = NULL;
    int status = st_named_tensors_create(&list);
    if (status != ST_OK) {
        st_py_raise_status(state, status);
        goto fail;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(sequence); i++) {
        const char *name = NULL;
        PyObject *tensor = NULL;
        PyObject *item = PySequence_Fast_GET_ITEM(sequence, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_Format(PyExc_TypeError, "%s: items must be (name, Tensor) pairs, got %.100s",
                         what, Py_TYPE(item)->tp_name);
            goto fail;
        }
        if (!PyArg_ParseTuple(item, "sO!", &name, state->TensorType, &tensor))
            goto fail;
        status = st_named_tensors_add(list, name, st_py_handle(tensor));
        if (status != ST_OK) {
            st_py_raise_status(state, status);
            goto fail;
        }
    }
    Py_DECREF(sequence);
    return list;
fail:
    st_named_tensors_free(list);
    Py_DECREF(sequence);
    return NULL;
}

/* Module_<name>: the named tensors of st_module_<name>, as a list. */
#define NAMED(name, doc)                                                                   \
    PyDoc_STRVAR(Module_##name##_doc, #name "($self, /)\n--\n\n" doc " (st_module_" #name ")."); \
    static PyObject *Module_##name(st_py_module *self, PyObject *unused)                   \
    {                                                                                      \
        (void)unused;                                                                      \
        st_named_tensors *list = NULL;                                                     \
        int status = st_module_##name(&list, self->module);                                \
        if (status != ST_OK)                                                               \
            return st_py_raise_status(ST_PY_STATE(self), status);                          \
        return st_py_named_tensors_to_list(ST_PY_STATE(self), list);                       \
    }

NAMED(named_parameters, "[(name, Tensor), ...] sharing memory with the module")
NAMED(state_dict, "[(name, Tensor), ...]: parameters and buffers")

PyDoc_STRVAR(Module_load_state_dict_doc,
             "load_state_dict($self, items, strict, /)\n--\n\n"
             "Copies values from (name, Tensor) pairs by name (st_module_load_state_dict); "
             "raises StateDictError naming every offending key.");

static PyObject *Module_load_state_dict(st_py_module *self, PyObject *args)
{
    st_py_state *state = st_py_state_of(Py_TYPE(self));
    PyObject *items = NULL;
    int strict = 1;
    if (!PyArg_ParseTuple(args, "Op:load_state_dict", &items, &strict))
        return NULL;
    st_named_tensors *list = st_py_named_tensors_from_items(state, items, "load_state_dict");
    if (list == NULL)
        return NULL;
    int status = st_module_load_state_dict(self->module, list, strict != 0);
    st_named_tensors_free(list);
    if (status != ST_OK)
        return st_py_raise_state_dict_status(state, status);
    Py_RETURN_NONE;
}

#define METHOD(name, flags) {#name, (PyCFunction)Module_##name, flags, Module_##name##_doc}

static PyMethodDef Module_methods[] = {
    METHOD(num_parameters, METH_NOARGS), METHOD(forward, METH_O),
    METHOD(attention_forward, METH_VARARGS), METHOD(train, METH_O),
    METHOD(zero_grad, METH_NOARGS), METHOD(named_parameters, METH_NOARGS),
    METHOD(state_dict, METH_NOARGS), METHOD(load_state_dict, METH_VARARGS),
    {NULL, NULL, 0, NULL},
};

ST_PY_TYPE_SPEC(Module, st_py_module, Py_TPFLAGS_DEFAULT,
                {Py_tp_doc, (void *)"A swifttrain module handle (st_module)."},
                {Py_tp_new, (void *)Module_new}, {Py_tp_dealloc, (void *)Module_dealloc},
                {Py_tp_methods, Module_methods});

int st_py_module_type_init(PyObject *module, st_py_state *state)
{
    return st_py_add_type(module, &Module_spec, &state->ModuleType);
}

/* ---- factories ---------------------------------------------------------------------- */

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
    result = st_py_module_result(state, status, handle);
done:
    PyMem_Free(handles);
    Py_DECREF(sequence);
    return result;
}

PyMethodDef st_py_module_functions[] = {
    {"sequential_create", sequential_create, METH_O, sequential_create_doc},
    {NULL, NULL, 0, NULL},
};
