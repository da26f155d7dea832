/*
 * dataset_type.c - swifttrain._swifttrain.Dataset: an st_dataset over Python buffers.
 *
 *     Dataset(features, targets=None)
 *
 * features: a C-contiguous float32 buffer of shape [num_samples, num_features].
 * targets:  None (prediction only), int64 class labels of shape [num_samples]
 *           (st_dataset_create), or float32 regression targets of shape [num_samples] or
 *           [num_samples, num_targets] (st_dataset_create_regression).
 *
 * No copy is made: the dataset is created with ST_DATA_BORROW, and the object holds the
 * Py_buffer views (and so their exporters, e.g. numpy arrays) until it is freed. A trainer
 * object that uses a dataset holds a reference to it, so the buffers outlive the trainer.
 */
#include "_swifttrain.h"

#include <string.h>

/* ---- buffer formats ----------------------------------------------------------------- */

/* The format character of a one-item native-order struct format, or 0. */
static char format_code(const Py_buffer *view)
{
    const char *format = view->format != NULL ? view->format : "B";
    if (format[0] != '\0' && strchr(PY_LITTLE_ENDIAN ? "@=<" : "@=>!", format[0]) != NULL)
        format++; /* native order, or the machine's */
    return (format[0] != '\0' && format[1] == '\0') ? format[0] : 0;
}

int st_py_buffer_is_float32(const Py_buffer *view)
{
    return format_code(view) == 'f' && view->itemsize == 4;
}

static int is_int64(const Py_buffer *view)
{
    char code = format_code(view);
    return (code == 'q' || code == 'l') && view->itemsize == 8;
}

const char *st_py_buffer_dtype_name(const Py_buffer *view)
{
    static const char codes[] = "efd?bhilqBHILQ"; /* 4 others, 5 signed, 5 unsigned */
    static const char *const others[] = {"float16", "float32", "float64", "bool"};
    static const char *const ints[2][4] = {{"int8", "int16", "int32", "int64"},
                                           {"uint8", "uint16", "uint32", "uint64"}};
    char code = format_code(view);
    const char *at = code != 0 ? strchr(codes, code) : NULL;
    Py_ssize_t size = view->itemsize;
    int size_index = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : size == 8 ? 3 : -1;
    if (at != NULL && at - codes < 4)
        return others[at - codes];
    if (at != NULL && size_index >= 0)
        return ints[at - codes >= 9][size_index];
    return view->format != NULL ? view->format : "B";
}

/* Gets a C-contiguous view with shape and format, naming the argument on failure. */
static int get_view(PyObject *obj, Py_buffer *view, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) == 0)
        return 0;
    if (PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError,
                     "%s must be an array supporting the buffer protocol (e.g. a "
                     "numpy.ndarray), got %.100s",
                     what, Py_TYPE(obj)->tp_name);
    }
    return -1;
}

/* Raises ShapeError "<expected>, got an array of shape (3, 4)"; returns -1. */
static int raise_bad_shape(st_py_state *state, const Py_buffer *view, const char *expected)
{
    PyObject *memory = PyMemoryView_FromObject(view->obj); /* its shape tuple */
    PyObject *shape = memory != NULL ? PyObject_GetAttrString(memory, "shape") : NULL;
    if (shape != NULL)
        st_py_raise(state, ST_ESHAPE, "%s, got an array of shape %R", expected, shape);
    Py_XDECREF(shape);
    Py_XDECREF(memory);
    return -1;
}

/* ---- the type ----------------------------------------------------------------------- */

static int check_features(st_py_state *state, const Py_buffer *features)
{
    if (!st_py_buffer_is_float32(features)) {
        st_py_raise(state, ST_EINVAL,
                    "features must be float32, got %s; convert with "
                    "X.astype(numpy.float32)",
                    st_py_buffer_dtype_name(features));
        return -1;
    }
    if (features->ndim != 2)
        return raise_bad_shape(state, features,
                               "features must be 2-D [num_samples, num_features]");
    return 0;
}

/* The number of targets per row, or -1 with an exception set. */
static long long check_targets(st_py_state *state, const Py_buffer *targets,
                               Py_ssize_t num_samples)
{
    int labels = is_int64(targets);
    if (!labels && !st_py_buffer_is_float32(targets)) {
        st_py_raise(state, ST_EINVAL,
                    "y must be int64 class labels or float32 regression targets, got %s; "
                    "convert with y.astype(numpy.int64) for classification or "
                    "y.astype(numpy.float32) for regression",
                    st_py_buffer_dtype_name(targets));
        return -1;
    }
    if (labels ? targets->ndim != 1 : (targets->ndim != 1 && targets->ndim != 2))
        return raise_bad_shape(state, targets, labels ? "labels must be 1-D [num_samples]"
                               : "targets must be [num_samples] or [num_samples, num_targets]");
    if (targets->shape[0] != num_samples) {
        st_py_raise(state, ST_ESHAPE,
                    "X has %zd rows but y has %zd; pass one %s per row of X", num_samples,
                    targets->shape[0], labels ? "label" : "target");
        return -1;
    }
    return targets->ndim == 2 ? (long long)targets->shape[1] : 1;
}

static void Dataset_dealloc(st_py_dataset *self)
{
    PyTypeObject *type = Py_TYPE(self);
    /* The library stops reading the buffers when its last reference goes; trainers that
     * used this dataset hold this object, so this is the last one. */
    st_dataset_free(self->dataset);
    PyBuffer_Release(&self->features); /* (nothing for a view never acquired: obj NULL) */
    PyBuffer_Release(&self->targets);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyObject *Dataset_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"features", "targets", NULL};
    PyObject *features_obj = NULL, *targets_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:Dataset", keywords, &features_obj,
                                     &targets_obj))
        return NULL;
    st_py_state *state = st_py_state_of(type);
    st_py_dataset *self = (st_py_dataset *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    /* tp_alloc zeroed the views, so dealloc releases only what was acquired. */
    if (get_view(features_obj, &self->features, "X (the features)") < 0 ||
        check_features(state, &self->features) < 0)
        goto fail;
    Py_ssize_t num_samples = self->features.shape[0];
    int64_t num_features = (int64_t)self->features.shape[1];
    const float *x = (const float *)self->features.buf;
    long long num_targets = 1;
    if (targets_obj != Py_None &&
        (get_view(targets_obj, &self->targets, "y (the labels or targets)") < 0 ||
         (num_targets = check_targets(state, &self->targets, num_samples)) < 0))
        goto fail;
    /* No targets (prediction only: targets.buf is NULL), int64 labels or float32 targets. */
    int status = self->targets.obj == NULL || is_int64(&self->targets)
        ? st_dataset_create(&self->dataset, x, num_samples, num_features,
                            (const int64_t *)self->targets.buf, ST_DATA_BORROW)
        : st_dataset_create_regression(&self->dataset, x, num_samples, num_features,
                                       (const float *)self->targets.buf, num_targets,
                                       ST_DATA_BORROW);
    if (status != ST_OK) {
        st_py_raise_status(state, status);
        goto fail;
    }
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

PyDoc_STRVAR(Dataset_num_samples_doc,
             "num_samples($self, /)\n--\n\nNumber of rows (st_dataset_num_samples).");

static PyObject *Dataset_num_samples(st_py_dataset *self, PyObject *unused)
{
    (void)unused;
    int64_t count = 0;
    int status = st_dataset_num_samples(&count, self->dataset);
    if (status != ST_OK)
        return st_py_raise_status(st_py_state_of(Py_TYPE(self)), status);
    return PyLong_FromLongLong(count);
}

PyDoc_STRVAR(Dataset_set_sample_shape_doc,
             "set_sample_shape($self, shape, /)\n--\n\n"
             "The shape each row is read as, e.g. (1, 8, 8) for images; its product must be "
             "num_features (st_dataset_set_sample_shape).");

static PyObject *Dataset_set_sample_shape(st_py_dataset *self, PyObject *arg)
{
    int64_t shape[ST_MAX_DIMS];
    size_t ndim = 0;
    if (st_py_int64_list_arg(arg, "shape", shape, ST_MAX_DIMS, &ndim) < 0)
        return NULL;
    return st_py_none_or_raise(ST_PY_STATE(self),
                               st_dataset_set_sample_shape(self->dataset, shape, ndim));
}

static PyMethodDef Dataset_methods[] = {
    {"num_samples", (PyCFunction)Dataset_num_samples, METH_NOARGS, Dataset_num_samples_doc},
    {"set_sample_shape", (PyCFunction)Dataset_set_sample_shape, METH_O,
     Dataset_set_sample_shape_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(Dataset_doc,
             "Dataset(features, targets=None)\n--\n\n"
             "An st_dataset that borrows `features` (float32 [n, d]) and `targets` (int64 "
             "labels [n], float32 targets [n] or [n, t], or None) without copying them.");

ST_PY_TYPE_SPEC(Dataset, st_py_dataset, Py_TPFLAGS_DEFAULT,
                {Py_tp_doc, (void *)Dataset_doc},
                {Py_tp_new, (void *)Dataset_new},
                {Py_tp_dealloc, (void *)Dataset_dealloc},
                {Py_tp_methods, Dataset_methods});

int st_py_dataset_type_init(PyObject *module, st_py_state *state)
{
    return st_py_add_type(module, &Dataset_spec, &state->DatasetType);
}
