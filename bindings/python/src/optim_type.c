/*
 * optim_type.c - swifttrain._swifttrain.Optim: one st_optim (an optimizer for loops written
 * by hand), and optim_options_init.
 *
 *     o = Optim(kind, [tensors], lr=..., weight_decay=..., momentum=..., beta2=..., ...)
 *     o.add_param_group([tensors], lr, weight_decay, momentum)
 *     o.step(); o.zero_grad()
 *     o.get_param_group(i) -> dict; o.set_param_group(i, lr, wd, m)
 *     o.state_dict() -> [(name, Tensor), ...]; o.load_state_dict([(name, Tensor), ...])
 *     optim_options_init(kind) -> dict      # PyTorch's defaults (st_optim_options_init)
 *
 * `kind` is an st_optimizer value. The keyword options are the fields of st_optim_options;
 * those not given keep st_optim_options_init's value for the kind. The object keeps the
 * parameter Tensor objects it was given, so a parameter that borrows a numpy buffer stays
 * valid while the st_optim references it. swifttrain/optim.py is the PyTorch-style face.
 */
#include "_swifttrain.h"

#include <stddef.h>

typedef struct st_py_optim {
    PyObject_HEAD
    st_optim *optim;
    PyObject *params;  /* list of every parameter Tensor given, in order */
} st_py_optim;

/* The fields of st_optim_options by name: optim_options_init's dict and Optim's keywords. */
#define DOUBLE(field) {#field, offsetof(st_optim_options, field), 0}
#define FLAG(field) {#field, offsetof(st_optim_options, field), 1}
static const struct option_field {
    const char *name;
    size_t offset;
    int is_flag; /* bool, else double */
} option_fields[] = {
    DOUBLE(lr), DOUBLE(weight_decay), DOUBLE(momentum), DOUBLE(beta2), DOUBLE(eps),
    DOUBLE(dampening), FLAG(nesterov), FLAG(amsgrad), FLAG(centered), DOUBLE(alpha),
    DOUBLE(lr_decay), DOUBLE(initial_accumulator_value), DOUBLE(rho),
};
#define OPTION_COUNT (sizeof option_fields / sizeof option_fields[0])

static PyObject *options_to_dict(const st_optim_options *o)
{
    PyObject *d = PyDict_New();
    for (size_t i = 0; d != NULL && i < OPTION_COUNT; i++) {
        const char *at = (const char *)o + option_fields[i].offset;
        PyObject *value = option_fields[i].is_flag ? PyBool_FromLong(*(const bool *)at)
                                                   : PyFloat_FromDouble(*(const double *)at);
        if (value == NULL || PyDict_SetItemString(d, option_fields[i].name, value) < 0)
            Py_CLEAR(d);
        Py_XDECREF(value);
    }
    return d;
}

/* Sets the fields named by `kwargs` (a dict or NULL); the others keep their values. */
static int options_from_kwargs(st_optim_options *o, PyObject *kwargs)
{
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (kwargs != NULL && PyDict_Next(kwargs, &pos, &key, &value)) {
        size_t i = 0;
        while (i < OPTION_COUNT && PyUnicode_CompareWithASCIIString(key, option_fields[i].name))
            i++;
        if (i == OPTION_COUNT) {
            PyErr_Format(PyExc_TypeError, "Optim() got an unexpected keyword argument '%S'",
                         key);
            return -1;
        }
        char *at = (char *)o + option_fields[i].offset;
        if (option_fields[i].is_flag) {
            int flag = PyObject_IsTrue(value);
            if (flag < 0)
                return -1;
            *(bool *)at = flag != 0;
        } else {
            double number = PyFloat_AsDouble(value);
            if (number == -1.0 && PyErr_Occurred())
                return -1;
            *(double *)at = number;
        }
    }
    return 0;
}

/* ---- the type ------------------------------------------------------------------------- */

static PyObject *Optim_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    st_py_state *state = st_py_state_of(type);
    int kind = 0;
    PyObject *params = NULL, *sequence = NULL;
    st_optim_options options;
    if (!PyArg_ParseTuple(args, "iO:Optim", &kind, &params))
        return NULL;
    int status = st_optim_options_init(&options, (st_optimizer)kind);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    st_tensor **handles = NULL;
    size_t count = 0;
    if (options_from_kwargs(&options, kwargs) < 0 ||
        st_py_tensor_handles(state, params, "Optim: params", &handles, &count, &sequence) < 0)
        return NULL;
    st_optim *optim = NULL;
    status = st_optim_create(&optim, (st_optimizer)kind, handles, count, &options);
    PyMem_Free(handles);
    if (status != ST_OK) {
        Py_DECREF(sequence);
        return st_py_raise_status(state, status);
    }
    st_py_optim *self = (st_py_optim *)type->tp_alloc(type, 0);
    PyObject *keep = self != NULL ? PySequence_List(sequence) : NULL;
    Py_DECREF(sequence);
    if (keep == NULL) {
        st_optim_free(optim);
        Py_XDECREF(self);
        return NULL;
    }
    self->optim = optim;
    self->params = keep;
    return (PyObject *)self;
}

static int Optim_traverse(st_py_optim *self, visitproc visit, void *arg)
{
    Py_VISIT(self->params);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int Optim_clear(st_py_optim *self)
{
    /* The parameters' buffers must outlive the handle that references them. */
    st_optim_free(self->optim);
    self->optim = NULL;
    Py_CLEAR(self->params);
    return 0;
}

static void Optim_dealloc(st_py_optim *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    Optim_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static int check_alive(st_py_optim *self)
{
    if (self->optim != NULL)
        return 0;
    st_py_raise(ST_PY_STATE(self), ST_EMISUSE, "Optim: the optimizer was released");
    return -1;
}

PyDoc_STRVAR(Optim_add_param_group_doc,
             "add_param_group($self, params, lr, weight_decay, momentum, /)\n--\n\n"
             "Adds a parameter group with its own lr, weight decay and momentum (or beta1) "
             "(st_optim_add_param_group).");

static PyObject *Optim_add_param_group(st_py_optim *self, PyObject *args)
{
    PyObject *params = NULL;
    double lr = 0, weight_decay = 0, momentum = 0;
    if (!PyArg_ParseTuple(args, "Oddd:add_param_group", &params, &lr, &weight_decay, &momentum) ||
        check_alive(self) < 0)
        return NULL;
    PyObject *sequence = NULL;
    st_tensor **handles = NULL;
    size_t count = 0;
    if (st_py_tensor_handles(ST_PY_STATE(self), params, "add_param_group: params", &handles, &count,
                             &sequence) < 0)
        return NULL;
    int status = st_optim_add_param_group(self->optim, handles, count, lr, weight_decay,
                                          momentum);
    PyMem_Free(handles);
    Py_ssize_t end = PyList_GET_SIZE(self->params);
    int kept = status != ST_OK || PyList_SetSlice(self->params, end, end, sequence) == 0;
    Py_DECREF(sequence);
    return kept ? st_py_none_or_raise(ST_PY_STATE(self), status) : NULL;
}

/* A method Optim_<name> that calls st_optim_<name>(self->optim) and returns None. */
#define OPTIM_CALL(name, note)                                                             \
    PyDoc_STRVAR(Optim_##name##_doc, #name "($self, /)\n--\n\n" note " (st_optim_" #name ").");\
    static PyObject *Optim_##name(st_py_optim *self, PyObject *unused)                      \
    {                                                                                      \
        (void)unused;                                                                      \
        if (check_alive(self) < 0)                                                         \
            return NULL;                                                                   \
        return st_py_none_or_raise(ST_PY_STATE(self), st_optim_##name(self->optim));        \
    }

OPTIM_CALL(step, "One update of every parameter that has a gradient")
OPTIM_CALL(zero_grad, "Drops every parameter's gradient")

PyDoc_STRVAR(Optim_get_param_group_doc,
             "get_param_group($self, group, /)\n--\n\n"
             "{num_params, lr, initial_lr, weight_decay, momentum} of a group "
             "(st_optim_get_param_group).");

/* A negative group index wraps to a huge size_t, which the library reports as out of range. */
static PyObject *Optim_get_param_group(st_py_optim *self, PyObject *arg)
{
    Py_ssize_t group = 0;
    if (!PyArg_Parse(arg, "n:get_param_group", &group) || check_alive(self) < 0)
        return NULL;
    st_param_group_info info;
    int status = st_optim_get_param_group(&info, self->optim, (size_t)group);
    if (status != ST_OK)
        return st_py_raise_status(ST_PY_STATE(self), status);
    return Py_BuildValue("{s:K,s:d,s:d,s:d,s:d}", "num_params",
                         (unsigned long long)info.num_params, "lr", info.lr, "initial_lr",
                         info.initial_lr, "weight_decay", info.weight_decay, "momentum",
                         info.momentum);
}

PyDoc_STRVAR(Optim_set_param_group_doc,
             "set_param_group($self, group, lr, weight_decay, momentum, /)\n--\n\n"
             "Changes a group's lr, weight decay and momentum (st_optim_set_param_group).");

static PyObject *Optim_set_param_group(st_py_optim *self, PyObject *args)
{
    Py_ssize_t group = 0;
    st_param_group_info info = {0};
    if (!PyArg_ParseTuple(args, "nddd:set_param_group", &group, &info.lr, &info.weight_decay,
                          &info.momentum) ||
        check_alive(self) < 0)
        return NULL;
    return st_py_none_or_raise(ST_PY_STATE(self),
                               st_optim_set_param_group(self->optim, (size_t)group, &info));
}

PyDoc_STRVAR(Optim_state_dict_doc,
             "state_dict($self, /)\n--\n\n"
             "[(\"<parameter index>.<field>\", Tensor), ...]: copies of the state "
             "(st_optim_state_dict).");

static PyObject *Optim_state_dict(st_py_optim *self, PyObject *unused)
{
    (void)unused;
    if (check_alive(self) < 0)
        return NULL;
    st_py_state *state = ST_PY_STATE(self);
    st_named_tensors *named = NULL;
    int status = st_optim_state_dict(&named, self->optim);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    return st_py_named_tensors_to_list(state, named);
}

PyDoc_STRVAR(Optim_load_state_dict_doc,
             "load_state_dict($self, items, /)\n--\n\n"
             "Restores the state from (\"<parameter index>.<field>\", Tensor) pairs "
             "(st_optim_load_state_dict).");

static PyObject *Optim_load_state_dict(st_py_optim *self, PyObject *items)
{
    st_py_state *state = ST_PY_STATE(self);
    st_named_tensors *named = NULL;
    if (check_alive(self) < 0 ||
        (named = st_py_named_tensors_from_items(state, items, "load_state_dict")) == NULL)
        return NULL;
    int status = st_optim_load_state_dict(self->optim, named);
    st_named_tensors_free(named);
    return st_py_none_or_raise(state, status);
}

static PyMethodDef Optim_methods[] = {
    {"add_param_group", (PyCFunction)Optim_add_param_group, METH_VARARGS,
     Optim_add_param_group_doc},
    {"step", (PyCFunction)Optim_step, METH_NOARGS, Optim_step_doc},
    {"zero_grad", (PyCFunction)Optim_zero_grad, METH_NOARGS, Optim_zero_grad_doc},
    {"get_param_group", (PyCFunction)Optim_get_param_group, METH_O, Optim_get_param_group_doc},
    {"set_param_group", (PyCFunction)Optim_set_param_group, METH_VARARGS,
     Optim_set_param_group_doc},
    {"state_dict", (PyCFunction)Optim_state_dict, METH_NOARGS, Optim_state_dict_doc},
    {"load_state_dict", (PyCFunction)Optim_load_state_dict, METH_O, Optim_load_state_dict_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(Optim_doc,
             "Optim(kind, params, *, lr=..., weight_decay=..., momentum=..., beta2=..., eps=..., "
             "dampening=..., nesterov=..., amsgrad=..., centered=..., alpha=..., lr_decay=..., "
             "initial_accumulator_value=..., rho=...)\n--\n\n"
             "An st_optim of st_optimizer `kind` over a list of Tensors (one group); options "
             "not given keep st_optim_options_init's defaults for the kind.");

ST_PY_TYPE_SPEC(Optim, st_py_optim, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
                {Py_tp_doc, (void *)Optim_doc},
                {Py_tp_new, (void *)Optim_new},
                {Py_tp_dealloc, (void *)Optim_dealloc},
                {Py_tp_traverse, (void *)Optim_traverse},
                {Py_tp_clear, (void *)Optim_clear},
                {Py_tp_methods, Optim_methods});

st_optim *st_py_optim_handle(st_py_state *state, PyObject *obj)
{
    if (!Py_IS_TYPE(obj, state->OptimType)) {
        PyErr_Format(PyExc_TypeError, "expected a _swifttrain.Optim, got %.100s",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return ((st_py_optim *)obj)->optim;
}

PyObject *st_py_optim_options_to_dict(const st_optim_options *options)
{
    return options_to_dict(options);
}

int st_py_optim_type_init(PyObject *module, st_py_state *state)
{
    return st_py_add_type(module, &Optim_spec, &state->OptimType);
}

/* ---- module functions ------------------------------------------------------------------ */

PyDoc_STRVAR(optim_options_init_doc,
             "optim_options_init($module, kind, /)\n--\n\n"
             "PyTorch's defaults for st_optimizer `kind` as a dict of st_optim_options fields "
             "(st_optim_options_init).");

static PyObject *optim_options_init(PyObject *module, PyObject *arg)
{
    int kind = 0;
    if (!PyArg_Parse(arg, "i:optim_options_init", &kind))
        return NULL;
    st_optim_options options;
    int status = st_optim_options_init(&options, (st_optimizer)kind);
    if (status != ST_OK)
        return st_py_raise_status(PyModule_GetState(module), status);
    return options_to_dict(&options);
}

PyMethodDef st_py_optim_functions[] = {
    {"optim_options_init", optim_options_init, METH_O, optim_options_init_doc},
    {NULL, NULL, 0, NULL},
};
