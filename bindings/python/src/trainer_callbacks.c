/*
 * trainer_callbacks.c - the C callbacks that call into Python during training.
 *
 * The trainer runs with the GIL released. For each event a Python handler registered for,
 * the trampoline takes the GIL, calls
 *
 *     handler(event: int, state: dict, control: tuple[bool, ...]) -> control object or None
 *
 * and copies the five should_* attributes of the returned control object back into the
 * st_trainer_control. If the handler raised, or Ctrl-C is pending (PyErr_CheckSignals), the
 * exception is kept on the trainer object and the trampoline returns non-zero, which makes
 * the library stop at once (ST_EUSER). When the library call returns, the trainer re-raises
 * that same exception object, traceback included. Ctrl-C during train() is gentler, as
 * users expect: the step finishes, TRAIN_END runs, then train() raises KeyboardInterrupt
 * (stop_on_error).
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

/* st_trainer_control's flags in struct order: the tuple handlers receive. */
#define ST_PY_CONTROL_FLAGS(X)                                                             \
    X(should_training_stop) X(should_epoch_stop) X(should_save) X(should_evaluate)         \
    X(should_log)

PyObject *st_py_control_flag_names(void)
{
#define NAME(flag) #flag,
    return Py_BuildValue("(sssss)", ST_PY_CONTROL_FLAGS(NAME) NULL);
#undef NAME
}

static PyObject *control_to_tuple(const st_trainer_control *control)
{
#define FLAG(flag) PyBool_FromLong(control->flag),
    return Py_BuildValue("(NNNNN)", ST_PY_CONTROL_FLAGS(FLAG) NULL);
#undef FLAG
}

/* Reads the flags from `obj` (any object with the should_* attributes; None keeps them). */
static int control_from_object(st_trainer_control *control, PyObject *obj)
{
    if (obj == Py_None)
        return 0;
    st_trainer_control updated = *control;
#define READ(flag)                                                                         \
    {                                                                                      \
        PyObject *value = PyObject_GetAttrString(obj, #flag);                              \
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

static int call_handler(st_py_trainer *self, PyObject *handler, st_event_data *data,
                        const st_trainer_state *state, st_trainer_control *control)
{
    PyObject *state_dict;
    if (self->snapshot != NULL && state->event_serial != 0 && state->event_serial == self->snapshot_serial) {
        state_dict = Py_NewRef(self->snapshot); /* another callback of the same event */
    } else {
        state_dict = st_py_trainer_state_to_dict(ST_PY_STATE(self), state);
        if (state_dict == NULL)
            return -1;
        Py_XSETREF(self->snapshot, Py_NewRef(state_dict));
        self->snapshot_serial = state->event_serial;
    }
    PyObject *flags = control_to_tuple(control);
    PyObject *event_data = flags == NULL ? NULL
        : st_py_event_data_new(ST_PY_STATE(self), data,
                               data->event == ST_EVENT_EXCEPTION ? self->pending : NULL);
    PyObject *result = event_data == NULL ? NULL
        : PyObject_CallFunction(handler, "iOOO", (int)data->event, state_dict, flags, event_data);
    if (event_data != NULL)
        st_py_event_data_end(event_data);
    Py_XDECREF(event_data);
    Py_XDECREF(flags);
    Py_DECREF(state_dict);
    if (result == NULL)
        return -1;
    int rc = control_from_object(control, result);
    Py_DECREF(result);
    return rc;
}

int st_py_callback_trampoline(st_event_data *data, const st_trainer_state *state,
                              st_trainer_control *control, void *user_data)
{
    st_py_callback_slot *slot = (st_py_callback_slot *)user_data;
    /* A removed handler costs this branch only. The pointer is written under the GIL by
     * the thread that runs the trainer (the trainer refuses changes from other threads
     * while it runs), so reading it here without the GIL is safe. */
    if (slot->handler == NULL)
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
        if (call_handler(self, handler, data, state, control) < 0 || PyErr_CheckSignals() < 0) {
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
