/*
 * event_data_type.c - swifttrain._swifttrain.EventData: a callback's view of st_event_data.
 *
 *     data.batch, data.outputs      # {name: Tensor}, or None
 *     data.loss                     # Tensor or None; assignable at on_after_loss / on_before_backward
 *     data.set_batch(name, tensor)  # at on_after_dataloader / on_before_forward and the
 *                                   # evaluate / predict before_forward (st_batch_set)
 *     data.set_output(name, tensor) # at on_after_forward / on_before_loss and the evaluate /
 *                                   # predict after_forward (st_outputs_set)
 *     data.error                    # on_exception: the exception that ends the run
 *     data.log({"name": value})     # st_trainer_log: into the log history, on_log after the event
 *     data.param_groups             # the optimizer's groups as dicts (st_optim_get_param_group),
 *                                   # or None outside training
 *     data.set_param_group(i, lr, weight_decay, momentum)   # st_optim_set_param_group
 *     data.lr_factor(step)          # the schedule's factor at `step` (st_lr_schedule_factor),
 *                                   # or None without a schedule
 *
 * Valid only during the callback it was given to: the library owns what it points at (the
 * trainer gives the same object to the next event while no callback kept it). The
 * conversions happen on access, so a callback that does not look costs nothing. Which
 * changes are allowed where is the library's rule (st_event_data); this type only translates.
 */
#include "_swifttrain.h"

typedef struct st_py_event_data {
    PyObject_HEAD
    st_event_data *data;  /* NULL once the callback returned */
    PyObject *error;      /* on_exception: the Python exception that stopped the run, or NULL */
} st_py_event_data;

static st_event_data *live(st_py_event_data *self)
{
    if (self->data == NULL)
        PyErr_SetString(PyExc_RuntimeError, "EventData used after its callback returned; copy what you "
                                            "need during the callback");
    return self->data;
}

/* The getters, told apart by their closure. */
enum { GET_EVENT, GET_BATCH, GET_OUTPUTS, GET_LOSS, GET_ERROR, GET_PARAM_GROUPS };

static PyObject *param_groups(st_py_state *state, const st_optim *optim)
{
    size_t count = 0;
    int status = st_optim_num_param_groups(&count, optim);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    PyObject *list = PyList_New((Py_ssize_t)count);
    for (size_t i = 0; list != NULL && i < count; i++) {
        st_param_group_info info;
        status = st_optim_get_param_group(&info, optim, i);
        PyObject *group = status != ST_OK ? st_py_raise_status(state, status)
            : Py_BuildValue("{s:d,s:d,s:d,s:d,s:n}", "lr", info.lr, "initial_lr", info.initial_lr,
                            "weight_decay", info.weight_decay, "momentum", info.momentum,
                            "num_params", (Py_ssize_t)info.num_params);
        if (group == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, group);
    }
    return list;
}

static PyObject *EventData_get(st_py_event_data *self, void *closure)
{
    st_event_data *d = live(self);
    if (d == NULL)
        return NULL;
    st_py_state *state = ST_PY_STATE(self);
    switch ((int)(intptr_t)closure) {
    case GET_EVENT:
        return PyUnicode_FromString(st_event_name((int)d->event));
    case GET_BATCH:
        return d->batch == NULL ? Py_NewRef(Py_None) : st_py_batch_to_dict(state, d->batch);
    case GET_OUTPUTS:
        return d->outputs == NULL ? Py_NewRef(Py_None) : st_py_outputs_to_dict(state, d->outputs);
    case GET_LOSS: {
        if (d->loss == NULL)
            Py_RETURN_NONE;
        st_tensor *copy = NULL; /* a new handle to the same float32 tensor (graph kept) */
        int status = st_tensor_to(&copy, d->loss, ST_FLOAT32);
        return st_py_tensor_result(state, status, copy, NULL, 0);
    }
    case GET_PARAM_GROUPS:
        return d->optimizer == NULL ? Py_NewRef(Py_None) : param_groups(state, d->optimizer);
    default: /* GET_ERROR */
        if (self->error != NULL)
            return Py_NewRef(self->error);
        return d->error == NULL ? Py_NewRef(Py_None) : PyUnicode_FromString(d->error);
    }
}

static int EventData_set_loss(st_py_event_data *self, PyObject *value, void *closure)
{
    (void)closure;
    st_event_data *d = live(self);
    if (d == NULL)
        return -1;
    st_py_state *state = ST_PY_STATE(self);
    if (value == NULL || !st_py_is_tensor(state, value)) {
        PyErr_Format(PyExc_TypeError, "EventData.loss: expected a Tensor, got %.100s",
                     value == NULL ? "deletion" : Py_TYPE(value)->tp_name);
        return -1;
    }
    int status = st_event_data_set_loss(d, st_py_handle(value));
    return status == ST_OK ? 0 : (st_py_raise_status(state, status), -1);
}

static PyObject *set_entry(st_py_event_data *self, PyObject *args, const char *what, int batch)
{
    const char *name = NULL;
    PyObject *tensor = NULL;
    st_py_state *state = ST_PY_STATE(self);
    if (!PyArg_ParseTuple(args, "sO", &name, &tensor))
        return NULL;
    st_event_data *d = live(self);
    if (d == NULL)
        return NULL;
    if (!st_py_is_tensor(state, tensor))
        return PyErr_Format(PyExc_TypeError, "EventData.%s: expected a Tensor, got %.100s", what,
                            Py_TYPE(tensor)->tp_name);
    if ((batch ? (void *)d->batch : (void *)d->outputs) == NULL)
        return PyErr_Format(PyExc_RuntimeError, "EventData.%s: there is no %s at %s", what,
                            batch ? "batch" : "outputs", st_event_name((int)d->event));
    int status = batch ? st_batch_set(d->batch, name, st_py_handle(tensor))
                       : st_outputs_set(d->outputs, name, st_py_handle(tensor));
    return st_py_none_or_raise(state, status);
}

static PyObject *EventData_set_batch(st_py_event_data *self, PyObject *args)
{
    return set_entry(self, args, "set_batch", 1);
}

static PyObject *EventData_set_output(st_py_event_data *self, PyObject *args)
{
    return set_entry(self, args, "set_output", 0);
}

static PyObject *EventData_log(st_py_event_data *self, PyObject *values)
{
    st_event_data *d = live(self);
    if (d == NULL)
        return NULL;
    st_py_numbers numbers;
    if (st_py_numbers_from_dict(&numbers, values, "EventData.log") < 0)
        return NULL;
    int status = st_trainer_log(d->trainer, numbers.names, numbers.values, numbers.count);
    st_py_numbers_free(&numbers);
    return st_py_none_or_raise(ST_PY_STATE(self), status);
}

static PyObject *EventData_set_param_group(st_py_event_data *self, PyObject *args)
{
    Py_ssize_t index;
    st_param_group_info info = {0};
    if (!PyArg_ParseTuple(args, "nddd:set_param_group", &index, &info.lr, &info.weight_decay,
                          &info.momentum))
        return NULL;
    st_event_data *d = live(self);
    if (d == NULL)
        return NULL;
    if (d->optimizer == NULL)
        return PyErr_Format(PyExc_RuntimeError, "EventData.set_param_group: there is no optimizer "
                            "at %s (only during training)", st_event_name((int)d->event));
    if (index < 0)
        return PyErr_Format(PyExc_IndexError, "EventData.set_param_group: group %zd", index);
    return st_py_none_or_raise(ST_PY_STATE(self),
                               st_optim_set_param_group(d->optimizer, (size_t)index, &info));
}

static PyObject *EventData_lr_factor(st_py_event_data *self, PyObject *arg)
{
    long long step = PyLong_AsLongLong(arg);
    if (step == -1 && PyErr_Occurred())
        return NULL;
    st_event_data *d = live(self);
    if (d == NULL)
        return NULL;
    if (d->lr_scheduler == NULL)
        Py_RETURN_NONE;
    double factor = 0;
    int status = st_lr_schedule_factor(&factor, d->lr_scheduler, (int64_t)step);
    return status == ST_OK ? PyFloat_FromDouble(factor) : st_py_raise_status(ST_PY_STATE(self), status);
}

static void EventData_dealloc(st_py_event_data *self)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_CLEAR(self->error);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyGetSetDef EventData_getset[] = {
    {"event", (getter)EventData_get, NULL, "The event's HF name (\"on_after_loss\").",
     (void *)GET_EVENT},
    {"batch", (getter)EventData_get, NULL, "The batch as {name: Tensor}, or None.",
     (void *)GET_BATCH},
    {"outputs", (getter)EventData_get, NULL, "The model's outputs as {name: Tensor}, or None.",
     (void *)GET_OUTPUTS},
    {"loss", (getter)EventData_get, (setter)EventData_set_loss,
     "The loss (a Tensor) from on_after_loss; assignable there and at on_before_backward.",
     (void *)GET_LOSS},
    {"error", (getter)EventData_get, NULL, "on_exception: the exception that ends the run.",
     (void *)GET_ERROR},
    {"param_groups", (getter)EventData_get, NULL,
     "The optimizer's parameter groups as dicts (lr, initial_lr, weight_decay, momentum, "
     "num_params), or None outside training.", (void *)GET_PARAM_GROUPS},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef EventData_methods[] = {
    {"set_batch", (PyCFunction)EventData_set_batch, METH_VARARGS,
     "set_batch(name, tensor): replaces a batch entry (at on_after_dataloader, on_before_forward, "
     "on_evaluate_before_forward, on_predict_before_forward)."},
    {"set_output", (PyCFunction)EventData_set_output, METH_VARARGS,
     "set_output(name, tensor): replaces an output (at on_after_forward, on_before_loss, "
     "on_evaluate_after_forward, on_predict_after_forward)."},
    {"set_param_group", (PyCFunction)EventData_set_param_group, METH_VARARGS,
     "set_param_group(index, lr, weight_decay, momentum): changes an optimizer group "
     "(st_optim_set_param_group); the lr of a step may be changed at on_pre_optimizer_step."},
    {"lr_factor", (PyCFunction)EventData_lr_factor, METH_O,
     "lr_factor(step): the learning-rate schedule's factor at `step` (st_lr_schedule_factor), "
     "or None when there is no schedule (outside training, reduce_lr_on_plateau)."},
    {"log", (PyCFunction)EventData_log, METH_O,
     "log({name: number}): logs values as Trainer.log does (st_trainer_log): they reach the log "
     "history and every on_log after this event."},
    {NULL, NULL, 0, NULL},
};

ST_PY_TYPE_SPEC(EventData, st_py_event_data, Py_TPFLAGS_DEFAULT,
                {Py_tp_doc, (void *)"What a callback sees of the run at one event (st_event_data)."},
                {Py_tp_dealloc, (void *)EventData_dealloc}, {Py_tp_getset, EventData_getset},
                {Py_tp_methods, EventData_methods});

PyObject *st_py_event_data_new(st_py_state *state, st_event_data *data, PyObject *error)
{
    st_py_event_data *self = PyObject_New(st_py_event_data, state->EventDataType);
    if (self == NULL)
        return NULL;
    self->data = data;
    self->error = Py_XNewRef(error);
    return (PyObject *)self;
}

void st_py_event_data_end(PyObject *obj)
{
    ((st_py_event_data *)obj)->data = NULL;
}

void st_py_event_data_begin(PyObject *obj, st_event_data *data, PyObject *error)
{
    st_py_event_data *self = (st_py_event_data *)obj;
    self->data = data;
    Py_XSETREF(self->error, Py_XNewRef(error));
}

int st_py_event_data_type_init(PyObject *module, st_py_state *state)
{
    return st_py_add_type(module, &EventData_spec, &state->EventDataType);
}
