/* Errors of the "Modules" section: NULL arguments, sizes and hyper-parameters out of range
 * (up to INT64_MIN / INT64_MAX and sizes that would need terabytes), layers that do not fit
 * together, state dicts with missing, unexpected or mis-shaped keys, attention arguments, and
 * sequentials nested deeply enough to overflow a recursive forward or free; and the table of
 * layer defaults (st_layer_defaults) with its unknown names.
 *
 * Each case is its own ctest test, c.errors_modules.<case>, in its own process: a case that
 * traps, aborts or faults fails alone, and an alarm turns a hang into a failure. The helpers
 * (CHECK_FAILS, SURVIVES, the small problem, ...) are shared, in check.h. */
#include "check.h"
#include "swifttrain.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void test_null_module_arguments(void) {
    st_module *relu = NULL, *model = NULL;
    st_module *with_null[2];
    int64_t count = 0;
    if (!CHECK_OK(st_relu_create(&relu))) return;
    with_null[0] = relu;
    with_null[1] = NULL;
    CHECK_ERROR(st_linear_create(NULL, 4, 3, true), ST_EINVAL, "out");
    CHECK_ERROR(st_relu_create(NULL), ST_EINVAL, "out");
    CHECK_ERROR(st_sequential_create(NULL, &relu, 1), ST_EINVAL, "out");
    CHECK_ERROR(st_sequential_create(&model, NULL, 1), ST_EINVAL, "modules");
    CHECK_ERROR(st_sequential_create(&model, with_null, 2), ST_EINVAL, "modules");
    CHECK_ERROR(st_module_num_parameters(NULL, relu), ST_EINVAL, "out");
    CHECK_ERROR(st_module_num_parameters(&count, NULL), ST_EINVAL, "module");
    st_module_free(model);
    st_module_free(relu);
}

static void test_bad_module_sizes(void) {
    st_module *model = NULL, *relu = NULL;
    st_module *twice[2];
    CHECK_ERROR(st_linear_create(&model, 0, 3, true), ST_EINVAL, "in_features");
    CHECK_ERROR(st_linear_create(&model, -4, 3, true), ST_EINVAL, "in_features");
    CHECK_ERROR(st_linear_create(&model, 4, 0, true), ST_EINVAL, "out_features");
    CHECK_ERROR(st_linear_create(&model, 4, -3, true), ST_EINVAL, "out_features");
    /* in * out overflows int64: must be refused, not trap. */
    CHECK_FAILS(st_linear_create(&model, INT64_MAX / 2, 4, true), NULL);
    if (CHECK_OK(st_relu_create(&relu))) {
        twice[0] = twice[1] = relu;
        CHECK_ERROR(st_sequential_create(&model, twice, 2), ST_EINVAL, NULL);
    }
    st_module_free(relu);
    st_module_free(model);
}

/* Linear(4, 5) then Linear(3, 2): refused when the sequential is built or when training
 * starts, never a crash in the middle of a matrix product. */
static void test_mismatched_layers(void) {
    st_module *layers[2] = {NULL, NULL}, *model = NULL;
    st_dataset *data = NULL;
    st_training_args args;
    st_trainer *trainer = NULL;
    int status;
    if (!(CHECK_OK(st_linear_create(&layers[0], SMALL_FEATURES, 5, true)) &&
          CHECK_OK(st_linear_create(&layers[1], 3, 2, true))))
        goto done;
    status = st_sequential_create(&model, layers, 2);
    if (status != ST_OK) {
        CHECK_ERROR(status, ST_ESHAPE, "feature");
        goto done;
    }
    if (CHECK_OK(st_dataset_create(&data, small_features, SMALL_ROWS, SMALL_FEATURES, small_labels,
                                   ST_DATA_COPY)) &&
        CHECK_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION)) &&
        CHECK_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args)) &&
        CHECK_OK(st_trainer_set_train_dataset(trainer, data)))
        CHECK_ERROR(st_trainer_train(NULL, trainer), ST_ESHAPE, "feature");
done:
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
    st_module_free(layers[0]);
    st_module_free(layers[1]);
}

/* Linear(4, 3) - ReLU - Linear(3, 2), parameters "0.weight" [3, 4], "0.bias" [3],
 * "2.weight" [2, 3], "2.bias" [2]. */
static st_module *make_mlp(uint64_t seed) {
    st_module *layers[3] = {NULL, NULL, NULL}, *model = NULL;
    int i;
    st_manual_seed(seed);
    if (CHECK_OK(st_linear_create(&layers[0], 4, 3,
                                  true)) && CHECK_OK(st_relu_create(&layers[1])) &&
        CHECK_OK(st_linear_create(&layers[2], 3, 2, true)))
        CHECK_OK(st_sequential_create(&model, layers, 3));
    for (i = 0; i < 3; i++) st_module_free(layers[i]);
    return model;
}

/* A list with the state of `model` except the entries named in `skip` (NULL-terminated). */
static st_named_tensors *state_without(const st_module *model, const char *const *skip) {
    st_named_tensors *full = NULL, *list = NULL;
    size_t i, n;
    if (!CHECK_OK(st_module_state_dict(&full,
                                       model)) || !CHECK_OK(st_named_tensors_create(&list))) {
        st_named_tensors_free(full);
        return NULL;
    }
    n = st_named_tensors_count(full);
    for (i = 0; i < n; i++) {
        const char *name = NULL;
        st_tensor *t = NULL;
        const char *const *s;
        int skipped = 0;
        if (!CHECK_OK(st_named_tensors_entry(&name, &t, full, i))) continue;
        for (s = skip; s && *s; s++) skipped |= strcmp(*s, name) == 0;
        if (!skipped) CHECK_OK(st_named_tensors_add(list, name, t));
        st_tensor_free(t);
    }
    st_named_tensors_free(full);
    return list;
}

/* The first weight of `model`, copied out, to see whether a failed load changed it. */
static int first_weight(float out[12], const st_module *model) {
    st_named_tensors *parameters = NULL;
    const char *name = NULL;
    st_tensor *t = NULL;
    int ok = CHECK_OK(st_module_named_parameters(&parameters, model)) &&
             CHECK_OK(st_named_tensors_entry(&name, &t, parameters, 0)) &&
             CHECK(strcmp(name, "0.weight") == 0, "first parameter is %s", name) &&
             CHECK_OK(st_tensor_copy_to(out, 12 * sizeof(float), t));
    st_tensor_free(t);
    st_named_tensors_free(parameters);
    return ok;
}

static void test_load_state_dict_keys(void) {
    static const char *const no_bias[] = {"2.bias", NULL};
    static const char *const no_first_bias[] = {"0.bias", NULL};
    st_module *model = make_mlp(1), *source = make_mlp(2);
    st_named_tensors *missing = NULL, *unexpected = NULL, *both = NULL, *misshaped = NULL;
    st_tensor *extra = zeros1(2), *wrong = zeros2(4, 3), *ints = NULL;
    st_named_tensors *wrong_dtype = NULL;
    float before[12], after[12];
    REQUIRE(model && source && extra && wrong, "inputs");
    REQUIRE(first_weight(before, model), "weights");

    /* Missing "2.bias": an error with strict, named in the message; fine without. */
    missing = state_without(source, no_bias);
    REQUIRE(missing != NULL, "state");
    if (CHECK_FAILS(st_module_load_state_dict(model, missing, true), "2.bias"))
        MESSAGE_HAS("missing");
    if (first_weight(after, model))
        CHECK(memcmp(before, after, sizeof before) == 0, "a refused strict load changed "
              "0.weight");

    /* An unexpected key. */
    unexpected = state_without(source, NULL);
    REQUIRE(unexpected && CHECK_OK(st_named_tensors_add(unexpected, "3.weight", extra)), "state");
    if (CHECK_FAILS(st_module_load_state_dict(model, unexpected, true), "3.weight"))
        MESSAGE_HAS("unexpected");

    /* Both at once: every offending key is named. */
    both = state_without(source, no_first_bias);
    REQUIRE(both && CHECK_OK(st_named_tensors_add(both, "0.bais", extra)), "state");
    if (CHECK_FAILS(st_module_load_state_dict(model, both, true), "0.bias"))
        MESSAGE_HAS("0.bais");

    /* A mis-shaped key is an error even without strict; nothing is changed. */
    misshaped = state_without(source, no_bias);
    REQUIRE(misshaped, "state");
    {
        /* "2.bias" of shape [4, 3] instead of [2]; every other key is fine and would change
         * 0.weight if the load went ahead. */
        REQUIRE(CHECK_OK(st_named_tensors_add(misshaped, "2.bias", wrong)), "add");
        if (CHECK_ERROR(st_module_load_state_dict(model, misshaped, false), ST_ESHAPE, "2.bias")) {
            MESSAGE_HAS("[4, 3]");
            MESSAGE_HAS("[2]");
        }
        CHECK_ERROR(st_module_load_state_dict(model, misshaped, true), ST_ESHAPE, "2.bias");
        if (first_weight(after, model))
            CHECK(memcmp(before, after, sizeof before) == 0, "a refused load (mis-shaped "
                  "2.bias) changed 0.weight");
    }
    /* A key of the wrong dtype. */
    wrong_dtype = state_without(source, no_bias);
    REQUIRE(wrong_dtype && CHECK_OK(st_tensor_zeros(&ints, (const int64_t[]){2}, 1, ST_INT64)),
            "state");
    track(ints);
    REQUIRE(CHECK_OK(st_named_tensors_add(wrong_dtype, "2.bias", ints)), "add");
    if (CHECK_FAILS(st_module_load_state_dict(model, wrong_dtype, false), "2.bias"))
        MESSAGE_HAS("int64");

    /* Without strict, missing and unexpected keys are ignored and the rest is loaded. */
    CHECK_OK(st_module_load_state_dict(model, missing, false));
    CHECK_OK(st_module_load_state_dict(model, unexpected, false));
    if (first_weight(after, model))
        CHECK(memcmp(before, after, sizeof before) != 0, "a non-strict load did not load "
              "0.weight");
done:
    st_named_tensors_free(wrong_dtype);
    st_named_tensors_free(misshaped);
    st_named_tensors_free(both);
    st_named_tensors_free(unexpected);
    st_named_tensors_free(missing);
    st_module_free(source);
    st_module_free(model);
    free_tracked();
}

static void test_bad_layer_hyperparameters(void) {
    st_module *made = NULL;
    st_transformer_options options;
    st_tensor *x = zeros1(4), *out = NULL;
    REQUIRE(x != NULL, "input");
    CHECK_ERROR(st_dropout_create(&made, 1.5f), ST_EINVAL, "1.5");
    CHECK_ERROR(st_dropout_create(&made, -0.1f), ST_EINVAL, "-0.1");
    CHECK_ERROR(st_dropout(&out, x, 1.5f, true), ST_EINVAL, "1.5");
    CHECK_ERROR(st_multihead_attention_create(&made, 8, 3, 0, true, true), ST_EINVAL, "num_heads");
    /* d_model 8 is not divisible by 3 heads: the message names both numbers. */
    st_transformer_options_init(&options, 8, 3);
    if (CHECK_ERROR(st_transformer_encoder_layer_create(&made, &options), ST_EINVAL, "heads"))
        MESSAGE_HAS("3");
    st_transformer_options_init(&options, 8, 2);
    options.dropout = 2;
    CHECK_ERROR(st_transformer_encoder_layer_create(&made, &options), ST_EINVAL, "dropout");
    CHECK_ERROR(st_embedding_create(&made, 5, 3, 7), ST_EINVAL, "padding");
    CHECK_ERROR(st_batch_norm2d_create(&made, 0, 1e-5f, 0.1f, true, true), ST_EINVAL,
                "num_features");
    CHECK(made == NULL, "a failed create left a module handle");
done:
    st_module_free(made);
    free_tracked();
}

static void test_attention_arguments(void) {
    const int64_t x_shape[3] = {1, 4, 8}, narrow_shape[3] = {1, 4, 6}, mask3[2] = {3, 3};
    const int64_t mask4[2] = {4, 4};
    st_transformer_options options;
    st_module *layer = NULL, *linear = NULL, *mha = NULL;
    st_tensor *x = zeros(ST_FLOAT32, 3, x_shape), *narrow = zeros(ST_FLOAT32, 3, narrow_shape);
    st_tensor *small_mask = zeros(ST_BOOL, 2, mask3), *int_mask = zeros(ST_INT64, 2, mask4);
    st_tensor *out = NULL, *weights = NULL;
    REQUIRE(x && narrow && small_mask && int_mask, "inputs");
    st_transformer_options_init(&options, 8, 2);
    options.dim_feedforward = 16;
    options.batch_first = true;
    REQUIRE(CHECK_OK(st_transformer_encoder_layer_create(&layer, &options)) &&
                CHECK_OK(st_linear_create(&linear, 8, 8, true)),
            "modules");
    /* A TransformerEncoderLayer does self-attention only. */
    out = x;
    CHECK_ERROR(st_attention_forward(&out, NULL, layer, x, x, x, NULL, false), ST_EINVAL, "key");
    RESET_TO_NULL(out, "st_attention_forward with a key");
    /* Not an attention module. */
    CHECK_ERROR(st_attention_forward(&out, NULL, linear, x, NULL, NULL, NULL, false), ST_EINVAL,
                "module");
    /* A 3x3 mask for 4 positions; an int64 mask; 6 features for d_model 8. */
    if (CHECK_ERROR(st_attention_forward(&out, NULL, layer, x, NULL, NULL, small_mask, false),
                    ST_ESHAPE, "[3, 3]"))
        MESSAGE_HAS("mask");
    if (CHECK_ERROR(st_attention_forward(&out, NULL, layer, x, NULL, NULL, int_mask, false),
                    ST_EINVAL, "mask"))
        MESSAGE_HAS("int64");
    CHECK_ERROR(st_attention_forward(&out, NULL, layer, narrow, NULL, NULL, NULL, false),
                ST_ESHAPE, "[1, 4, 6]");
    /* out_weights is for MultiheadAttention only. */
    CHECK_ERROR(st_attention_forward(&out, &weights, layer, x, NULL, NULL, NULL, false),
                ST_EINVAL, "weights");
    /* A failed MultiheadAttention call clears both outputs. */
    REQUIRE(CHECK_OK(st_multihead_attention_create(&mha, 8, 2, 0, true, true)), "mha");
    out = x;
    weights = x;
    CHECK_ERROR(st_attention_forward(&out, &weights, mha, narrow, NULL, NULL, NULL, false),
                ST_ESHAPE, "[1, 4, 6]");
    CHECK(out == NULL && weights == NULL, "a failed attention call left its outputs set");
done:
    st_module_free(mha);
    st_module_free(linear);
    st_module_free(layer);
    free_tracked();
}

/* Sequentials nested NESTING deep (a model built by a loop that wraps the previous one):
 * freeing, forward and the other walks over the nesting must not recurse once per level
 * (stack overflow), or the library must refuse such nesting when it is built. */
#define NESTING 100000

static st_module *nested_sequential(void) {
    st_module *inner = NULL, *outer = NULL;
    int i;
    if (!CHECK_OK(st_linear_create(&inner, 2, 2, true))) return NULL;
    for (i = 0; i < NESTING; i++) {
        if (SURVIVES(st_sequential_create(&outer, &inner, 1)) != ST_OK) break;
        st_module_free(inner);
        inner = outer;
        outer = NULL;
    }
    return inner;
}

/* LayerNorm's normalized_shape passes the same 2^40 check; Init.constant allocates 4 TiB. */
static void test_layer_norm_create_2_pow_40(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_layer_norm_create(&m, (const int64_t[]){POW2(40)}, 1, 1e-5f, true, true), NULL);
    st_module_free(m);
}

/* Each size is within positive()'s 2^31, their product is not: [2^31, 2^31] floats is 2^64
 * bytes (Storage.init's byteCount wraps) and Init.normal writes 2^62 floats. */
static void test_embedding_create_huge_table(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_embedding_create(&m, POW2(31), POW2(31), ST_NO_INDEX), NULL);
    st_module_free(m);
}

/* Conv2d: fan_in = in_channels / groups * kh * kw overflows (2^93), and so does the weight's
 * element count (Layers/Convolution.swift). */
static void test_conv2d_create_huge_fan_in(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_conv2d_create(&m, POW2(31), 1, POW2(31), POW2(31), NULL, true), NULL);
    st_module_free(m);
}

/* A 2^31 x 2^31 kernel: 2^62 weights, 2^64 bytes. */
static void test_conv2d_create_huge_kernel(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_conv2d_create(&m, 1, 1, POW2(31), POW2(31), NULL, false), NULL);
    st_module_free(m);
}

/* in_proj_weight is [3 E, E]: 3 * 2^62 elements for E = 2^31 (negative as an Int). */
static void test_multihead_attention_create_huge(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_multihead_attention_create(&m, POW2(31), 1, 0.0f, true, false), NULL);
    st_module_free(m);
}

static void test_transformer_create_huge_d_model(void) {
    st_transformer_options o;
    st_module *m = NULL;
    st_transformer_options_init(&o, POW2(31), 1);
    o.dim_feedforward = 1;
    CHECK_FAILS(st_transformer_encoder_layer_create(&m, &o), NULL);
    st_module_free(m);
}

/* The same through MultiheadAttention (Transformer.swift builds its own causal mask). */
static void test_multihead_attention_causal_empty_batch(void) {
    st_module *mha = NULL;
    st_tensor *q = zeros(ST_FLOAT32, 3, (const int64_t[]){POW2(20), 0, 4}), *out = NULL;
    REQUIRE(q != NULL, "input");
    REQUIRE_OK(st_multihead_attention_create(&mha, 4, 1, 0.0f, true, false));
    if (SURVIVES(st_attention_forward(&out, NULL, mha, q, NULL, NULL, NULL, true)) == ST_OK)
        consistent(track(out), "attention_forward");
done:
    st_module_free(mha);
    free_tracked();
}

/* abs(INT64_MIN) overflows in the C layer's range checks (Layers.swift). */
static void test_flatten_create_int64_min(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_flatten_create(&m, INT64_MIN, -1), NULL);
    st_module_free(m);
    m = NULL;
    CHECK_FAILS(st_flatten_create(&m, 1, INT64_MIN), NULL);
    st_module_free(m);
}

static void test_softmax_create_int64_min(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_softmax_create(&m, INT64_MIN, false), NULL);
    st_module_free(m);
}

/* Constructors and functions with size, kind and option arguments at their extremes: each
 * is refused with a status (Layers.swift positive(), convOptions, PoolArguments). */
static void test_layer_constructor_extremes(void) {
    static const int64_t sizes[4] = {INT64_MIN, -1, 0, INT64_MAX};
    st_module *m = NULL;
    st_transformer_options t;
    size_t i;
    for (i = 0; i < COUNT(sizes); i++) {
        int64_t v = sizes[i];
        CHECK_FAILS(st_linear_create(&m, v, 3, true), NULL);
        CHECK_FAILS(st_linear_create(&m, 3, v, true), NULL);
        CHECK_FAILS(st_conv2d_create(&m, v, 1, 1, 1, NULL, true), NULL);
        CHECK_FAILS(st_conv2d_create(&m, 1, 1, 1, v, NULL, true), NULL);
        CHECK_FAILS(st_embedding_create(&m, v, 2, ST_NO_INDEX), NULL);
        CHECK_FAILS(st_embedding_create(&m, 2, v, ST_NO_INDEX), NULL);
        CHECK_FAILS(st_batch_norm1d_create(&m, v, 1e-5f, 0.1f, true, true), NULL);
        CHECK_FAILS(st_batch_norm2d_create(&m, v, 1e-5f, 0.1f, true, true), NULL);
        CHECK_FAILS(st_multihead_attention_create(&m, v, 1, 0.0f, true, false), NULL);
        CHECK_FAILS(st_multihead_attention_create(&m, 4, v, 0.0f, true, false), NULL);
        st_transformer_options_init(&t, 4, 2);
        t.nhead = v;
        CHECK_FAILS(st_transformer_encoder_layer_create(&m, &t), NULL);
        st_transformer_options_init(&t, 4, 2);
        t.dim_feedforward = v;
        CHECK_FAILS(st_transformer_encoder_layer_create(&m, &t), NULL);
        CHECK_FAILS(st_layer_norm_create(&m, &v, 1, 1e-5f, true, true), NULL);
    }
    CHECK_FAILS(st_activation_create(&m, (st_activation)-1), NULL);
    CHECK_FAILS(st_activation_create(&m, (st_activation)0x7fffffff), NULL);
    st_transformer_options_init(&t, 4, 2);
    t.activation = (st_activation)INT32_MIN;
    CHECK_FAILS(st_transformer_encoder_layer_create(&m, &t), NULL);
    CHECK(m == NULL, "failed calls left handles");
}

static void test_deep_sequential_free(void) {
    st_module_free(nested_sequential()); /* drops the whole nesting */
}

static void test_deep_sequential_forward(void) {
    st_module *model = nested_sequential();
    st_tensor *x = zeros(ST_FLOAT32, 2, (const int64_t[]){1, 2}), *out = NULL;
    if (model && x && SURVIVES(st_module_forward(&out, model, x)) == ST_OK) track(out);
    free_tracked();
    /* the model is not freed: freeing is the case above */
}

/* The value of `name` among st_layer_defaults' pairs of `layer`; NAN when it is not listed. */
static double layer_default(const char *layer, const char *name) {
    const char *names[32];
    double values[32];
    size_t count = 0;
    if (!CHECK_OK(st_layer_defaults(names, values, 32, &count, layer))) return NAN;
    for (size_t i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0) return values[i];
    CHECK(0, "%s has no default %s", layer, name);
    return NAN;
}

/* st_layer_defaults: PyTorch's values, the count and capacity protocol, the options structs'
 * _init agreeing with the table, and an unknown layer refused with the list of layers. */
static void test_layer_defaults(void) {
    const char *names[8] = {NULL};
    double values[8] = {0};
    size_t count = 0;
    CHECK(layer_default("layer_norm", "eps") == 1e-5, "layer_norm eps");
    CHECK(layer_default("layer_norm", "elementwise_affine") == 1.0, "layer_norm elementwise_affine");
    CHECK(layer_default("batch_norm", "momentum") == 0.1, "batch_norm momentum");
    CHECK(layer_default("batch_norm", "track_running_stats") == 1.0, "batch_norm track_running_stats");
    CHECK(layer_default("dropout", "p") == 0.5, "dropout p");
    CHECK(layer_default("leaky_relu", "negative_slope") == 0.01, "leaky_relu negative_slope");
    CHECK(layer_default("softplus", "beta") == 1.0 && layer_default("softplus", "threshold") == 20.0,
          "softplus beta / threshold");
    CHECK(layer_default("multihead_attention", "dropout") == 0.0, "multihead_attention dropout");
    CHECK(layer_default("multihead_attention", "bias") == 1.0, "multihead_attention bias");
    CHECK(layer_default("linear", "bias") == 1.0, "linear bias");
    CHECK(layer_default("flatten", "start_dim") == 1.0 && layer_default("flatten", "end_dim") == -1.0,
          "flatten dims");
    CHECK(layer_default("cross_entropy", "ignore_index") == -100.0, "cross_entropy ignore_index");
    CHECK(layer_default("cross_entropy", "reduction") == (double)ST_REDUCTION_MEAN, "reduction");

    /* The options structs' _init read the same table. */
    st_conv2d_options conv;
    st_conv2d_options_init(&conv);
    CHECK(conv.stride[0] == (int64_t)layer_default("conv2d", "stride") &&
              conv.padding[1] == (int64_t)layer_default("conv2d", "padding") &&
              conv.dilation[0] == (int64_t)layer_default("conv2d", "dilation") &&
              conv.groups == (int64_t)layer_default("conv2d", "groups"),
          "st_conv2d_options_init and the table");
    st_pool2d_options pool;
    st_pool2d_options_init(&pool, 2, 2);
    CHECK(pool.padding[0] == (int64_t)layer_default("max_pool2d", "padding") &&
              pool.dilation[0] == (int64_t)layer_default("max_pool2d", "dilation") &&
              pool.ceil_mode == (layer_default("max_pool2d", "ceil_mode") != 0) &&
              pool.count_include_pad == (layer_default("avg_pool2d", "count_include_pad") != 0),
          "st_pool2d_options_init and the table");
    st_transformer_options transformer;
    st_transformer_options_init(&transformer, 8, 2);
    CHECK(transformer.dim_feedforward == 2048 &&
              transformer.dim_feedforward ==
                  (int64_t)layer_default("transformer_encoder_layer", "dim_feedforward") &&
              transformer.dropout == (float)layer_default("transformer_encoder_layer", "dropout") &&
              transformer.layer_norm_eps ==
                  (float)layer_default("transformer_encoder_layer", "layer_norm_eps") &&
              (double)transformer.activation ==
                  layer_default("transformer_encoder_layer", "activation") &&
              transformer.activation == ST_ACTIVATION_RELU && !transformer.batch_first &&
              !transformer.norm_first && transformer.bias,
          "st_transformer_options_init and the table");

    /* The lr schedulers torch has (StepLR, ReduceLROnPlateau): mode_max 0 is mode="min",
     * threshold_mode_abs 0 is threshold_mode="rel". */
    CHECK(layer_default("step_lr", "gamma") == 0.1, "step_lr gamma");
    CHECK(layer_default("reduce_lr_on_plateau", "mode_max") == 0.0 &&
              layer_default("reduce_lr_on_plateau", "factor") == 0.1 &&
              layer_default("reduce_lr_on_plateau", "patience") == 10.0 &&
              layer_default("reduce_lr_on_plateau", "threshold") == 1e-4 &&
              layer_default("reduce_lr_on_plateau", "threshold_mode_abs") == 0.0 &&
              layer_default("reduce_lr_on_plateau", "cooldown") == 0.0 &&
              layer_default("reduce_lr_on_plateau", "min_lr") == 0.0 &&
              layer_default("reduce_lr_on_plateau", "eps") == 1e-8,
          "reduce_lr_on_plateau's defaults");
    if (CHECK_OK(st_layer_defaults(NULL, NULL, 0, &count, "reduce_lr_on_plateau")))
        CHECK(count == 8, "reduce_lr_on_plateau has %zu defaults, expected 8", count);

    /* capacity 0 asks for the count; too small a capacity writes nothing. */
    if (CHECK_OK(st_layer_defaults(NULL, NULL, 0, &count, "layer_norm")))
        CHECK(count == 3, "layer_norm has %zu defaults, expected 3", count);
    count = 0;
    CHECK_ERROR(st_layer_defaults(names, values, 2, &count, "layer_norm"), ST_ESHAPE, "capacity");
    CHECK(count == 3 && names[0] == NULL && values[0] == 0.0, "a refused call writes only *count");
    if (CHECK_OK(st_layer_defaults(names, values, 8, &count, "layer_norm")))
        CHECK(count == 3 && strcmp(names[0], "eps") == 0 && values[0] == 1e-5 &&
                  strcmp(names[1], "elementwise_affine") == 0 && strcmp(names[2], "bias") == 0,
              "layer_norm's defaults in order");

    CHECK_ERROR(st_layer_defaults(names, values, 8, &count, "LayerNorm"), ST_EINVAL,
                "unknown layer 'LayerNorm'; choose one of: linear, conv2d");
    CHECK_ERROR(st_layer_defaults(names, values, 8, &count, "no_such_layer"), ST_EINVAL,
                "layer_norm, batch_norm, dropout");
    CHECK_ERROR(st_layer_defaults(names, values, 8, &count, NULL), ST_EINVAL, "layer");
    CHECK_ERROR(st_layer_defaults(names, values, 8, NULL, "dropout"), ST_EINVAL, "count");
    CHECK_ERROR(st_layer_defaults(NULL, values, 8, &count, "dropout"), ST_EINVAL, "names");
    CHECK_ERROR(st_layer_defaults(names, NULL, 8, &count, "dropout"), ST_EINVAL, "values");
    /* SIZE_MAX is "plenty", not a negative capacity. */
    if (CHECK_OK(st_layer_defaults(names, values, SIZE_MAX, &count, "dropout")))
        CHECK(count == 2 && strcmp(names[0], "p") == 0 && values[0] == 0.5, "dropout's defaults");
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"null_module_arguments", test_null_module_arguments},
        {"bad_module_sizes", test_bad_module_sizes},
        {"mismatched_layers", test_mismatched_layers},
        {"load_state_dict_keys", test_load_state_dict_keys},
        {"bad_layer_hyperparameters", test_bad_layer_hyperparameters},
        {"attention_arguments", test_attention_arguments},
        {"layer_norm_create_2_pow_40", test_layer_norm_create_2_pow_40},
        {"embedding_create_huge_table", test_embedding_create_huge_table},
        {"conv2d_create_huge_fan_in", test_conv2d_create_huge_fan_in},
        {"conv2d_create_huge_kernel", test_conv2d_create_huge_kernel},
        {"multihead_attention_create_huge", test_multihead_attention_create_huge},
        {"transformer_create_huge_d_model", test_transformer_create_huge_d_model},
        {"multihead_attention_causal_empty_batch", test_multihead_attention_causal_empty_batch},
        {"flatten_create_int64_min", test_flatten_create_int64_min},
        {"softmax_create_int64_min", test_softmax_create_int64_min},
        {"layer_constructor_extremes", test_layer_constructor_extremes},
        {"deep_sequential_free", test_deep_sequential_free},
        {"deep_sequential_forward", test_deep_sequential_forward},
        {"layer_defaults", test_layer_defaults},
    };
    if (argc == 2) fail_if_hung(60);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
