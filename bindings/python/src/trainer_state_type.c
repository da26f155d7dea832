/*
 * trainer_state_type.c - swifttrain._swifttrain.TrainerStateBase: the library's fields of a
 * TrainerState (callbacks.py subclasses it), read from the last st_trainer_state given to
 * it when first asked for.
 *
 *     state.global_step, state.loss, ...   # the library's value, made on first read
 *     state.global_step = 3                # kept until the next refresh (the next event)
 *
 * The trainer refreshes its state object once per event delivered to Python
 * (st_py_trainer_state_refresh): a copy of the struct, so an event costs the same however
 * many fields there are, and a callback pays only for the fields it reads. best_model_checkpoint
 * is sticky: the library gives it during callbacks only, so the last one given is kept. A
 * field neither refreshed nor assigned raises AttributeError.
 */
#include "_swifttrain.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* The library's fields, by their st_trainer_state names, and how each becomes Python's. */
#define ST_PY_STATE_FIELDS(X)                                                              \
    X(epoch, DOUBLE) X(global_step, INT) X(max_steps, INT) X(num_train_epochs, INT)        \
    X(train_batch_size, INT) X(logging_steps, INT) X(eval_steps, INT) X(loss, DOUBLE)      \
    X(learning_rate, DOUBLE) X(grad_norm, DOUBLE) X(micro_step, INT) X(total_flos, DOUBLE) \
    X(best_metric, DOUBLE_OR_NONE) X(best_global_step, INT_OR_NONE) X(skipped_steps, INT)  \
    X(save_steps, INT) X(best_model_checkpoint, CHECKPOINT) X(world_size, INT)               \
    X(process_index, INT) X(is_world_process_zero, BOOL) X(is_local_process_zero, BOOL)

enum {
#define INDEX(name, kind) FIELD_##name,
    ST_PY_STATE_FIELDS(INDEX)
#undef INDEX
    FIELD_COUNT
};

typedef struct st_py_trainer_state_base {
    PyObject_HEAD
    st_trainer_state values;  /* the last refresh (metrics and best_model_checkpoint NULL) */
    int refreshed;            /* values holds a refresh */
    char *checkpoint;         /* PyMem copy of the last best_model_checkpoint given, or NULL */
    PyObject *fields[FIELD_COUNT]; /* made or assigned since the last refresh, or NULL */
} st_py_trainer_state_base;

#define DOUBLE(v) PyFloat_FromDouble(v)
#define INT(v) PyLong_FromLongLong(v)
#define DOUBLE_OR_NONE(v) (isnan(v) ? Py_NewRef(Py_None) : PyFloat_FromDouble(v))
#define INT_OR_NONE(v) ((v) < 0 ? Py_NewRef(Py_None) : PyLong_FromLongLong(v))
#define BOOL(v) PyBool_FromLong(v)

static PyObject *checkpoint_value(st_py_trainer_state_base *self)
{
    return self->checkpoint == NULL ? Py_NewRef(Py_None) : PyUnicode_DecodeFSDefault(self->checkpoint);
}
#define CHECKPOINT(v) checkpoint_value(self)

static PyObject *field_value(st_py_trainer_state_base *self, int field)
{
    switch (field) {
#define CONVERT(name, kind)                                                                \
    case FIELD_##name:                                                                     \
        return kind(self->values.name);
        ST_PY_STATE_FIELDS(CONVERT)
#undef CONVERT
    default:
        return NULL;
    }
}

static const char *const field_names[FIELD_COUNT] = {
#define NAME(name, kind) #name,
    ST_PY_STATE_FIELDS(NAME)
#undef NAME
};

static PyObject *TrainerStateBase_get(st_py_trainer_state_base *self, void *closure)
{
    int field = (int)(intptr_t)closure;
    if (self->fields[field] == NULL) {
        if (!self->refreshed)
            return PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute '%s'",
                                Py_TYPE(self)->tp_name, field_names[field]);
        if ((self->fields[field] = field_value(self, field)) == NULL)
            return NULL;
    }
    return Py_NewRef(self->fields[field]);
}

static int TrainerStateBase_set(st_py_trainer_state_base *self, PyObject *value, void *closure)
{
    Py_XSETREF(self->fields[(int)(intptr_t)closure], Py_XNewRef(value)); /* del: the library's */
    return 0;
}

int st_py_trainer_state_refresh(st_py_state *state, PyObject *obj, const st_trainer_state *s)
{
    /* The library says how large its st_trainer_state is; every field read must be inside. */
    if (s->struct_size < offsetof(st_trainer_state, is_local_process_zero) + sizeof(s->is_local_process_zero)) {
        st_py_raise(state, ST_ERROR,
                    "libswifttrain passed a st_trainer_state of %u bytes; this binding needs %zu. "
                    "Reinstall swifttrain so the extension and the library match.",
                    (unsigned)s->struct_size, sizeof(st_trainer_state));
        return -1;
    }
    if (!PyObject_TypeCheck(obj, state->TrainerStateBaseType)) {
        PyErr_Format(PyExc_TypeError, "the trainer's state must be a swifttrain.TrainerState, got %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    st_py_trainer_state_base *self = (st_py_trainer_state_base *)obj;
    const char *checkpoint = s->best_model_checkpoint;
    if (checkpoint != NULL && (self->checkpoint == NULL || strcmp(checkpoint, self->checkpoint) != 0)) {
        char *copy = PyMem_Malloc(strlen(checkpoint) + 1);
        if (copy == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        PyMem_Free(self->checkpoint);
        self->checkpoint = strcpy(copy, checkpoint);
        Py_CLEAR(self->fields[FIELD_best_model_checkpoint]);
    }
    self->values = *s;
    self->values.metrics = NULL;
    self->values.best_model_checkpoint = NULL;
    self->refreshed = 1;
    for (int i = 0; i < FIELD_COUNT; i++)
        if (i != FIELD_best_model_checkpoint)
            Py_CLEAR(self->fields[i]);
    return 0;
}

static int TrainerStateBase_traverse(st_py_trainer_state_base *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    for (int i = 0; i < FIELD_COUNT; i++)
        Py_VISIT(self->fields[i]);
    return 0;
}

static int TrainerStateBase_clear(st_py_trainer_state_base *self)
{
    for (int i = 0; i < FIELD_COUNT; i++)
        Py_CLEAR(self->fields[i]);
    return 0;
}

static void TrainerStateBase_dealloc(st_py_trainer_state_base *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    TrainerStateBase_clear(self);
    PyMem_Free(self->checkpoint);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyGetSetDef TrainerStateBase_getset[] = {
#define GETSET(name, kind)                                                                 \
    {#name, (getter)TrainerStateBase_get, (setter)TrainerStateBase_set,                    \
     "st_trainer_state." #name, (void *)(intptr_t)FIELD_##name},
    ST_PY_STATE_FIELDS(GETSET)
#undef GETSET
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(TrainerStateBase_doc,
             "The library's fields of a TrainerState, made from the last st_trainer_state "
             "the trainer gave when first read; assigned values last until the next event.");

ST_PY_TYPE_SPEC(TrainerStateBase, st_py_trainer_state_base,
                Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
                {Py_tp_doc, (void *)TrainerStateBase_doc}, {Py_tp_new, (void *)PyType_GenericNew},
                {Py_tp_dealloc, (void *)TrainerStateBase_dealloc},
                {Py_tp_traverse, (void *)TrainerStateBase_traverse},
                {Py_tp_clear, (void *)TrainerStateBase_clear},
                {Py_tp_getset, TrainerStateBase_getset});

int st_py_trainer_state_type_init(PyObject *module, st_py_state *state)
{
    return st_py_add_type(module, &TrainerStateBase_spec, &state->TrainerStateBaseType);
}
