/*
 * functional.c - the linear-algebra, neural-network and loss functions of
 * include/swifttrain.h as module functions (positional arguments, None for an absent
 * tensor). swifttrain/functional.py gives them torch.nn.functional's names, keywords and
 * defaults; the library computes.
 */
#include "_swifttrain.h"

#define RETURN_RESULT ST_PY_RETURN_RESULT
#define handle_or_null st_py_handle_or_null

/* ---- layers as functions ------------------------------------------------------------ */

PyDoc_STRVAR(linear_doc, "linear($module, input, weight, bias, /)\n--\n\n"
                         "input W^T + b; bias may be None (st_linear).");

static PyObject *py_linear(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *w_obj, *b_obj, *x, *w, *b;
    if (!PyArg_ParseTuple(args, "OOO:linear", &x_obj, &w_obj, &b_obj) ||
        st_py_tensor_arg(state, x_obj, "linear: input", &x) < 0 ||
        st_py_tensor_arg(state, w_obj, "linear: weight", &w) < 0 ||
        st_py_optional_tensor_arg(state, b_obj, "linear: bias", &b) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_linear(&out, st_py_handle(x), st_py_handle(w), handle_or_null(b)),
                  out, x, w, b);
}

PyDoc_STRVAR(layer_norm_doc,
             "layer_norm($module, input, normalized_shape, weight, bias, eps, /)\n--\n\n"
             "(st_layer_norm)");

static PyObject *py_layer_norm(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *shape_obj, *w_obj, *b_obj, *x, *w, *b;
    float eps = 0;
    int64_t shape[ST_MAX_DIMS];
    size_t ndim = 0;
    if (!PyArg_ParseTuple(args, "OOOOf:layer_norm", &x_obj, &shape_obj, &w_obj, &b_obj, &eps) ||
        st_py_tensor_arg(state, x_obj, "layer_norm: input", &x) < 0 ||
        st_py_int64_list_arg(shape_obj, "normalized_shape", shape, ST_MAX_DIMS, &ndim) < 0 ||
        st_py_optional_tensor_arg(state, w_obj, "layer_norm: weight", &w) < 0 ||
        st_py_optional_tensor_arg(state, b_obj, "layer_norm: bias", &b) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_layer_norm(&out, st_py_handle(x), shape, ndim, handle_or_null(w),
                                       handle_or_null(b), eps),
                  out, x, w, b);
}

PyDoc_STRVAR(batch_norm_doc,
             "batch_norm($module, input, running_mean, running_var, weight, bias, training, "
             "momentum, eps, /)\n--\n\n"
             "Running statistics (None or tensors) are updated in place when training "
             "(st_batch_norm).");

static PyObject *py_batch_norm(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *rm_obj, *rv_obj, *w_obj, *b_obj, *x, *rm, *rv, *w, *b;
    int training = 0;
    float momentum = 0, eps = 0;
    if (!PyArg_ParseTuple(args, "OOOOOpff:batch_norm", &x_obj, &rm_obj, &rv_obj, &w_obj,
                          &b_obj, &training, &momentum, &eps) ||
        st_py_tensor_arg(state, x_obj, "batch_norm: input", &x) < 0 ||
        st_py_optional_tensor_arg(state, rm_obj, "batch_norm: running_mean", &rm) < 0 ||
        st_py_optional_tensor_arg(state, rv_obj, "batch_norm: running_var", &rv) < 0 ||
        st_py_optional_tensor_arg(state, w_obj, "batch_norm: weight", &w) < 0 ||
        st_py_optional_tensor_arg(state, b_obj, "batch_norm: bias", &b) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_batch_norm(&out, st_py_handle(x), handle_or_null(rm),
                                       handle_or_null(rv), handle_or_null(w),
                                       handle_or_null(b), training != 0, momentum, eps),
                  out, x, rm, rv, w, b);
}

PyDoc_STRVAR(embedding_doc, "embedding($module, input, weight, padding_idx, /)\n--\n\n"
                            "padding_idx None for none (st_embedding).");

static PyObject *py_embedding(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *i_obj, *w_obj, *p_obj, *indices, *w;
    int64_t padding = ST_NO_INDEX;
    if (!PyArg_ParseTuple(args, "OOO:embedding", &i_obj, &w_obj, &p_obj) ||
        st_py_tensor_arg(state, i_obj, "embedding: input", &indices) < 0 ||
        st_py_tensor_arg(state, w_obj, "embedding: weight", &w) < 0 ||
        st_py_optional_int64_arg(p_obj, "padding_idx", &padding) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_embedding(&out, st_py_handle(indices), st_py_handle(w), padding),
                  out, indices, w);
}

PyDoc_STRVAR(dropout_doc, "dropout($module, input, p, training, /)\n--\n\n(st_dropout)");

static PyObject *py_dropout(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *x;
    float p = 0;
    int training = 0;
    if (!PyArg_ParseTuple(args, "Ofp:dropout", &x_obj, &p, &training) ||
        st_py_tensor_arg(state, x_obj, "dropout: input", &x) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_dropout(&out, st_py_handle(x), p, training != 0), out, x);
}

PyDoc_STRVAR(conv2d_doc,
             "conv2d($module, input, weight, bias, stride, padding, dilation, groups, /)"
             "\n--\n\nstride, padding, dilation: ints or pairs (st_conv2d).");

static PyObject *py_conv2d(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *w_obj, *b_obj, *stride, *padding, *dilation, *x, *w, *b;
    long long groups = 0;
    st_conv2d_options options;
    st_conv2d_options_init(&options);
    if (!PyArg_ParseTuple(args, "OOOOOOL:conv2d", &x_obj, &w_obj, &b_obj, &stride, &padding,
                          &dilation, &groups) ||
        st_py_tensor_arg(state, x_obj, "conv2d: input", &x) < 0 ||
        st_py_tensor_arg(state, w_obj, "conv2d: weight", &w) < 0 ||
        st_py_optional_tensor_arg(state, b_obj, "conv2d: bias", &b) < 0 ||
        st_py_pair_arg(stride, "stride", options.stride) < 0 ||
        st_py_pair_arg(padding, "padding", options.padding) < 0 ||
        st_py_pair_arg(dilation, "dilation", options.dilation) < 0)
        return NULL;
    options.groups = (int64_t)groups;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_conv2d(&out, st_py_handle(x), st_py_handle(w), handle_or_null(b),
                                   &options),
                  out, x, w, b);
}

/* st_pool2d_options from (kernel_size, stride or None, padding, dilation or NULL for the
 * default, ceil_mode, count_include_pad, divisor_override or None); used by the layer
 * constructors too. */
int st_py_pool2d_options(st_pool2d_options *options, PyObject *kernel, PyObject *stride,
                         PyObject *padding, PyObject *dilation, int ceil_mode,
                         int count_include_pad, PyObject *divisor_override)
{
    int64_t k[2];
    if (st_py_pair_arg(kernel, "kernel_size", k) < 0)
        return -1;
    st_pool2d_options_init(options, k[0], k[1]);
    if ((stride != Py_None && st_py_pair_arg(stride, "stride", options->stride) < 0) ||
        st_py_pair_arg(padding, "padding", options->padding) < 0 ||
        (dilation != NULL && st_py_pair_arg(dilation, "dilation", options->dilation) < 0))
        return -1;
    options->ceil_mode = ceil_mode != 0;
    options->count_include_pad = count_include_pad != 0;
    return st_py_optional_int64_arg(divisor_override, "divisor_override",
                                    &options->divisor_override);
}

PyDoc_STRVAR(max_pool2d_doc,
             "max_pool2d($module, input, kernel_size, stride, padding, dilation, ceil_mode, "
             "/)\n--\n\nstride None: the kernel size (st_max_pool2d).");

static PyObject *py_max_pool2d(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *kernel, *stride, *padding, *dilation, *x;
    int ceil_mode = 0;
    st_pool2d_options options;
    if (!PyArg_ParseTuple(args, "OOOOOp:max_pool2d", &x_obj, &kernel, &stride, &padding,
                          &dilation, &ceil_mode) ||
        st_py_tensor_arg(state, x_obj, "max_pool2d: input", &x) < 0 ||
        st_py_pool2d_options(&options, kernel, stride, padding, dilation, ceil_mode, 1,
                             Py_None) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_max_pool2d(&out, st_py_handle(x), &options), out, x);
}

PyDoc_STRVAR(avg_pool2d_doc,
             "avg_pool2d($module, input, kernel_size, stride, padding, ceil_mode, "
             "count_include_pad, divisor_override, /)\n--\n\n(st_avg_pool2d)");

static PyObject *py_avg_pool2d(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *kernel, *stride, *padding, *divisor, *x;
    int ceil_mode = 0, count_include_pad = 0;
    st_pool2d_options options;
    if (!PyArg_ParseTuple(args, "OOOOppO:avg_pool2d", &x_obj, &kernel, &stride, &padding,
                          &ceil_mode, &count_include_pad, &divisor) ||
        st_py_tensor_arg(state, x_obj, "avg_pool2d: input", &x) < 0 ||
        st_py_pool2d_options(&options, kernel, stride, padding, NULL, ceil_mode,
                             count_include_pad, divisor) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_avg_pool2d(&out, st_py_handle(x), &options), out, x);
}

PyDoc_STRVAR(scaled_dot_product_attention_doc,
             "scaled_dot_product_attention($module, query, key, value, attn_mask, is_causal, "
             "scale, /)\n--\n\nattn_mask None, float (added) or bool (true = may attend); "
             "scale None: 1/sqrt(E) (st_scaled_dot_product_attention).");

static PyObject *py_scaled_dot_product_attention(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *q_obj, *k_obj, *v_obj, *m_obj, *scale_obj, *q, *k, *v, *m;
    int is_causal = 0;
    float scale = 0;
    if (!PyArg_ParseTuple(args, "OOOOpO:scaled_dot_product_attention", &q_obj, &k_obj, &v_obj,
                          &m_obj, &is_causal, &scale_obj) ||
        st_py_tensor_arg(state, q_obj, "scaled_dot_product_attention: query", &q) < 0 ||
        st_py_tensor_arg(state, k_obj, "scaled_dot_product_attention: key", &k) < 0 ||
        st_py_tensor_arg(state, v_obj, "scaled_dot_product_attention: value", &v) < 0 ||
        st_py_optional_tensor_arg(state, m_obj, "scaled_dot_product_attention: attn_mask",
                                  &m) < 0)
        return NULL;
    if (scale_obj != Py_None) {
        double value = PyFloat_AsDouble(scale_obj);
        if (value == -1.0 && PyErr_Occurred())
            return NULL;
        scale = (float)value;
    }
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_scaled_dot_product_attention(&out, st_py_handle(q), st_py_handle(k),
                                                         st_py_handle(v), handle_or_null(m),
                                                         is_causal != 0, scale),
                  out, q, k, v, m);
}

/* ---- losses --------------------------------------------------------------------------- */

/* (input, target, reduction) losses: mse_loss, l1_loss. */
typedef int (*pair_loss_fn)(st_tensor **, const st_tensor *, const st_tensor *, st_reduction);

static PyObject *pair_loss(PyObject *module, PyObject *args, pair_loss_fn fn, const char *format)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *t_obj, *x, *t;
    int reduction = 0;
    if (!PyArg_ParseTuple(args, format, &x_obj, &t_obj, &reduction) ||
        st_py_tensor_arg(state, x_obj, "input", &x) < 0 ||
        st_py_tensor_arg(state, t_obj, "target", &t) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, fn(&out, st_py_handle(x), st_py_handle(t), (st_reduction)reduction),
                  out, x, t);
}

ST_PY_OP(pair_loss, mse_loss, "OOi", "input, target, reduction", "")
ST_PY_OP(pair_loss, l1_loss, "OOi", "input, target, reduction", "")

/* (input, target, parameter, reduction) losses: smooth_l1_loss (beta), huber_loss (delta). */
typedef int (*robust_loss_fn)(st_tensor **, const st_tensor *, const st_tensor *, float,
                              st_reduction);

static PyObject *robust_loss(PyObject *module, PyObject *args, robust_loss_fn fn,
                             const char *format)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *t_obj, *x, *t;
    float parameter = 0;
    int reduction = 0;
    if (!PyArg_ParseTuple(args, format, &x_obj, &t_obj, &parameter, &reduction) ||
        st_py_tensor_arg(state, x_obj, "input", &x) < 0 ||
        st_py_tensor_arg(state, t_obj, "target", &t) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, fn(&out, st_py_handle(x), st_py_handle(t), parameter,
                            (st_reduction)reduction),
                  out, x, t);
}

ST_PY_OP(robust_loss, smooth_l1_loss, "OOfi", "input, target, beta, reduction", "")
ST_PY_OP(robust_loss, huber_loss, "OOfi", "input, target, delta, reduction", "")

PyDoc_STRVAR(cross_entropy_doc,
             "cross_entropy($module, input, target, weight, ignore_index, reduction, "
             "label_smoothing, /)\n--\n\n(st_cross_entropy)");

static PyObject *py_cross_entropy(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *t_obj, *w_obj, *x, *t, *w;
    long long ignore_index = 0;
    int reduction = 0;
    float label_smoothing = 0;
    if (!PyArg_ParseTuple(args, "OOOLif:cross_entropy", &x_obj, &t_obj, &w_obj, &ignore_index,
                          &reduction, &label_smoothing) ||
        st_py_tensor_arg(state, x_obj, "cross_entropy: input", &x) < 0 ||
        st_py_tensor_arg(state, t_obj, "cross_entropy: target", &t) < 0 ||
        st_py_optional_tensor_arg(state, w_obj, "cross_entropy: weight", &w) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_cross_entropy(&out, st_py_handle(x), st_py_handle(t), handle_or_null(w),
                                          (int64_t)ignore_index, (st_reduction)reduction,
                                          label_smoothing),
                  out, x, t, w);
}

PyDoc_STRVAR(nll_loss_doc,
             "nll_loss($module, input, target, weight, ignore_index, reduction, /)\n--\n\n"
             "(st_nll_loss)");

static PyObject *py_nll_loss(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *t_obj, *w_obj, *x, *t, *w;
    long long ignore_index = 0;
    int reduction = 0;
    if (!PyArg_ParseTuple(args, "OOOLi:nll_loss", &x_obj, &t_obj, &w_obj, &ignore_index,
                          &reduction) ||
        st_py_tensor_arg(state, x_obj, "nll_loss: input", &x) < 0 ||
        st_py_tensor_arg(state, t_obj, "nll_loss: target", &t) < 0 ||
        st_py_optional_tensor_arg(state, w_obj, "nll_loss: weight", &w) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_nll_loss(&out, st_py_handle(x), st_py_handle(t), handle_or_null(w),
                                     (int64_t)ignore_index, (st_reduction)reduction),
                  out, x, t, w);
}

PyDoc_STRVAR(binary_cross_entropy_with_logits_doc,
             "binary_cross_entropy_with_logits($module, input, target, weight, pos_weight, "
             "reduction, /)\n--\n\n(st_binary_cross_entropy_with_logits)");

static PyObject *py_binary_cross_entropy_with_logits(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *t_obj, *w_obj, *p_obj, *x, *t, *w, *p;
    int reduction = 0;
    if (!PyArg_ParseTuple(args, "OOOOi:binary_cross_entropy_with_logits", &x_obj, &t_obj,
                          &w_obj, &p_obj, &reduction) ||
        st_py_tensor_arg(state, x_obj, "binary_cross_entropy_with_logits: input", &x) < 0 ||
        st_py_tensor_arg(state, t_obj, "binary_cross_entropy_with_logits: target", &t) < 0 ||
        st_py_optional_tensor_arg(state, w_obj, "binary_cross_entropy_with_logits: weight",
                                  &w) < 0 ||
        st_py_optional_tensor_arg(state, p_obj, "binary_cross_entropy_with_logits: pos_weight",
                                  &p) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_binary_cross_entropy_with_logits(&out, st_py_handle(x), st_py_handle(t),
                                                             handle_or_null(w), handle_or_null(p),
                                                             (st_reduction)reduction),
                  out, x, t, w, p);
}

PyDoc_STRVAR(kl_div_doc,
             "kl_div($module, input, target, reduction, log_target, /)\n--\n\n(st_kl_div)");

static PyObject *py_kl_div(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *x_obj, *t_obj, *x, *t;
    int reduction = 0, log_target = 0;
    if (!PyArg_ParseTuple(args, "OOip:kl_div", &x_obj, &t_obj, &reduction, &log_target) ||
        st_py_tensor_arg(state, x_obj, "kl_div: input", &x) < 0 ||
        st_py_tensor_arg(state, t_obj, "kl_div: target", &t) < 0)
        return NULL;
    st_tensor *out = NULL;
    RETURN_RESULT(state, st_kl_div(&out, st_py_handle(x), st_py_handle(t),
                                   (st_reduction)reduction, log_target != 0),
                  out, x, t);
}

#define ENTRY(name) {#name, (PyCFunction)py_##name, METH_VARARGS, name##_doc}

PyMethodDef st_py_functional_functions[] = {
    ENTRY(linear), ENTRY(layer_norm), ENTRY(batch_norm), ENTRY(embedding), ENTRY(dropout),
    ENTRY(conv2d), ENTRY(max_pool2d), ENTRY(avg_pool2d), ENTRY(scaled_dot_product_attention),
    ENTRY(mse_loss), ENTRY(l1_loss), ENTRY(smooth_l1_loss), ENTRY(huber_loss),
    ENTRY(cross_entropy), ENTRY(nll_loss), ENTRY(binary_cross_entropy_with_logits),
    ENTRY(kl_div),
    {NULL, NULL, 0, NULL},
};
