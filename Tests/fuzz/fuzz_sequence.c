/* libFuzzer target: random sequences of C API calls with random arguments on small tensors,
 * modules, datasets, optimizers and trainers, created, used and freed in any order.
 *
 * The input is read as a program: each step's first byte picks an operation, the next bytes
 * its operands (slots of live handles and argument values). Handles are tracked per slot, so
 * no call gets a freed handle except the one operation that checks the documented case: a
 * freed tensor gives ST_EMISUSE. Every status is checked (fuzz_status); at the end everything
 * still held is freed, in slot order. Sizes stay small (at most 4 per dimension when created,
 * 4096 elements kept, 8 rows, few training steps) so an execution takes milliseconds. */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FUZZ_INITIALIZE_LIBRARY_ONLY

#define TENSORS 12
#define MODULES 6
#define DATASETS 3
#define TRAINERS 2
#define OPTIMS 2
#define MAX_STEPS 48

typedef struct world {
    fuzz_reader in;
    st_tensor *tensors[TENSORS];
    st_module *modules[MODULES];
    st_dataset *datasets[DATASETS];
    st_trainer *trainers[TRAINERS];
    st_optim *optims[OPTIMS];
    st_tensor *freed; /* the last tensor handle freed */
} world;

/* A slot's handle, NULL when the slot is empty. */
#define PICK(w, array) ((array)[fuzz_below(&(w)->in, sizeof(array) / sizeof((array)[0]))])

/* Stores a new handle in a slot, freeing what was there. A tensor of more than 4096 elements is
 * freed instead: cat, stack and broadcasting grow tensors step after step, and 48 steps of
 * doubling make executions of seconds that test nothing new. */
static void keep_tensor(world *w, st_tensor *t) {
    st_tensor **slot = &PICK(w, w->tensors);
    int64_t numel = 0;
    if (t == NULL) return;
    if (FUZZ(st_tensor_numel(&numel, t)) != ST_OK || numel > 4096) {
        st_tensor_free(t);
        return;
    }
    st_tensor_free(*slot);
    *slot = t;
}

static void keep_module(world *w, st_module *m) {
    st_module **slot = &PICK(w, w->modules);
    if (m == NULL) return;
    st_module_free(*slot);
    *slot = m;
}

static size_t read_shape(world *w, int64_t shape[3]) {
    size_t ndim = fuzz_below(&w->in, 4), i;
    for (i = 0; i < ndim; i++) shape[i] = (int64_t)fuzz_below(&w->in, 5);
    return ndim;
}

static int64_t small_int(world *w) {
    return (int64_t)fuzz_below(&w->in, 9) - 4;
}

static void op_tensor_create(world *w) {
    int64_t shape[3];
    size_t ndim = read_shape(w, shape);
    st_tensor *t = NULL;
    float a = fuzz_float(&w->in), b = fuzz_float(&w->in);
    switch (fuzz_below(&w->in, 6)) {
    case 0: FUZZ(st_tensor_zeros(&t, shape, ndim, (st_dtype)fuzz_below(&w->in, 4))); break;
    case 1: FUZZ(st_tensor_full(&t, shape, ndim, a)); break;
    case 2: FUZZ(st_tensor_uniform(&t, shape, ndim, a, b, fuzz_byte(&w->in))); break;
    case 3: FUZZ(st_tensor_normal(&t, shape, ndim, a, b, fuzz_byte(&w->in))); break;
    case 4:
        FUZZ(st_tensor_arange(&t, (double)small_int(w), (double)small_int(w),
                              (double)small_int(w) / 2, (st_dtype)fuzz_below(&w->in, 2)));
        break;
    default: {
        float values[64];
        size_t n = 1, i;
        for (i = 0; i < ndim; i++) n *= (size_t)shape[i];
        for (i = 0; i < n; i++) values[i] = fuzz_float(&w->in);
        FUZZ(st_tensor_create(&t, values, shape, ndim, ST_FLOAT32, ST_DATA_COPY));
    }
    }
    keep_tensor(w, t);
}

static void op_unary(world *w) {
    st_tensor *a = PICK(w, w->tensors), *t = NULL, *t2 = NULL;
    int64_t dim = small_int(w), shape[3], dims[2] = {small_int(w), small_int(w)};
    size_t ndim;
    if (a == NULL) return;
    switch (fuzz_below(&w->in, 24)) {
    case 0: FUZZ(st_relu(&t, a)); break;
    case 1: FUZZ(st_exp(&t, a)); break;
    case 2: FUZZ(st_log(&t, a)); break;
    case 3: FUZZ(st_sqrt(&t, a)); break;
    case 4: FUZZ(st_tanh(&t, a)); break;
    case 5: FUZZ(st_sigmoid(&t, a)); break;
    case 6: FUZZ(st_neg(&t, a)); break;
    case 7: FUZZ(st_softmax(&t, a, dim)); break;
    case 8: FUZZ(st_log_softmax(&t, a, dim)); break;
    case 9: FUZZ(st_sum(&t, a, dims, fuzz_below(&w->in, 3), fuzz_byte(&w->in) & 1)); break;
    case 10: FUZZ(st_mean(&t, a, dims, fuzz_below(&w->in, 3), fuzz_byte(&w->in) & 1)); break;
    case 11: FUZZ(st_var(&t, a, dims, fuzz_below(&w->in, 3), small_int(w), false)); break;
    case 12: FUZZ(st_transpose(&t, a, dim, small_int(w))); break;
    case 13: FUZZ(st_flatten(&t, a, dim, small_int(w))); break;
    case 14: FUZZ(st_unsqueeze(&t, a, dim)); break;
    case 15:
        ndim = read_shape(w, shape);
        if (ndim && fuzz_byte(&w->in) & 1) shape[0] = -1;
        FUZZ(st_reshape(&t, a, shape, ndim));
        break;
    case 16: FUZZ(st_slice(&t, a, dim, small_int(w), small_int(w), small_int(w))); break;
    case 17: FUZZ(st_select(&t, a, dim, small_int(w))); break;
    case 18: FUZZ(st_max_dim(&t, &t2, a, dim, fuzz_byte(&w->in) & 1)); break;
    case 19: FUZZ(st_argmax(&t, a, fuzz_byte(&w->in) & 1 ? ST_NO_INDEX : dim, false)); break;
    case 20: FUZZ(st_clamp(&t, a, fuzz_float(&w->in), fuzz_float(&w->in))); break;
    case 21: FUZZ(st_tensor_to(&t, a, (st_dtype)fuzz_below(&w->in, 3))); break;
    case 22: FUZZ(st_dropout(&t, a, fuzz_float(&w->in), fuzz_byte(&w->in) & 1)); break;
    default: {
        double item;
        FUZZ(st_tensor_item(&item, a));
        FUZZ(st_tensor_detach(&t, a));
    }
    }
    keep_tensor(w, t);
    keep_tensor(w, t2);
}

static void op_binary(world *w) {
    st_tensor *a = PICK(w, w->tensors), *b = PICK(w, w->tensors), *t = NULL;
    if (a == NULL || b == NULL) return;
    switch (fuzz_below(&w->in, 16)) {
    case 0: FUZZ(st_add(&t, a, b)); break;
    case 1: FUZZ(st_sub(&t, a, b)); break;
    case 2: FUZZ(st_mul(&t, a, b)); break;
    case 3: FUZZ(st_div(&t, a, b)); break;
    case 4: FUZZ(st_matmul(&t, a, b)); break;
    case 5: FUZZ(st_maximum(&t, a, b)); break;
    case 6: FUZZ(st_compare(&t, a, (st_comparison)fuzz_below(&w->in, 7), b)); break;
    case 7: {
        st_tensor *pair[2] = {a, b};
        FUZZ(st_cat(&t, pair, 2, small_int(w)));
        break;
    }
    case 8: {
        st_tensor *pair[2] = {a, b};
        FUZZ(st_stack(&t, pair, 2, small_int(w)));
        break;
    }
    case 9: FUZZ(st_mse_loss(&t, a, b, (st_reduction)fuzz_below(&w->in, 4))); break;
    case 10:
        FUZZ(st_cross_entropy(&t, a, b, NULL, fuzz_byte(&w->in) & 1 ? -100 : small_int(w),
                              (st_reduction)fuzz_below(&w->in, 4), fuzz_float(&w->in)));
        break;
    case 11: FUZZ(st_gather(&t, a, small_int(w), b)); break;
    case 12: FUZZ(st_index_select(&t, a, small_int(w), b)); break;
    case 13: FUZZ(st_embedding(&t, a, b, fuzz_byte(&w->in) & 1 ? ST_NO_INDEX : small_int(w))); break;
    case 14: FUZZ(st_where(&t, a, b, PICK(w, w->tensors))); break;
    default: FUZZ(st_linear(&t, a, b, PICK(w, w->tensors))); break;
    }
    keep_tensor(w, t);
}

static void op_autograd(world *w) {
    st_tensor *a = PICK(w, w->tensors), *t = NULL;
    if (a == NULL) return;
    switch (fuzz_below(&w->in, 4)) {
    case 0: FUZZ(st_tensor_set_requires_grad(a, fuzz_byte(&w->in) & 1)); break;
    case 1: FUZZ(st_tensor_backward(a, fuzz_byte(&w->in) & 1 ? NULL : PICK(w, w->tensors))); break;
    case 2: FUZZ(st_tensor_grad(&t, a)); break;
    default: FUZZ(st_tensor_zero_grad(a)); break;
    }
    keep_tensor(w, t);
}

/* Frees a tensor, or checks that the last one freed gives ST_EMISUSE (handles are numbers the
 * library never reuses). */
static void op_free_tensor(world *w) {
    st_tensor **slot = &PICK(w, w->tensors);
    int64_t numel;
    if (*slot != NULL) {
        w->freed = *slot;
        st_tensor_free(*slot);
        *slot = NULL;
    } else if (w->freed != NULL && FUZZ(st_tensor_numel(&numel, w->freed)) != ST_EMISUSE) {
        fuzz_fail("a freed tensor handle did not give ST_EMISUSE");
    }
}

static void op_module(world *w) {
    st_module *m = NULL, *a = PICK(w, w->modules);
    st_tensor *t = NULL, *input = PICK(w, w->tensors);
    switch (fuzz_below(&w->in, 9)) {
    case 0:
        FUZZ(st_linear_create(&m, small_int(w), small_int(w), fuzz_byte(&w->in) & 1));
        break;
    case 1: FUZZ(st_relu_create(&m)); break;
    case 2: FUZZ(st_dropout_create(&m, fuzz_float(&w->in))); break;
    case 3: {
        int64_t shape[1] = {small_int(w)};
        FUZZ(st_layer_norm_create(&m, shape, 1, 1e-5f, true, true));
        break;
    }
    case 4: {
        st_module *children[3] = {a, PICK(w, w->modules), PICK(w, w->modules)};
        size_t count = 1 + fuzz_below(&w->in, 3);
        if (children[0] && (count < 2 || children[1]) && (count < 3 || children[2]))
            FUZZ(st_sequential_create(&m, children, count));
        break;
    }
    case 5:
        if (a && input) FUZZ(st_module_forward(&t, a, input));
        break;
    case 6:
        if (a) FUZZ(st_module_train(a, fuzz_byte(&w->in) & 1));
        break;
    case 7:
        if (a) {
            st_named_tensors *list = NULL;
            if (FUZZ(fuzz_byte(&w->in) & 1 ? st_module_named_parameters(&list, a)
                                           : st_module_state_dict(&list, a)) == ST_OK) {
                const char *name;
                st_tensor *entry = NULL;
                if (st_named_tensors_count(list) &&
                    FUZZ(st_named_tensors_entry(&name, &entry, list,
                                                fuzz_below(&w->in, st_named_tensors_count(list)))) ==
                        ST_OK)
                    keep_tensor(w, entry);
                st_module *target = PICK(w, w->modules);
                FUZZ(st_module_load_state_dict(target ? target : a, list, fuzz_byte(&w->in) & 1));
            }
            st_named_tensors_free(list);
        }
        break;
    default: {
        st_module **slot = &PICK(w, w->modules);
        st_module_free(*slot);
        *slot = NULL;
    }
    }
    keep_module(w, m);
    keep_tensor(w, t);
}

static void op_dataset(world *w) {
    st_dataset **slot = &PICK(w, w->datasets), *d = NULL;
    int64_t rows = (int64_t)fuzz_below(&w->in, 9), features = (int64_t)fuzz_below(&w->in, 5), i;
    float x[32];
    int64_t labels[8];
    if (fuzz_byte(&w->in) % 4 == 0) {
        st_dataset_free(*slot);
        *slot = NULL;
        return;
    }
    for (i = 0; i < 32; i++) x[i] = fuzz_float(&w->in);
    for (i = 0; i < 8; i++) labels[i] = fuzz_byte(&w->in) % 16 == 0 ? -100 : small_int(w) + 3;
    if (fuzz_byte(&w->in) & 1)
        FUZZ(st_dataset_create(&d, x, rows, features, fuzz_byte(&w->in) & 1 ? labels : NULL,
                               ST_DATA_COPY));
    else
        FUZZ(st_dataset_create_regression(&d, x, rows, features, x, (int64_t)fuzz_below(&w->in, 3),
                                          ST_DATA_COPY));
    if (d != NULL) {
        st_dataset_free(*slot);
        *slot = d;
    }
}

static void op_trainer_create(world *w) {
    static const char *const optims[] = {"adamw", "sgd", "adam", "adagrad", "rmsprop", "adadelta",
                                         "lion"};
    st_trainer **slot = &PICK(w, w->trainers), *t = NULL;
    st_module *model = PICK(w, w->modules);
    st_training_args args;
    char number[16], out[4096];
    if (model == NULL) return;
    if (FUZZ(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION)) != ST_OK)
        fuzz_fail("st_training_args_init");
    snprintf(number, sizeof number, "%d", (int)fuzz_below(&w->in, 3));
    FUZZ(st_training_args_set(&args, "max_steps", number));
    snprintf(number, sizeof number, "%d", (int)fuzz_below(&w->in, 5));
    FUZZ(st_training_args_set(&args, "per_device_train_batch_size", number));
    FUZZ(st_training_args_set(&args, "per_device_eval_batch_size", number));
    FUZZ(st_training_args_set(&args, "optim", optims[fuzz_below(&w->in, 7)]));
    FUZZ(st_training_args_set(&args, "save_strategy", "no"));
    FUZZ(st_training_args_set(&args, "output_dir", fuzz_scratch_path(out, sizeof out, "out")));
    if (fuzz_byte(&w->in) & 1) FUZZ(st_training_args_set(&args, "eval_strategy", "steps"));
    if (fuzz_byte(&w->in) & 1) FUZZ(st_training_args_set(&args, "gradient_accumulation_steps", "2"));
    if (FUZZ(st_trainer_create(&t, model, (st_loss)fuzz_below(&w->in, 9), &args)) == ST_OK) {
        st_trainer_free(*slot);
        *slot = t;
    }
}

static void op_trainer(world *w) {
    st_trainer **slot = &PICK(w, w->trainers);
    st_dataset *d = PICK(w, w->datasets);
    st_metrics *metrics = NULL;
    if (*slot == NULL) return;
    switch (fuzz_below(&w->in, 7)) {
    case 0: if (d) FUZZ(st_trainer_set_train_dataset(*slot, d)); break;
    case 1: FUZZ(st_trainer_set_eval_dataset(*slot, d)); break;
    case 2: FUZZ(st_trainer_train(&metrics, *slot)); break;
    case 3: FUZZ(st_trainer_evaluate(&metrics, *slot, d)); break;
    case 4:
        if (d) {
            float out[64];
            size_t count = fuzz_below(&w->in, 65);
            int64_t outputs = 0;
            FUZZ(st_trainer_num_outputs(&outputs, *slot, d));
            FUZZ(st_trainer_predict(out, count, &metrics, *slot, d));
        }
        break;
    case 5: {
        st_tensor *predictions = NULL, *labels = NULL;
        if (d) FUZZ(st_trainer_predict_tensors(&predictions, &labels, &metrics, *slot, d));
        keep_tensor(w, predictions);
        keep_tensor(w, labels);
        break;
    }
    default:
        st_trainer_free(*slot);
        *slot = NULL;
    }
    st_metrics_free(metrics);
}

static void op_optim(world *w) {
    st_optim **slot = &PICK(w, w->optims);
    st_tensor *params[3] = {PICK(w, w->tensors), PICK(w, w->tensors), PICK(w, w->tensors)};
    size_t count = fuzz_below(&w->in, 4);
    switch (fuzz_below(&w->in, 4)) {
    case 0: {
        st_optim *o = NULL;
        st_optim_options options;
        st_optimizer kind = (st_optimizer)fuzz_below(&w->in, 8);
        size_t i;
        for (i = 0; i < count; i++)
            if (params[i] == NULL) return;
        if (FUZZ(st_optim_options_init(&options, kind)) != ST_OK) options.struct_size = 0;
        options.lr = fuzz_float(&w->in);
        if (FUZZ(st_optim_create(&o, kind, params, count, fuzz_byte(&w->in) & 1 ? NULL : &options)) ==
            ST_OK) {
            st_optim_free(*slot);
            *slot = o;
        }
        break;
    }
    case 1: if (*slot) FUZZ(st_optim_step(*slot)); break;
    case 2: if (*slot) FUZZ(st_optim_zero_grad(*slot)); break;
    default:
        st_optim_free(*slot);
        *slot = NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static void (*const ops[])(world *) = {
        op_tensor_create, op_tensor_create, op_unary, op_unary, op_binary, op_binary,
        op_autograd, op_free_tensor, op_module, op_module, op_dataset, op_trainer_create,
        op_trainer, op_trainer, op_optim};
    world w;
    int step, i;
    memset(&w, 0, sizeof w);
    w.in.data = data;
    w.in.size = size;
    st_manual_seed(1);
    for (step = 0; step < MAX_STEPS && fuzz_more(&w.in); step++)
        ops[fuzz_below(&w.in, sizeof ops / sizeof ops[0])](&w);
    for (i = 0; i < TRAINERS; i++) st_trainer_free(w.trainers[i]);
    for (i = 0; i < OPTIMS; i++) st_optim_free(w.optims[i]);
    for (i = 0; i < DATASETS; i++) st_dataset_free(w.datasets[i]);
    for (i = 0; i < MODULES; i++) st_module_free(w.modules[i]);
    for (i = 0; i < TENSORS; i++) st_tensor_free(w.tensors[i]);
    return 0;
}
