/*
 * functional.c - the linear-algebra, neural-network and loss functions of
 * include/swifttrain.h as module functions (positional arguments, None for an absent
 * tensor), one ST_PY_CALL each. swifttrain/functional.py gives them torch.nn.functional's
 * names, keywords and defaults; the library computes.
 */
#include "_swifttrain.h"

#define CALL ST_PY_CALL

/* ---- layers as functions ------------------------------------------------------------ */

CALL(linear, "TTt", "input, weight, bias", "input W^T + b; bias may be None ",
     st_linear(out, a[0].tensor, a[1].tensor, a[2].tensor))
CALL(layer_norm, "TSttf", "input, normalized_shape, weight, bias, eps", "",
     st_layer_norm(out, a[0].tensor, a[1].list, a[1].n, a[2].tensor, a[3].tensor,
                   (float)a[4].f))
CALL(batch_norm, "Tttttpff",
     "input, running_mean, running_var, weight, bias, training, momentum, eps",
     "Running statistics (None or tensors) are updated in place when training ",
     st_batch_norm(out, a[0].tensor, a[1].tensor, a[2].tensor, a[3].tensor, a[4].tensor,
                   a[5].i != 0, (float)a[6].f, (float)a[7].f))
CALL(embedding, "TTn", "input, weight, padding_idx", "padding_idx None for none ",
     st_embedding(out, a[0].tensor, a[1].tensor, a[2].i))
CALL(dropout, "Tfp", "input, p, training", "",
     st_dropout(out, a[0].tensor, (float)a[1].f, a[2].i != 0))

/* st_conv2d with stride, padding and dilation (ints or pairs) as its options. */
static int conv2d(st_tensor **out, const st_py_arg *a)
{
    st_conv2d_options options;
    st_conv2d_options_init(&options);
    if (st_py_pair_arg(a[3].obj, "stride", options.stride) < 0 ||
        st_py_pair_arg(a[4].obj, "padding", options.padding) < 0 ||
        st_py_pair_arg(a[5].obj, "dilation", options.dilation) < 0)
        return ST_PY_RAISED;
    options.groups = a[6].i;
    return st_conv2d(out, a[0].tensor, a[1].tensor, a[2].tensor, &options);
}

CALL(conv2d, "TTtOOOL", "input, weight, bias, stride, padding, dilation, groups",
     "stride, padding, dilation: ints or pairs ", conv2d(out, a))

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

/* st_max_pool2d / st_avg_pool2d of a[0] with a[1..3] the kernel size, stride, padding. */
static int pool2d(st_tensor **out, const st_py_arg *a,
                  st_status (*fn)(st_tensor **, const st_tensor *, const st_pool2d_options *),
                  PyObject *dilation, int ceil_mode, int count_include_pad, PyObject *divisor)
{
    st_pool2d_options options;
    if (st_py_pool2d_options(&options, a[1].obj, a[2].obj, a[3].obj, dilation, ceil_mode,
                             count_include_pad, divisor) < 0)
        return ST_PY_RAISED;
    return fn(out, a[0].tensor, &options);
}

CALL(max_pool2d, "TOOOOp", "input, kernel_size, stride, padding, dilation, ceil_mode",
     "stride None: the kernel size ",
     pool2d(out, a, st_max_pool2d, a[4].obj, (int)a[5].i, 1, Py_None))
CALL(avg_pool2d, "TOOOppO",
     "input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override", "",
     pool2d(out, a, st_avg_pool2d, NULL, (int)a[4].i, (int)a[5].i, a[6].obj))
CALL(scaled_dot_product_attention, "TTTtpF",
     "query, key, value, attn_mask, is_causal, scale",
     "attn_mask None, float (added) or bool (true = may attend); scale None: 1/sqrt(E) ",
     st_scaled_dot_product_attention(out, a[0].tensor, a[1].tensor, a[2].tensor, a[3].tensor,
                                     a[4].i != 0, (float)a[5].f))

/* ---- losses (reduction: an st_reduction code) ----------------------------------------- */

CALL(mse_loss, "TTL", "input, target, reduction", "",
     st_mse_loss(out, a[0].tensor, a[1].tensor, (st_reduction)a[2].i))
CALL(l1_loss, "TTL", "input, target, reduction", "",
     st_l1_loss(out, a[0].tensor, a[1].tensor, (st_reduction)a[2].i))
CALL(smooth_l1_loss, "TTfL", "input, target, beta, reduction", "",
     st_smooth_l1_loss(out, a[0].tensor, a[1].tensor, (float)a[2].f, (st_reduction)a[3].i))
CALL(huber_loss, "TTfL", "input, target, delta, reduction", "",
     st_huber_loss(out, a[0].tensor, a[1].tensor, (float)a[2].f, (st_reduction)a[3].i))
CALL(cross_entropy, "TTtLLf",
     "input, target, weight, ignore_index, reduction, label_smoothing", "",
     st_cross_entropy(out, a[0].tensor, a[1].tensor, a[2].tensor, a[3].i,
                      (st_reduction)a[4].i, (float)a[5].f))
CALL(nll_loss, "TTtLL", "input, target, weight, ignore_index, reduction", "",
     st_nll_loss(out, a[0].tensor, a[1].tensor, a[2].tensor, a[3].i, (st_reduction)a[4].i))
CALL(binary_cross_entropy_with_logits, "TTttL",
     "input, target, weight, pos_weight, reduction", "",
     st_binary_cross_entropy_with_logits(out, a[0].tensor, a[1].tensor, a[2].tensor,
                                         a[3].tensor, (st_reduction)a[4].i))
CALL(kl_div, "TTLp", "input, target, reduction, log_target", "",
     st_kl_div(out, a[0].tensor, a[1].tensor, (st_reduction)a[2].i, a[3].i != 0))

#define ENTRY(name) {#name, (PyCFunction)py_##name, METH_VARARGS, name##_doc}

PyMethodDef st_py_functional_functions[] = {
    ENTRY(linear), ENTRY(layer_norm), ENTRY(batch_norm), ENTRY(embedding), ENTRY(dropout),
    ENTRY(conv2d), ENTRY(max_pool2d), ENTRY(avg_pool2d), ENTRY(scaled_dot_product_attention),
    ENTRY(mse_loss), ENTRY(l1_loss), ENTRY(smooth_l1_loss), ENTRY(huber_loss),
    ENTRY(cross_entropy), ENTRY(nll_loss), ENTRY(binary_cross_entropy_with_logits),
    ENTRY(kl_div),
    {NULL, NULL, 0, NULL},
};
