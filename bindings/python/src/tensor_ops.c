/*
 * tensor_ops.c - element-wise, activation, reduction and shape functions of
 * include/swifttrain.h as module functions: one line per st_ entry point (ST_PY_CALL: the
 * argument kinds, the parameters, the call), taking Tensors and plain values, returning new
 * Tensors.
 *
 * The package's Tensor methods and operators (swifttrain/_tensor.py) call these; the
 * numbers are computed by the library only.
 */
#include "_swifttrain.h"

#include <math.h>

#define CALL ST_PY_CALL
/* The common shapes of call: st_<name>(out, input, ...). */
#define UNARY(name) CALL(name, "T", "input", "", st_##name(out, a[0].tensor))
#define BINARY(name)                                                                       \
    CALL(name, "TT", "input, other", "", st_##name(out, a[0].tensor, a[1].tensor))
#define WITH_FLOAT(name, param)                                                            \
    CALL(name, "Tf", "input, " param, "", st_##name(out, a[0].tensor, (float)a[1].f))
#define WITH_DIM(name) CALL(name, "TL", "input, dim", "", st_##name(out, a[0].tensor, a[1].i))
#define WITH_SHAPE(name, param)                                                            \
    CALL(name, "TS", "input, " param, "", st_##name(out, a[0].tensor, a[1].list, a[1].n))
#define WITH_TWO(name, params)                                                             \
    CALL(name, "TLL", "input, " params, "", st_##name(out, a[0].tensor, a[1].i, a[2].i))
#define WITH_INDEX(name)                                                                   \
    CALL(name, "TLT", "input, dim, index", "", st_##name(out, a[0].tensor, a[1].i, a[2].tensor))

/* ---- element-wise functions and activations ------------------------------------------ */

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
WITH_FLOAT(add_scalar, "value")
WITH_FLOAT(mul_scalar, "value")
WITH_FLOAT(pow_scalar, "exponent")
WITH_FLOAT(leaky_relu, "negative_slope")
CALL(clamp, "TFF", "input, min, max", "Limits to [min, max]; None for a missing bound ",
     st_clamp(out, a[0].tensor, a[1].none ? -INFINITY : (float)a[1].f,
              a[2].none ? INFINITY : (float)a[2].f))
CALL(where, "TTT", "condition, input, other", "condition ? input : other ",
     st_where(out, a[0].tensor, a[1].tensor, a[2].tensor))
CALL(compare, "TLT", "input, op, other", "A bool tensor; op is an st_comparison code ",
     st_compare(out, a[0].tensor, (st_comparison)a[1].i, a[2].tensor))
CALL(gelu, "Tp", "input, tanh_approximation", "", st_gelu(out, a[0].tensor, a[1].i != 0))
CALL(softplus, "Tff", "input, beta, threshold", "",
     st_softplus(out, a[0].tensor, (float)a[1].f, (float)a[2].f))
WITH_DIM(softmax)
WITH_DIM(log_softmax)
WITH_DIM(unsqueeze)

/* ---- reductions ----------------------------------------------------------------------- */

/* dim: None (every dimension), an int or a sequence of ints. */
CALL(sum, "TDp", "input, dim, keepdim", "", st_sum(out, a[0].tensor, a[1].list, a[1].n, a[2].i))
CALL(mean, "TDp", "input, dim, keepdim", "", st_mean(out, a[0].tensor, a[1].list, a[1].n, a[2].i))
CALL(var, "TDLp", "input, dim, correction, keepdim", "",
     st_var(out, a[0].tensor, a[1].list, a[1].n, a[2].i, a[3].i))
CALL(std, "TDLp", "input, dim, correction, keepdim", "",
     st_std(out, a[0].tensor, a[1].list, a[1].n, a[2].i, a[3].i))
CALL(max_dim, "TLp", "input, dim, keepdim", "(values, indices) ",
     st_max_dim(&out[0], &out[1], a[0].tensor, a[1].i, a[2].i))
CALL(min_dim, "TLp", "input, dim, keepdim", "(values, indices) ",
     st_min_dim(&out[0], &out[1], a[0].tensor, a[1].i, a[2].i))
UNARY(max)
UNARY(min)
CALL(argmax, "Tnp", "input, dim, keepdim", "dim None: of the flattened tensor ",
     st_argmax(out, a[0].tensor, a[1].i, a[2].i))
CALL(topk, "TLLpp", "input, k, dim, largest, sorted", "(values, indices) ",
     st_topk(&out[0], &out[1], a[0].tensor, a[1].i, a[2].i, a[3].i, a[4].i))

/* ---- shape functions ------------------------------------------------------------------ */

WITH_SHAPE(reshape, "shape")
WITH_SHAPE(permute, "dims")
WITH_SHAPE(expand, "size")
WITH_TWO(flatten, "start_dim, end_dim")
WITH_TWO(transpose, "dim0, dim1")
WITH_TWO(select, "dim, index")
CALL(squeeze, "Tn", "input, dim", "dim None: every size-1 dimension ",
     st_squeeze(out, a[0].tensor, a[1].i))
CALL(slice, "TLnnL", "input, dim, start, end, step",
     "Python slice rules; None start / end for the ends ",
     st_slice(out, a[0].tensor, a[1].i, a[2].none ? 0 : a[2].i, a[3].none ? INT64_MAX : a[3].i,
              a[4].i))
WITH_INDEX(gather)
WITH_INDEX(index_select)

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

ST_PY_OP(join, cat, "OL", "tensors, dim", "")
ST_PY_OP(join, stack, "OL", "tensors, dim", "")

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

ST_PY_OP(pieces, split, "OLL", "input, size, dim",
         "Pieces of `size` along dim, the last may be smaller ")
ST_PY_OP(pieces, chunk, "OLL", "input, chunks, dim", "")

/* clip_grad_norm / clip_grad_value: (sequence of tensors, numbers...). */
PyDoc_STRVAR(clip_grad_norm_doc,
             "clip_grad_norm(parameters, max_norm, norm_type, error_if_nonfinite)\n--\n\n"
             "Scales the gradients together to a total norm of at most max_norm; returns the "
             "norm before clipping (st_clip_grad_norm).");

static PyObject *py_clip_grad_norm(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *list = NULL, *sequence = NULL;
    double max_norm = 0, norm_type = 0, norm = 0;
    int error_if_nonfinite = 0;
    st_tensor **handles = NULL;
    size_t count = 0;
    if (!PyArg_ParseTuple(args, "Oddp:clip_grad_norm", &list, &max_norm, &norm_type,
                          &error_if_nonfinite) ||
        st_py_tensor_handles(state, list, "clip_grad_norm: parameters", &handles, &count,
                             &sequence) < 0)
        return NULL;
    int status = st_clip_grad_norm(&norm, handles, count, max_norm, norm_type,
                                   error_if_nonfinite != 0);
    PyMem_Free(handles);
    Py_DECREF(sequence);
    return status == ST_OK ? PyFloat_FromDouble(norm) : st_py_raise_status(state, status);
}

PyDoc_STRVAR(clip_grad_value_doc,
             "clip_grad_value(parameters, clip_value)\n--\n\n"
             "Limits every gradient element to [-clip_value, clip_value] (st_clip_grad_value).");

static PyObject *py_clip_grad_value(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *list = NULL, *sequence = NULL;
    double clip_value = 0;
    st_tensor **handles = NULL;
    size_t count = 0;
    if (!PyArg_ParseTuple(args, "Od:clip_grad_value", &list, &clip_value) ||
        st_py_tensor_handles(state, list, "clip_grad_value: parameters", &handles, &count,
                             &sequence) < 0)
        return NULL;
    int status = st_clip_grad_value(handles, count, clip_value);
    PyMem_Free(handles);
    Py_DECREF(sequence);
    return st_py_none_or_raise(state, status);
}

#define ENTRY(name) {#name, (PyCFunction)py_##name, METH_VARARGS, name##_doc}

PyMethodDef st_py_tensor_op_functions[] = {
    ENTRY(neg), ENTRY(exp), ENTRY(log), ENTRY(sqrt), ENTRY(rsqrt), ENTRY(abs), ENTRY(relu),
    ENTRY(silu), ENTRY(tanh), ENTRY(sigmoid), ENTRY(max), ENTRY(min), ENTRY(add), ENTRY(sub),
    ENTRY(mul), ENTRY(div), ENTRY(pow), ENTRY(maximum), ENTRY(minimum), ENTRY(matmul),
    ENTRY(add_scalar), ENTRY(mul_scalar), ENTRY(pow_scalar), ENTRY(leaky_relu), ENTRY(clamp),
    ENTRY(where), ENTRY(compare), ENTRY(gelu), ENTRY(softplus), ENTRY(softmax),
    ENTRY(log_softmax), ENTRY(unsqueeze), ENTRY(sum), ENTRY(mean), ENTRY(var), ENTRY(std),
    ENTRY(max_dim), ENTRY(min_dim), ENTRY(argmax), ENTRY(reshape), ENTRY(permute),
    ENTRY(expand), ENTRY(flatten), ENTRY(transpose), ENTRY(squeeze), ENTRY(cat), ENTRY(stack),
    ENTRY(slice), ENTRY(select), ENTRY(split), ENTRY(chunk), ENTRY(gather),
    ENTRY(index_select), ENTRY(topk), ENTRY(clip_grad_norm), ENTRY(clip_grad_value),
    {NULL, NULL, 0, NULL},
};
