/*
 * tensor_ops.c - element-wise, activation, reduction and shape functions of
 * include/swifttrain.h as module functions: one small function per st_ entry point, taking
 * Tensors and plain values, returning new Tensors.
 *
 * The package's Tensor methods and operators (swifttrain/_tensor.py) call these; the
 * numbers are computed by the library only.
 */
#include "_swifttrain.h"

#include <math.h>

#define RETURN_RESULT ST_PY_RETURN_RESULT

#define OP ST_PY_OP

/* ---- unary and binary functions ------------------------------------------------------ */

typedef int (*unary_fn)(st_tensor **, const st_tensor *);
typedef int (*binary_fn)(st_tensor **, const st_tensor *, const st_tensor *);

static PyObject *unary(PyObject *module, PyObject *arg, unary_fn fn, const char *name)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a = NULL;
    if (st_py_tensor_arg(state, arg, name, &a) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, fn(&out, st_py_handle(a)), out, a);
}

static PyObject *binary(PyObject *module, PyObject *args, binary_fn fn, const char *name)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *b_obj = NULL, *a = NULL, *b = NULL;
    if (!PyArg_UnpackTuple(args, name, 2, 2, &a_obj, &b_obj) ||
        st_py_tensor_arg(state, a_obj, name, &a) < 0 ||
        st_py_tensor_arg(state, b_obj, name, &b) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, fn(&out, st_py_handle(a), st_py_handle(b)), out, a, b);
}

#define UNARY(name)                                                                        \
    PyDoc_STRVAR(name##_doc, #name "($module, input, /)\n--\n\n(st_" #name ")");           \
    static PyObject *py_##name(PyObject *module, PyObject *arg)                             \
    {                                                                                      \
        return unary(module, arg, st_##name, #name);                                       \
    }
#define BINARY(name)                                                                       \
    PyDoc_STRVAR(name##_doc, #name "($module, input, other, /)\n--\n\n(st_" #name ")");    \
    static PyObject *py_##name(PyObject *module, PyObject *args)                            \
    {                                                                                      \
        return binary(module, args, st_##name, #name);                                     \
    }

UNARY(neg)
UNARY(exp)
UNARY(log)
UNARY(sqrt)
UNARY(rsqrt)
UNARY(abs)
UNARY(relu)
UNARY(silu)
UNARY(tanh)
UNARY(sigmoid)
BINARY(add)
BINARY(sub)
BINARY(mul)
BINARY(div)
BINARY(pow)
BINARY(maximum)
BINARY(minimum)
BINARY(matmul)

/* (tensor, float) functions: add_scalar, mul_scalar, pow_scalar, leaky_relu. */
typedef int (*scalar_fn)(st_tensor **, const st_tensor *, float);

static PyObject *with_scalar(PyObject *module, PyObject *args, scalar_fn fn, const char *format)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *a = NULL;
    float value = 0;
    if (!PyArg_ParseTuple(args, format, &a_obj, &value) ||
        st_py_tensor_arg(state, a_obj, format + 3, &a) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, fn(&out, st_py_handle(a), value), out, a);
}

OP(with_scalar, add_scalar, "Of", "input, value", "")
OP(with_scalar, mul_scalar, "Of", "input, value", "")
OP(with_scalar, pow_scalar, "Of", "input, exponent", "")
OP(with_scalar, leaky_relu, "Of", "input, negative_slope", "")

/* A float argument that may be None (then `missing`). */
static int optional_float(PyObject *obj, float missing, float *out)
{
    if (obj == Py_None) {
        *out = missing;
        return 0;
    }
    double value = PyFloat_AsDouble(obj);
    if (value == -1.0 && PyErr_Occurred())
        return -1;
    *out = (float)value;
    return 0;
}

PyDoc_STRVAR(clamp_doc, "clamp($module, input, min, max, /)\n--\n\n"
                        "Limits to [min, max]; None for a missing bound (st_clamp).");

static PyObject *py_clamp(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *min_obj = NULL, *max_obj = NULL, *a = NULL;
    float low = 0, high = 0;
    if (!PyArg_ParseTuple(args, "OOO:clamp", &a_obj, &min_obj, &max_obj) ||
        st_py_tensor_arg(state, a_obj, "clamp", &a) < 0 ||
        optional_float(min_obj, -INFINITY, &low) < 0 ||
        optional_float(max_obj, INFINITY, &high) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_clamp(&out, st_py_handle(a), low, high), out, a);
}

PyDoc_STRVAR(where_doc, "where($module, condition, input, other, /)\n--\n\n"
                        "condition ? input : other (st_where).");

static PyObject *py_where(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *c_obj = NULL, *a_obj = NULL, *b_obj = NULL, *c = NULL, *a = NULL, *b = NULL;
    if (!PyArg_ParseTuple(args, "OOO:where", &c_obj, &a_obj, &b_obj) ||
        st_py_tensor_arg(state, c_obj, "where: condition", &c) < 0 ||
        st_py_tensor_arg(state, a_obj, "where: input", &a) < 0 ||
        st_py_tensor_arg(state, b_obj, "where: other", &b) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_where(&out, st_py_handle(c), st_py_handle(a), st_py_handle(b)),
                  out, c, a, b);
}

PyDoc_STRVAR(compare_doc, "compare($module, input, op, other, /)\n--\n\n"
                          "A bool tensor; op is an st_comparison code (st_compare).");

static PyObject *py_compare(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *b_obj = NULL, *a = NULL, *b = NULL;
    int op = 0;
    if (!PyArg_ParseTuple(args, "OiO:compare", &a_obj, &op, &b_obj) ||
        st_py_tensor_arg(state, a_obj, "compare", &a) < 0 ||
        st_py_tensor_arg(state, b_obj, "compare", &b) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_compare(&out, st_py_handle(a), (st_comparison)op, st_py_handle(b)),
                  out, a, b);
}

/* ---- activations with options -------------------------------------------------------- */

PyDoc_STRVAR(gelu_doc, "gelu($module, input, tanh_approximation, /)\n--\n\n(st_gelu)");

static PyObject *py_gelu(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *a = NULL;
    int tanh_approximation = 0;
    if (!PyArg_ParseTuple(args, "Op:gelu", &a_obj, &tanh_approximation) ||
        st_py_tensor_arg(state, a_obj, "gelu", &a) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_gelu(&out, st_py_handle(a), tanh_approximation != 0), out, a);
}

PyDoc_STRVAR(softplus_doc, "softplus($module, input, beta, threshold, /)\n--\n\n(st_softplus)");

static PyObject *py_softplus(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *a = NULL;
    float beta = 0, threshold = 0;
    if (!PyArg_ParseTuple(args, "Off:softplus", &a_obj, &beta, &threshold) ||
        st_py_tensor_arg(state, a_obj, "softplus", &a) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_softplus(&out, st_py_handle(a), beta, threshold), out, a);
}

/* (tensor, int) functions: softmax, log_softmax, unsqueeze. */
typedef int (*dim_fn)(st_tensor **, const st_tensor *, int64_t);

static PyObject *with_dim(PyObject *module, PyObject *args, dim_fn fn, const char *format)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *a = NULL;
    long long dim = 0;
    if (!PyArg_ParseTuple(args, format, &a_obj, &dim) ||
        st_py_tensor_arg(state, a_obj, format + 3, &a) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, fn(&out, st_py_handle(a), (int64_t)dim), out, a);
}

OP(with_dim, softmax, "OL", "input, dim", "")
OP(with_dim, log_softmax, "OL", "input, dim", "")
OP(with_dim, unsqueeze, "OL", "input, dim", "")

/* ---- reductions ----------------------------------------------------------------------- */

/* dims: None (every dimension), an int or a sequence of ints. */
static int dims_arg(PyObject *obj, int64_t *dims, size_t *ndims)
{
    *ndims = 0;
    if (obj == Py_None)
        return 0;
    return st_py_int64_list_arg(obj, "dim", dims, ST_MAX_DIMS, ndims);
}

typedef int (*reduce_fn)(st_tensor **, const st_tensor *, const int64_t *, size_t, bool);

static PyObject *reduce(PyObject *module, PyObject *args, reduce_fn fn, const char *format)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *dims_obj = NULL, *a = NULL;
    int keepdim = 0;
    int64_t dims[ST_MAX_DIMS];
    size_t ndims = 0;
    if (!PyArg_ParseTuple(args, format, &a_obj, &dims_obj, &keepdim) ||
        st_py_tensor_arg(state, a_obj, format + 4, &a) < 0 ||
        dims_arg(dims_obj, dims, &ndims) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, fn(&out, st_py_handle(a), dims, ndims, keepdim != 0), out, a);
}

OP(reduce, sum, "OOp", "input, dim, keepdim", "")
OP(reduce, mean, "OOp", "input, dim, keepdim", "")

typedef int (*moment_fn)(st_tensor **, const st_tensor *, const int64_t *, size_t, int64_t,
                         bool);

static PyObject *moment(PyObject *module, PyObject *args, moment_fn fn, const char *format)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *dims_obj = NULL, *a = NULL;
    long long correction = 0;
    int keepdim = 0;
    int64_t dims[ST_MAX_DIMS];
    size_t ndims = 0;
    if (!PyArg_ParseTuple(args, format, &a_obj, &dims_obj, &correction, &keepdim) ||
        st_py_tensor_arg(state, a_obj, format + 5, &a) < 0 ||
        dims_arg(dims_obj, dims, &ndims) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, fn(&out, st_py_handle(a), dims, ndims, (int64_t)correction,
                            keepdim != 0),
                  out, a);
}

OP(moment, var, "OOLp", "input, dim, correction, keepdim", "")
OP(moment, std, "OOLp", "input, dim, correction, keepdim", "")

typedef int (*extreme_dim_fn)(st_tensor **, st_tensor **, const st_tensor *, int64_t, bool);

/* (values, indices) along a dimension. */
static PyObject *extreme_dim(PyObject *module, PyObject *args, extreme_dim_fn fn,
                             const char *format)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *a = NULL;
    long long dim = 0;
    int keepdim = 0;
    if (!PyArg_ParseTuple(args, format, &a_obj, &dim, &keepdim) ||
        st_py_tensor_arg(state, a_obj, format + 4, &a) < 0)
        return NULL;
    st_tensor *values = NULL, *indices = NULL;
    int status = fn(&values, &indices, st_py_handle(a), (int64_t)dim, keepdim != 0);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    return st_py_tensor_pair(state, values, indices, &a, 1);
}

OP(extreme_dim, max_dim, "OLp", "input, dim, keepdim", "(values, indices) ")
OP(extreme_dim, min_dim, "OLp", "input, dim, keepdim", "(values, indices) ")

UNARY(max)
UNARY(min)

PyDoc_STRVAR(argmax_doc, "argmax($module, input, dim, keepdim, /)\n--\n\n"
                         "dim None: of the flattened tensor (st_argmax).");

static PyObject *py_argmax(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *dim_obj = NULL, *a = NULL;
    int keepdim = 0;
    int64_t dim = ST_NO_INDEX;
    if (!PyArg_ParseTuple(args, "OOp:argmax", &a_obj, &dim_obj, &keepdim) ||
        st_py_tensor_arg(state, a_obj, "argmax", &a) < 0 ||
        st_py_optional_int64_arg(dim_obj, "dim", &dim) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_argmax(&out, st_py_handle(a), dim, keepdim != 0), out, a);
}

/* ---- shape functions ------------------------------------------------------------------ */

/* (tensor, shape) functions: reshape, permute, expand. */
typedef int (*shape_fn)(st_tensor **, const st_tensor *, const int64_t *, size_t);

static PyObject *with_shape(PyObject *module, PyObject *args, shape_fn fn, const char *format)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *shape_obj = NULL, *a = NULL;
    int64_t shape[ST_MAX_DIMS];
    size_t ndim = 0;
    if (!PyArg_ParseTuple(args, format, &a_obj, &shape_obj) ||
        st_py_tensor_arg(state, a_obj, format + 3, &a) < 0 ||
        st_py_int64_list_arg(shape_obj, format + 3, shape, ST_MAX_DIMS, &ndim) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, fn(&out, st_py_handle(a), shape, ndim), out, a);
}

OP(with_shape, reshape, "OO", "input, shape", "")
OP(with_shape, permute, "OO", "input, dims", "")
OP(with_shape, expand, "OO", "input, size", "")

/* (tensor, int, int) functions: flatten, transpose. */
typedef int (*two_dims_fn)(st_tensor **, const st_tensor *, int64_t, int64_t);

static PyObject *with_two_dims(PyObject *module, PyObject *args, two_dims_fn fn,
                               const char *format)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *a = NULL;
    long long d0 = 0, d1 = 0;
    if (!PyArg_ParseTuple(args, format, &a_obj, &d0, &d1) ||
        st_py_tensor_arg(state, a_obj, format + 4, &a) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, fn(&out, st_py_handle(a), (int64_t)d0, (int64_t)d1), out, a);
}

OP(with_two_dims, flatten, "OLL", "input, start_dim, end_dim", "")
OP(with_two_dims, transpose, "OLL", "input, dim0, dim1", "")

PyDoc_STRVAR(squeeze_doc, "squeeze($module, input, dim, /)\n--\n\n"
                          "dim None: every size-1 dimension (st_squeeze).");

static PyObject *py_squeeze(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *dim_obj = NULL, *a = NULL;
    int64_t dim = ST_NO_INDEX;
    if (!PyArg_ParseTuple(args, "OO:squeeze", &a_obj, &dim_obj) ||
        st_py_tensor_arg(state, a_obj, "squeeze", &a) < 0 ||
        st_py_optional_int64_arg(dim_obj, "dim", &dim) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_squeeze(&out, st_py_handle(a), dim), out, a);
}

/* cat / stack: (sequence of tensors, dim). */
typedef int (*join_fn)(st_tensor **, st_tensor *const *, size_t, int64_t);

static PyObject *join(PyObject *module, PyObject *args, join_fn fn, const char *format)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *list = NULL, *sequence = NULL;
    long long dim = 0;
    st_tensor **handles = NULL;
    size_t count = 0;
    if (!PyArg_ParseTuple(args, format, &list, &dim) ||
        st_py_tensor_handles(state, list, format + 3, &handles, &count, &sequence) < 0)
        return NULL;
    st_tensor *out = NULL;
    int status = fn(&out, handles, count, (int64_t)dim);
    PyObject *result = st_py_tensor_result(state, status, out, PySequence_Fast_ITEMS(sequence),
                                           count);
    PyMem_Free(handles);
    Py_DECREF(sequence);
    return result;
}

OP(join, cat, "OL", "tensors, dim", "")
OP(join, stack, "OL", "tensors, dim", "")

PyDoc_STRVAR(slice_doc, "slice($module, input, dim, start, end, step, /)\n--\n\n"
                        "Python slice rules; None start / end for the ends (st_slice).");

static PyObject *py_slice(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *start_obj = NULL, *end_obj = NULL, *a = NULL;
    long long dim = 0, step = 0;
    int64_t start = 0, end = INT64_MAX;
    if (!PyArg_ParseTuple(args, "OLOOL:slice", &a_obj, &dim, &start_obj, &end_obj, &step) ||
        st_py_tensor_arg(state, a_obj, "slice", &a) < 0 ||
        st_py_optional_int64_arg(start_obj, "start", &start) < 0 ||
        st_py_optional_int64_arg(end_obj, "end", &end) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_slice(&out, st_py_handle(a), (int64_t)dim, start, end, (int64_t)step),
                  out, a);
}

OP(with_two_dims, select, "OLL", "input, dim, index", "")

/* split / chunk: a list of pieces. */
typedef int (*pieces_fn)(st_tensor **, size_t, size_t *, const st_tensor *, int64_t, int64_t);

static PyObject *pieces(PyObject *module, PyObject *args, pieces_fn fn, const char *format)
{
    int is_chunk = fn == st_chunk;
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *a = NULL;
    long long n = 0, dim = 0;
    if (!PyArg_ParseTuple(args, format, &a_obj, &n, &dim) ||
        st_py_tensor_arg(state, a_obj, format + 4, &a) < 0)
        return NULL;
    /* How many pieces there can be; the library checks the arguments themselves. */
    st_py_tensor *t = (st_py_tensor *)a;
    long long d = dim < 0 ? dim + t->ndim : dim;
    long long length = (d >= 0 && d < t->ndim) ? t->shape[d] : 0;
    size_t capacity = 1;
    if (is_chunk && n > 0)
        capacity = (size_t)n;
    else if (!is_chunk && n > 0 && length > 0)
        capacity = (size_t)((length + n - 1) / n);
    st_tensor **outs = PyMem_New(st_tensor *, capacity);
    if (outs == NULL)
        return PyErr_NoMemory();
    size_t count = 0;
    int status = fn(outs, capacity, &count, st_py_handle(a), (int64_t)n, (int64_t)dim);
    if (status != ST_OK) {
        PyMem_Free(outs);
        return st_py_raise_status(state, status);
    }
    PyObject *list = PyList_New((Py_ssize_t)count);
    size_t i = 0;
    for (; list != NULL && i < count; i++) {
        PyObject *piece = st_py_tensor_wrap(state, outs[i], 1, &a, 1); /* frees on failure */
        if (piece == NULL) {
            Py_CLEAR(list);
            i++;
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, piece);
    }
    for (; i < count; i++)
        st_tensor_free(outs[i]);
    PyMem_Free(outs);
    return list;
}

OP(pieces, split, "OLL", "input, size, dim", "Pieces of `size` along dim, the last may be smaller ")
OP(pieces, chunk, "OLL", "input, chunks, dim", "")

/* gather / index_select: (tensor, dim, index). */
typedef int (*index_fn)(st_tensor **, const st_tensor *, int64_t, const st_tensor *);

static PyObject *with_index(PyObject *module, PyObject *args, index_fn fn, const char *format)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *a_obj = NULL, *i_obj = NULL, *a = NULL, *index = NULL;
    long long dim = 0;
    if (!PyArg_ParseTuple(args, format, &a_obj, &dim, &i_obj) ||
        st_py_tensor_arg(state, a_obj, format + 4, &a) < 0 ||
        st_py_tensor_arg(state, i_obj, "index", &index) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, fn(&out, st_py_handle(a), (int64_t)dim, st_py_handle(index)), out, a,
                  index);
}

OP(with_index, gather, "OLO", "input, dim, index", "")
OP(with_index, index_select, "OLO", "input, dim, index", "")

#define ENTRY(name, flags) {#name, (PyCFunction)py_##name, flags, name##_doc}

PyMethodDef st_py_tensor_op_functions[] = {
    ENTRY(neg, METH_O), ENTRY(exp, METH_O), ENTRY(log, METH_O), ENTRY(sqrt, METH_O),
    ENTRY(rsqrt, METH_O), ENTRY(abs, METH_O), ENTRY(relu, METH_O), ENTRY(silu, METH_O),
    ENTRY(tanh, METH_O), ENTRY(sigmoid, METH_O), ENTRY(max, METH_O), ENTRY(min, METH_O),
    ENTRY(add, METH_VARARGS), ENTRY(sub, METH_VARARGS), ENTRY(mul, METH_VARARGS),
    ENTRY(div, METH_VARARGS), ENTRY(pow, METH_VARARGS), ENTRY(maximum, METH_VARARGS),
    ENTRY(minimum, METH_VARARGS), ENTRY(matmul, METH_VARARGS),
    ENTRY(add_scalar, METH_VARARGS), ENTRY(mul_scalar, METH_VARARGS),
    ENTRY(pow_scalar, METH_VARARGS), ENTRY(leaky_relu, METH_VARARGS),
    ENTRY(clamp, METH_VARARGS), ENTRY(where, METH_VARARGS), ENTRY(compare, METH_VARARGS),
    ENTRY(gelu, METH_VARARGS), ENTRY(softplus, METH_VARARGS), ENTRY(softmax, METH_VARARGS),
    ENTRY(log_softmax, METH_VARARGS), ENTRY(unsqueeze, METH_VARARGS),
    ENTRY(sum, METH_VARARGS), ENTRY(mean, METH_VARARGS), ENTRY(var, METH_VARARGS),
    ENTRY(std, METH_VARARGS), ENTRY(max_dim, METH_VARARGS), ENTRY(min_dim, METH_VARARGS),
    ENTRY(argmax, METH_VARARGS), ENTRY(reshape, METH_VARARGS), ENTRY(permute, METH_VARARGS),
    ENTRY(expand, METH_VARARGS), ENTRY(flatten, METH_VARARGS), ENTRY(transpose, METH_VARARGS),
    ENTRY(squeeze, METH_VARARGS), ENTRY(cat, METH_VARARGS), ENTRY(stack, METH_VARARGS),
    ENTRY(slice, METH_VARARGS), ENTRY(select, METH_VARARGS), ENTRY(split, METH_VARARGS),
    ENTRY(chunk, METH_VARARGS), ENTRY(gather, METH_VARARGS), ENTRY(index_select, METH_VARARGS),
    {NULL, NULL, 0, NULL},
};
