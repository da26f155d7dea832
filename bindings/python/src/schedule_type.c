/*
 * schedule_type.c - swifttrain._swifttrain.LRSchedule (one st_lr_schedule) and
 * swifttrain._swifttrain.Plateau (one st_plateau).
 *
 *     s = LRSchedule(kind, num_warmup_steps, num_training_steps, kwargs, initial_lr)
 *     s.factor(step)                          # lr = initial group lr * factor
 *     p = Plateau(kwargs)                     # ReduceLROnPlateau, PyTorch's arguments
 *     p.step(metric, [lr, ...]) -> [lr, ...]  # the groups' new rates
 *
 * `kind` is an st_lr_scheduler value; `kwargs` is the library's "key=value,..." option
 * string (or None). The library parses and checks everything; swifttrain/optim/
 * lr_scheduler.py is the PyTorch / HuggingFace face.
 */
#include "_swifttrain.h"
#include <math.h>

/* ---- LRSchedule ------------------------------------------------------------------------ */

typedef struct st_py_lr_schedule {
    PyObject_HEAD
    st_lr_schedule *schedule;
} st_py_lr_schedule;

ST_PY_HANDLE_FUNCTIONS(LRSchedule, st_py_lr_schedule, schedule, st_lr_schedule,
                       st_lr_schedule_free)

static PyObject *LRSchedule_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"kind", "num_warmup_steps", "num_training_steps", "kwargs",
                               "initial_lr", NULL};
    int kind = 0;
    long long warmup = 0, total = 0;
    const char *options = NULL;
    double initial_lr = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "iLLzd:LRSchedule", keywords, &kind,
                                     &warmup, &total, &options, &initial_lr))
        return NULL;
    st_lr_schedule *schedule = NULL;
    int status = st_lr_schedule_create(&schedule, (st_lr_scheduler)kind, (int64_t)warmup,
                                       (int64_t)total, options, initial_lr);
    if (status != ST_OK)
        return st_py_raise_status(st_py_state_of(type), status);
    return LRSchedule_wrap(type, schedule);
}

st_lr_schedule *st_py_lr_schedule_handle(st_py_state *state, PyObject *obj)
{
    if (!Py_IS_TYPE(obj, state->LRScheduleType)) {
        PyErr_Format(PyExc_TypeError, "expected a _swifttrain.LRSchedule, got %.100s",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return ((st_py_lr_schedule *)obj)->schedule;
}

PyObject *st_py_lr_schedule_wrap(st_py_state *state, st_lr_schedule *schedule)
{
    return LRSchedule_wrap(state->LRScheduleType, schedule);
}

PyDoc_STRVAR(LRSchedule_factor_doc,
             "factor($self, step, /)\n--\n\n"
             "The factor for optimizer step `step` (0-based) (st_lr_schedule_factor).");

static PyObject *LRSchedule_factor(st_py_lr_schedule *self, PyObject *arg)
{
    long long step = PyLong_AsLongLong(arg);
    if (step == -1 && PyErr_Occurred())
        return NULL;
    double factor = 0;
    int status = st_lr_schedule_factor(&factor, self->schedule, (int64_t)step);
    if (status != ST_OK)
        return st_py_raise_status(ST_PY_STATE(self), status);
    return PyFloat_FromDouble(factor);
}

static PyMethodDef LRSchedule_methods[] = {
    {"factor", (PyCFunction)LRSchedule_factor, METH_O, LRSchedule_factor_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(LRSchedule_doc,
             "LRSchedule(kind, num_warmup_steps, num_training_steps, kwargs, initial_lr)\n--\n\n"
             "An st_lr_schedule: the learning-rate factor as a function of the step.");

ST_PY_TYPE_SPEC(LRSchedule, st_py_lr_schedule, Py_TPFLAGS_DEFAULT,
                {Py_tp_doc, (void *)LRSchedule_doc},
                {Py_tp_new, (void *)LRSchedule_new},
                {Py_tp_dealloc, (void *)LRSchedule_dealloc},
                {Py_tp_methods, LRSchedule_methods});

/* ---- Plateau --------------------------------------------------------------------------- */

typedef struct st_py_plateau {
    PyObject_HEAD
    st_plateau *plateau;
} st_py_plateau;

ST_PY_HANDLE_FUNCTIONS(Plateau, st_py_plateau, plateau, st_plateau, st_plateau_free)

static PyObject *Plateau_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"kwargs", NULL};
    const char *options = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "z:Plateau", keywords, &options))
        return NULL;
    st_plateau *plateau = NULL;
    int status = st_plateau_create(&plateau, options);
    if (status != ST_OK)
        return st_py_raise_status(st_py_state_of(type), status);
    return Plateau_wrap(type, plateau);
}

PyDoc_STRVAR(Plateau_step_doc,
             "step($self, metric, rates, /)\n--\n\n"
             "Feeds one evaluation's metric; returns the groups' new learning rates "
             "(st_plateau_step).");

static PyObject *Plateau_step(st_py_plateau *self, PyObject *args)
{
    double metric = 0;
    PyObject *rates_obj = NULL;
    if (!PyArg_ParseTuple(args, "dO:step", &metric, &rates_obj))
        return NULL;
    PyObject *sequence = PySequence_Fast(rates_obj, "step: rates must be a sequence of floats");
    if (sequence == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(sequence);
    double *rates = PyMem_Calloc(n > 0 ? (size_t)n : 1, sizeof *rates);
    PyObject *result = NULL;
    if (rates == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        rates[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(sequence, i));
        if (rates[i] == -1.0 && PyErr_Occurred())
            goto done;
    }
    int status = st_plateau_step(self->plateau, metric, rates, (size_t)n);
    if (status != ST_OK) {
        st_py_raise_status(ST_PY_STATE(self), status);
        goto done;
    }
    result = PyList_New(n);
    for (Py_ssize_t i = 0; result != NULL && i < n; i++) {
        PyList_SET_ITEM(result, i, PyFloat_FromDouble(rates[i]));
        if (PyList_GET_ITEM(result, i) == NULL)
            Py_CLEAR(result); /* the list frees the items made so far */
    }
done:
    PyMem_Free(rates);
    Py_DECREF(sequence);
    return result;
}

PyDoc_STRVAR(Plateau_get_state_doc,
             "get_state($self, /)\n--\n\n"
             "(best or None, num_bad_epochs, cooldown_counter) (st_plateau_get_state).");

static PyObject *Plateau_get_state(st_py_plateau *self, PyObject *unused)
{
    (void)unused;
    st_plateau_state s = {.struct_size = sizeof s};
    int status = st_plateau_get_state(&s, self->plateau);
    if (status != ST_OK)
        return st_py_raise_status(ST_PY_STATE(self), status);
    PyObject *best = isnan(s.best) ? Py_NewRef(Py_None) : PyFloat_FromDouble(s.best);
    return Py_BuildValue("(NLL)", best, (long long)s.num_bad_epochs, (long long)s.cooldown_counter);
}

PyDoc_STRVAR(Plateau_set_state_doc,
             "set_state($self, best, num_bad_epochs, cooldown_counter, /)\n--\n\n"
             "Restores the counters; best None before the first metric (st_plateau_set_state).");

static PyObject *Plateau_set_state(st_py_plateau *self, PyObject *args)
{
    PyObject *best;
    long long bad, cooldown;
    if (!PyArg_ParseTuple(args, "OLL:set_state", &best, &bad, &cooldown))
        return NULL;
    st_plateau_state s = {sizeof s, NAN, (int64_t)bad, (int64_t)cooldown};
    if (best != Py_None && (s.best = PyFloat_AsDouble(best)) == -1.0 && PyErr_Occurred())
        return NULL;
    return st_py_none_or_raise(ST_PY_STATE(self), st_plateau_set_state(self->plateau, &s));
}

static PyMethodDef Plateau_methods[] = {
    {"step", (PyCFunction)Plateau_step, METH_VARARGS, Plateau_step_doc},
    {"get_state", (PyCFunction)Plateau_get_state, METH_NOARGS, Plateau_get_state_doc},
    {"set_state", (PyCFunction)Plateau_set_state, METH_VARARGS, Plateau_set_state_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(Plateau_doc,
             "Plateau(kwargs)\n--\n\n"
             "An st_plateau: ReduceLROnPlateau configured by a \"key=value,...\" string "
             "(PyTorch's argument names) or None for the defaults.");

ST_PY_TYPE_SPEC(Plateau, st_py_plateau, Py_TPFLAGS_DEFAULT,
                {Py_tp_doc, (void *)Plateau_doc},
                {Py_tp_new, (void *)Plateau_new},
                {Py_tp_dealloc, (void *)Plateau_dealloc},
                {Py_tp_methods, Plateau_methods});

int st_py_schedule_types_init(PyObject *module, st_py_state *state)
{
    if (st_py_add_type(module, &LRSchedule_spec, &state->LRScheduleType) < 0)
        return -1;
    return st_py_add_type(module, &Plateau_spec, &state->PlateauType);
}
