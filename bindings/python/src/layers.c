/*
 * layers.c - the layer constructors of include/swifttrain.h (st_linear_create, ...,
 * st_transformer_encoder_layer_create) as module functions returning Module handles, and
 * layer_defaults (st_layer_defaults). Arguments are positional and already defaulted by
 * swifttrain/nn.py, which carries torch.nn's names and takes its defaults from
 * layer_defaults at import; the library checks the values.
 */
#include "_swifttrain.h"

#define UNPACK(...) __VA_ARGS__

/* py_<name>(module, args), documented by its parameters and a note: declares `decl`, parses
 * `args` by `format` into `targets`, fails if `check` (then converts what the format cannot)
 * and returns the Module of st_<name>(&handle, <the remaining arguments>). */
#define LAYER(name, params, note, format, decl, targets, check, ...)                      \
    PyDoc_STRVAR(name##_doc, #name "($module, " params ", /)\n--\n\n" note "(st_" #name ")"); \
    static PyObject *py_##name(PyObject *module, PyObject *args)                          \
    {                                                                                     \
        UNPACK decl;                                                                      \
        if (!PyArg_ParseTuple(args, format ":" #name, UNPACK targets) || (check))        \
            return NULL;                                                                  \
        st_module *handle = NULL;                                                         \
        int status = st_##name(&handle, __VA_ARGS__);                                     \
        return st_py_module_result(PyModule_GetState(module), status, handle);            \
    }

LAYER(linear_create, "in_features, out_features, bias", "A fully connected layer y = x W^T + b ",
      "LLp",
      (long long in_features = 0, out_features = 0; int bias = 0),
      (&in_features, &out_features, &bias), 0, in_features, out_features, bias)

LAYER(max_pool2d_create, "kernel_size, stride, padding, dilation, ceil_mode",
      "stride None: the kernel size ", "OOOOp",
      (PyObject *kernel, *stride, *padding, *dilation; int ceil_mode = 0; st_pool2d_options o),
      (&kernel, &stride, &padding, &dilation, &ceil_mode),
      st_py_pool2d_options(&o, kernel, stride, padding, dilation, ceil_mode, 1, Py_None) < 0,
      &o)

LAYER(avg_pool2d_create,
      "kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override", "",
      "OOOppO",
      (PyObject *kernel, *stride, *padding, *divisor; int ceil = 0, include = 0;
       st_pool2d_options o),
      (&kernel, &stride, &padding, &ceil, &include, &divisor),
      st_py_pool2d_options(&o, kernel, stride, padding, NULL, ceil, include, divisor) < 0, &o)

LAYER(flatten_create, "start_dim, end_dim", "", "LL", (long long start_dim = 0, end_dim = 0),
      (&start_dim, &end_dim), 0, start_dim, end_dim)

LAYER(embedding_create, "num_embeddings, embedding_dim, padding_idx",
      "padding_idx None for none ", "LLO",
      (long long num = 0, dim = 0; PyObject *padding_obj; int64_t padding = ST_NO_INDEX),
      (&num, &dim, &padding_obj),
      st_py_optional_int64_arg(padding_obj, "padding_idx", &padding) < 0, num, dim, padding)

LAYER(layer_norm_create, "normalized_shape, eps, elementwise_affine, bias", "", "Ofpp",
      (PyObject *shape_obj; float eps = 0; int affine = 0, bias = 0;
       int64_t shape[ST_MAX_DIMS]; size_t ndim = 0),
      (&shape_obj, &eps, &affine, &bias),
      st_py_int64_list_arg(shape_obj, "normalized_shape", shape, ST_MAX_DIMS, &ndim) < 0,
      shape, ndim, eps, affine, bias)

#define BATCH_NORM(name)                                                                  \
    LAYER(name, "num_features, eps, momentum, affine, track_running_stats", "", "Lffpp",    \
          (long long num_features = 0; float eps = 0, momentum = 0; int affine = 0, track = 0), \
          (&num_features, &eps, &momentum, &affine, &track), 0, num_features, eps, momentum, \
          affine, track)
BATCH_NORM(batch_norm1d_create)
BATCH_NORM(batch_norm2d_create)

LAYER(dropout_create, "p", "", "f", (float p = 0), (&p), 0, p)

LAYER(activation_create, "kind", "kind: an st_activation code ", "i", (int kind = 0), (&kind),
      0, (st_activation)kind)

LAYER(leaky_relu_create, "negative_slope", "", "f", (float slope = 0), (&slope), 0, slope)

LAYER(softplus_create, "beta, threshold", "", "ff", (float beta = 0, threshold = 0),
      (&beta, &threshold), 0, beta, threshold)

LAYER(softmax_create, "dim, log", "", "Lp", (long long dim = 0; int log = 0), (&dim, &log), 0,
      dim, log)

LAYER(multihead_attention_create, "embed_dim, num_heads, dropout, bias, batch_first", "",
      "LLfpp", (long long embed_dim = 0, heads = 0; float dropout = 0; int bias = 0, first = 0),
      (&embed_dim, &heads, &dropout, &bias, &first), 0, embed_dim, heads, dropout, bias, first)

PyDoc_STRVAR(conv2d_create_doc,
             "conv2d_create($module, in_channels, out_channels, kernel_size, stride, padding, "
             "dilation, groups, bias, /)\n--\n\n(st_conv2d_create)");

static PyObject *py_conv2d_create(PyObject *module, PyObject *args)
{
    PyObject *kernel_obj, *stride, *padding, *dilation;
    long long in_channels = 0, out_channels = 0, groups = 0;
    int bias = 0;
    int64_t kernel[2];
    st_conv2d_options options;
    st_conv2d_options_init(&options);
    if (!PyArg_ParseTuple(args, "LLOOOOLp:conv2d_create", &in_channels, &out_channels,
                          &kernel_obj, &stride, &padding, &dilation, &groups, &bias) ||
        st_py_pair_arg(kernel_obj, "kernel_size", kernel) < 0 ||
        st_py_pair_arg(stride, "stride", options.stride) < 0 ||
        st_py_pair_arg(padding, "padding", options.padding) < 0 ||
        st_py_pair_arg(dilation, "dilation", options.dilation) < 0)
        return NULL;
    options.groups = (int64_t)groups;
    st_module *handle = NULL;
    int status = st_conv2d_create(&handle, in_channels, out_channels, kernel[0], kernel[1],
                                  &options, bias != 0);
    return st_py_module_result(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(transformer_encoder_layer_create_doc,
             "transformer_encoder_layer_create($module, d_model, nhead, dim_feedforward, "
             "dropout, activation, layer_norm_eps, batch_first, norm_first, bias, /)\n--\n\n"
             "activation: an st_activation code (st_transformer_encoder_layer_create)");

static PyObject *py_transformer_encoder_layer_create(PyObject *module, PyObject *args)
{
    long long d_model = 0, nhead = 0, dim_feedforward = 0;
    st_transformer_options options;
    int activation = 0, batch_first = 0, norm_first = 0, bias = 0;
    float dropout = 0, eps = 0;
    if (!PyArg_ParseTuple(args, "LLLfifppp:transformer_encoder_layer_create", &d_model, &nhead,
                          &dim_feedforward, &dropout, &activation, &eps, &batch_first,
                          &norm_first, &bias))
        return NULL;
    st_transformer_options_init(&options, d_model, nhead);
    options.dim_feedforward = dim_feedforward;
    options.dropout = dropout;
    options.activation = (st_activation)activation;
    options.layer_norm_eps = eps;
    options.batch_first = batch_first != 0;
    options.norm_first = norm_first != 0;
    options.bias = bias != 0;
    st_module *handle = NULL;
    int status = st_transformer_encoder_layer_create(&handle, &options);
    return st_py_module_result(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(layer_defaults_doc,
             "layer_defaults($module, layer, /)\n--\n\n"
             "PyTorch's defaults of the layer, functional op or lr scheduler `layer` "
             "(\"layer_norm\", \"reduce_lr_on_plateau\", ...) "
             "as {argument: float}, in the library's order; booleans 0.0 / 1.0, enums their "
             "value (st_layer_defaults).");

static PyObject *py_layer_defaults(PyObject *module, PyObject *arg)
{
    return st_py_names_and_values(module, arg, "layer_defaults: layer", 1);
}

#define ENTRY(name) {#name, (PyCFunction)py_##name, METH_VARARGS, name##_doc}

PyMethodDef st_py_layer_functions[] = {
    ENTRY(linear_create), ENTRY(conv2d_create), ENTRY(max_pool2d_create),
    ENTRY(avg_pool2d_create), ENTRY(flatten_create), ENTRY(embedding_create),
    ENTRY(layer_norm_create), ENTRY(batch_norm1d_create), ENTRY(batch_norm2d_create),
    ENTRY(dropout_create), ENTRY(activation_create), ENTRY(leaky_relu_create),
    ENTRY(softplus_create), ENTRY(softmax_create), ENTRY(multihead_attention_create),
    ENTRY(transformer_encoder_layer_create),
    {"layer_defaults", (PyCFunction)py_layer_defaults, METH_O, layer_defaults_doc},
    {NULL, NULL, 0, NULL},
};
