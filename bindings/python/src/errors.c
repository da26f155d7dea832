/*
 * errors.c - st_status codes as Python exceptions.
 *
 * Every exception derives from swifttrain.SwiftTrainError, so `except SwiftTrainError`
 * catches everything the library reports, and from the built-in class a Python user
 * expects for the kind of failure (`except ValueError` catches a bad argument). ShapeError
 * is both a ValueError and a RuntimeError: PyTorch raises RuntimeError for shapes that do
 * not fit, so code written for torch catches it too. StateDictError is what a failed
 * load_state_dict raises, a RuntimeError like torch's, whatever the status.
 * Each instance carries the st_status code as `.status`.
 */
#include "_swifttrain.h"

#include <stdarg.h>
#include <stddef.h>

/* ---- the hierarchy ------------------------------------------------------------------- */

/* The hierarchy, built when the module is executed: each class derives from a class of the
 * table before it (`parent`, a slot of the state; none for SwiftTrainError, which derives
 * from Exception) and from up to two built-ins. `status`: the st_status it is raised for (0:
 * none of its own; the first class with a status is the one raised). */
#define DEF(name, parent, status)                                                          \
    offsetof(st_py_state, name), #name, offsetof(st_py_state, parent), status
static const struct exception_def {
    size_t slot;
    const char *name;
    size_t parent;
    int status;
    PyObject **builtins[2];
    const char *doc;
} exception_defs[] = {
    {DEF(SwiftTrainError, SwiftTrainError, 0), {&PyExc_Exception},
     "Base class of every error swifttrain reports; .status is the st_status code."},
    {DEF(InvalidArgumentError, SwiftTrainError, ST_EINVAL), {&PyExc_ValueError},
     "An argument is invalid (ST_EINVAL): a bad hyper-parameter, an unknown name, a label out "
     "of range."},
    {DEF(ShapeError, SwiftTrainError, ST_ESHAPE), {&PyExc_ValueError, &PyExc_RuntimeError},
     "Sizes or shapes do not fit together (ST_ESHAPE). Both a ValueError and, as PyTorch "
     "raises for shapes, a RuntimeError."},
    {DEF(OutOfMemoryError, SwiftTrainError, ST_ENOMEM), {&PyExc_MemoryError},
     "Memory could not be allocated (ST_ENOMEM)."},
    {DEF(MisuseError, SwiftTrainError, ST_EMISUSE), {&PyExc_RuntimeError},
     "The call is not allowed in the object's current state (ST_EMISUSE), e.g. training "
     "without a training dataset."},
    {DEF(InternalError, SwiftTrainError, ST_ERROR), {&PyExc_RuntimeError},
     "An internal error of the library (ST_ERROR)."},
    {DEF(TrainingAbortedError, SwiftTrainError, ST_EUSER), {&PyExc_RuntimeError},
     "A callback stopped training by failing (ST_EUSER). An exception raised by a Python "
     "callback is re-raised itself instead."},
    {DEF(BlasError, SwiftTrainError, ST_EBLAS), {&PyExc_RuntimeError},
     "OpenBLAS could not be loaded (ST_EBLAS); install libopenblas0."},
    {DEF(NotFoundError, SwiftTrainError, ST_ENOTFOUND), {&PyExc_KeyError},
     "A named item does not exist (ST_ENOTFOUND)."},
    {DEF(FileError, SwiftTrainError, ST_EIO), {&PyExc_OSError},
     "A file could not be opened, read or written (ST_EIO); an OSError."},
    {DEF(CheckpointNotFoundError, NotFoundError, 0), {&PyExc_ValueError},
     "No checkpoint to resume from (ST_ENOTFOUND from a resume): a NotFoundError and, as HF "
     "raises, a ValueError."},
    {DEF(CorruptFileError, SwiftTrainError, ST_ECORRUPT), {&PyExc_ValueError},
     "A file's contents are damaged or not in the expected format: a checkpoint that does not "
     "match its manifest, a malformed safetensors file (ST_ECORRUPT); a ValueError."},
    {DEF(StateDictError, SwiftTrainError, 0), {&PyExc_RuntimeError},
     "load_state_dict failed: missing, unexpected or mis-shaped keys, named in the message (a "
     "RuntimeError, as in torch)."},
};
#define EXCEPTION_COUNT (sizeof exception_defs / sizeof exception_defs[0])

static PyObject **state_slot(st_py_state *state, size_t offset)
{
    return (PyObject **)((char *)state + offset);
}

/* The exception class for a status: the first with it, else SwiftTrainError. */
static PyObject *exception_for_status(st_py_state *state, int status)
{
    for (size_t i = 0; i < EXCEPTION_COUNT; i++)
        if (exception_defs[i].status == status)
            return *state_slot(state, exception_defs[i].slot);
    return state->SwiftTrainError;
}

/* ---- raising and building ------------------------------------------------------------ */

static PyObject *raise_as(PyObject *cls, int status, PyObject *message)
{
    PyObject *exc = PyObject_CallOneArg(cls, message);
    if (exc == NULL)
        return NULL;
    PyObject *code = PyLong_FromLong(status);
    if (code == NULL || PyObject_SetAttrString(exc, "status", code) < 0) {
        Py_XDECREF(code);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(code);
    PyErr_SetObject(cls, exc);
    Py_DECREF(exc);
    return NULL;
}

/* st_last_error_message(), or the status's name when the library left it empty, as `cls`. */
static PyObject *raise_library(PyObject *cls, int status)
{
    const char *text = st_last_error_message();
    PyObject *message = (text != NULL && text[0] != '\0')
                            ? PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text), "replace")
                            : PyUnicode_FromString(st_status_string(status));
    if (message != NULL) {
        raise_as(cls, status, message);
        Py_DECREF(message);
    }
    return NULL;
}

PyObject *st_py_raise_status(st_py_state *state, int status)
{
    return raise_library(exception_for_status(state, status), status);
}

PyObject *st_py_raise_state_dict_status(st_py_state *state, int status)
{
    if (status == ST_ENOMEM || status == ST_EBLAS)  /* not about the state dict */
        return st_py_raise_status(state, status);
    return raise_library(state->StateDictError, status);
}

PyObject *st_py_raise_resume_status(st_py_state *state, int status)
{
    if (status != ST_ENOTFOUND)
        return st_py_raise_status(state, status);
    return raise_library(state->CheckpointNotFoundError, status);
}

PyObject *st_py_raise(st_py_state *state, int status, const char *format, ...)
{
    va_list vargs;
    va_start(vargs, format);
    PyObject *message = PyUnicode_FromFormatV(format, vargs);
    va_end(vargs);
    if (message == NULL)
        return NULL;
    raise_as(exception_for_status(state, status), status, message);
    Py_DECREF(message);
    return NULL;
}

int st_py_errors_init(PyObject *module, st_py_state *state)
{
    for (size_t i = 0; i < EXCEPTION_COUNT; i++) {
        const struct exception_def *def = &exception_defs[i];
        PyObject *bases[3];
        Py_ssize_t count = 0;
        if (i > 0)
            bases[count++] = *state_slot(state, def->parent);
        for (size_t b = 0; b < 2 && def->builtins[b] != NULL; b++)
            bases[count++] = *def->builtins[b];
        PyObject *tuple = PyTuple_New(count);
        if (tuple == NULL)
            return -1;
        for (Py_ssize_t b = 0; b < count; b++)
            PyTuple_SET_ITEM(tuple, b, Py_NewRef(bases[b]));
        char qualified[96];
        PyOS_snprintf(qualified, sizeof qualified, "swifttrain.%s", def->name);
        PyObject **slot = state_slot(state, def->slot);
        *slot = PyErr_NewExceptionWithDoc(qualified, def->doc, tuple, NULL);
        Py_DECREF(tuple);
        if (*slot == NULL)
            return -1;
        Py_INCREF(*slot);
        if (PyModule_AddObject(module, def->name, *slot) < 0) {
            Py_DECREF(*slot);
            return -1;
        }
    }
    return 0;
}
