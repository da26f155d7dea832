// Uses the installed C++ header (swifttrain.hpp) through find_package(swifttrain): trains a
// model of its own on the digits (a forward lambda around Linear children, fed by a lambda data
// provider) with a lambda callback and a lambda compute_metrics, and checks what the header
// promises: RAII handles, swifttrain::error with the status and message of a failed call, and
// exceptions thrown in lambdas coming out of train() / evaluate() unchanged.
//
//     swifttrain_cpp_consumer <data/digits directory>
//
// Exits 0 when every check passed.
#include <swifttrain.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace st = swifttrain;

namespace {

constexpr int64_t kFeatures = 64;
constexpr int64_t kClasses = 10;
constexpr int kEpochs = 30;
constexpr int64_t kBatch = 32;
constexpr double kMinAccuracy = 0.9;  // examples/custom_model.c's threshold for this model

int failures = 0;

void expect(bool ok, const std::string &what) {
    if (!ok) {
        std::fprintf(stderr, "FAILED: %s\n", what.c_str());
        failures++;
    }
}

struct digits {
    std::vector<float> x;  // [count, 64], pixels / 16
    std::vector<int64_t> y;
    int64_t count = 0;
};

digits load_digits(const std::string &path) {
    std::ifstream file(path);
    if (!file) throw std::runtime_error("cannot open " + path);
    digits d;
    std::string line;
    while (std::getline(file, line)) {
        if (line.empty()) continue;
        std::stringstream fields(line);
        std::string field;
        int column = 0;
        while (std::getline(fields, field, ',')) {
            const int value = std::stoi(field);
            if (column++ < kFeatures)
                d.x.push_back(static_cast<float>(value) / 16.0f);
            else
                d.y.push_back(value);
        }
        if (column != kFeatures + 1) throw std::runtime_error(path + ": expected 64 pixels and a label");
        d.count++;
    }
    return d;
}

// Copies rows indices[0..count) of `d` into the batch as "input" and "labels".
void add_rows(st::mutable_batch &batch, const digits &d, const int64_t *indices, size_t count) {
    std::vector<float> x(count * kFeatures);
    std::vector<int64_t> y(count);
    for (size_t i = 0; i < count; i++) {
        std::copy_n(d.x.begin() + indices[i] * kFeatures, kFeatures, x.begin() + static_cast<std::ptrdiff_t>(i) * kFeatures);
        y[i] = d.y[static_cast<size_t>(indices[i])];
    }
    batch.add("input", x.data(), {static_cast<int64_t>(count), kFeatures});
    batch.add("labels", y.data(), {static_cast<int64_t>(count)});
}

// The fraction of rows whose largest logit is the label.
double argmax_accuracy(const float *logits, const int64_t *labels, int64_t rows, int64_t classes) {
    int64_t correct = 0;
    for (int64_t i = 0; i < rows; i++) {
        const float *row = logits + i * classes;
        if (std::max_element(row, row + classes) - row == labels[i]) correct++;
    }
    return rows ? static_cast<double>(correct) / static_cast<double>(rows) : 0.0;
}

// A model of its own: relu(fc1(x)) -> fc2, its forward a lambda around its two Linear children.
// A freed handle is dead even while its object lives on in a parent, so the lambda owns the
// children's handles (moved into it; the model owns the lambda).
st::module_ptr make_model(int *forward_calls, const bool *throw_in_forward) {
    st::module_ptr fc1 = st::make(st_linear_create, kFeatures, int64_t{64}, true);
    st::module_ptr fc2 = st::make(st_linear_create, int64_t{64}, kClasses, true);
    st_module *const fc1_handle = fc1.get(), *const fc2_handle = fc2.get();
    st::module_ptr model = st::make_custom_module(
        "DigitsMLP", [fc1 = std::move(fc1), fc2 = std::move(fc2), forward_calls, throw_in_forward](
                         st::mutable_outputs &outputs, const st::batch_view &batch, bool training) {
            if (*throw_in_forward && training) throw std::out_of_range("thrown in the forward");
            ++*forward_calls;
            st::tensor_ptr h = st::make(st_relu, st::make(st_module_forward, fc1, batch.get("input")));
            outputs.set("logits", st::make(st_module_forward, fc2, h));
        });
    st::call(st_module_add_child, model, "fc1", fc1_handle);
    st::call(st_module_add_child, model, "fc2", fc2_handle);
    return model;
}

struct thrown_in_callback : std::exception {
    explicit thrown_in_callback(int64_t s) : step(s) {}
    const char *what() const noexcept override { return "thrown in a callback"; }
    int64_t step;
};

// Training on the digits with lambdas everywhere; the accuracy the model reaches; the lambda
// compute_metrics agrees with the library's accuracy; predict / stream evaluation agree.
void test_train_digits(const digits &train, const digits &test) {
    int forward_calls = 0;
    bool throw_in_forward = false;
    st_manual_seed(0);
    st::module_ptr model = make_model(&forward_calls, &throw_in_forward);
    int64_t num_parameters = 0;
    st::call(st_module_num_parameters, &num_parameters, model);
    expect(num_parameters == 64 * 64 + 64 + 64 * 10 + 10, "the model declares fc1 and fc2 (" +
                                                               std::to_string(num_parameters) + " parameters)");

    int fetch_calls = 0;
    st::dataset_ptr train_set = st::make_indexed_dataset(
        train.count, [&train, &fetch_calls](st::mutable_batch &batch, const int64_t *indices, size_t count) {
            fetch_calls++;
            add_rows(batch, train, indices, count);
        });
    st::dataset_ptr test_set =
        st::make(st_dataset_create, test.x.data(), test.count, kFeatures, test.y.data(), ST_DATA_COPY);

    st::training_args args;
    args->learning_rate = 1e-3;
    args->num_train_epochs = kEpochs;
    args->per_device_train_batch_size = kBatch;
    args.set("per_device_eval_batch_size", 128).set("eval_strategy", "epoch").set("logging_strategy", "epoch");
    args.set("save_strategy", "no");
    args.set("weight_decay", 0);  // a literal 0 is a number here, not a null string (both compilers)
    expect(args->weight_decay == 0.0, "set(name, 0) sets the number 0");

    st::trainer trainer(model, ST_LOSS_CROSS_ENTROPY, args);
    trainer.set_train_dataset(train_set);
    trainer.set_eval_dataset(test_set);

    int metrics_calls = 0;
    trainer.set_compute_metrics([&metrics_calls](const st_eval_prediction &p) -> st::metric_list {
        metrics_calls++;
        if (!p.label_ids) return {};
        return {{"argmax_accuracy", argmax_accuracy(p.predictions, p.label_ids, p.num_samples, p.num_outputs)}};
    });

    std::vector<double> losses;  // the train loss of every epoch's LOG
    std::vector<std::pair<double, double>> accuracies;  // (eval_accuracy, eval_argmax_accuracy)
    int train_end = 0;
    trainer.add_callback(
        [&](st_event event, const st_trainer_state &state, st_trainer_control &) {
            const st::metrics_map metrics = st::to_map(state.metrics);
            if (event == ST_EVENT_LOG && metrics.count("loss")) losses.push_back(metrics.at("loss"));
            if (event == ST_EVENT_EVALUATE && metrics.count("eval_accuracy"))  // not "stream_accuracy"
                accuracies.emplace_back(metrics.at("eval_accuracy"), metrics.at("eval_argmax_accuracy"));
            if (event == ST_EVENT_TRAIN_END) train_end++;
        },
        ST_EVENT_MASK(ST_EVENT_LOG) | ST_EVENT_MASK(ST_EVENT_EVALUATE) | ST_EVENT_MASK(ST_EVENT_TRAIN_END));

    const st::metrics_map train_metrics = trainer.train();
    expect(train_metrics.count("train_loss") == 1, "train() returns train_loss");
    expect(train_end == 1, "the callback saw TRAIN_END once");
    expect(forward_calls > 0 && fetch_calls > 0, "the forward and the provider lambdas ran");
    expect(losses.size() == static_cast<size_t>(kEpochs), "one LOG with a loss per epoch (" +
                                                              std::to_string(losses.size()) + ")");
    if (!losses.empty()) {
        std::printf("train loss: first epoch %.4f, last epoch %.4f\n", losses.front(), losses.back());
        expect(losses.back() < 0.5 * losses.front(), "the training loss decreases");
    }
    expect(accuracies.size() == static_cast<size_t>(kEpochs), "one EVALUATE per epoch");
    expect(metrics_calls >= kEpochs, "compute_metrics ran at every evaluation");
    for (const auto &a : accuracies)
        expect(std::fabs(a.first - a.second) < 1e-12, "compute_metrics' argmax accuracy " + std::to_string(a.second) +
                                                          " equals eval_accuracy " + std::to_string(a.first));

    const st::metrics_map eval = trainer.evaluate();
    const double accuracy = eval.at("eval_accuracy");
    std::printf("held-out accuracy after %d epochs: %.4f\n", kEpochs, accuracy);
    expect(accuracy > kMinAccuracy, "eval_accuracy " + std::to_string(accuracy) + " > " + std::to_string(kMinAccuracy));
    expect(eval.count("eval_argmax_accuracy") == 1, "compute_metrics' metric is in evaluate()'s metrics");

    // predict(): the argmax of the outputs gives the same accuracy.
    st::metrics_map test_metrics;
    const std::vector<float> logits = trainer.predict(test_set, &test_metrics);
    expect(logits.size() == static_cast<size_t>(test.count * kClasses), "predict() gives num_samples x 10 outputs");
    expect(std::fabs(argmax_accuracy(logits.data(), test.y.data(), test.count, kClasses) - accuracy) < 1e-12,
           "predict()'s argmax accuracy equals eval_accuracy");
    expect(test_metrics.count("test_accuracy") == 1, "predict() fills the test metrics");

    // The same rows through an iterable (stream) provider lambda: the same accuracy.
    st::dataset_ptr stream = st::make_stream_dataset(
        [&test](st::mutable_batch &batch, int64_t, int64_t index, int64_t batch_size) {
            const int64_t begin = index * batch_size;
            if (begin >= test.count) return false;
            std::vector<int64_t> rows(static_cast<size_t>(std::min(batch_size, test.count - begin)));
            for (size_t i = 0; i < rows.size(); i++) rows[i] = begin + static_cast<int64_t>(i);
            add_rows(batch, test, rows.data(), rows.size());
            return true;
        });
    const st::metrics_map streamed = trainer.evaluate(stream, "stream");
    expect(std::fabs(streamed.at("stream_accuracy") - accuracy) < 1e-12, "a stream of the test rows gives eval_accuracy");

    const st_trainer_state state = trainer.state();
    const int64_t steps_per_epoch = (train.count + kBatch - 1) / kBatch;
    expect(state.global_step == kEpochs * steps_per_epoch, "global_step " + std::to_string(state.global_step));
    expect(!trainer.log_history().empty(), "log_history() has the logged entries");
    expect(trainer.state_json().find("\"global_step\"") != std::string::npos, "state_json() is HF's trainer_state.json");

    // Named tensors and tensors through RAII handles.
    st::named_tensors_ptr params = st::make(st_module_named_parameters, model);
    const auto named = st::entries(params);
    expect(named.size() == 4 && named[0].first == "fc1.weight", "parameters are fc1.weight, fc1.bias, ...");
    if (!named.empty()) {
        const std::vector<int64_t> dims = st::shape(named[0].second);
        expect(dims == std::vector<int64_t>({64, 64}), "fc1.weight is [64, 64]");
    }
}

// A small trainer for the exception checks: logistic regression on the first 256 rows.
struct small_run {
    int forward_calls = 0;
    bool throw_in_forward = false;
    bool throw_in_fetch = false;
    st::module_ptr model;
    st::dataset_ptr data;
    st::training_args args;

    explicit small_run(const digits &train) {
        st_manual_seed(1);
        model = make_model(&forward_calls, &throw_in_forward);
        data = st::make_indexed_dataset(256, [&train, this](st::mutable_batch &batch, const int64_t *indices, size_t count) {
            if (throw_in_fetch) throw std::length_error("thrown in the data provider");
            add_rows(batch, train, indices, count);
        });
        args->max_steps = 10;
        args->per_device_train_batch_size = kBatch;
        args->learning_rate = 1e-2;
        args.set("logging_strategy", "no").set("save_strategy", "no");
    }
    st::trainer make_trainer() {
        st::trainer t(model, ST_LOSS_CROSS_ENTROPY, args);
        t.set_train_dataset(data);
        return t;
    }
};

// A failing call throws swifttrain::error with its status and the library's message.
void test_errors() {
    const std::vector<float> six(6, 1.0f);
    st::tensor_ptr a = st::tensor_from(six, {2, 3});
    try {
        st::make(st_matmul, a, a);
        expect(false, "matmul of [2, 3] by [2, 3] throws");
    } catch (const st::error &e) {
        std::printf("swifttrain::error as expected: %s (%s)\n", e.what(), e.status_string());
        expect(e.status() == ST_ESHAPE, "a shape mismatch is ST_ESHAPE");
        expect(std::string(e.what()).find("[2, 3]") != std::string::npos, "the message names the shapes");
    }
    try {
        st::training_args args;
        args.set("learning_rate", "fast");
        expect(false, "learning_rate \"fast\" throws");
    } catch (const st::error &e) {
        expect(e.status() == ST_EINVAL, "an unparsable value is ST_EINVAL");
        expect(std::string(e.what()).find("learning_rate") != std::string::npos, "the message names the argument");
    }
    try {
        st::check(ST_ENOTFOUND);
        expect(false, "check(ST_ENOTFOUND) throws");
    } catch (const st::error &e) {
        expect(e.status() == ST_ENOTFOUND, "check() carries the status");
    }
    expect(st::item(st::make(st_sum, a, static_cast<const int64_t *>(nullptr), size_t{0}, false)) == 6.0,
           "sum of six ones is 6");
    expect(st::to_vector<float>(a) == six, "to_vector copies the values");
}

// Exceptions thrown in lambdas come out of the call that ran the library, unchanged.
void test_exceptions(const digits &train) {
    small_run run(train);
    st::trainer trainer = run.make_trainer();

    // A callback's exception: its own type and contents, not swifttrain::error.
    const st::callback_id thrower = trainer.add_callback(
        [](st_event, const st_trainer_state &state, st_trainer_control &) {
            if (state.global_step == 3) throw thrown_in_callback(state.global_step);
        },
        ST_EVENT_MASK(ST_EVENT_STEP_END));
    try {
        trainer.train();
        expect(false, "train() rethrows the callback's exception");
    } catch (const thrown_in_callback &e) {
        expect(e.step == 3, "the exception is the callback's (step " + std::to_string(e.step) + ")");
    } catch (const std::exception &e) {
        expect(false, std::string("train() threw another exception: ") + e.what());
    }

    // Removed, the callback no longer runs: training goes through.
    trainer.remove_callback(thrower);
    trainer.train();
    expect(trainer.state().global_step == 10, "after remove_callback, train() runs 10 steps");
    try {
        trainer.remove_callback(thrower);
        expect(false, "removing a removed callback throws");
    } catch (const st::error &e) {
        expect(e.status() == ST_ENOTFOUND, "removing a removed callback is ST_ENOTFOUND");
    }

    // A swifttrain::error thrown in a callback keeps its status (not ST_EUSER).
    const st::callback_id bad_call = trainer.add_callback(
        [](st_event, const st_trainer_state &, st_trainer_control &) {
            st::tensor_ptr x = st::tensor_from(std::vector<float>(6, 0.0f), {2, 3});
            st::make(st_matmul, x, x);
        },
        ST_EVENT_MASK(ST_EVENT_STEP_END));
    try {
        trainer.train();
        expect(false, "train() rethrows the callback's swifttrain::error");
    } catch (const st::error &e) {
        expect(e.status() == ST_ESHAPE, "the callback's error keeps ST_ESHAPE");
    }
    trainer.remove_callback(bad_call);

    // The forward's, the data provider's and compute_metrics' exceptions.
    run.throw_in_forward = true;
    try {
        trainer.train();
        expect(false, "train() rethrows the forward's exception");
    } catch (const std::out_of_range &e) {
        expect(std::string(e.what()) == "thrown in the forward", "the forward's std::out_of_range");
    }
    run.throw_in_forward = false;
    run.throw_in_fetch = true;
    try {
        trainer.train();
        expect(false, "train() rethrows the provider's exception");
    } catch (const std::length_error &e) {
        expect(std::string(e.what()) == "thrown in the data provider", "the provider's std::length_error");
    }
    run.throw_in_fetch = false;
    trainer.set_compute_metrics([](const st_eval_prediction &) -> st::metric_list { throw std::domain_error("metrics"); });
    try {
        trainer.evaluate(run.data);
        expect(false, "evaluate() rethrows compute_metrics' exception");
    } catch (const std::domain_error &) {
    }
    trainer.set_compute_metrics(nullptr);
    expect(trainer.evaluate(run.data).count("eval_loss") == 1, "without compute_metrics, evaluate() works again");

    // A callback that removes itself at its first event runs once; request_stop from a
    // callback stops at the end of the step it was asked in.
    int self_removing_calls = 0;
    auto id = std::make_shared<st::callback_id>();
    *id = trainer.add_callback(
        [&trainer, &self_removing_calls, id](st_event, const st_trainer_state &, st_trainer_control &) {
            self_removing_calls++;
            trainer.remove_callback(*id);  // destroys this lambda only after train() returns
        },
        ST_EVENT_MASK(ST_EVENT_STEP_BEGIN));
    trainer.add_callback(
        [&trainer](st_event, const st_trainer_state &state, st_trainer_control &) {
            if (state.global_step == 4) expect(trainer.request_stop(false), "request_stop returns true");
        },
        ST_EVENT_MASK(ST_EVENT_STEP_BEGIN));
    trainer.train();
    expect(self_removing_calls == 1, "a callback that removed itself ran once (" +
                                         std::to_string(self_removing_calls) + ")");
    expect(trainer.state().global_step == 5,
           "request_stop at the start of step 5 stops after it (global_step " +
               std::to_string(trainer.state().global_step) + ")");
}

// A compute-loss lambda, a callback state saved in a checkpoint and loaded on resume, and the
// saved model read back through a safetensors_ptr.
void test_loss_and_checkpoints(const digits &train) {
    const std::filesystem::path output_dir = std::filesystem::current_path() / "cpp_consumer_output";
    std::filesystem::remove_all(output_dir);

    small_run run(train);
    run.args.set("output_dir", output_dir.string()).set("save_strategy", "steps").set("save_steps", 10);
    st::trainer trainer = run.make_trainer();
    int loss_calls = 0;
    trainer.set_compute_loss([&loss_calls](const st::outputs_view &outputs, const st::batch_view &batch) {
        loss_calls++;
        return st::make(st_cross_entropy, outputs.get("logits"), batch.get("labels"), nullptr, int64_t{-100},
                        ST_REDUCTION_MEAN, 0.0f);
    });
    int saves = 0;
    trainer.add_callback_state(
        "counter", [&saves] { return "saved " + std::to_string(++saves); },
        [](std::string_view) { throw std::logic_error("nothing to load in the first run"); });
    const st::metrics_map first = trainer.train();
    expect(loss_calls >= 10, "the compute-loss lambda ran for every step");
    expect(std::isfinite(first.at("train_loss")), "train_loss with the compute-loss lambda is finite");
    expect(saves == 1, "the callback state was saved with the checkpoint");

    // A new trainer resumes from that checkpoint and gets the bytes back.
    std::string loaded;
    st::trainer resumed = run.make_trainer();
    resumed.add_callback_state(
        "counter", [] { return std::string("again"); }, [&loaded](std::string_view bytes) { loaded = bytes; });
    resumed.resume();
    expect(loaded == "saved 1", "the callback state came back on resume (\"" + loaded + "\")");
    expect(resumed.resumed_from().find("checkpoint-10") != std::string::npos, "resumed_from names checkpoint-10");

    resumed.save_model((output_dir / "final").string());
    st::safetensors_ptr file = st::make(st_safetensors_open, (output_dir / "final" / "model.safetensors").string().c_str());
    expect(st_safetensors_count(file.get()) == 4, "model.safetensors holds the four parameters");
    std::filesystem::remove_all(output_dir);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <data/digits directory>\n", argv[0]);
        return 2;
    }
    std::printf("swifttrain %s through swifttrain.hpp\n", st_version_string());
    try {
        const digits train = load_digits(std::string(argv[1]) + "/train.csv");
        const digits test = load_digits(std::string(argv[1]) + "/test.csv");
        test_errors();
        test_train_digits(train, test);
        test_exceptions(train);
        test_loss_and_checkpoints(train);
    } catch (const st::error &e) {
        std::fprintf(stderr, "FAILED: unexpected swifttrain::error: %s (%s)\n", e.what(), e.status_string());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "FAILED: unexpected exception: %s\n", e.what());
        return 1;
    }
    if (failures) {
        std::fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    std::printf("all checks passed\n");
    return 0;
}
