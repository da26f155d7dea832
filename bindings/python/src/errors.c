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

/* The exception class for a status: the single place that maps codes to classes. */
static PyObject *exception_for_status(st_py_state *state, int status)
{
    switch (status) {
    case ST_EINVAL: return state->InvalidArgumentError;
    case ST_ESHAPE: return state->ShapeError;
    case ST_ENOMEM: return state->OutOfMemoryError;
    case ST_EMISUSE: return state->MisuseError;
    case ST_ERROR: return state->InternalError;
    case ST_EUSER: return state->TrainingAbortedError;
    case ST_EBLAS: return state->BlasError;
    case ST_ENOTFOUND: return state->NotFoundError;
    case ST_EIO: return state->FileError;
    case ST_ECORRUPT: return state->CorruptFileError;
    default: return state->SwiftTrainError;
    }
}

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

static PyObject *raise_with_message(st_py_state *state, int status, PyObject *message)
{
    return raise_as(exception_for_status(state, status), status, message);
}

/* st_last_error_message(), or the status's name when the library left it empty. */
static PyObject *library_message(int status)
{
    const char *text = st_last_error_message();
    return (text != NULL && text[0] != '\0')
               ? PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text), "replace")
               : PyUnicode_FromString(st_status_string(status));
}

PyObject *st_py_raise_status(st_py_state *state, int status)
{
    PyObject *message = library_message(status);
    if (message == NULL)
        return NULL;
    raise_with_message(state, status, message);
    Py_DECREF(message);
    return NULL;
}

PyObject *st_py_raise_state_dict_status(st_py_state *state, int status)
{
    if (status == ST_ENOMEM || status == ST_EBLAS)  /* not about the state dict */
        return st_py_raise_status(state, status);
    PyObject *message = library_message(status);
    if (message == NULL)
        return NULL;
    raise_as(state->StateDictError, status, message);
    Py_DECREF(message);
    return NULL;
}

PyObject *st_py_raise_resume_status(st_py_state *state, int status)
{
    if (status != ST_ENOTFOUND)
        return st_py_raise_status(state, status);
    PyObject *message = library_message(status);
    if (message == NULL)
        return NULL;
    raise_as(state->CheckpointNotFoundError, status, message);
    Py_DECREF(message);
    return NULL;
}

PyObject *st_py_raise(st_py_state *state, int status, const char *format, ...)
{
    va_list vargs;
    va_start(vargs, format);
    PyObject *message = PyUnicode_FromFormatV(format, vargs);
    va_end(vargs);
    if (message == NULL)
        return NULL;
    raise_with_message(state, status, message);
    Py_DECREF(message);
    return NULL;
}

/* ---- the hierarchy, built when the module is executed -------------------------------- */

static int add_exception(PyObject *module, PyObject **slot, const char *name,
                         PyObject *bases, const char *doc)
{
    char qualified[96];
    PyOS_snprintf(qualified, sizeof qualified, "swifttrain.%s", name);
    *slot = PyErr_NewExceptionWithDoc(qualified, doc, bases, NULL);
    if (*slot == NULL)
        return -1;
    Py_INCREF(*slot);
    if (PyModule_AddObject(module, name, *slot) < 0) {
        Py_DECREF(*slot);
        return -1;
    }
    return 0;
}

/* An exception deriving from SwiftTrainError and the built-in `builtin`. */
static int add_subclass(PyObject *module, st_py_state *state, PyObject **slot,
                        const char *name, PyObject *builtin, const char *doc)
{
    PyObject *bases = PyTuple_Pack(2, state->SwiftTrainError, builtin);
    if (bases == NULL)
        return -1;
    int rc = add_exception(module, slot, name, bases, doc);
    Py_DECREF(bases);
    return rc;
}

/* An exception deriving from SwiftTrainError and two built-ins. */
static int add_subclass2(PyObject *module, st_py_state *state, PyObject **slot,
                         const char *name, PyObject *builtin1, PyObject *builtin2,
                         const char *doc)
{
    PyObject *bases = PyTuple_Pack(3, state->SwiftTrainError, builtin1, builtin2);
    if (bases == NULL)
        return -1;
    int rc = add_exception(module, slot, name, bases, doc);
    Py_DECREF(bases);
    return rc;
}

/* No checkpoint to resume from: a NotFoundError and, as HF raises, a ValueError. */
static int add_checkpoint_not_found(PyObject *module, st_py_state *state)
{
    PyObject *bases = PyTuple_Pack(2, state->NotFoundError, PyExc_ValueError);
    if (bases == NULL)
        return -1;
    int rc = add_exception(module, &state->CheckpointNotFoundError, "CheckpointNotFoundError", bases,
                           "No checkpoint to resume from (ST_ENOTFOUND from a resume): a "
                           "NotFoundError and, as HF raises, a ValueError.");
    Py_DECREF(bases);
    return rc;
}

int st_py_errors_init(PyObject *module, st_py_state *state)
{
    if (add_exception(module, &state->SwiftTrainError, "SwiftTrainError", PyExc_Exception,
                      "Base class of every error swifttrain reports; .status is the st_status "
                      "code.") < 0)
        return -1;
    return (add_subclass(module, state, &state->InvalidArgumentError, "InvalidArgumentError",
                         PyExc_ValueError,
                         "An argument is invalid (ST_EINVAL): a bad hyper-parameter, an unknown "
                         "name, a label out of range.") < 0 ||
            add_subclass2(module, state, &state->ShapeError, "ShapeError", PyExc_ValueError,
                          PyExc_RuntimeError,
                          "Sizes or shapes do not fit together (ST_ESHAPE). Both a ValueError "
                          "and, as PyTorch raises for shapes, a RuntimeError.") < 0 ||
            add_subclass(module, state, &state->OutOfMemoryError, "OutOfMemoryError",
                         PyExc_MemoryError, "Memory could not be allocated (ST_ENOMEM).") < 0 ||
            add_subclass(module, state, &state->MisuseError, "MisuseError", PyExc_RuntimeError,
                         "The call is not allowed in the object's current state (ST_EMISUSE), "
                         "e.g. training without a training dataset.") < 0 ||
            add_subclass(module, state, &state->InternalError, "InternalError",
                         PyExc_RuntimeError,
                         "An internal error of the library (ST_ERROR).") < 0 ||
            add_subclass(module, state, &state->TrainingAbortedError, "TrainingAbortedError",
                         PyExc_RuntimeError,
                         "A callback stopped training by failing (ST_EUSER). An exception "
                         "raised by a Python callback is re-raised itself instead.") < 0 ||
            add_subclass(module, state, &state->BlasError, "BlasError", PyExc_RuntimeError,
                         "OpenBLAS could not be loaded (ST_EBLAS); install libopenblas0.") < 0 ||
            add_subclass(module, state, &state->NotFoundError, "NotFoundError", PyExc_KeyError,
                         "A named item does not exist (ST_ENOTFOUND).") < 0 ||
            add_subclass(module, state, &state->FileError, "FileError", PyExc_OSError,
                         "A file could not be opened, read or written (ST_EIO); an OSError.") < 0 ||
            add_checkpoint_not_found(module, state) < 0 ||
            add_subclass(module, state, &state->CorruptFileError, "CorruptFileError", PyExc_ValueError,
                         "A file's contents are damaged or not in the expected format: a "
                         "checkpoint that does not match its manifest, a malformed safetensors "
                         "file (ST_ECORRUPT); a ValueError.") < 0 ||
            add_subclass(module, state, &state->StateDictError, "StateDictError",
                         PyExc_RuntimeError,
                         "load_state_dict failed: missing, unexpected or mis-shaped keys, "
                         "named in the message (a RuntimeError, as in torch).") < 0)
               ? -1
               : 0;
}

#define ST_PY_FOR_EACH_EXCEPTION(X)                                                         \
    X(SwiftTrainError) X(InvalidArgumentError) X(ShapeError) X(OutOfMemoryError)           \
    X(MisuseError) X(InternalError) X(TrainingAbortedError) X(BlasError) X(NotFoundError)   \
    X(FileError) X(CorruptFileError) X(CheckpointNotFoundError) X(StateDictError)

int st_py_errors_traverse(st_py_state *state, visitproc visit, void *arg)
{
#define VISIT(name) Py_VISIT(state->name);
    ST_PY_FOR_EACH_EXCEPTION(VISIT)
#undef VISIT
    return 0;
}

void st_py_errors_clear(st_py_state *state)
{
#define CLEAR(name) Py_CLEAR(state->name);
    ST_PY_FOR_EACH_EXCEPTION(CLEAR)
#undef CLEAR
}
