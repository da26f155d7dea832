/*
 * tensor_type.c - swifttrain._swifttrain.Tensor: one st_tensor handle.
 *
 * The type holds the handle, its dtype and shape (fixed for a handle, read once), and, for
 * a tensor made over a caller's buffer with ST_DATA_BORROW, the Py_buffer view that keeps
 * the exporter (e.g. a numpy array) alive. It exports its memory through the buffer
 * protocol without a copy (st_tensor_data), so numpy.asarray(tensor) shares it; the view
 * keeps the tensor alive.
 *
 * The package's swifttrain.Tensor subclasses this type (with __slots__ = ()) to add
 * PyTorch's method names and operators; set_tensor_class() tells this file to make results
 * of that class. The functions of the other C files call the library and wrap results with
 * st_py_tensor_result().
 *
 * Borrowed memory: a view of a borrowing tensor, or any result whose autograd graph
 * recorded one, may read the caller's buffer after the borrowing tensor object is gone.
 * Every result therefore keeps the borrowing tensors of its inputs in `keepalive`.
 */
#include "_swifttrain.h"

#include <stddef.h>
#include <string.h>

#include <structmember.h> /* T_PYSSIZET, T_INT, READONLY (Python < 3.12 spelling) */

static void Tensor_dealloc(st_py_tensor *self);

st_py_state *st_py_tensor_state(PyObject *tensor)
{
    /* Python subclasses inherit subtype_dealloc; the C type is the one with ours. */
    PyTypeObject *type = Py_TYPE(tensor);
    while (type->tp_dealloc != (destructor)Tensor_dealloc)
        type = type->tp_base;
    return st_py_state_of(type);
}

static size_t item_size(st_dtype dtype)
{
    return dtype == ST_FLOAT32 ? 4 : dtype == ST_INT64 ? 8 : 1;
}

/* What a tensor contributes to a result's keepalive: itself if it borrows, else its own. */
static PyObject *keepalive_of(PyObject *tensor)
{
    st_py_tensor *t = (st_py_tensor *)tensor;
    return t->borrowed.obj != NULL ? tensor : t->keepalive;
}

/* The distinct keepalives of `sources`: NULL, one object, or a tuple (new reference). */
static int combine_keepalives(PyObject *const *sources, size_t count, PyObject **out)
{
    PyObject *found[16];
    size_t n = 0, total = 0;
    *out = NULL;
    for (size_t i = 0; i < count; i++) {
        PyObject *k = sources[i] != NULL ? keepalive_of(sources[i]) : NULL;
        if (k == NULL)
            continue;
        total++;
        size_t j = 0;
        while (j < n && found[j] != k)
            j++;
        if (j == n && n < sizeof found / sizeof found[0])
            found[n++] = k;
    }
    if (n == 0)
        return 0;
    if (n == 1) {
        *out = Py_NewRef(found[0]);
        return 0;
    }
    int overflow = n == sizeof found / sizeof found[0];
    PyObject *tuple = PyTuple_New((Py_ssize_t)(overflow ? total : n));
    if (tuple == NULL)
        return -1;
    Py_ssize_t at = 0;
    for (size_t i = 0; i < count && overflow; i++) {  /* many: keep them all */
        PyObject *k = sources[i] != NULL ? keepalive_of(sources[i]) : NULL;
        if (k != NULL)
            PyTuple_SET_ITEM(tuple, at++, Py_NewRef(k));
    }
    for (size_t i = 0; i < n && !overflow; i++)
        PyTuple_SET_ITEM(tuple, (Py_ssize_t)i, Py_NewRef(found[i]));
    *out = tuple;
    return 0;
}

/* Reads dtype and shape into the object. */
static int read_layout(st_py_state *state, st_py_tensor *self)
{
    size_t ndim = 0;
    int status = st_tensor_ndim(&ndim, self->tensor);
    if (status == ST_OK)
        status = st_tensor_dtype(&self->dtype, self->tensor);
    if (status == ST_OK)
        status = st_tensor_shape(self->shape, ST_MAX_DIMS, self->tensor);
    if (status != ST_OK) {
        st_py_raise_status(state, status);
        return -1;
    }
    self->ndim = (int)ndim;
    Py_ssize_t stride = (Py_ssize_t)item_size(self->dtype);
    for (int i = self->ndim - 1; i >= 0; i--) {
        self->buffer_shape[i] = (Py_ssize_t)self->shape[i];
        self->buffer_strides[i] = stride;
        stride *= self->shape[i] > 0 ? (Py_ssize_t)self->shape[i] : 1;
    }
    return 0;
}

static st_py_tensor *alloc_tensor(st_py_state *state, st_tensor *handle)
{
    PyTypeObject *cls = state->TensorClass != NULL ? state->TensorClass : state->TensorType;
    st_py_tensor *self = (st_py_tensor *)cls->tp_alloc(cls, 0);
    if (self == NULL) {
        st_tensor_free(handle);
        return NULL;
    }
    self->tensor = handle;
    if (read_layout(state, self) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return self;
}

PyObject *st_py_tensor_wrap(st_py_state *state, st_tensor *handle, int from_op,
                            PyObject *const *sources, size_t count)
{
    st_py_tensor *self = alloc_tensor(state, handle);
    if (self == NULL)
        return NULL;
    self->from_op = from_op;
    if (combine_keepalives(sources, count, &self->keepalive) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

PyObject *st_py_tensor_result(st_py_state *state, int status, st_tensor *handle,
                              PyObject *const *sources, size_t count)
{
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    return st_py_tensor_wrap(state, handle, 1, sources, count);
}

/* ---- argument converters ------------------------------------------------------------ */

int st_py_tensor_arg(st_py_state *state, PyObject *obj, const char *what, PyObject **out)
{
    if (!st_py_is_tensor(state, obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a Tensor, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    *out = obj;
    return 0;
}

int st_py_optional_tensor_arg(st_py_state *state, PyObject *obj, const char *what,
                              PyObject **out)
{
    if (obj == NULL || obj == Py_None) {
        *out = NULL;
        return 0;
    }
    return st_py_tensor_arg(state, obj, what, out);
}

static int int64_item(PyObject *obj, const char *what, int64_t *out)
{
    if (PyBool_Check(obj) || !PyIndex_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int or a sequence of ints, got %.100s",
                     what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    PyObject *index = PyNumber_Index(obj);
    if (index == NULL)
        return -1;
    long long value = PyLong_AsLongLong(index);
    Py_DECREF(index);
    if (value == -1 && PyErr_Occurred())
        return -1;
    *out = (int64_t)value;
    return 0;
}

int st_py_int64_list_arg(PyObject *obj, const char *what, int64_t *out, size_t capacity,
                         size_t *count)
{
    if (PyIndex_Check(obj) && !PyBool_Check(obj)) {
        *count = 1;
        return capacity < 1 ? -1 : int64_item(obj, what, out);
    }
    if (PyBool_Check(obj) || !PySequence_Check(obj) || PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int or a sequence of ints, got %.100s",
                     what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    PyObject *sequence = PySequence_Fast(obj, what);
    if (sequence == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(sequence);
    int rc = 0;
    if ((size_t)n > capacity) {
        PyErr_Format(PyExc_ValueError, "%s: %zd entries, at most %zu are supported", what, n,
                     capacity);
        rc = -1;
    }
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++)
        rc = int64_item(PySequence_Fast_GET_ITEM(sequence, i), what, &out[i]);
    Py_DECREF(sequence);
    *count = (size_t)n;
    return rc;
}

int st_py_pair_arg(PyObject *obj, const char *what, int64_t out[2])
{
    size_t count = 0;
    if (st_py_int64_list_arg(obj, what, out, 2, &count) < 0)
        return -1;
    if (count == 1)
        out[1] = out[0];
    else if (count != 2) {
        PyErr_Format(PyExc_ValueError, "%s must be an int or a pair of ints, got %zu values",
                     what, count);
        return -1;
    }
    return 0;
}

int st_py_optional_int64_arg(PyObject *obj, const char *what, int64_t *out)
{
    size_t count = 0;
    return obj == Py_None ? 0 : st_py_int64_list_arg(obj, what, out, 1, &count);
}

int st_py_tensor_handles(st_py_state *state, PyObject *obj, const char *what,
                         st_tensor ***handles, size_t *count, PyObject **sequence)
{
    *sequence = PySequence_Fast(obj, "a sequence of Tensors is needed");
    if (*sequence == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError))
            PyErr_Format(PyExc_TypeError, "%s must be a sequence of Tensors, not %.100s", what,
                         Py_TYPE(obj)->tp_name);
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(*sequence);
    PyObject **items = PySequence_Fast_ITEMS(*sequence);
    *handles = PyMem_New(st_tensor *, n > 0 ? n : 1);
    if (*handles == NULL)
        PyErr_NoMemory();
    for (Py_ssize_t i = 0; *handles != NULL && i < n; i++) {
        if (!st_py_is_tensor(state, items[i])) {
            PyErr_Format(PyExc_TypeError, "%s: item %zd is a %.100s, not a Tensor", what, i,
                         Py_TYPE(items[i])->tp_name);
            PyMem_Free(*handles);
            *handles = NULL;
        } else {
            (*handles)[i] = st_py_handle(items[i]);
        }
    }
    if (*handles == NULL) {
        Py_CLEAR(*sequence);
        return -1;
    }
    *count = (size_t)n;
    return 0;
}

PyObject *st_py_tensor_pair(st_py_state *state, st_tensor *first, st_tensor *second,
                            PyObject *const *sources, size_t count)
{
    PyObject *a = st_py_tensor_wrap(state, first, 1, sources, count);
    PyObject *b = second != NULL ? st_py_tensor_wrap(state, second, 1, sources, count)
                                 : Py_NewRef(Py_None);
    PyObject *pair = a != NULL && b != NULL ? PyTuple_Pack(2, a, b) : NULL;
    Py_XDECREF(a);
    Py_XDECREF(b);
    return pair;
}

int st_py_dtype_arg(PyObject *obj, st_dtype *out)
{
    long code = PyLong_AsLong(obj);
    if (code == -1 && PyErr_Occurred())
        return -1;
    if (code != ST_FLOAT32 && code != ST_INT64 && code != ST_BOOL) {
        PyErr_Format(PyExc_ValueError, "unknown dtype code %ld", code);
        return -1;
    }
    *out = (st_dtype)code;
    return 0;
}

/* Converts args[i] by kinds[i] (see ST_PY_CALL); -1 with an exception. */
static int parse_args(st_py_state *state, PyObject *args, const char *name, const char *kinds,
                      const char *params, st_py_arg *a)
{
    Py_ssize_t count = (Py_ssize_t)strlen(kinds), given = PyTuple_GET_SIZE(args);
    if (count > ST_PY_MAX_ARGS || given != count) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd arguments (%zd given)", name,
                     count, given);
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        /* "name: parameter" for messages, formatted only where a converter may need it (not
         * for a tensor that is one: the common case costs no formatting) */
        size_t length = strcspn(params, ",");
        char what[96] = "";
        if (!((kinds[i] == 't' || kinds[i] == 'T') && st_py_is_tensor(state, PyTuple_GET_ITEM(args, i))))
            snprintf(what, sizeof what, "%s: %.*s", name, (int)length, params);
        params += params[length] == ',' ? length + 2 : length;
        PyObject *obj = PyTuple_GET_ITEM(args, i);
        st_py_arg *arg = &a[i];
        *arg = (st_py_arg){.obj = obj, .none = obj == Py_None, .i = ST_NO_INDEX};
        int bad = 0;
        switch (kinds[i]) {
        case 't':
        case 'T':
            if (kinds[i] == 't' && arg->none)
                arg->obj = NULL;
            else if (st_py_tensor_arg(state, obj, what, &arg->obj) < 0)
                return -1;
            else
                arg->tensor = st_py_handle(obj);
            break;
        case 'L':
            arg->i = PyLong_AsLongLong(obj);
            bad = arg->i == -1 && PyErr_Occurred();
            break;
        case 'p':
            arg->i = PyObject_IsTrue(obj);
            bad = arg->i < 0;
            break;
        case 'f':
        case 'F':
            arg->f = kinds[i] == 'F' && arg->none ? 0 : PyFloat_AsDouble(obj);
            bad = arg->f == -1.0 && PyErr_Occurred();
            break;
        case 'K':
            arg->i = (int64_t)PyLong_AsUnsignedLongLongMask(obj);
            bad = arg->i == -1 && PyErr_Occurred();
            break;
        case 'n':
            bad = st_py_optional_int64_arg(obj, what, &arg->i) < 0;
            break;
        case 'd': {
            st_dtype dtype;
            bad = st_py_dtype_arg(obj, &dtype) < 0;
            arg->i = dtype;
            break;
        }
        case 'D':
        case 'S':
            bad = !(kinds[i] == 'D' && arg->none) &&
                  st_py_int64_list_arg(obj, what, arg->list, ST_MAX_DIMS, &arg->n) < 0;
            break;
        }
        if (bad)
            return -1;
    }
    return 0;
}

PyObject *st_py_call(PyObject *module, PyObject *args, const char *name, const char *kinds,
                     const char *params, st_py_call_fn call)
{
    st_py_state *state = PyModule_GetState(module);
    st_py_arg a[ST_PY_MAX_ARGS];
    PyObject *sources[ST_PY_MAX_ARGS];
    size_t count = 0;
    if (parse_args(state, args, name, kinds, params, a) < 0)
        return NULL;
    for (size_t i = 0; kinds[i] != '\0'; i++)
        if (kinds[i] == 'T' || kinds[i] == 't')
            sources[count++] = a[i].obj;
    st_tensor *out[2] = {NULL, NULL};
    int status = call(out, a);
    if (status == ST_PY_RAISED)
        return NULL;
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    if (out[1] != NULL)
        return st_py_tensor_pair(state, out[0], out[1], sources, count);
    return st_py_tensor_wrap(state, out[0], count > 0, sources, count);
}

/* ---- the type ----------------------------------------------------------------------- */

static PyObject *Tensor_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)type, (void)args, (void)kwargs;
    PyErr_SetString(PyExc_TypeError,
                    "Tensor cannot be created directly; use swifttrain.tensor(data), "
                    "swifttrain.from_numpy(array), swifttrain.zeros(...), ...");
    return NULL;
}

static void Tensor_dealloc(st_py_tensor *self)
{
    PyTypeObject *type = Py_TYPE(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    /* The handle goes before the buffer it may borrow. */
    st_tensor_free(self->tensor);
    if (self->borrowed.obj != NULL)
        PyBuffer_Release(&self->borrowed);
    Py_CLEAR(self->keepalive);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyObject *Tensor_get_shape(st_py_tensor *self, void *closure)
{
    (void)closure;
    PyObject *shape = PyTuple_New(self->ndim);
    if (shape == NULL)
        return NULL;
    for (int i = 0; i < self->ndim; i++) {
        PyObject *n = PyLong_FromLongLong(self->shape[i]);
        if (n == NULL) {
            Py_DECREF(shape);
            return NULL;
        }
        PyTuple_SET_ITEM(shape, i, n);
    }
    return shape;
}

static PyObject *Tensor_get_requires_grad(st_py_tensor *self, void *closure)
{
    (void)closure;
    bool requires_grad = false;
    int status = st_tensor_requires_grad(&requires_grad, self->tensor);
    if (status != ST_OK)
        return st_py_raise_status(st_py_tensor_state((PyObject *)self), status);
    return PyBool_FromLong(requires_grad);
}

static int Tensor_set_requires_grad(st_py_tensor *self, PyObject *value, void *closure)
{
    (void)closure;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete requires_grad");
        return -1;
    }
    int flag = PyObject_IsTrue(value);
    if (flag < 0)
        return -1;
    int status = st_tensor_set_requires_grad(self->tensor, flag != 0);
    if (status != ST_OK) {
        st_py_raise_status(st_py_tensor_state((PyObject *)self), status);
        return -1;
    }
    return 0;
}

static PyObject *Tensor_get_grad(st_py_tensor *self, void *closure)
{
    (void)closure;
    st_py_state *state = st_py_tensor_state((PyObject *)self);
    st_tensor *grad = NULL;
    int status = st_tensor_grad(&grad, self->tensor);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    if (grad == NULL)
        Py_RETURN_NONE;
    return st_py_tensor_wrap(state, grad, 0, NULL, 0);
}

static int Tensor_set_grad(st_py_tensor *self, PyObject *value, void *closure)
{
    (void)closure;
    if (value != NULL && value != Py_None) {
        PyErr_SetString(PyExc_TypeError,
                        "only None can be assigned to .grad (it drops the gradient, like "
                        "zero_grad()); gradients are written by backward()");
        return -1;
    }
    int status = st_tensor_zero_grad(self->tensor);
    if (status != ST_OK) {
        st_py_raise_status(st_py_tensor_state((PyObject *)self), status);
        return -1;
    }
    return 0;
}

static PyObject *Tensor_get_is_leaf(st_py_tensor *self, void *closure)
{
    if (!self->from_op)
        Py_RETURN_TRUE;
    PyObject *requires_grad = Tensor_get_requires_grad(self, closure);
    if (requires_grad == NULL)
        return NULL;
    int leaf = requires_grad == Py_False;
    Py_DECREF(requires_grad);
    return PyBool_FromLong(leaf);
}

static PyObject *Tensor_get_shares_buffer(st_py_tensor *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->borrowed.obj != NULL);
}

PyDoc_STRVAR(Tensor_numel_doc, "numel($self, /)\n--\n\nNumber of elements (st_tensor_numel).");

static PyObject *Tensor_numel(st_py_tensor *self, PyObject *unused)
{
    (void)unused;
    int64_t numel = 0;
    int status = st_tensor_numel(&numel, self->tensor);
    if (status != ST_OK)
        return st_py_raise_status(st_py_tensor_state((PyObject *)self), status);
    return PyLong_FromLongLong(numel);
}

PyDoc_STRVAR(Tensor_item_doc,
             "item($self, /)\n--\n\n"
             "The value of a one-element tensor as a Python float, int or bool "
             "(st_tensor_item; st_tensor_copy_to for int64, which a double cannot hold).");

static PyObject *Tensor_item(st_py_tensor *self, PyObject *unused)
{
    (void)unused;
    st_py_state *state = st_py_tensor_state((PyObject *)self);
    int status;
    if (self->dtype == ST_INT64) {
        int64_t numel = 0;
        status = st_tensor_numel(&numel, self->tensor);
        if (status == ST_OK && numel == 1) {
            int64_t value = 0;
            status = st_tensor_copy_to(&value, sizeof value, self->tensor);
            if (status == ST_OK)
                return PyLong_FromLongLong(value);
        }
    }
    double value = 0;
    status = st_tensor_item(&value, self->tensor);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    if (self->dtype == ST_BOOL)
        return PyBool_FromLong(value != 0);
    if (self->dtype == ST_INT64)
        return PyLong_FromDouble(value);
    return PyFloat_FromDouble(value);
}

PyDoc_STRVAR(Tensor_backward_doc,
             "backward($self, /, gradient=None, retain_graph=False)\n--\n\n"
             "Backpropagates from this tensor, adding to the .grad of every leaf that "
             "requires gradients (st_tensor_backward_retain). `gradient` (same shape) is "
             "d(loss)/d(self); None for a one-element tensor. `retain_graph` keeps the graph "
             "for another backward.");

static PyObject *Tensor_backward(st_py_tensor *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"gradient", "retain_graph", NULL};
    PyObject *gradient_obj = Py_None, *gradient = NULL;
    int retain_graph = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|Op:backward", keywords, &gradient_obj,
                                     &retain_graph))
        return NULL;
    st_py_state *state = st_py_tensor_state((PyObject *)self);
    if (st_py_optional_tensor_arg(state, gradient_obj, "backward: gradient", &gradient) < 0)
        return NULL;
    return st_py_none_or_raise(state, st_tensor_backward_retain(self->tensor,
                                                                st_py_handle_or_null(gradient),
                                                                retain_graph != 0));
}

PyDoc_STRVAR(Tensor_check_writable_doc,
             "_check_writable($self, /)\n--\n\n"
             "Raises MisuseError (a RuntimeError) for a copy that stands where PyTorch returns a "
             "view, whose writes would not reach the original (st_tensor_check_writable).");

static PyObject *Tensor_check_writable(st_py_tensor *self, PyObject *unused)
{
    (void)unused;
    return st_py_none_or_raise(st_py_tensor_state((PyObject *)self),
                               st_tensor_check_writable(self->tensor));
}

static PyObject *Tensor_get_writable(st_py_tensor *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(st_tensor_check_writable(self->tensor) == ST_OK);
}

PyDoc_STRVAR(Tensor_detach_doc,
             "detach($self, /)\n--\n\n"
             "A tensor sharing the values, cut off from the graph (st_tensor_detach).");

static PyObject *Tensor_detach(st_py_tensor *self, PyObject *unused)
{
    (void)unused;
    st_py_state *state = st_py_tensor_state((PyObject *)self);
    st_tensor *out = NULL;
    int status = st_tensor_detach(&out, self->tensor);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    PyObject *source = (PyObject *)self;
    return st_py_tensor_wrap(state, out, 0, &source, 1);
}

PyDoc_STRVAR(Tensor_zero_grad_doc,
             "zero_grad($self, /)\n--\n\nDrops the gradient (st_tensor_zero_grad).");

static PyObject *Tensor_zero_grad(st_py_tensor *self, PyObject *unused)
{
    (void)unused;
    return st_py_none_or_raise(st_py_tensor_state((PyObject *)self),
                               st_tensor_zero_grad(self->tensor));
}

/* ---- buffer protocol (numpy's array_getbuffer, for a contiguous array) ---------------- */

static int Tensor_getbuffer(st_py_tensor *self, Py_buffer *view, int flags)
{
    view->obj = NULL;
    if ((flags & PyBUF_F_CONTIGUOUS) == PyBUF_F_CONTIGUOUS && self->ndim > 1) {
        PyErr_SetString(PyExc_ValueError, "tensor is not Fortran contiguous");
        return -1;
    }
    void *data = NULL;
    int status = st_tensor_data(&data, self->tensor);
    if (status != ST_OK) {
        st_py_raise_status(st_py_tensor_state((PyObject *)self), status);
        return -1;
    }
    /* A copy standing for PyTorch's view exports read-only memory: a write would miss the
     * original (st_tensor_check_writable says why). */
    int readonly = st_tensor_check_writable(self->tensor) != ST_OK;
    if (readonly && (flags & PyBUF_WRITABLE) == PyBUF_WRITABLE) {
        PyErr_Format(PyExc_BufferError, "%s", st_last_error_message());
        return -1;
    }
    Py_ssize_t itemsize = (Py_ssize_t)item_size(self->dtype), len = itemsize;
    for (int i = 0; i < self->ndim; i++)
        len *= self->buffer_shape[i];
    static const char *const formats[] = {"f", "q", "?"};
    view->buf = data != NULL ? data : (void *)self->buffer_shape; /* empty: any address */
    view->obj = Py_NewRef((PyObject *)self);
    view->len = len;
    view->readonly = readonly;
    view->itemsize = itemsize;
    view->format = (flags & PyBUF_FORMAT) ? (char *)formats[self->dtype] : NULL;
    view->ndim = self->ndim;
    view->shape = (flags & PyBUF_ND) == PyBUF_ND ? self->buffer_shape : NULL;
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? self->buffer_strides : NULL;
    view->suboffsets = NULL;
    view->internal = NULL;
    return 0;
}

static PyMethodDef Tensor_methods[] = {
    {"numel", (PyCFunction)Tensor_numel, METH_NOARGS, Tensor_numel_doc},
    {"item", (PyCFunction)Tensor_item, METH_NOARGS, Tensor_item_doc},
    {"backward", (PyCFunction)(void (*)(void))Tensor_backward, METH_VARARGS | METH_KEYWORDS,
     Tensor_backward_doc},
    {"detach", (PyCFunction)Tensor_detach, METH_NOARGS, Tensor_detach_doc},
    {"zero_grad", (PyCFunction)Tensor_zero_grad, METH_NOARGS, Tensor_zero_grad_doc},
    {"_check_writable", (PyCFunction)Tensor_check_writable, METH_NOARGS,
     Tensor_check_writable_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Tensor_getset[] = {
    {"shape", (getter)Tensor_get_shape, NULL, "The size of every dimension, as a tuple.", NULL},
    {"requires_grad", (getter)Tensor_get_requires_grad, (setter)Tensor_set_requires_grad,
     "Whether gradients flow to this tensor (float32 only).", NULL},
    {"grad", (getter)Tensor_get_grad, (setter)Tensor_set_grad,
     "The accumulated gradient (sharing its memory), or None. Assign None to drop it.",
     NULL},
    {"is_leaf", (getter)Tensor_get_is_leaf, NULL,
     "False for the result of an operation that recorded autograd, True otherwise.", NULL},
    {"_shares_buffer", (getter)Tensor_get_shares_buffer, NULL,
     "Whether the tensor reads a caller's buffer in place (ST_DATA_BORROW).", NULL},
    {"_writable", (getter)Tensor_get_writable, NULL,
     "False for a copy standing where PyTorch returns a view (st_tensor_check_writable).",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

_Static_assert(sizeof(st_dtype) == sizeof(int), "_dtype_code reads st_dtype as an int");

static PyMemberDef Tensor_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(st_py_tensor, weakreflist), READONLY, NULL},
    {"ndim", T_INT, offsetof(st_py_tensor, ndim), READONLY,
     "Number of dimensions (0 for a scalar)."},
    {"_dtype_code", T_INT, offsetof(st_py_tensor, dtype), READONLY,
     "st_dtype: 0 float32, 1 int64, 2 bool."},
    {NULL, 0, 0, 0, NULL},
};

PyDoc_STRVAR(Tensor_doc,
             "An st_tensor handle: a contiguous float32, int64 or bool array. Made by "
             "swifttrain.tensor() and the other creation functions, never directly.");

ST_PY_TYPE_SPEC(Tensor, st_py_tensor, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
                {Py_tp_doc, (void *)Tensor_doc},
                {Py_tp_new, (void *)Tensor_new},
                {Py_tp_dealloc, (void *)Tensor_dealloc},
                {Py_tp_methods, Tensor_methods},
                {Py_tp_getset, Tensor_getset},
                {Py_tp_members, Tensor_members},
                {Py_bf_getbuffer, (void *)Tensor_getbuffer});

int st_py_tensor_type_init(PyObject *module, st_py_state *state)
{
    if (st_py_add_type(module, &Tensor_spec, &state->TensorType) < 0)
        return -1;
    state->TensorClass = (PyTypeObject *)Py_NewRef((PyObject *)state->TensorType);
    return 0;
}

/* ---- creation ----------------------------------------------------------------------- */

/* The dtype of a one-item native buffer format, or -1. */
static int buffer_dtype(const Py_buffer *view)
{
    const char *format = view->format != NULL ? view->format : "B";
    if (format[0] == '@' || format[0] == '=')
        format++;
#if PY_LITTLE_ENDIAN
    else if (format[0] == '<')
        format++;
#endif
    if (format[0] == '\0' || format[1] != '\0')
        return -1;
    if (format[0] == 'f' && view->itemsize == 4)
        return ST_FLOAT32;
    if ((format[0] == 'q' || format[0] == 'l') && view->itemsize == 8)
        return ST_INT64;
    if (format[0] == '?' && view->itemsize == 1)
        return ST_BOOL;
    return -1;
}

PyDoc_STRVAR(tensor_from_buffer_doc,
             "tensor_from_buffer($module, data, /, borrow)\n--\n\n"
             "A tensor over a C-contiguous float32 ('f'), int64 ('q') or bool ('?') buffer "
             "(st_tensor_create). borrow=True shares the memory (ST_DATA_BORROW; the "
             "buffer must be writable and is held until the tensor is gone); False copies.");

/* st_tensor_create_lent's release: the library no longer reads the memory. */
static void release_lent_view(void *user_data)
{
    Py_buffer *view = user_data;
    if (!Py_IsInitialized())
        return; /* at exit, after the interpreter: leave it */
    PyGILState_STATE gil = PyGILState_Ensure();
    PyBuffer_Release(view);
    PyGILState_Release(gil);
    PyMem_RawFree(view);
}

/* A tensor borrowing the exporter's memory, which the library keeps alive through a view of
 * its own for as long as it reads it (its views, autograd graphs, batches it was given):
 * the Python object may go first. */
static int create_lent(st_tensor **out, PyObject *data, int flags, const int64_t *shape, size_t ndim,
                       st_dtype dtype, st_py_state *state)
{
    Py_buffer *lent = PyMem_RawMalloc(sizeof *lent);
    if (lent == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (PyObject_GetBuffer(data, lent, flags) < 0) {
        PyMem_RawFree(lent);
        return -1;
    }
    int status = st_tensor_create_lent(out, lent->buf, shape, ndim, dtype, release_lent_view, lent);
    if (status != ST_OK) { /* (release_lent_view has run) */
        st_py_raise_status(state, status);
        return -1;
    }
    return 0;
}

static PyObject *tensor_from_buffer(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"data", "borrow", NULL};
    PyObject *data = NULL;
    int borrow = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Op:tensor_from_buffer", keywords, &data,
                                     &borrow))
        return NULL;
    st_py_state *state = PyModule_GetState(module);
    Py_buffer view;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (borrow ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(data, &view, flags) < 0)
        return NULL;
    int dtype = buffer_dtype(&view);
    if (dtype < 0 || view.ndim > ST_MAX_DIMS) {
        if (dtype < 0)
            PyErr_Format(PyExc_TypeError,
                         "tensor_from_buffer: item format '%s' is not float32, int64 or bool",
                         view.format != NULL ? view.format : "B");
        else
            PyErr_Format(PyExc_ValueError,
                         "tensor_from_buffer: %d dimensions, at most %d are supported",
                         view.ndim, ST_MAX_DIMS);
        PyBuffer_Release(&view);
        return NULL;
    }
    int64_t shape[ST_MAX_DIMS];
    for (int i = 0; i < view.ndim; i++)
        shape[i] = (int64_t)view.shape[i];
    st_tensor *handle = NULL;
    if (borrow) {
        if (create_lent(&handle, data, flags, shape, (size_t)view.ndim, (st_dtype)dtype, state) < 0) {
            PyBuffer_Release(&view);
            return NULL;
        }
    } else {
        int status = st_tensor_create(&handle, view.buf, shape, (size_t)view.ndim, (st_dtype)dtype,
                                      ST_DATA_COPY);
        if (status != ST_OK) {
            PyBuffer_Release(&view);
            return st_py_raise_status(state, status);
        }
    }
    st_py_tensor *self = alloc_tensor(state, handle);
    if (self == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    if (borrow)
        self->borrowed = view; /* the Python side's own view (keepalive bookkeeping), released in
                                  dealloc; the library holds another for as long as it reads */
    else
        PyBuffer_Release(&view);
    return (PyObject *)self;
}

/* The creation functions: new leaf tensors. */
#define CREATE ST_PY_FUNCTION
CREATE(zeros, "Sd", "size, dtype", "Zeros of a shape and dtype code (st_tensor_zeros).",
       st_tensor_zeros(out, a[0].list, a[0].n, (st_dtype)a[1].i))
CREATE(full, "Sf", "size, fill_value",
       "A float32 tensor filled with a value (st_tensor_full).",
       st_tensor_full(out, a[0].list, a[0].n, (float)a[1].f))
CREATE(arange, "fffd", "start, end, step, dtype",
       "start, start + step, ... before end (st_tensor_arange).",
       st_tensor_arange(out, a[0].f, a[1].f, a[2].f, (st_dtype)a[3].i))
CREATE(uniform, "SffK", "size, low, high, seed",
       "Uniform values in [low, high) (st_tensor_uniform).",
       st_tensor_uniform(out, a[0].list, a[0].n, (float)a[1].f, (float)a[2].f,
                         (uint64_t)a[3].i))
CREATE(normal, "SffK", "size, mean, std, seed",
       "Normal values N(mean, std^2) (st_tensor_normal).",
       st_tensor_normal(out, a[0].list, a[0].n, (float)a[1].f, (float)a[2].f,
                        (uint64_t)a[3].i))
/* The same handle comes back for the same type: it may read the source's memory. */
CREATE(to_dtype, "Td", "tensor, dtype",
       "A copy converted to a dtype code (float to int64 truncates toward zero, to bool "
       "tests != 0), or the same tensor when it already has that type (st_tensor_to).",
       st_tensor_to(out, a[0].tensor, (st_dtype)a[1].i))

PyDoc_STRVAR(set_grad_enabled_doc,
             "set_grad_enabled($module, enabled, /)\n--\n\n"
             "Turns autograd recording on or off for this thread; returns the previous "
             "setting (st_set_grad_enabled).");

static PyObject *set_grad_enabled(PyObject *module, PyObject *arg)
{
    (void)module;
    int enabled = PyObject_IsTrue(arg);
    if (enabled < 0)
        return NULL;
    return PyBool_FromLong(st_set_grad_enabled(enabled != 0));
}

PyDoc_STRVAR(is_grad_enabled_doc,
             "is_grad_enabled($module, /)\n--\n\n"
             "Whether autograd recording is on for this thread.");

static PyObject *is_grad_enabled(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    return PyBool_FromLong(st_is_grad_enabled());
}

PyDoc_STRVAR(set_tensor_class_doc,
             "set_tensor_class($module, cls, /)\n--\n\n"
             "Makes every tensor the extension returns an instance of `cls`, a subclass of "
             "Tensor without instance attributes of its own (__slots__ = ()).");

static PyObject *set_tensor_class(PyObject *module, PyObject *cls)
{
    st_py_state *state = PyModule_GetState(module);
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, state->TensorType) ||
        ((PyTypeObject *)cls)->tp_basicsize != state->TensorType->tp_basicsize) {
        PyErr_SetString(PyExc_TypeError,
                        "set_tensor_class: cls must be a subclass of Tensor with "
                        "__slots__ = ()");
        return NULL;
    }
    Py_SETREF(state->TensorClass, (PyTypeObject *)Py_NewRef(cls));
    Py_RETURN_NONE;
}

PyMethodDef st_py_tensor_functions[] = {
    {"tensor_from_buffer", (PyCFunction)(void (*)(void))tensor_from_buffer,
     METH_VARARGS | METH_KEYWORDS, tensor_from_buffer_doc},
    {"zeros", py_zeros, METH_VARARGS, zeros_doc},
    {"full", py_full, METH_VARARGS, full_doc},
    {"arange", py_arange, METH_VARARGS, arange_doc},
    {"uniform", py_uniform, METH_VARARGS, uniform_doc},
    {"normal", py_normal, METH_VARARGS, normal_doc},
    {"set_grad_enabled", set_grad_enabled, METH_O, set_grad_enabled_doc},
    {"is_grad_enabled", is_grad_enabled, METH_NOARGS, is_grad_enabled_doc},
    {"to_dtype", py_to_dtype, METH_VARARGS, to_dtype_doc},
    {"set_tensor_class", set_tensor_class, METH_O, set_tensor_class_doc},
    {NULL, NULL, 0, NULL},
};
