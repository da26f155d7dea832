/*
 * trainer_callbacks.c - the C callbacks that call into Python during training.
 *
 * The trainer runs with the GIL released. For each event a Python callback registered for,
 * the trampoline takes the GIL and calls the callback's method as HF's CallbackHandler does:
 *
 *     callback.on_<event>(args, state, control, model=..., event_data=..., optimizer=...,
 *                         lr_scheduler=..., [logs= | metrics= | eval_dataloader=])
 *
 * (or callback.run_event("on_<event>", args, state, ...) when it overrides run_event), with
 * args, state, control and model read from the Python Trainer. Nothing is made per event that
 * can be kept: the method and keyword names are interned once, the TrainerState is refreshed
 * once per event by copying the C struct (its fields become objects when read), and the
 * EventData with its optimizer= / lr_scheduler= objects is given to the next event again
 * while no callback kept a reference to it. The control's should_* flags are set from the
 * st_trainer_control before the call (unless it has them already: read back after the last
 * callback and unchanged by the library since) and copied back after it; a callback that returns a
 * control object replaces the trainer's. If the callback raised, or Ctrl-C is pending
 * (PyErr_CheckSignals), the exception is kept on the trainer object and the trampoline
 * returns non-zero, which makes the library stop at once (ST_EUSER). When the library call
 * returns, the trainer re-raises that same exception object, traceback included. Ctrl-C during
 * train() is gentler, as users expect: the step finishes, TRAIN_END runs, then train() raises
 * KeyboardInterrupt (stop_on_error).
 *
 * compute_metrics works the same way: the trampoline calls
 *
 *     compute_metrics(predictions, num_samples, num_outputs, labels, targets, target_width,
 *                     prefix) -> list[tuple[str, float]]
 *
 * with bytes copies of the library's buffers (labels / targets may be None): nothing the
 * callable keeps can point into memory the library frees.
 */
#include "_swifttrain.h"

#include <string.h>

/* st_trainer_control's flags in struct order. */
#define ST_PY_CONTROL_FLAGS(X)                                                             \
    X(should_training_stop) X(should_epoch_stop) X(should_save) X(should_evaluate)         \
    X(should_log)

PyObject *st_py_control_flag_names(void)
{
#define NAME(flag) #flag,
    return Py_BuildValue("(sssss)", ST_PY_CONTROL_FLAGS(NAME) NULL);
#undef NAME
}

/* The interned names of state->CallbackNames, by index. */
enum { NAME_ARGS, NAME_STATE, NAME_CONTROL, NAME_MODEL, NAME_RUN_EVENT, NAME_FLAGS };
#define NAME(state, i) PyTuple_GET_ITEM((state)->CallbackNames, (i))

int st_py_callback_names_init(st_py_state *state)
{
#define FLAG_NAME(flag) #flag,
    static const char *const names[] = {"args", "state", "control", "model", "run_event",
                                        ST_PY_CONTROL_FLAGS(FLAG_NAME)};
#undef FLAG_NAME
    Py_ssize_t count = (Py_ssize_t)(sizeof names / sizeof *names);
    if ((state->CallbackNames = PyTuple_New(count)) == NULL ||
        (state->EventNames = PyTuple_New(ST_EVENT_COUNT)) == NULL)
        return -1;
    for (Py_ssize_t i = 0; i < count + ST_EVENT_COUNT; i++) {
        PyObject *name = PyUnicode_InternFromString(i < count ? names[i] : st_event_name((int)(i - count)));
        if (name == NULL)
            return -1;
        if (i < count)
            PyTuple_SET_ITEM(state->CallbackNames, i, name);
        else
            PyTuple_SET_ITEM(state->EventNames, i - count, name);
    }
    return 0;
}

/* Sets the control object's flags from `control`. */
static int control_to_object(PyObject *obj, const st_trainer_control *control, st_py_state *state)
{
    int i = NAME_FLAGS;
#define WRITE(flag)                                                                        \
    if (PyObject_SetAttr(obj, NAME(state, i++), control->flag ? Py_True : Py_False) < 0)   \
        return -1;
    ST_PY_CONTROL_FLAGS(WRITE)
#undef WRITE
    return 0;
}

/* Reads the flags from `obj` (any object with the should_* attributes). */
static int control_from_object(st_trainer_control *control, PyObject *obj, st_py_state *state)
{
    st_trainer_control updated = *control;
    int i = NAME_FLAGS;
#define READ(flag)                                                                         \
    {                                                                                      \
        PyObject *value = PyObject_GetAttr(obj, NAME(state, i++));                         \
        int truth = value != NULL ? PyObject_IsTrue(value) : -1;                           \
        Py_XDECREF(value);                                                                 \
        if (truth < 0)                                                                     \
            return -1;                                                                     \
        updated.flag = truth != 0;                                                         \
    }
    ST_PY_CONTROL_FLAGS(READ)
#undef READ
    *control = updated;
    return 0;
}

/* After Python raised during a callback: returns what the callback returns. The first
 * KeyboardInterrupt (Ctrl-C) during train() is the core's graceful stop
 * (st_trainer_request_stop: the step finishes and is saved, TRAIN_END runs), and train()
 * raises it afterwards; anything else (or a second Ctrl-C) stops at once. */
static int stop_on_error(st_py_trainer *self, st_trainer_control *control)
{
    if (self->training && control != NULL && !self->stop_requested &&
        PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
        st_py_error_save(&self->interrupt);
        self->stop_requested = 1;
        st_trainer_request_stop(self->trainer, true);
        return 0;
    }
    st_py_error_save(&self->pending);
    return 1;
}

/* ---- the callbacks ------------------------------------------------------------------- */

/* Once per event: the values its keywords are made of (the metrics dict, the batch count). */
static int begin_event(st_py_trainer *self, const st_trainer_state *s)
{
    if (s->event_serial != 0 && s->event_serial == self->event_serial)
        return 0;
    Py_CLEAR(self->event_metrics);
    if (s->metrics != NULL &&
        (self->event_metrics = st_py_metrics_to_dict(ST_PY_STATE(self), s->metrics)) == NULL)
        return -1;
    self->event_batches = s->eval_batches;
    self->event_serial = s->event_serial;
    return 0;
}

/* The EventData of this event and the optimizer= / lr_scheduler= objects over it: the last
 * event's while no callback kept any of them (the EventData has only the references it had
 * when they were made), else new ones; what a callback kept stays past its event. */
static int event_objects(st_py_trainer *self, st_event_data *data, PyObject *error)
{
    st_py_state *state = ST_PY_STATE(self);
    if (self->event_data != NULL && Py_REFCNT(self->event_data) == self->event_data_refs &&
        Py_REFCNT(self->event_optimizer) == 1 && Py_REFCNT(self->event_scheduler) == 1) {
        st_py_event_data_begin(self->event_data, data, error);
        return 0;
    }
    Py_CLEAR(self->event_optimizer);
    Py_CLEAR(self->event_scheduler);
    Py_CLEAR(self->event_data);
    if ((self->event_data = st_py_event_data_new(state, data, error)) == NULL ||
        (self->event_optimizer = PyObject_CallOneArg(state->OptimizerClass, self->event_data)) == NULL ||
        (self->event_scheduler = PyObject_CallOneArg(state->SchedulerClass, self->event_data)) == NULL) {
        if (self->event_data != NULL)
            st_py_event_data_end(self->event_data);
        Py_CLEAR(self->event_optimizer);
        Py_CLEAR(self->event_data);
        return -1;
    }
    self->event_data_refs = Py_REFCNT(self->event_data);
    return 0;
}

/* The value of an event's fifth keyword (logs= / metrics= / eval_dataloader=): a copy of the
 * event's metrics, or the evaluation's batches. */
static PyObject *extra_keyword(st_py_trainer *self, PyObject *name)
{
    st_py_state *state = ST_PY_STATE(self);
    if (PyUnicode_CompareWithASCIIString(name, "eval_dataloader") == 0) {
        PyObject *count = PyLong_FromLongLong(self->event_batches);
        PyObject *batches = count == NULL ? NULL : PyObject_CallOneArg(state->BatchesClass, count);
        Py_XDECREF(count);
        return batches;
    }
    return self->event_metrics != NULL ? PyDict_Copy(self->event_metrics) : PyDict_New();
}

/* Replaces the trainer's control with what the callback returned, when it returned one. */
static int take_control(st_py_state *state, PyObject *trainer, PyObject *callback, int event,
                        PyObject *result, PyObject **control)
{
    if (result == Py_None)
        return 0;
    int is_control = PyObject_IsInstance(result, state->ControlClass);
    if (is_control == 0)
        PyErr_Format(PyExc_TypeError, "%.100s.%U returned %R; return the control object (a "
                     "swifttrain.TrainerControl) or None", Py_TYPE(callback)->tp_name,
                     PyTuple_GET_ITEM(state->EventNames, event), result);
    if (is_control <= 0 || PyObject_SetAttr(trainer, NAME(state, NAME_CONTROL), result) < 0)
        return -1;
    Py_SETREF(*control, Py_NewRef(result));
    return 0;
}

/* Calls `callback` for the event with the Python Trainer `trainer`'s objects. */
static int call_callback(st_py_trainer *self, PyObject *trainer, PyObject *callback, int run_event,
                         st_event_data *data, const st_trainer_state *s, st_trainer_control *control)
{
    st_py_state *state = ST_PY_STATE(self);
    int event = (int)data->event;
    PyObject *kwnames = PyTuple_GET_ITEM(state->EventKwnames, event);
    PyObject *args = NULL, *st = NULL, *ctl = NULL, *model = NULL, *extra = NULL, *result = NULL;
    int rc = -1;
    if ((args = PyObject_GetAttr(trainer, NAME(state, NAME_ARGS))) == NULL ||
        (st = PyObject_GetAttr(trainer, NAME(state, NAME_STATE))) == NULL ||
        (ctl = PyObject_GetAttr(trainer, NAME(state, NAME_CONTROL))) == NULL ||
        (model = PyObject_GetAttr(trainer, NAME(state, NAME_MODEL))) == NULL)
        goto done;
    /* the first callback of the event (or a state object assigned since) refreshes the state */
    if (st != self->snapshot || s->event_serial == 0 || s->event_serial != self->snapshot_serial) {
        if (st_py_trainer_state_refresh(state, st, s) < 0)
            goto done;
        Py_XSETREF(self->snapshot, Py_NewRef(st));
        self->snapshot_serial = s->event_serial;
    }
    /* the flags are written unless the object has them already (read back from it after the
     * last callback, and unchanged by the library since) */
    int synced = ctl == self->synced_control && memcmp(control, &self->synced_flags, sizeof *control) == 0;
    Py_CLEAR(self->synced_control);
    if (begin_event(self, s) < 0 || (!synced && control_to_object(ctl, control, state) < 0))
        goto done;
    if (PyTuple_GET_SIZE(kwnames) == 5 && (extra = extra_keyword(self, PyTuple_GET_ITEM(kwnames, 4))) == NULL)
        goto done;
    if (event_objects(self, data, event == ST_EVENT_EXCEPTION ? self->pending : NULL) < 0)
        goto done;
    /* stack[0] is the method call's to use; then the callback, the event's name for run_event,
     * args, state, control, and the keywords' values in kwnames' order */
    PyObject *stack[11];
    size_t n = 1;
    stack[n++] = callback;
    if (run_event)
        stack[n++] = PyTuple_GET_ITEM(state->EventNames, event);
    stack[n++] = args;
    stack[n++] = st;
    stack[n++] = ctl;
    size_t positional = n - 1;
    stack[n++] = model;
    stack[n++] = self->event_data;
    stack[n++] = self->event_optimizer;
    stack[n++] = self->event_scheduler;
    if (extra != NULL)
        stack[n++] = extra;
    PyObject *method = run_event ? NAME(state, NAME_RUN_EVENT) : PyTuple_GET_ITEM(state->EventNames, event);
    result = PyObject_VectorcallMethod(method, stack + 1, positional | PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames);
    st_py_event_data_end(self->event_data);
    if (result != NULL && take_control(state, trainer, callback, event, result, &ctl) == 0 &&
        (rc = control_from_object(control, ctl, state)) == 0) {
        self->synced_control = Py_NewRef(ctl);
        self->synced_flags = *control;
    }
done:
    Py_XDECREF(result);
    Py_XDECREF(extra);
    Py_XDECREF(model);
    Py_XDECREF(ctl);
    Py_XDECREF(st);
    Py_XDECREF(args);
    return rc;
}

static int call_handler(st_py_trainer *self, PyObject *callback, int run_event, st_event_data *data,
                        const st_trainer_state *s, st_trainer_control *control)
{
    st_py_state *state = ST_PY_STATE(self);
    if (state->EventKwnames == NULL || self->owner == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a Python callback was registered on a _swifttrain.Trainer "
                        "without set_callback_owner and set_callback_protocol; use swifttrain.Trainer");
        return -1;
    }
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *trainer = NULL;
    if (PyWeakref_GetRef(self->owner, &trainer) < 0)
        return -1;
    if (trainer == NULL) /* cannot happen while the trainer runs; be safe anyway */
        return 0;
#else
    PyObject *trainer = PyWeakref_GetObject(self->owner); /* borrowed */
    if (trainer == NULL)
        return -1;
    if (trainer == Py_None) /* cannot happen while the trainer runs; be safe anyway */
        return 0;
    Py_INCREF(trainer);
#endif
    int rc = call_callback(self, trainer, callback, run_event, data, s, control);
    Py_DECREF(trainer);
    return rc;
}

int st_py_callback_trampoline(st_event_data *data, const st_trainer_state *state,
                              st_trainer_control *control, void *user_data)
{
    st_py_callback_slot *slot = (st_py_callback_slot *)user_data;
    /* A removed or muted callback costs this branch only. The fields are written under the
     * GIL by the thread that runs the trainer (the trainer refuses changes from other threads
     * while it runs), so reading them here without the GIL is safe. */
    if (slot->handler == NULL || (data->event < 64 && ((slot->muted >> data->event) & 1)))
        return 0;
    PyGILState_STATE gil = PyGILState_Ensure();
    st_py_trainer *self = slot->owner;
    int rc = 0;
    /* Once a Python callback raised, no more Python runs, but for the teardown that every
     * callback gets (on_exception with the exception, on_close, on_post_close): what those raise is
     * reported as unraisable, the first exception being the one train() raises. */
    int teardown = st_event_is_teardown((int)data->event);
    /* an error raised in teardown is reported, not raised, when the run already failed (the
     * first error wins); a CLOSE callback failing a successful run is raised */
    int failed = data->event == ST_EVENT_EXCEPTION || data->error != NULL || self->pending != NULL;
    if (self->pending != NULL && !teardown) {
        rc = 1; /* already stopping: run no more Python */
    } else if (slot->handler != NULL) {
        PyObject *handler = Py_NewRef(slot->handler); /* it may remove itself */
        if (call_handler(self, handler, slot->run_event, data, state, control) < 0 ||
            PyErr_CheckSignals() < 0) {
            if (teardown && failed) /* the run's own error (Python's or the library's) stays the one raised */
                PyErr_WriteUnraisable(handler);
            else
                rc = stop_on_error(self, control);
        }
        Py_DECREF(handler);
    }
    PyGILState_Release(gil);
    return rc;
}

/* ---- what the package gives once ------------------------------------------------------- */

PyDoc_STRVAR(set_callback_protocol_doc,
             "set_callback_protocol(control_class, optimizer_class, scheduler_class, batches_class, "
             "kwnames, /)\n--\n\n"
             "How Python callbacks are called: what they may return (control_class), the classes "
             "of the optimizer= and lr_scheduler= objects (called with the EventData) and of "
             "eval_dataloader= (called with the batch count), and each event's keyword names: a "
             "tuple of EVENT_COUNT tuples, each ('model', 'event_data', 'optimizer', "
             "'lr_scheduler') and maybe one more ('logs', 'metrics' or 'eval_dataloader').");

static PyObject *set_callback_protocol(PyObject *module, PyObject *args)
{
    static const char *const base[] = {"model", "event_data", "optimizer", "lr_scheduler"};
    PyObject *control, *optimizer, *scheduler, *batches, *kwnames;
    if (!PyArg_ParseTuple(args, "OOOOO!:set_callback_protocol", &control, &optimizer, &scheduler,
                          &batches, &PyTuple_Type, &kwnames))
        return NULL;
    if (!PyType_Check(control) || !PyCallable_Check(optimizer) || !PyCallable_Check(scheduler) ||
        !PyCallable_Check(batches))
        return PyErr_Format(PyExc_TypeError, "set_callback_protocol: expected a class and three callables");
    if (PyTuple_GET_SIZE(kwnames) != ST_EVENT_COUNT)
        return PyErr_Format(PyExc_ValueError, "set_callback_protocol: kwnames has %zd entries, "
                            "expected one per event (%d)", PyTuple_GET_SIZE(kwnames), ST_EVENT_COUNT);
    for (Py_ssize_t e = 0; e < ST_EVENT_COUNT; e++) {
        PyObject *names = PyTuple_GET_ITEM(kwnames, e);
        Py_ssize_t count = PyTuple_Check(names) ? PyTuple_GET_SIZE(names) : 0;
        int ok = count == 4 || count == 5;
        for (Py_ssize_t i = 0; ok && i < count; i++) {
            PyObject *name = PyTuple_GET_ITEM(names, i);
            ok = PyUnicode_Check(name) && (i == 4 || PyUnicode_CompareWithASCIIString(name, base[i]) == 0);
        }
        if (!ok)
            return PyErr_Format(PyExc_ValueError, "set_callback_protocol: kwnames[%zd] = %R; expected "
                                "('model', 'event_data', 'optimizer', 'lr_scheduler') and at most one "
                                "more name", e, names);
    }
    st_py_state *state = PyModule_GetState(module);
    Py_XSETREF(state->ControlClass, Py_NewRef(control));
    Py_XSETREF(state->OptimizerClass, Py_NewRef(optimizer));
    Py_XSETREF(state->SchedulerClass, Py_NewRef(scheduler));
    Py_XSETREF(state->BatchesClass, Py_NewRef(batches));
    Py_XSETREF(state->EventKwnames, Py_NewRef(kwnames));
    Py_RETURN_NONE;
}

PyMethodDef st_py_callback_functions[] = {
    {"set_callback_protocol", set_callback_protocol, METH_VARARGS, set_callback_protocol_doc},
    {NULL, NULL, 0, NULL},
};

/* ---- callback state (st_trainer_add_callback_state) ----------------------------------- */

int st_py_state_save(void *user_data, const void **data, size_t *size)
{
    st_py_trainer *self = (st_py_trainer *)user_data;
    PyGILState_STATE gil = PyGILState_Ensure();
    int rc = 1;
    if (self->pending == NULL && self->state_save != NULL) {
        PyObject *bytes = PyObject_CallNoArgs(self->state_save);
        if (bytes != NULL && !PyBytes_Check(bytes)) {
            PyErr_Format(PyExc_TypeError, "the callbacks' state must be bytes, got %.100s",
                         Py_TYPE(bytes)->tp_name);
            Py_CLEAR(bytes);
        }
        if (bytes == NULL) {
            rc = stop_on_error(self, NULL);
        } else {
            Py_XSETREF(self->state_bytes, bytes); /* kept until the library has copied it */
            *data = PyBytes_AS_STRING(bytes);
            *size = (size_t)PyBytes_GET_SIZE(bytes);
            rc = 0;
        }
    }
    PyGILState_Release(gil);
    return rc;
}

int st_py_state_load(void *user_data, const void *data, size_t size)
{
    st_py_trainer *self = (st_py_trainer *)user_data;
    PyGILState_STATE gil = PyGILState_Ensure();
    int rc = 1;
    if (self->pending == NULL && self->state_load != NULL) {
        PyObject *result = PyObject_CallFunction(self->state_load, "y#", (const char *)data,
                                                 (Py_ssize_t)size);
        rc = result == NULL ? stop_on_error(self, NULL) : 0;
        Py_XDECREF(result);
    }
    PyGILState_Release(gil);
    return rc;
}

int st_py_interrupt_check(st_event event, const st_trainer_state *state,
                          st_trainer_control *control, void *user_data)
{
    (void)event, (void)state, (void)control;
    st_py_trainer *self = (st_py_trainer *)user_data;
    PyGILState_STATE gil = PyGILState_Ensure();
    int rc = 0;
    if (self->pending != NULL)
        rc = 1;
    else if (PyErr_CheckSignals() < 0) /* Python's signal handlers run here, between steps */
        rc = stop_on_error(self, control);
    PyGILState_Release(gil);
    return rc;
}

/* ---- compute_metrics ------------------------------------------------------------------ */

static PyObject *bytes_or_none(const void *data, int64_t count, size_t item_size)
{
    if (data == NULL)
        return Py_NewRef(Py_None);
    return PyBytes_FromStringAndSize((const char *)data,
                                     (Py_ssize_t)count * (Py_ssize_t)item_size);
}

/* A tuple of `ndim` dimensions, or None for NULL. */
static PyObject *shape_tuple(const int64_t *shape, size_t ndim)
{
    if (shape == NULL)
        return Py_NewRef(Py_None);
    PyObject *t = PyTuple_New((Py_ssize_t)ndim);
    for (size_t i = 0; t != NULL && i < ndim; i++) {
        PyObject *d = PyLong_FromLongLong(shape[i]);
        if (d == NULL)
            Py_CLEAR(t);
        else
            PyTuple_SET_ITEM(t, (Py_ssize_t)i, d);
    }
    return t;
}

static int64_t product(const int64_t *shape, size_t ndim, int64_t fallback)
{
    if (shape == NULL)
        return fallback;
    int64_t n = 1;
    for (size_t i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

/* Calls the callable and fills `out` from its list of (name, value); -1 with an exception. */
static int call_compute_metrics(st_py_trainer *self, st_metric_value *out, size_t capacity,
                                size_t *out_count, const st_eval_prediction *p)
{
    int64_t label_count = product(p->label_shape, p->label_ndim,
                                  p->label_ids != NULL ? p->num_samples : p->num_samples * p->target_width);
    PyObject *predictions = bytes_or_none(p->predictions, p->num_samples * p->num_outputs,
                                          sizeof(float));
    PyObject *labels = predictions == NULL ? NULL
                                           : bytes_or_none(p->label_ids, label_count,
                                                           sizeof(int64_t));
    PyObject *targets = labels == NULL ? NULL
                                       : bytes_or_none(p->targets, label_count, sizeof(float));
    PyObject *pshape = targets == NULL ? NULL : shape_tuple(p->prediction_shape, p->prediction_ndim);
    PyObject *lshape = pshape == NULL ? NULL : shape_tuple(p->label_shape, p->label_ndim);
    if (lshape == NULL)
        Py_CLEAR(targets);
    PyObject *result = NULL;
    int rc = -1;
    if (targets != NULL)
        result = PyObject_CallFunction(self->compute_metrics, "OLLOOLsOO", predictions,
                                       (long long)p->num_samples, (long long)p->num_outputs,
                                       labels, targets, (long long)p->target_width,
                                       p->metric_key_prefix, pshape, lshape);
    Py_XDECREF(pshape);
    Py_XDECREF(lshape);
    Py_XDECREF(predictions);
    Py_XDECREF(labels);
    Py_XDECREF(targets);
    if (result == NULL)
        return -1;
    if (!PyList_Check(result)) {
        PyErr_SetString(PyExc_TypeError, "compute_metrics adapter: expected a list of (name, value) pairs");
        goto done;
    }
    if ((size_t)PyList_GET_SIZE(result) > capacity) { /* the library's limit */
        PyErr_Format(PyExc_ValueError, "compute_metrics returned %zd metrics; at most %zu are allowed",
                     PyList_GET_SIZE(result), capacity);
        goto done;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(result); i++) {
        const char *name;
        double value;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(result, i), "sd", &name, &value))
            goto done;
        out[i].name = name; /* owned by `result`, which self->computed keeps */
        out[i].value = value;
    }
    *out_count = (size_t)PyList_GET_SIZE(result);
    rc = 0;
done:
    Py_XSETREF(self->computed, result);
    return rc;
}

int st_py_compute_metrics_trampoline(st_metric_value *out, size_t capacity, size_t *out_count,
                                     const st_eval_prediction *prediction, void *user_data)
{
    st_py_trainer *self = (st_py_trainer *)user_data;
    PyGILState_STATE gil = PyGILState_Ensure();
    int rc = 0;
    if (self->pending != NULL) {
        rc = 1;
    } else if (self->compute_metrics == NULL) {
        *out_count = 0;
    } else {
        PyObject *function = Py_NewRef(self->compute_metrics);
        if (call_compute_metrics(self, out, capacity, out_count, prediction) < 0 ||
            PyErr_CheckSignals() < 0)
            rc = stop_on_error(self, NULL); /* no control here: an evaluation cannot finish half */
        Py_DECREF(function);
    }
    PyGILState_Release(gil);
    return rc;
}

/* ---- compute_loss ---------------------------------------------------------------------- */

int st_py_compute_loss_trampoline(st_tensor **loss, const st_outputs *outputs, const st_batch *batch,
                                  void *user_data)
{
    st_py_trainer *self = (st_py_trainer *)user_data;
    PyGILState_STATE gil = PyGILState_Ensure();
    st_py_state *state = ST_PY_STATE(self);
    int rc = 0;
    if (self->pending != NULL) {
        rc = 1;
    } else if (self->compute_loss == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "compute_loss was removed during training");
        rc = stop_on_error(self, NULL);
    } else {
        PyObject *function = Py_NewRef(self->compute_loss);
        int64_t items = 0;
        st_batch_num_items(&items, batch);
        PyObject *out = st_py_outputs_to_dict(state, outputs);
        PyObject *in = out != NULL ? st_py_batch_to_dict(state, batch) : NULL;
        PyObject *result = in != NULL ? PyObject_CallFunction(function, "OOL", out, in, (long long)items) : NULL;
        if (result != NULL && !st_py_is_tensor(state, result)) {
            PyErr_Format(PyExc_TypeError, "compute_loss must return a swifttrain Tensor (a float32 "
                         "scalar), got %.100s", Py_TYPE(result)->tp_name);
            Py_CLEAR(result);
        }
        if (result != NULL && ((st_py_tensor *)result)->dtype != ST_FLOAT32) {
            PyErr_SetString(PyExc_TypeError, "compute_loss must return a float32 scalar tensor");
            Py_CLEAR(result);
        }
        int status = result != NULL ? st_tensor_to(loss, st_py_handle(result), ST_FLOAT32) : ST_OK;
        if (result != NULL && status != ST_OK) {
            st_py_raise_status(state, status);
            Py_CLEAR(result);
        }
        if (result == NULL || PyErr_CheckSignals() < 0)
            rc = stop_on_error(self, NULL);
        Py_XDECREF(result);
        Py_XDECREF(in);
        Py_XDECREF(out);
        Py_DECREF(function);
    }
    PyGILState_Release(gil);
    return rc;
}

/* ---- a subclass's log and evaluate ------------------------------------------------------ */

/* Calls self-><field>(*args) with the GIL for a trampoline; NULL (and the run stopping)
 * when it raised or was removed. */
static PyObject *call_override(st_py_trainer *self, PyObject *function, const char *name,
                               PyObject *arg)
{
    if (function == NULL) {
        PyErr_Format(PyExc_RuntimeError, "%s was removed during training", name);
        return NULL;
    }
    Py_INCREF(function);
    PyObject *result = arg != NULL ? PyObject_CallOneArg(function, arg) : PyObject_CallNoArgs(function);
    Py_DECREF(function);
    if (result != NULL && PyErr_CheckSignals() < 0)
        Py_CLEAR(result);
    return result;
}

int st_py_log_function_trampoline(const st_metrics *logs, void *user_data)
{
    st_py_trainer *self = (st_py_trainer *)user_data;
    PyGILState_STATE gil = PyGILState_Ensure();
    int rc = 1;
    if (self->pending == NULL) {
        PyObject *dict = st_py_metrics_to_dict(ST_PY_STATE(self), logs);
        PyObject *result = dict != NULL ? call_override(self, self->log_function, "log", dict) : NULL;
        rc = result != NULL ? 0 : stop_on_error(self, NULL);
        Py_XDECREF(result);
        Py_XDECREF(dict);
    }
    PyGILState_Release(gil);
    return rc;
}

int st_py_evaluate_function_trampoline(st_metrics **out, void *user_data)
{
    st_py_trainer *self = (st_py_trainer *)user_data;
    PyGILState_STATE gil = PyGILState_Ensure();
    int rc = 1;
    if (self->pending == NULL) {
        int outer = self->in_evaluate_function;
        self->in_evaluate_function = 1;
        PyObject *result = call_override(self, self->evaluate_function, "evaluate", NULL);
        self->in_evaluate_function = outer;
        st_py_numbers numbers;
        int status = ST_OK;
        if (result != NULL && st_py_numbers_from_dict(&numbers, result, "evaluate's result") == 0) {
            status = st_metrics_create(out, numbers.names, numbers.values, numbers.count);
            st_py_numbers_free(&numbers);
            rc = status == ST_OK ? 0 : (st_py_raise_status(ST_PY_STATE(self), status), stop_on_error(self, NULL));
        } else {
            rc = stop_on_error(self, NULL);
        }
        Py_XDECREF(result);
    }
    PyGILState_Release(gil);
    return rc;
}

int st_py_optimizer_function_trampoline(st_optim **optimizer, st_lr_schedule **schedule,
                                        int64_t num_training_steps, void *user_data)
{
    st_py_trainer *self = (st_py_trainer *)user_data;
    PyGILState_STATE gil = PyGILState_Ensure();
    st_py_state *state = ST_PY_STATE(self);
    int rc = 1;
    if (self->pending == NULL) {
        PyObject *steps = PyLong_FromLongLong((long long)num_training_steps);
        PyObject *result = steps != NULL
            ? call_override(self, self->optimizer_function, "create_optimizer_and_scheduler", steps) : NULL;
        PyObject *o = NULL, *s = NULL;
        if (result != NULL && !PyArg_ParseTuple(result, "OO;the optimizer function returns (Optim or None, "
                                                "LRSchedule or None)", &o, &s))
            Py_CLEAR(result);
        if (result != NULL && o != Py_None && (*optimizer = st_py_optim_handle(state, o)) == NULL)
            Py_CLEAR(result);
        if (result != NULL && s != Py_None && (*schedule = st_py_lr_schedule_handle(state, s)) == NULL)
            Py_CLEAR(result);
        Py_XSETREF(self->optimizers_lent, result); /* (the lent handles stay valid) */
        rc = result != NULL ? 0 : stop_on_error(self, NULL);
        Py_XDECREF(steps);
    }
    PyGILState_Release(gil);
    return rc;
}
