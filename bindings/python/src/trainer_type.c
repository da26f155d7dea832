/*
 * trainer_type.c - swifttrain._swifttrain.Trainer: one st_trainer.
 *
 *     t = Trainer(model, loss, args)        # Module, loss name, TrainingArgs
 *     t.set_train_dataset(ds); t.set_eval_dataset(ds or None); t.add_eval_dataset(name, ds)
 *     t.set_callback_owner(trainer)    # the Python Trainer whose args, state, control, model
 *                                      # callbacks get (held weakly)
 *     i = t.add_callback(callback, event_mask, priority, run_event); t.remove_callback(i)
 *     t.set_callback_muted(i, event_mask); t.update_state(state); t.set_compute_metrics(fn or None)
 *     t.add_terminate_on_nan(); t.add_metrics_logger(MetricsLogger)   # the library's built-ins
 *     t.train(resume=None|True|path) -> dict; t.resumed_from() -> str; t.save_model(dir=None)
 *     t.set_callback_state(save, load); t.evaluate(ds=None, prefix='eval') -> dict; t.predict(ds, out) -> dict or None
 *     t.get_state() -> dict; t.log_history() -> list[dict]; t.num_outputs(dataset) -> int
 *
 *     format_trainer_state_json(text) -> str   # module function: st_trainer_state_json_format
 *
 * The object holds the model and dataset objects it was given, so their handles and
 * borrowed buffers stay valid as long as the st_trainer exists. train, evaluate and predict
 * run with the GIL released; callbacks take it back (trainer_callbacks.c). While one of them
 * runs, the object refuses calls from other threads and nested runs (the C API allows a
 * handle on one thread at a time).
 */
#include "_swifttrain.h"

/* A method's docstring: its signature (parameters after $self) and `text`. */
#define DOC(name, params, text)                                                            \
    PyDoc_STRVAR(Trainer_##name##_doc, #name "($self, " params ")\n--\n\n" text)

/* ---- state checks -------------------------------------------------------------------- */

static int check_alive(st_py_trainer *self, const char *what)
{
    if (self->trainer != NULL)
        return 0;
    st_py_raise(ST_PY_STATE(self), ST_EMISUSE, "Trainer.%s: this trainer has been released",
                what);
    return -1;
}

/* Reading is allowed from the thread that runs the trainer (its callbacks). */
static int check_readable(st_py_trainer *self, const char *what)
{
    if (check_alive(self, what) < 0)
        return -1;
    if (self->running && self->running_thread != PyThread_get_thread_ident()) {
        st_py_raise(ST_PY_STATE(self), ST_EMISUSE,
                    "Trainer.%s: the trainer is running in another thread; call it from a "
                    "callback or after train/evaluate/predict returns",
                    what);
        return -1;
    }
    return 0;
}

/* Changing the trainer is allowed only while it is not running. */
static int check_idle(st_py_trainer *self, const char *what)
{
    if (check_alive(self, what) < 0)
        return -1;
    if (self->running) {
        st_py_raise(ST_PY_STATE(self), ST_EMISUSE,
                    "Trainer.%s: not allowed while the trainer is running train, evaluate or "
                    "predict (%s); call it before or after",
                    what,
                    self->running_thread == PyThread_get_thread_ident()
                        ? "this call comes from one of its callbacks"
                        : "in another thread");
        return -1;
    }
    return 0;
}

static int begin_run(st_py_trainer *self, const char *what)
{
    if (check_idle(self, what) < 0)
        return -1;
    self->running = 1;
    self->running_thread = PyThread_get_thread_ident();
    self->training = strcmp(what, "train") == 0;
    Py_CLEAR(self->interrupt);
    self->stop_requested = 0;
    Py_CLEAR(self->snapshot);
    self->event_serial = 0;
    Py_CLEAR(self->synced_control); /* Python may have changed the control since the last run */
    st_py_host_error_clear();
    return 0;
}

/* Ends a run: re-raises what a callback raised, else maps a failed status. */
static int end_run(st_py_trainer *self, int status)
{
    self->running = 0;
    self->training = 0;
    if (self->stop_requested && self->interrupt == NULL) { /* by request_stop() */
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        st_py_error_save(&self->interrupt);
    }
    self->stop_requested = 0;
    if (self->pending != NULL) {
        Py_CLEAR(self->interrupt);
        st_py_host_error_clear();
        st_py_error_restore(&self->pending);
        return -1;
    }
    if (status != ST_OK && st_py_host_error_restore()) { /* raised in a Python forward or dataset */
        Py_CLEAR(self->interrupt);
        return -1;
    }
    if (self->interrupt != NULL && status == ST_OK) { /* Ctrl-C: ended gracefully */
        st_py_error_restore(&self->interrupt);
        return -1;
    }
    if (status != ST_OK) { /* a failure (e.g. the stop's checkpoint could not be written) wins over
                              the Ctrl-C, which becomes its __context__ */
        PyObject *interrupt = self->interrupt;
        self->interrupt = NULL;
        st_py_raise_status(ST_PY_STATE(self), status);
        if (interrupt != NULL) {
            PyObject *error = PyErr_GetRaisedException();
            PyException_SetContext(error, interrupt); /* steals interrupt */
            PyErr_SetRaisedException(error);
        }
        return -1;
    }
    return 0;
}

/* A failure of a call nested in a run (from a subclass's log or evaluate): what a callback or
 * a Python forward raised comes out here unchanged, so the override may catch it (uncaught,
 * it stops the run as before). Returns NULL. */
static PyObject *raise_nested(st_py_trainer *self, int status)
{
    if (self->pending != NULL)
        st_py_error_restore(&self->pending);
    else if (!st_py_host_error_restore())
        st_py_raise_status(ST_PY_STATE(self), status);
    return NULL;
}

/* Runs `call` (an st_status expression) with the GIL released, between begin_run and
 * end_run, and declares `int ok`: 1 if it succeeded, else 0 with an exception set. */
#define RUN(ok, self, what, call)                                                          \
    int ok = begin_run((self), (what)) == 0;                                               \
    if (ok) {                                                                              \
        int run_status;                                                                    \
        Py_BEGIN_ALLOW_THREADS                                                             \
        run_status = (call);                                                               \
        Py_END_ALLOW_THREADS                                                               \
        ok = end_run((self), run_status) == 0;                                             \
    }

/* The st_dataset of a Dataset argument; NULL with `*ok` 1 for None when allowed. */
static int dataset_arg(st_py_trainer *self, PyObject *obj, int allow_none, const char *what,
                       st_dataset **out)
{
    st_py_state *state = ST_PY_STATE(self);
    *out = NULL;
    if (obj == Py_None && allow_none)
        return 0;
    if (!Py_IS_TYPE(obj, state->DatasetType)) {
        PyErr_Format(PyExc_TypeError, "Trainer.%s: expected a _swifttrain.Dataset%s, got %.100s",
                     what, allow_none ? " or None" : "", Py_TYPE(obj)->tp_name);
        return -1;
    }
    *out = ((st_py_dataset *)obj)->dataset;
    return 0;
}

/* ---- life cycle ------------------------------------------------------------------------ */

static PyObject *Trainer_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"model", "loss", "args", NULL};
    st_py_state *state = st_py_state_of(type);
    PyObject *model = NULL, *training_args = NULL;
    const char *loss_name = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!sO!:Trainer", keywords,
                                     state->ModuleType, &model, &loss_name,
                                     state->TrainingArgsType, &training_args))
        return NULL;
    st_loss loss;
    int status = st_loss_from_name(&loss, loss_name);
    if (status != ST_OK)
        return st_py_raise_status(state, status);

    st_py_trainer *self = (st_py_trainer *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->model = Py_NewRef(model);
    status = st_trainer_create(&self->trainer, ((st_py_module *)model)->module, loss,
                               &((st_py_training_args *)training_args)->args);
    /* Ctrl-C stops training even when no Python callback runs, and an evaluation or a
     * prediction between two batches. */
    if (status == ST_OK)
        status = st_trainer_add_callback(self->trainer, st_py_interrupt_check, self,
                                         ST_EVENT_MASK(ST_EVENT_STEP_END)
                                             | ST_EVENT_MASK(ST_EVENT_PREDICTION_STEP));
    if (status != ST_OK) {
        Py_DECREF(self);
        return st_py_raise_status(state, status);
    }
    return (PyObject *)self;
}

/* The objects a trainer holds, in the order they are cleared (the model after what uses it). */
#define TRAINER_OBJECTS(X)                                                                 \
    X(train_dataset) X(eval_datasets) X(compute_metrics) X(compute_loss) X(computed)       \
    X(log_function) X(evaluate_function) X(optimizer_function) X(optimizers_lent)          \
    X(state_save) X(state_load) X(state_bytes) X(snapshot) X(event_metrics) X(event_optimizer) \
    X(event_scheduler) X(event_data) X(synced_control) X(owner) X(model) X(pending) X(interrupt)

static int Trainer_traverse(st_py_trainer *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
#define VISIT(field) Py_VISIT(self->field);
    TRAINER_OBJECTS(VISIT)
#undef VISIT
    for (Py_ssize_t i = 0; i < self->slot_count; i++)
        Py_VISIT(self->slots[i]->handler);
    return 0;
}

static int Trainer_clear(st_py_trainer *self)
{
    /* The library first, so no callback runs and nothing reads the buffers afterwards. */
    st_trainer_free(self->trainer);
    self->trainer = NULL;
    for (Py_ssize_t i = 0; i < self->slot_count; i++) {
        Py_CLEAR(self->slots[i]->handler);
        PyMem_Free(self->slots[i]);
    }
    PyMem_Free(self->slots);
    self->slots = NULL;
    self->slot_count = self->slot_capacity = 0;
#define CLEAR(field) Py_CLEAR(self->field);
    TRAINER_OBJECTS(CLEAR)
#undef CLEAR
    return 0;
}

static void Trainer_dealloc(st_py_trainer *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    Trainer_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

/* ---- datasets -------------------------------------------------------------------------- */

DOC(set_train_dataset, "dataset, /", "Sets the training dataset (st_trainer_set_train_dataset).");

static PyObject *Trainer_set_train_dataset(st_py_trainer *self, PyObject *dataset)
{
    st_dataset *handle = NULL;
    if (check_idle(self, "set_train_dataset") < 0 ||
        dataset_arg(self, dataset, 0, "set_train_dataset", &handle) < 0)
        return NULL;
    int status = st_trainer_set_train_dataset(self->trainer, handle);
    if (status != ST_OK)
        return st_py_raise_status(ST_PY_STATE(self), status);
    Py_XSETREF(self->train_dataset, Py_NewRef(dataset));
    Py_RETURN_NONE;
}

DOC(set_eval_dataset, "dataset, /", "Sets (or with None clears) the evaluation dataset "
    "(st_trainer_set_eval_dataset).");

static PyObject *Trainer_set_eval_dataset(st_py_trainer *self, PyObject *dataset)
{
    st_dataset *handle = NULL;
    if (check_idle(self, "set_eval_dataset") < 0 ||
        dataset_arg(self, dataset, 1, "set_eval_dataset", &handle) < 0)
        return NULL;
    PyObject *kept = dataset == Py_None ? NULL : Py_BuildValue("[O]", dataset);
    if (dataset != Py_None && kept == NULL)
        return NULL;
    int status = st_trainer_set_eval_dataset(self->trainer, handle);
    if (status != ST_OK) {
        Py_XDECREF(kept);
        return st_py_raise_status(ST_PY_STATE(self), status);
    }
    Py_XSETREF(self->eval_datasets, kept);
    Py_RETURN_NONE;
}

DOC(add_eval_dataset, "name, dataset, /", "Adds a named evaluation dataset; its metrics are "
    "eval_<name>_loss, ... (st_trainer_add_eval_dataset).");

static PyObject *Trainer_add_eval_dataset(st_py_trainer *self, PyObject *args)
{
    const char *name;
    PyObject *dataset;
    st_dataset *handle = NULL;
    if (!PyArg_ParseTuple(args, "sO:add_eval_dataset", &name, &dataset))
        return NULL;
    if (check_idle(self, "add_eval_dataset") < 0 ||
        dataset_arg(self, dataset, 0, "add_eval_dataset", &handle) < 0)
        return NULL;
    /* Keep the dataset first: once the library has it, its buffers must stay alive. */
    if (self->eval_datasets == NULL && (self->eval_datasets = PyList_New(0)) == NULL)
        return NULL;
    if (PyList_Append(self->eval_datasets, dataset) < 0)
        return NULL;
    int status = st_trainer_add_eval_dataset(self->trainer, name, handle);
    if (status != ST_OK) {
        Py_ssize_t last = PyList_GET_SIZE(self->eval_datasets) - 1;
        if (PySequence_DelItem(self->eval_datasets, last) < 0)
            PyErr_Clear();
        return st_py_raise_status(ST_PY_STATE(self), status);
    }
    Py_RETURN_NONE;
}

DOC(set_compute_metrics, "function, /", "Sets (or with None removes) the function that adds "
    "metrics to every evaluation (st_trainer_set_compute_metrics); see trainer_callbacks.c for "
    "how it is called.");

/* set_compute_metrics / set_compute_loss: the library calls st_py_<name>_trampoline (none
 * for None), which calls self-><name>. */
#define SET_FUNCTION_METHOD(name)                                                          \
    static PyObject *Trainer_set_##name(st_py_trainer *self, PyObject *function)           \
    {                                                                                      \
        if (check_idle(self, "set_" #name) < 0)                                            \
            return NULL;                                                                   \
        if (function != Py_None && !PyCallable_Check(function))                            \
            return PyErr_Format(PyExc_TypeError, "Trainer.set_" #name ": expected a "      \
                                "callable or None, got %.100s", Py_TYPE(function)->tp_name); \
        int none = function == Py_None;                                                    \
        int status = st_trainer_set_##name(self->trainer,                                  \
                                           none ? NULL : st_py_##name##_trampoline,        \
                                           none ? NULL : self);                            \
        if (status != ST_OK)                                                               \
            return st_py_raise_status(ST_PY_STATE(self), status);                          \
        Py_XSETREF(self->name, none ? NULL : Py_NewRef(function));                         \
        Py_RETURN_NONE;                                                                    \
    }
SET_FUNCTION_METHOD(compute_metrics)
SET_FUNCTION_METHOD(compute_loss)
SET_FUNCTION_METHOD(log_function)
SET_FUNCTION_METHOD(evaluate_function)
SET_FUNCTION_METHOD(optimizer_function)

DOC(set_log_function, "function, /", "Sets (or with None removes) function(logs: dict), called "
    "with every log the library emits in place of recording it; Trainer.log from inside it records "
    "at once (st_trainer_set_log_function).");
DOC(set_evaluate_function, "function, /", "Sets (or with None removes) function() -> dict, called "
    "for every evaluation during training; Trainer.evaluate from inside it evaluates at once "
    "(st_trainer_set_evaluate_function).");

DOC(set_optimizer_function, "function, /", "Sets (or with None removes) function(num_training_steps) "
    "-> (Optim or None, LRSchedule or None), called when training starts "
    "(st_trainer_set_optimizer_function).");

/* ---- optimizer ------------------------------------------------------------------------- */

DOC(set_optimizer, "optim, schedule, /", "The Optim (or None) and LRSchedule (or None) training "
    "uses instead of those it makes from the arguments (st_trainer_set_optimizer).");

static PyObject *Trainer_set_optimizer(st_py_trainer *self, PyObject *args)
{
    PyObject *optim, *schedule;
    st_py_state *state = ST_PY_STATE(self);
    if (!PyArg_ParseTuple(args, "OO:set_optimizer", &optim, &schedule) ||
        check_idle(self, "set_optimizer") < 0)
        return NULL;
    st_optim *o = optim == Py_None ? NULL : st_py_optim_handle(state, optim);
    if (o == NULL && optim != Py_None)
        return NULL;
    st_lr_schedule *s = schedule == Py_None ? NULL : st_py_lr_schedule_handle(state, schedule);
    if (s == NULL && schedule != Py_None)
        return NULL;
    return st_py_none_or_raise(state, st_trainer_set_optimizer(self->trainer, o, s));
}

DOC(optimizer_options, "/", "(kind, options): the st_optimizer and the st_optim_options fields "
    "(a dict) of the optimizer the arguments describe (st_trainer_optimizer_options).");

static PyObject *Trainer_optimizer_options(st_py_trainer *self, PyObject *unused)
{
    (void)unused;
    if (check_alive(self, "optimizer_options") < 0)
        return NULL;
    st_optimizer kind;
    st_optim_options options = {.struct_size = sizeof options};
    int status = st_trainer_optimizer_options(&kind, &options, self->trainer);
    if (status != ST_OK)
        return st_py_raise_status(ST_PY_STATE(self), status);
    PyObject *dict = st_py_optim_options_to_dict(&options);
    return dict == NULL ? NULL : Py_BuildValue("(iN)", (int)kind, dict);
}

DOC(parameter_decays, "name, /", "Whether the model's parameter `name` gets weight decay in the "
    "optimizer the arguments describe (st_trainer_parameter_decays).");

static PyObject *Trainer_parameter_decays(st_py_trainer *self, PyObject *name)
{
    const char *text = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
    if (text == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "Trainer.parameter_decays: name must be a str");
        return NULL;
    }
    if (check_alive(self, "parameter_decays") < 0)
        return NULL;
    bool decays = false;
    int status = st_trainer_parameter_decays(&decays, self->trainer, text);
    if (status != ST_OK)
        return st_py_raise_status(ST_PY_STATE(self), status);
    return PyBool_FromLong(decays);
}

DOC(create_schedule, "num_training_steps, /", "The LRSchedule the arguments describe for "
    "`num_training_steps` steps (st_trainer_create_schedule).");

static PyObject *Trainer_create_schedule(st_py_trainer *self, PyObject *steps)
{
    long long total = PyLong_AsLongLong(steps);
    if ((total == -1 && PyErr_Occurred()) || check_alive(self, "create_schedule") < 0)
        return NULL;
    st_lr_schedule *schedule = NULL;
    int status = st_trainer_create_schedule(&schedule, self->trainer, (int64_t)total);
    if (status != ST_OK)
        return st_py_raise_status(ST_PY_STATE(self), status);
    return st_py_lr_schedule_wrap(ST_PY_STATE(self), schedule);
}

/* ---- callbacks ------------------------------------------------------------------------- */

DOC(set_callback_owner, "trainer, /", "The Python Trainer (held weakly) whose args, state, "
    "control and model the callbacks get (trainer_callbacks.c).");

static PyObject *Trainer_set_callback_owner(st_py_trainer *self, PyObject *trainer)
{
    if (check_idle(self, "set_callback_owner") < 0)
        return NULL;
    PyObject *ref = PyWeakref_NewRef(trainer, NULL);
    if (ref == NULL)
        return NULL;
    Py_XSETREF(self->owner, ref);
    Py_RETURN_NONE;
}

/* An event mask argument: 0, or -1 with a ValueError naming `what`. */
static int mask_arg(PyObject *obj, const char *what, uint64_t *out)
{
    unsigned long long mask = PyLong_Check(obj) ? PyLong_AsUnsignedLongLong(obj) : (unsigned long long)-1;
    if (mask == (unsigned long long)-1 && (!PyLong_Check(obj) || PyErr_Occurred())) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "Trainer.%s: event_mask must be an int in [0, 2**64 - 1], got %R",
                     what, obj);
        return -1;
    }
    *out = (uint64_t)mask;
    return 0;
}

DOC(add_callback, "callback, event_mask, priority=0, run_event=False, /", "Registers `callback` "
    "for the events in event_mask at `priority` (st_trainer_add_event_callback: one order with "
    "the library's and C callbacks): callback.on_<event>(args, state, control, **kwargs), or "
    "callback.run_event(name, args, state, control, **kwargs) with run_event (see "
    "trainer_callbacks.c). Returns its index for remove_callback and set_callback_muted.");

static PyObject *Trainer_add_callback(st_py_trainer *self, PyObject *args)
{
    PyObject *handler = NULL, *mask_obj = NULL;
    int priority = 0, run_event = 0;
    if (!PyArg_ParseTuple(args, "OO|ip:add_callback", &handler, &mask_obj, &priority, &run_event))
        return NULL;
    if (check_idle(self, "add_callback") < 0)
        return NULL;
    uint64_t mask = 0;
    if (mask_arg(mask_obj, "add_callback", &mask) < 0)
        return NULL;
    if (self->slot_count == self->slot_capacity) {
        Py_ssize_t capacity = self->slot_capacity ? 2 * self->slot_capacity : 4;
        st_py_callback_slot **slots = PyMem_Realloc(self->slots, sizeof(*slots) * capacity);
        if (slots == NULL)
            return PyErr_NoMemory();
        self->slots = slots;
        self->slot_capacity = capacity;
    }
    st_py_callback_slot *slot = PyMem_Malloc(sizeof(*slot));
    if (slot == NULL)
        return PyErr_NoMemory();
    slot->owner = self;
    slot->handler = Py_NewRef(handler);
    slot->run_event = run_event;
    slot->muted = 0;
    int status = st_trainer_add_event_callback(self->trainer, st_py_callback_trampoline, slot,
                                               (uint64_t)mask, priority);
    if (status != ST_OK) {
        Py_DECREF(slot->handler);
        PyMem_Free(slot);
        return st_py_raise_status(ST_PY_STATE(self), status);
    }
    self->slots[self->slot_count] = slot;
    return PyLong_FromSsize_t(self->slot_count++);
}

DOC(remove_callback, "index, /", "Stops calling the handler registered as `index` "
    "(st_trainer_remove_event_callback).");

static PyObject *Trainer_remove_callback(st_py_trainer *self, PyObject *index_obj)
{
    Py_ssize_t index = PyNumber_AsSsize_t(index_obj, PyExc_IndexError);
    if (index == -1 && PyErr_Occurred())
        return NULL;
    /* Allowed from a callback (same thread): the trampoline holds its own reference. */
    if (check_readable(self, "remove_callback") < 0)
        return NULL;
    if (index < 0 || index >= self->slot_count) {
        PyErr_Format(PyExc_IndexError, "Trainer.remove_callback: no callback %zd", index);
        return NULL;
    }
    if (self->slots[index]->handler != NULL) /* the library stops calling it too */
        (void)st_trainer_remove_event_callback(self->trainer, st_py_callback_trampoline, self->slots[index]);
    Py_CLEAR(self->slots[index]->handler);
    Py_RETURN_NONE;
}

DOC(set_callback_muted, "index, event_mask, /", "Skips the callback registered as `index` at "
    "the events of event_mask (its registration stays, and so does its place in the order): "
    "for a callback that knows it has nothing to do at them in the coming runs.");

static PyObject *Trainer_set_callback_muted(st_py_trainer *self, PyObject *args)
{
    Py_ssize_t index;
    PyObject *mask_obj;
    uint64_t mask = 0;
    if (!PyArg_ParseTuple(args, "nO:set_callback_muted", &index, &mask_obj) ||
        check_idle(self, "set_callback_muted") < 0 || mask_arg(mask_obj, "set_callback_muted", &mask) < 0)
        return NULL;
    if (index < 0 || index >= self->slot_count)
        return PyErr_Format(PyExc_IndexError, "Trainer.set_callback_muted: no callback %zd", index);
    self->slots[index]->muted = mask;
    Py_RETURN_NONE;
}

DOC(log, "logs, /", "Logs a dict of name -> number (st_trainer_log): appended to the log history "
    "with the step, and LOG fires with them (after the current event when called from a "
    "callback).");

static PyObject *Trainer_log(st_py_trainer *self, PyObject *logs)
{
    st_py_numbers numbers;
    PyObject *result = NULL;
    if (st_py_numbers_from_dict(&numbers, logs, "Trainer.log") < 0)
        return NULL;
    /* From a callback, LOG follows the event; else it fires now, as a run of its own (a
     * callback's exception comes out here). */
    int from_callback = self->running;
    if (check_readable(self, "log") == 0 && (from_callback || begin_run(self, "log") == 0)) {
        int status = st_trainer_log(self->trainer, numbers.names, numbers.values, numbers.count);
        result = from_callback ? (status == ST_OK ? Py_NewRef(Py_None) : raise_nested(self, status))
                 : end_run(self, status) < 0 ? NULL : Py_NewRef(Py_None);
    }
    st_py_numbers_free(&numbers);
    return result;
}

DOC(request_stop, "/", "Ctrl-C during train(): asks the library to stop gracefully after the "
    "current step and to save it (st_trainer_request_stop); train() then raises "
    "KeyboardInterrupt. Returns False, asking nothing, outside train() or when a stop was asked "
    "for already (a second Ctrl-C is to raise at once).");

static PyObject *Trainer_request_stop(st_py_trainer *self, PyObject *unused)
{
    (void)unused;
    if (!self->running || !self->training || self->stop_requested)
        Py_RETURN_FALSE;
    self->stop_requested = 1;
    int status = st_trainer_request_stop(self->trainer, true);
    if (status != ST_OK)
        return st_py_raise_status(ST_PY_STATE(self), status);
    Py_RETURN_TRUE;
}

DOC(add_terminate_on_nan, "/", "Registers the library's TerminateOnNaN "
    "(st_trainer_add_terminate_on_nan); the C API cannot unregister it.");

static PyObject *Trainer_add_terminate_on_nan(st_py_trainer *self, PyObject *unused)
{
    (void)unused;
    if (check_idle(self, "add_terminate_on_nan") < 0)
        return NULL;
    return st_py_none_or_raise(ST_PY_STATE(self), st_trainer_add_terminate_on_nan(self->trainer));
}

DOC(add_metrics_logger, "logger, /", "Registers a MetricsLogger for the trainer's LOG events "
    "(st_trainer_add_metrics_logger; the library keeps its own reference). The C API cannot "
    "unregister it.");

static PyObject *Trainer_add_metrics_logger(st_py_trainer *self, PyObject *logger)
{
    st_metrics_logger *handle = st_py_metrics_logger_handle(ST_PY_STATE(self), logger);
    if (handle == NULL || check_idle(self, "add_metrics_logger") < 0)
        return NULL;
    return st_py_none_or_raise(ST_PY_STATE(self),
                               st_trainer_add_metrics_logger(self->trainer, handle));
}

/* ---- running ----------------------------------------------------------------------------- */

DOC(train, "resume=None, /", "Trains with the GIL released (st_trainer_train), or with `resume` "
    "True or a checkpoint path continues a saved run (st_trainer_resume); returns the train "
    "metrics. An exception raised by a callback is re-raised as is.");

static PyObject *Trainer_train(st_py_trainer *self, PyObject *args)
{
    PyObject *resume = Py_None, *path = NULL;
    if (!PyArg_ParseTuple(args, "|O:train", &resume))
        return NULL;
    if (resume != Py_None && resume != Py_True && !PyUnicode_FSConverter(resume, &path))
        return NULL;
    if (begin_run(self, "train") < 0) {
        Py_XDECREF(path);
        return NULL;
    }
    st_metrics *metrics = NULL;
    int status;
    Py_BEGIN_ALLOW_THREADS
    if (resume == Py_None)
        status = st_trainer_train(&metrics, self->trainer);
    else
        status = st_trainer_resume(&metrics, self->trainer, path ? PyBytes_AS_STRING(path) : NULL);
    Py_END_ALLOW_THREADS
    Py_XDECREF(path);
    PyObject *result = NULL;
    if (resume != Py_None && status == ST_ENOTFOUND && self->pending == NULL) {
        if (end_run(self, ST_OK) == 0) /* else a Ctrl-C saved meanwhile is raised instead */
            st_py_raise_resume_status(ST_PY_STATE(self), status);
    } else if (end_run(self, status) == 0) {
        result = st_py_metrics_to_dict(ST_PY_STATE(self), metrics);
    }
    st_metrics_free(metrics);
    return result;
}

/* A text the library writes into a buffer (resumed_from, state_json). */
static PyObject *text_of(st_py_trainer *self, const char *what, st_py_text_fn get)
{
    if (check_readable(self, what) < 0)
        return NULL;
    return st_py_text(ST_PY_STATE(self), get, self->trainer, "replace");
}

DOC(resumed_from, "/", "The checkpoint the last train() resumed from and the newer ones it "
    "passed over, or '' (st_trainer_resumed_from).");

static PyObject *Trainer_resumed_from(st_py_trainer *self, PyObject *unused)
{
    (void)unused;
    return text_of(self, "resumed_from", (st_py_text_fn)st_trainer_resumed_from);
}

DOC(state_json, "/", "The state as HF's trainer_state.json text (st_trainer_state_json).");

static PyObject *Trainer_state_json(st_py_trainer *self, PyObject *unused)
{
    (void)unused;
    return text_of(self, "state_json", (st_py_text_fn)st_trainer_state_json);
}

DOC(allennlp_metrics_json, "/", "AllenNLP's result of the last training as JSON text "
    "(st_trainer_allennlp_metrics_json).");

static PyObject *Trainer_allennlp_metrics_json(st_py_trainer *self, PyObject *unused)
{
    (void)unused;
    return text_of(self, "allennlp_metrics_json", (st_py_text_fn)st_trainer_allennlp_metrics_json);
}

DOC(save_model, "directory=None, /", "Writes directory/model.safetensors (default output_dir; "
    "st_trainer_save_model).");

static PyObject *Trainer_save_model(st_py_trainer *self, PyObject *args)
{
    PyObject *directory = Py_None, *path = NULL;
    if (!PyArg_ParseTuple(args, "|O:save_model", &directory))
        return NULL;
    if (directory != Py_None && !PyUnicode_FSConverter(directory, &path))
        return NULL;
    if (check_idle(self, "save_model") < 0) {
        Py_XDECREF(path);
        return NULL;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = st_trainer_save_model(self->trainer, path ? PyBytes_AS_STRING(path) : NULL);
    Py_END_ALLOW_THREADS
    Py_XDECREF(path);
    return st_py_none_or_raise(ST_PY_STATE(self), status);
}

DOC(set_callback_state, "save, load, /", "Registers the Python callbacks' state as one callback "
    "state named \"python_callbacks\": save() -> bytes goes into every checkpoint, load(bytes) "
    "gets it back on resume (st_trainer_add_callback_state). Once per trainer.");

static PyObject *Trainer_set_callback_state(st_py_trainer *self, PyObject *args)
{
    PyObject *save, *load;
    if (!PyArg_ParseTuple(args, "OO:set_callback_state", &save, &load))
        return NULL;
    if (check_idle(self, "set_callback_state") < 0)
        return NULL;
    if (!PyCallable_Check(save) || !PyCallable_Check(load)) {
        PyErr_SetString(PyExc_TypeError, "Trainer.set_callback_state: save and load must be callable");
        return NULL;
    }
    int status = st_trainer_add_callback_state(self->trainer, "python_callbacks",
                                               st_py_state_save, st_py_state_load, self);
    if (status != ST_OK)
        return st_py_raise_status(ST_PY_STATE(self), status);
    self->state_save = Py_NewRef(save);
    self->state_load = Py_NewRef(load);
    Py_RETURN_NONE;
}

DOC(evaluate, "dataset=None, metric_key_prefix='eval', /", "Evaluates on `dataset` or on every "
    "evaluation dataset (st_trainer_evaluate_prefixed); returns the metrics.");

DOC(init_end, "/", "Fires INIT_END now (st_trainer_init_end), at the end of Trainer.__init__ as "
    "HF does; re-raises what a callback raised.");

static PyObject *Trainer_init_end(st_py_trainer *self, PyObject *unused)
{
    (void)unused;
    RUN(ok, self, "init_end", st_trainer_init_end(self->trainer));
    return ok ? Py_NewRef(Py_None) : NULL;
}

static PyObject *Trainer_evaluate(st_py_trainer *self, PyObject *args)
{
    PyObject *dataset = Py_None;
    const char *prefix = "eval";
    if (!PyArg_ParseTuple(args, "|Os:evaluate", &dataset, &prefix))
        return NULL;
    st_dataset *handle = NULL;
    if (dataset_arg(self, dataset, 1, "evaluate", &handle) < 0)
        return NULL;
    st_metrics *metrics = NULL;
    if (self->in_evaluate_function && self->running_thread == PyThread_get_thread_ident()) {
        /* a subclass's evaluate during training: evaluates at once, inside the run */
        int status;
        Py_BEGIN_ALLOW_THREADS
        status = st_trainer_evaluate_prefixed(&metrics, self->trainer, handle, prefix);
        Py_END_ALLOW_THREADS
        if (status != ST_OK)
            return raise_nested(self, status);
        PyObject *result = st_py_metrics_to_dict(ST_PY_STATE(self), metrics);
        st_metrics_free(metrics);
        return result;
    }
    RUN(ok, self, "evaluate",
        st_trainer_evaluate_prefixed(&metrics, self->trainer, handle, prefix));
    PyObject *result = ok ? st_py_metrics_to_dict(ST_PY_STATE(self), metrics) : NULL;
    st_metrics_free(metrics);
    return result;
}

DOC(predict, "dataset, out, /", "Writes the model's outputs for every row of `dataset` into "
    "`out`, a writable C-contiguous float32 buffer of num_samples * num_outputs items "
    "(st_trainer_predict). Returns the test metrics, or None without labels.");

static PyObject *Trainer_predict(st_py_trainer *self, PyObject *args)
{
    PyObject *dataset = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "OO:predict", &dataset, &out))
        return NULL;
    st_dataset *handle = NULL;
    if (dataset_arg(self, dataset, 0, "predict", &handle) < 0)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(out, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (!st_py_buffer_is_float32(&view)) {
        st_py_raise(ST_PY_STATE(self), ST_EINVAL, "Trainer.predict: out must be float32, got %s",
                    st_py_buffer_dtype_name(&view));
        PyBuffer_Release(&view);
        return NULL;
    }
    st_metrics *metrics = NULL;
    RUN(ok, self, "predict", st_trainer_predict((float *)view.buf, (size_t)(view.len / 4),
                                                &metrics, self->trainer, handle));
    PyBuffer_Release(&view);
    PyObject *result = !ok ? NULL
        : metrics != NULL ? st_py_metrics_to_dict(ST_PY_STATE(self), metrics) : Py_NewRef(Py_None);
    st_metrics_free(metrics);
    return result;
}

DOC(predict_tensors, "dataset, /", "(predictions, labels or None, metrics or None) for outputs "
    "of any shape, padded with -100 across batches (st_trainer_predict_tensors).");

static PyObject *Trainer_predict_tensors(st_py_trainer *self, PyObject *dataset)
{
    st_dataset *handle = NULL;
    if (dataset_arg(self, dataset, 0, "predict_tensors", &handle) < 0)
        return NULL;
    st_tensor *predictions = NULL, *labels = NULL;
    st_metrics *metrics = NULL;
    RUN(ok, self, "predict", st_trainer_predict_tensors(&predictions, &labels, &metrics,
                                                        self->trainer, handle));
    if (!ok)
        return NULL;
    st_py_state *state = ST_PY_STATE(self);
    PyObject *p = st_py_tensor_wrap(state, predictions, 0, NULL, 0);
    PyObject *l = labels != NULL ? st_py_tensor_wrap(state, labels, 0, NULL, 0) : Py_NewRef(Py_None);
    PyObject *m = metrics != NULL ? st_py_metrics_to_dict(state, metrics) : Py_NewRef(Py_None);
    st_metrics_free(metrics);
    return Py_BuildValue("(NNN)", p, l, m); /* NULL, releasing the others, if one is NULL */
}

DOC(set_compute_loss, "function, /", "Sets (or with None removes) function(outputs: dict, batch: "
    "dict, num_items) -> Tensor, the loss in place of the built-in one "
    "(st_trainer_set_compute_loss).");

DOC(builtin_loss, "logits, labels, /", "The trainer's built-in loss of logits against labels "
    "(st_trainer_builtin_loss).");

static PyObject *Trainer_builtin_loss(st_py_trainer *self, PyObject *args)
{
    PyObject *logits, *labels;
    st_py_state *state = ST_PY_STATE(self);
    if (!PyArg_ParseTuple(args, "OO:builtin_loss", &logits, &labels) ||
        check_alive(self, "builtin_loss") < 0)
        return NULL;
    if (!st_py_is_tensor(state, logits) || !st_py_is_tensor(state, labels)) {
        PyErr_SetString(PyExc_TypeError, "Trainer.builtin_loss: logits and labels must be tensors");
        return NULL;
    }
    st_tensor *out = NULL;
    int status = st_trainer_builtin_loss(&out, self->trainer, st_py_handle(logits), st_py_handle(labels));
    return ST_PY_RESULT(state, status, out, logits, labels);
}

DOC(default_loss, "outputs, inputs, /", "HF's default compute_loss of a model's outputs on its "
    "inputs, both lists of (name, Tensor) pairs (st_trainer_default_loss).");

static PyObject *Trainer_default_loss(st_py_trainer *self, PyObject *args)
{
    PyObject *given[2], *lists[2] = {NULL, NULL}, *result = NULL, **sources = NULL;
    st_named_tensors *named[2] = {NULL, NULL};
    st_py_state *state = ST_PY_STATE(self);
    if (!PyArg_ParseTuple(args, "OO:default_loss", &given[0], &given[1])
        || check_alive(self, "default_loss") < 0)
        return NULL;
    for (int l = 0; l < 2; l++) { /* (a list each, so the pairs stay alive while read) */
        lists[l] = PySequence_Fast(given[l], "Trainer.default_loss: expected (name, Tensor) pairs");
        if (lists[l] == NULL ||
            (named[l] = st_py_named_tensors_from_items(state, lists[l], "Trainer.default_loss")) == NULL)
            goto done;
    }
    /* the result keeps the borrowed memory of every tensor it may have been computed from */
    Py_ssize_t n0 = PySequence_Fast_GET_SIZE(lists[0]), n1 = PySequence_Fast_GET_SIZE(lists[1]);
    if ((sources = PyMem_Calloc((size_t)(n0 + n1) + 1, sizeof *sources)) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n0 + n1; i++)
        sources[i] = PyTuple_GET_ITEM(PySequence_Fast_GET_ITEM(lists[i < n0 ? 0 : 1], i < n0 ? i : i - n0), 1);
    st_tensor *out = NULL;
    int status = st_trainer_default_loss(&out, self->trainer, named[0], named[1]);
    result = st_py_tensor_result(state, status, out, sources, (size_t)(n0 + n1));
done:
    PyMem_Free(sources);
    for (int l = 0; l < 2; l++) {
        st_named_tensors_free(named[l]);
        Py_XDECREF(lists[l]);
    }
    return result;
}

/* ---- reading -------------------------------------------------------------------------- */

DOC(get_state, "/", "The trainer's current state (st_trainer_get_state) as a dict.");

static PyObject *Trainer_get_state(st_py_trainer *self, PyObject *unused)
{
    (void)unused;
    if (check_readable(self, "get_state") < 0)
        return NULL;
    st_trainer_state state = {.struct_size = (uint32_t)sizeof state};
    int status = st_trainer_get_state(&state, self->trainer);
    if (status != ST_OK)
        return st_py_raise_status(ST_PY_STATE(self), status);
    return st_py_trainer_state_to_dict(ST_PY_STATE(self), &state);
}

DOC(update_state, "state, /", "Gives `state` (a TrainerState) the trainer's current values "
    "(st_trainer_get_state), as an event does.");

static PyObject *Trainer_update_state(st_py_trainer *self, PyObject *state_obj)
{
    if (check_readable(self, "update_state") < 0)
        return NULL;
    st_trainer_state state = {.struct_size = (uint32_t)sizeof state};
    int status = st_trainer_get_state(&state, self->trainer);
    if (status != ST_OK)
        return st_py_raise_status(ST_PY_STATE(self), status);
    if (st_py_trainer_state_refresh(ST_PY_STATE(self), state_obj, &state) < 0)
        return NULL;
    Py_RETURN_NONE;
}

DOC(num_outputs, "dataset, /", "Outputs the model produces per sample of `dataset` "
    "(st_trainer_num_outputs).");

static PyObject *Trainer_num_outputs(st_py_trainer *self, PyObject *dataset)
{
    st_dataset *handle = NULL;
    if (check_readable(self, "num_outputs") < 0 ||
        dataset_arg(self, dataset, 0, "num_outputs", &handle) < 0)
        return NULL;
    int64_t count = 0;
    RUN(ok, self, "num_outputs", st_trainer_num_outputs(&count, self->trainer, handle));
    return ok ? PyLong_FromLongLong(count) : NULL;
}

DOC(log_history, "/", "Every log history entry as a dict (st_trainer_log_history_count / _entry).");

static PyObject *Trainer_log_history(st_py_trainer *self, PyObject *unused)
{
    (void)unused;
    if (check_readable(self, "log_history") < 0)
        return NULL;
    st_py_state *state = ST_PY_STATE(self);
    size_t count = 0;
    int status = st_trainer_log_history_count(&count, self->trainer);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    PyObject *list = PyList_New((Py_ssize_t)count);
    if (list == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        st_metrics *entry = NULL;
        status = st_trainer_log_history_entry(&entry, self->trainer, i);
        if (status != ST_OK) {
            Py_DECREF(list);
            return st_py_raise_status(state, status);
        }
        PyObject *dict = st_py_metrics_to_dict(state, entry);
        st_metrics_free(entry);
        if (dict == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, dict);
    }
    return list;
}

/* ---- module functions ------------------------------------------------------------------ */

PyDoc_STRVAR(format_trainer_state_json_doc,
             "format_trainer_state_json(state, /)\n--\n\n"
             "HF's trainer_state.json text of a state given as JSON text of HF's TrainerState "
             "fields, written by the library's writer (st_trainer_state_json_format); "
             "format_trainer_state_json('{}') names every field.");

static PyObject *format_trainer_state_json(PyObject *module, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "format_trainer_state_json: expected str, got %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    Py_ssize_t size = 0;
    const char *given = PyUnicode_AsUTF8AndSize(arg, &size);
    if (given == NULL)
        return NULL;
    if (strlen(given) != (size_t)size) {
        PyErr_SetString(PyExc_ValueError, "format_trainer_state_json: the text contains a NUL");
        return NULL;
    }
    return st_py_text(PyModule_GetState(module), (st_py_text_fn)st_trainer_state_json_format,
                      given, "strict");
}

PyMethodDef st_py_trainer_functions[] = {
    {"format_trainer_state_json", format_trainer_state_json, METH_O,
     format_trainer_state_json_doc},
    {NULL, NULL, 0, NULL},
};

static PyObject *Trainer_get_running(st_py_trainer *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->running);
}

#define METHOD(name, flags) {#name, (PyCFunction)Trainer_##name, flags, Trainer_##name##_doc}
static PyMethodDef Trainer_methods[] = {
    METHOD(set_train_dataset, METH_O),
    METHOD(set_eval_dataset, METH_O),
    METHOD(add_eval_dataset, METH_VARARGS),
    METHOD(set_compute_metrics, METH_O),
    METHOD(set_callback_owner, METH_O),
    METHOD(add_callback, METH_VARARGS),
    METHOD(set_callback_muted, METH_VARARGS),
    METHOD(update_state, METH_O),
    METHOD(remove_callback, METH_O),
    METHOD(request_stop, METH_NOARGS),
    METHOD(log, METH_O),
    METHOD(init_end, METH_NOARGS),
    METHOD(add_terminate_on_nan, METH_NOARGS),
    METHOD(add_metrics_logger, METH_O),
    METHOD(train, METH_VARARGS),
    METHOD(resumed_from, METH_NOARGS),
    METHOD(state_json, METH_NOARGS),
    METHOD(allennlp_metrics_json, METH_NOARGS),
    METHOD(save_model, METH_VARARGS),
    METHOD(set_callback_state, METH_VARARGS),
    METHOD(evaluate, METH_VARARGS),
    METHOD(predict, METH_VARARGS),
    METHOD(get_state, METH_NOARGS),
    METHOD(num_outputs, METH_O),
    METHOD(predict_tensors, METH_O),
    METHOD(set_compute_loss, METH_O),
    METHOD(builtin_loss, METH_VARARGS),
    METHOD(default_loss, METH_VARARGS),
    METHOD(log_history, METH_NOARGS),
    METHOD(set_log_function, METH_O),
    METHOD(set_evaluate_function, METH_O),
    METHOD(set_optimizer_function, METH_O),
    METHOD(set_optimizer, METH_VARARGS),
    METHOD(optimizer_options, METH_NOARGS),
    METHOD(parameter_decays, METH_O),
    METHOD(create_schedule, METH_O),
    {NULL, NULL, 0, NULL},
};
#undef METHOD

/* The st_trainer for native code (a PyCapsule named "swifttrain.st_trainer"), so a C
 * extension can add its own callbacks to a trainer Python created. */
static PyObject *Trainer_get_capsule(st_py_trainer *self, void *closure)
{
    (void)closure;
    return PyCapsule_New(self->trainer, "swifttrain.st_trainer", NULL);
}

static PyGetSetDef Trainer_getset[] = {
    {"running", (getter)Trainer_get_running, NULL,
     "Whether train, evaluate or predict is in progress.", NULL},
    {"capsule", (getter)Trainer_get_capsule, NULL,
     "The st_trainer * as a PyCapsule named \"swifttrain.st_trainer\", valid while this "
     "object lives: native code may add callbacks (st_trainer_add_event_callback) to it.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(Trainer_doc,
             "Trainer(model, loss, args)\n--\n\n"
             "An st_trainer for `model` (a Module) with the loss named `loss` "
             "(st_loss_from_name) and `args` (a TrainingArgs, copied).");

ST_PY_TYPE_SPEC(Trainer, st_py_trainer, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
                {Py_tp_doc, (void *)Trainer_doc}, {Py_tp_new, (void *)Trainer_new},
                {Py_tp_dealloc, (void *)Trainer_dealloc},
                {Py_tp_traverse, (void *)Trainer_traverse}, {Py_tp_clear, (void *)Trainer_clear},
                {Py_tp_methods, Trainer_methods}, {Py_tp_getset, Trainer_getset});

int st_py_trainer_type_init(PyObject *module, st_py_state *state)
{
    return st_py_add_type(module, &Trainer_spec, &state->TrainerType);
}
