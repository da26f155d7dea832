/*
 * layers.c - the layer constructors of include/swifttrain.h (st_conv2d_create, ...,
 * st_transformer_encoder_layer_create) as module functions returning Module handles, and
 * layer_defaults (st_layer_defaults). Arguments are positional and already defaulted by
 * swifttrain/nn.py, which carries torch.nn's names and takes its defaults from
 * layer_defaults at import; the library checks the values.
 */
#include "_swifttrain.h"

#define made st_py_module_result

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
    return made(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(max_pool2d_create_doc,
             "max_pool2d_create($module, kernel_size, stride, padding, dilation, ceil_mode, /)"
             "\n--\n\nstride None: the kernel size (st_max_pool2d_create)");

static PyObject *py_max_pool2d_create(PyObject *module, PyObject *args)
{
    PyObject *kernel, *stride, *padding, *dilation;
    int ceil_mode = 0;
    st_pool2d_options options;
    if (!PyArg_ParseTuple(args, "OOOOp:max_pool2d_create", &kernel, &stride, &padding,
                          &dilation, &ceil_mode) ||
        st_py_pool2d_options(&options, kernel, stride, padding, dilation, ceil_mode, 1,
                             Py_None) < 0)
        return NULL;
    st_module *handle = NULL;
    int status = st_max_pool2d_create(&handle, &options);
    return made(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(avg_pool2d_create_doc,
             "avg_pool2d_create($module, kernel_size, stride, padding, ceil_mode, "
             "count_include_pad, divisor_override, /)\n--\n\n(st_avg_pool2d_create)");

static PyObject *py_avg_pool2d_create(PyObject *module, PyObject *args)
{
    PyObject *kernel, *stride, *padding, *divisor;
    int ceil_mode = 0, count_include_pad = 0;
    st_pool2d_options options;
    if (!PyArg_ParseTuple(args, "OOOppO:avg_pool2d_create", &kernel, &stride, &padding,
                          &ceil_mode, &count_include_pad, &divisor) ||
        st_py_pool2d_options(&options, kernel, stride, padding, NULL, ceil_mode,
                             count_include_pad, divisor) < 0)
        return NULL;
    st_module *handle = NULL;
    int status = st_avg_pool2d_create(&handle, &options);
    return made(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(flatten_create_doc,
             "flatten_create($module, start_dim, end_dim, /)\n--\n\n(st_flatten_create)");

static PyObject *py_flatten_create(PyObject *module, PyObject *args)
{
    long long start_dim = 0, end_dim = 0;
    if (!PyArg_ParseTuple(args, "LL:flatten_create", &start_dim, &end_dim))
        return NULL;
    st_module *handle = NULL;
    int status = st_flatten_create(&handle, start_dim, end_dim);
    return made(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(embedding_create_doc,
             "embedding_create($module, num_embeddings, embedding_dim, padding_idx, /)\n--\n\n"
             "padding_idx None for none (st_embedding_create)");

static PyObject *py_embedding_create(PyObject *module, PyObject *args)
{
    long long num = 0, dim = 0;
    PyObject *padding_obj;
    int64_t padding = ST_NO_INDEX;
    if (!PyArg_ParseTuple(args, "LLO:embedding_create", &num, &dim, &padding_obj) ||
        st_py_optional_int64_arg(padding_obj, "padding_idx", &padding) < 0)
        return NULL;
    st_module *handle = NULL;
    int status = st_embedding_create(&handle, num, dim, padding);
    return made(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(layer_norm_create_doc,
             "layer_norm_create($module, normalized_shape, eps, elementwise_affine, bias, /)"
             "\n--\n\n(st_layer_norm_create)");

static PyObject *py_layer_norm_create(PyObject *module, PyObject *args)
{
    PyObject *shape_obj;
    float eps = 0;
    int affine = 0, bias = 0;
    int64_t shape[ST_MAX_DIMS];
    size_t ndim = 0;
    if (!PyArg_ParseTuple(args, "Ofpp:layer_norm_create", &shape_obj, &eps, &affine, &bias) ||
        st_py_int64_list_arg(shape_obj, "normalized_shape", shape, ST_MAX_DIMS, &ndim) < 0)
        return NULL;
    st_module *handle = NULL;
    int status = st_layer_norm_create(&handle, shape, ndim, eps, affine != 0, bias != 0);
    return made(PyModule_GetState(module), status, handle);
}

typedef int (*batch_norm_create_fn)(st_module **, int64_t, float, float, bool, bool);

static PyObject *batch_norm_create(PyObject *module, PyObject *args, batch_norm_create_fn fn,
                                   const char *format)
{
    long long num_features = 0;
    float eps = 0, momentum = 0;
    int affine = 0, track = 0;
    if (!PyArg_ParseTuple(args, format, &num_features, &eps, &momentum, &affine, &track))
        return NULL;
    st_module *handle = NULL;
    int status = fn(&handle, num_features, eps, momentum, affine != 0, track != 0);
    return made(PyModule_GetState(module), status, handle);
}

ST_PY_OP(batch_norm_create, batch_norm1d_create, "Lffpp", "num_features, eps, momentum, affine, track_running_stats", "")
ST_PY_OP(batch_norm_create, batch_norm2d_create, "Lffpp", "num_features, eps, momentum, affine, track_running_stats", "")

PyDoc_STRVAR(dropout_create_doc, "dropout_create($module, p, /)\n--\n\n(st_dropout_create)");

static PyObject *py_dropout_create(PyObject *module, PyObject *args)
{
    float p = 0;
    if (!PyArg_ParseTuple(args, "f:dropout_create", &p))
        return NULL;
    st_module *handle = NULL;
    int status = st_dropout_create(&handle, p);
    return made(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(activation_create_doc,
             "activation_create($module, kind, /)\n--\n\n"
             "kind: an st_activation code (st_activation_create)");

static PyObject *py_activation_create(PyObject *module, PyObject *args)
{
    int kind = 0;
    if (!PyArg_ParseTuple(args, "i:activation_create", &kind))
        return NULL;
    st_module *handle = NULL;
    int status = st_activation_create(&handle, (st_activation)kind);
    return made(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(leaky_relu_create_doc,
             "leaky_relu_create($module, negative_slope, /)\n--\n\n(st_leaky_relu_create)");

static PyObject *py_leaky_relu_create(PyObject *module, PyObject *args)
{
    float slope = 0;
    if (!PyArg_ParseTuple(args, "f:leaky_relu_create", &slope))
        return NULL;
    st_module *handle = NULL;
    int status = st_leaky_relu_create(&handle, slope);
    return made(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(softplus_create_doc,
             "softplus_create($module, beta, threshold, /)\n--\n\n(st_softplus_create)");

static PyObject *py_softplus_create(PyObject *module, PyObject *args)
{
    float beta = 0, threshold = 0;
    if (!PyArg_ParseTuple(args, "ff:softplus_create", &beta, &threshold))
        return NULL;
    st_module *handle = NULL;
    int status = st_softplus_create(&handle, beta, threshold);
    return made(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(softmax_create_doc,
             "softmax_create($module, dim, log, /)\n--\n\n(st_softmax_create)");

static PyObject *py_softmax_create(PyObject *module, PyObject *args)
{
    long long dim = 0;
    int log = 0;
    if (!PyArg_ParseTuple(args, "Lp:softmax_create", &dim, &log))
        return NULL;
    st_module *handle = NULL;
    int status = st_softmax_create(&handle, dim, log != 0);
    return made(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(multihead_attention_create_doc,
             "multihead_attention_create($module, embed_dim, num_heads, dropout, bias, "
             "batch_first, /)\n--\n\n(st_multihead_attention_create)");

static PyObject *py_multihead_attention_create(PyObject *module, PyObject *args)
{
    long long embed_dim = 0, num_heads = 0;
    float dropout = 0;
    int bias = 0, batch_first = 0;
    if (!PyArg_ParseTuple(args, "LLfpp:multihead_attention_create", &embed_dim, &num_heads,
                          &dropout, &bias, &batch_first))
        return NULL;
    st_module *handle = NULL;
    int status = st_multihead_attention_create(&handle, embed_dim, num_heads, dropout, bias != 0,
                                               batch_first != 0);
    return made(PyModule_GetState(module), status, handle);
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
    return made(PyModule_GetState(module), status, handle);
}

PyDoc_STRVAR(layer_defaults_doc,
             "layer_defaults($module, layer, /)\n--\n\n"
             "PyTorch's defaults of the layer, functional op or lr scheduler `layer` "
             "(\"layer_norm\", \"reduce_lr_on_plateau\", ...) "
             "as {argument: float}, in the library's order; booleans 0.0 / 1.0, enums their "
             "value (st_layer_defaults).");

static PyObject *py_layer_defaults(PyObject *module, PyObject *arg)
{
    st_py_state *state = PyModule_GetState(module);
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "layer_defaults: layer must be a str, got %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    const char *layer = PyUnicode_AsUTF8(arg);
    if (layer == NULL)
        return NULL;
    size_t count = 0;
    int status = st_layer_defaults(NULL, NULL, 0, &count, layer);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    const char **names = PyMem_Calloc(count ? count : 1, sizeof *names);
    double *values = PyMem_Calloc(count ? count : 1, sizeof *values);
    PyObject *result = NULL;
    if (names == NULL || values == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (count > 0 && (status = st_layer_defaults(names, values, count, &count, layer)) != ST_OK) {
        st_py_raise_status(state, status);
        goto done;
    }
    result = PyDict_New();
    if (result == NULL)
        goto done;
    for (size_t i = 0; i < count; i++) {
        PyObject *value = PyFloat_FromDouble(values[i]);
        if (value == NULL || PyDict_SetItemString(result, names[i], value) < 0) {
            Py_XDECREF(value);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(value);
    }
done:
    PyMem_Free(names);
    PyMem_Free(values);
    return result;
}

#define ENTRY(name) {#name, (PyCFunction)py_##name, METH_VARARGS, name##_doc}

PyMethodDef st_py_layer_functions[] = {
    ENTRY(conv2d_create), ENTRY(max_pool2d_create), ENTRY(avg_pool2d_create),
    ENTRY(flatten_create), ENTRY(embedding_create), ENTRY(layer_norm_create),
    ENTRY(batch_norm1d_create), ENTRY(batch_norm2d_create), ENTRY(dropout_create),
    ENTRY(activation_create), ENTRY(leaky_relu_create), ENTRY(softplus_create),
    ENTRY(softmax_create), ENTRY(multihead_attention_create),
    ENTRY(transformer_encoder_layer_create),
    {"layer_defaults", (PyCFunction)py_layer_defaults, METH_O, layer_defaults_doc},
    {NULL, NULL, 0, NULL},
};
