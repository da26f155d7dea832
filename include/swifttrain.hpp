/*
 * swifttrain.hpp - C++17 conveniences over the C interface (swifttrain.h). Header-only.
 *
 * Translation only: every number, name and default comes from the library through the C
 * functions (st_training_args_init fills the defaults, st_enum_from_name knows the names).
 * This header adds
 *   - RAII handles: swifttrain::tensor_ptr, module_ptr, ... (std::unique_ptr with a deleter
 *     struct per handle type, as ggml-cpp.h does), and swifttrain::make / swifttrain::call,
 *     which call any st_* function with them and throw on failure;
 *   - swifttrain::error (a std::runtime_error with the st_status and the library's message)
 *     and swifttrain::check(status);
 *   - lambdas wherever the C interface takes a function pointer and user_data: trainer
 *     callbacks, compute-metrics, compute-loss, custom forwards, data providers, callback
 *     states. An exception thrown in one never crosses into the library: it is caught, the
 *     C callback reports failure, and the C++ call that ran the library (trainer::train,
 *     swifttrain::call, ...) rethrows that same exception object;
 *   - swifttrain::trainer, which owns the lambdas registered on it.
 * docs/cpp.md describes it with an example.
 */
#ifndef SWIFTTRAIN_HPP
#define SWIFTTRAIN_HPP

#include "swifttrain.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace swifttrain {

/* ======================================================================================
 * Errors
 * ====================================================================================== */

/** A failed st_* call: its status and the message of st_last_error_message(). */
class error : public std::runtime_error {
public:
    /** An error with `status` and the calling thread's st_last_error_message(). */
    explicit error(int status) : error(status, st_last_error_message()) {}
    /** An error with `status` and `message` (st_status_string(status) when it is empty). */
    error(int status, const std::string &message)
        : std::runtime_error(message.empty() ? std::string(status_text(status)) : message),
          status_(static_cast<st_status>(status)) {}

    /** ST_EINVAL, ST_ESHAPE, ... */
    st_status status() const noexcept { return status_; }
    /** "ST_EINVAL: invalid argument" (st_status_string). */
    const char *status_string() const noexcept { return status_text(status_); }

private:
    static const char *status_text(int status) noexcept {
        return st_status_string(static_cast<st_status>(status));
    }
    st_status status_;
};

/** Throws swifttrain::error unless `status` is ST_OK. */
inline void check(int status) {
    if (status != ST_OK) throw error(status);
}

/* ======================================================================================
 * Handles
 * ====================================================================================== */

struct tensor_deleter {
    void operator()(st_tensor *p) const noexcept { st_tensor_free(p); }
};
struct named_tensors_deleter {
    void operator()(st_named_tensors *p) const noexcept { st_named_tensors_free(p); }
};
struct module_deleter {
    void operator()(st_module *p) const noexcept { st_module_free(p); }
};
struct dataset_deleter {
    void operator()(st_dataset *p) const noexcept { st_dataset_free(p); }
};
struct metrics_deleter {
    void operator()(st_metrics *p) const noexcept { st_metrics_free(p); }
};
struct optim_deleter {
    void operator()(st_optim *p) const noexcept { st_optim_free(p); }
};
struct lr_schedule_deleter {
    void operator()(st_lr_schedule *p) const noexcept { st_lr_schedule_free(p); }
};
struct plateau_deleter {
    void operator()(st_plateau *p) const noexcept { st_plateau_free(p); }
};
struct safetensors_deleter {
    void operator()(st_safetensors *p) const noexcept {
        st_safetensors_free(p);
    }
};
struct metrics_logger_deleter {
    void operator()(st_metrics_logger *p) const noexcept { st_metrics_logger_free(p); }
};
struct trainer_deleter {
    void operator()(st_trainer *p) const noexcept { st_trainer_free(p); }
};

typedef std::unique_ptr<st_tensor, tensor_deleter> tensor_ptr;
typedef std::unique_ptr<st_named_tensors, named_tensors_deleter> named_tensors_ptr;
typedef std::unique_ptr<st_module, module_deleter> module_ptr;
typedef std::unique_ptr<st_dataset, dataset_deleter> dataset_ptr;
typedef std::unique_ptr<st_metrics, metrics_deleter> metrics_ptr;
typedef std::unique_ptr<st_optim, optim_deleter> optim_ptr;
typedef std::unique_ptr<st_lr_schedule, lr_schedule_deleter> lr_schedule_ptr;
typedef std::unique_ptr<st_plateau, plateau_deleter> plateau_ptr;
typedef std::unique_ptr<st_safetensors, safetensors_deleter> safetensors_ptr;
typedef std::unique_ptr<st_metrics_logger, metrics_logger_deleter> metrics_logger_ptr;
typedef std::unique_ptr<st_trainer, trainer_deleter> trainer_ptr;

/** The owning handle type of an st_* type: handle_ptr<st_tensor> is tensor_ptr. */
template <class T> struct handle_traits;
template <> struct handle_traits<st_tensor> { typedef tensor_ptr ptr; };
template <> struct handle_traits<st_named_tensors> { typedef named_tensors_ptr ptr; };
template <> struct handle_traits<st_module> { typedef module_ptr ptr; };
template <> struct handle_traits<st_dataset> { typedef dataset_ptr ptr; };
template <> struct handle_traits<st_metrics> { typedef metrics_ptr ptr; };
template <> struct handle_traits<st_optim> { typedef optim_ptr ptr; };
template <> struct handle_traits<st_lr_schedule> { typedef lr_schedule_ptr ptr; };
template <> struct handle_traits<st_plateau> { typedef plateau_ptr ptr; };
template <> struct handle_traits<st_safetensors> { typedef safetensors_ptr ptr; };
template <> struct handle_traits<st_metrics_logger> { typedef metrics_logger_ptr ptr; };
template <> struct handle_traits<st_trainer> { typedef trainer_ptr ptr; };
template <class T> using handle_ptr = typename handle_traits<T>::ptr;

/** A borrowed handle argument: a raw pointer, an owning handle (its .get()) or nullptr. The
 *  library keeps its own reference where it needs one (a trainer its datasets, ...), so a
 *  temporary handle may be passed. */
template <class T>
class ref {
public:
    ref(T *p) noexcept : p_(p) {}
    ref(std::nullptr_t) noexcept : p_(nullptr) {}
    template <class U, class D, class = std::enable_if_t<std::is_convertible<U *, T *>::value>>
    ref(const std::unique_ptr<U, D> &p) noexcept : p_(p.get()) {}
    T *get() const noexcept { return p_; }

private:
    T *p_;
};

/* ======================================================================================
 * Calling st_* functions
 * ====================================================================================== */

namespace detail {

/* An exception a lambda threw inside a C callback, until the C++ call that ran the library
 * rethrows it. Per thread: the library runs callbacks on the thread that called it. */
inline std::exception_ptr &pending_exception() noexcept {
    static thread_local std::exception_ptr pending;
    return pending;
}

/* In a trampoline's catch (...): remembers the exception (the first one wins: a callback of
 * the EXCEPTION event that throws too does not hide the one that stopped training). */
inline void capture_exception() noexcept {
    std::exception_ptr &pending = pending_exception();
    if (!pending) pending = std::current_exception();
}

/* Around a call into the library: an exception captured during the call is rethrown by
 * finish(), else a failing status becomes swifttrain::error. Nested calls (from inside a
 * lambda) keep the outer call's state. */
class library_call {
public:
    library_call() noexcept : saved_(std::exchange(pending_exception(), nullptr)) {}
    library_call(const library_call &) = delete;
    library_call &operator=(const library_call &) = delete;
    ~library_call() {
        if (!finished_) pending_exception() = std::move(saved_);
    }
    void finish(int status) {
        std::exception_ptr caught = std::exchange(pending_exception(), std::move(saved_));
        finished_ = true;
        if (caught) std::rethrow_exception(caught);
        check(status);
    }

private:
    std::exception_ptr saved_;
    bool finished_ = false;
};

template <class T, class = void>
struct has_pointer_get : std::false_type {};
template <class T>
struct has_pointer_get<T, std::enable_if_t<std::is_pointer<decltype(std::declval<const T &>().get())>::value>>
    : std::true_type {};

/* Handles and wrappers become their raw pointers; anything else passes through. */
template <class A>
decltype(auto) unwrap(A &&arg) noexcept {
    if constexpr (has_pointer_get<std::remove_cv_t<std::remove_reference_t<A>>>::value)
        return arg.get();
    else
        return std::forward<A>(arg);
}

/* The return type of a C callback type (int), so trampolines return exactly that. */
template <class Fn> struct callback_result;
template <class R, class... P> struct callback_result<R (*)(P...)> { typedef R type; };
template <class Fn> using callback_result_t = typename callback_result<Fn>::type;
template <class Fn> constexpr callback_result_t<Fn> callback_return(int value) noexcept {
    return static_cast<callback_result_t<Fn>>(value);
}

}  // namespace detail

/** Calls a status-returning st_* function with handles (owning or borrowed) unwrapped, and
 *  throws swifttrain::error on failure, or rethrows the exception a lambda of yours threw
 *  inside the call:  swifttrain::call(st_module_train, model, false). */
template <class R, class... P, class... A>
void call(R (*fn)(P...), A &&...args) {
    detail::library_call guard;
    auto status = fn(detail::unwrap(std::forward<A>(args))...);
    guard.finish(static_cast<int>(status));
}

/** Calls an st_* function whose first parameter is a handle out-parameter and returns the
 *  new handle, owned:  auto y = swifttrain::make(st_relu, x);
 *  auto fc = swifttrain::make(st_linear_create, 64, 10, true);  // module_ptr */
template <class H, class R, class... P, class... A>
handle_ptr<H> make(R (*fn)(H **, P...), A &&...args) {
    H *out = nullptr;
    detail::library_call guard;
    auto status = fn(&out, detail::unwrap(std::forward<A>(args))...);
    handle_ptr<H> owned(out);  // freed if the call failed after all
    guard.finish(static_cast<int>(status));
    return owned;
}

/* ======================================================================================
 * Tensors, named tensors, metrics
 * ====================================================================================== */

/** The st_dtype of a C++ element type: float, int64_t or bool. */
template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr st_dtype value = ST_FLOAT32; };
template <> struct dtype_of<int64_t> { static constexpr st_dtype value = ST_INT64; };
template <> struct dtype_of<bool> { static constexpr st_dtype value = ST_BOOL; };

/** A tensor of `shape` holding a copy of data[0..prod(shape)). */
template <class T>
tensor_ptr tensor_from(const T *data, const std::vector<int64_t> &shape) {
    return make(st_tensor_create, static_cast<const void *>(data), shape.data(), shape.size(),
                dtype_of<T>::value, ST_DATA_COPY);
}
template <class T>
tensor_ptr tensor_from(const std::vector<T> &values, const std::vector<int64_t> &shape) {
    static_assert(!std::is_same<T, bool>::value, "std::vector<bool> has no data(): pass a bool array");
    return tensor_from(values.data(), shape);
}

inline std::vector<int64_t> shape(ref<const st_tensor> tensor) {
    size_t ndim = 0;
    call(st_tensor_ndim, &ndim, tensor);
    std::vector<int64_t> dims(ndim);
    call(st_tensor_shape, dims.data(), dims.size(), tensor);
    return dims;
}

inline int64_t numel(ref<const st_tensor> tensor) {
    int64_t n = 0;
    call(st_tensor_numel, &n, tensor);
    return n;
}

inline st_dtype dtype(ref<const st_tensor> tensor) {
    st_dtype type = ST_FLOAT32;
    call(st_tensor_dtype, &type, tensor);
    return type;
}

/** The value of a one-element tensor. */
inline double item(ref<const st_tensor> tensor) {
    double value = 0;
    call(st_tensor_item, &value, tensor);
    return value;
}

/** A copy of the values; T must be the tensor's element type (else ST_EINVAL). */
template <class T>
std::vector<T> to_vector(ref<const st_tensor> tensor) {
    static_assert(!std::is_same<T, bool>::value, "use to_vector<unsigned char> for bool tensors");
    const st_dtype want = dtype_of<std::conditional_t<std::is_same<T, unsigned char>::value, bool, T>>::value;
    if (dtype(tensor) != want)
        throw error(ST_EINVAL, "swifttrain::to_vector: the element type does not match the tensor's dtype");
    std::vector<T> values(static_cast<size_t>(numel(tensor)));
    call(st_tensor_copy_to, static_cast<void *>(values.data()), values.size() * sizeof(T), tensor);
    return values;
}

/** Named tensors (state dicts, parameters) as (name, new handle) pairs, in order. */
inline std::vector<std::pair<std::string, tensor_ptr>> entries(ref<const st_named_tensors> list) {
    std::vector<std::pair<std::string, tensor_ptr>> out;
    const size_t count = st_named_tensors_count(list.get());
    out.reserve(count);
    for (size_t i = 0; i < count; i++) {
        const char *name = nullptr;
        st_tensor *tensor = nullptr;
        call(st_named_tensors_entry, &name, &tensor, list, i);
        out.emplace_back(name, tensor_ptr(tensor));
    }
    return out;
}

/** Metrics by name. */
typedef std::map<std::string, double> metrics_map;

inline metrics_map to_map(ref<const st_metrics> metrics) {
    metrics_map out;
    const size_t count = st_metrics_count(metrics.get());
    for (size_t i = 0; i < count; i++) {
        const char *name = nullptr;
        double value = 0;
        call(st_metrics_entry, &name, &value, metrics, i);
        out.emplace(name, value);
    }
    return out;
}

/** The value of `name` in the enum `kind` (st_enum_from_name): enum_from_name<st_optimizer>(
 *  "optimizer", "adamw_torch"). */
template <class E = int>
E enum_from_name(const char *kind, const char *name) {
    int value = 0;
    call(st_enum_from_name, &value, kind, name);
    return static_cast<E>(value);
}

/* ======================================================================================
 * Training arguments
 * ====================================================================================== */

/** st_training_args filled by st_training_args_init (the library's defaults). Fields are
 *  reached with -> (args->learning_rate = 1e-3) or set by their HF name. */
class training_args {
public:
    training_args() { call(st_training_args_init, &args_, static_cast<unsigned int>(ST_TRAINING_ARGS_VERSION)); }

    /** st_training_args_set: ("eval_strategy", "epoch"), ("optim", "adamw_torch"), ... */
    training_args &set(const char *name, const char *value) {
        call(st_training_args_set, &args_, name, value);
        return *this;
    }
    training_args &set(const std::string &name, const std::string &value) {
        return set(name.c_str(), value.c_str());
    }
    /** A number or bool, written as st_training_args_set parses it. */
    template <class T, class = std::enable_if_t<std::is_arithmetic<T>::value>>
    training_args &set(const std::string &name, T value) {
        return set_number(name.c_str(), value);
    }
    /** (also for a literal name: set("max_steps", 0) is a number, not a null string) */
    template <class T, class = std::enable_if_t<std::is_arithmetic<T>::value>>
    training_args &set(const char *name, T value) {
        return set_number(name, value);
    }

private:
    template <class T>
    training_args &set_number(const char *name, T value) {
        char text[64];
        if constexpr (std::is_same<T, bool>::value)
            std::snprintf(text, sizeof text, "%s", value ? "true" : "false");
        else if constexpr (std::is_floating_point<T>::value)
            std::snprintf(text, sizeof text, "%.17g", static_cast<double>(value));
        else if constexpr (std::is_signed<T>::value)
            std::snprintf(text, sizeof text, "%lld", static_cast<long long>(value));
        else
            std::snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(value));
        return set(name, static_cast<const char *>(text));
    }

public:

    /** st_training_args_validate. */
    void validate() const { call(st_training_args_validate, &args_); }

    st_training_args *operator->() noexcept { return &args_; }
    const st_training_args *operator->() const noexcept { return &args_; }
    st_training_args &raw() noexcept { return args_; }
    const st_training_args &raw() const noexcept { return args_; }
    const st_training_args *get() const noexcept { return &args_; }

private:
    st_training_args args_;
};

/* ======================================================================================
 * Batches and outputs (valid only during the callback that receives them)
 * ====================================================================================== */

/** A batch a forward or a compute-loss function reads. */
class batch_view {
public:
    explicit batch_view(const st_batch *batch) noexcept : batch_(batch) {}
    const st_batch *get() const noexcept { return batch_; }

    size_t count() const noexcept { return st_batch_count(batch_); }
    /** Entry `index`: its name and a new handle. */
    std::pair<std::string, tensor_ptr> entry(size_t index) const {
        const char *name = nullptr;
        st_tensor *tensor = nullptr;
        call(st_batch_entry, &name, &tensor, batch_, index);
        return {name, tensor_ptr(tensor)};
    }
    /** The tensor named `name` (ST_ENOTFOUND naming what the batch has). */
    tensor_ptr get(const char *name) const { return make(st_batch_get, batch_, name); }
    tensor_ptr get(const std::string &name) const { return get(name.c_str()); }
    /** Number of samples. */
    int64_t size() const {
        int64_t n = 0;
        call(st_batch_size, &n, batch_);
        return n;
    }
    /** HF's num_items_in_batch (0 outside training). */
    int64_t num_items() const {
        int64_t n = 0;
        call(st_batch_num_items, &n, batch_);
        return n;
    }

private:
    const st_batch *batch_;
};

/** The batch a data provider fills. */
class mutable_batch : public batch_view {
public:
    explicit mutable_batch(st_batch *batch) noexcept : batch_view(batch), batch_(batch) {}
    using batch_view::get;
    st_batch *get() const noexcept { return batch_; }

    /** Adds a copy of prod(shape) values of `dtype` from `data`. */
    void add(const char *name, const void *data, const std::vector<int64_t> &shape, st_dtype dtype) {
        call(st_batch_add, batch_, name, data, shape.data(), shape.size(), dtype);
    }
    /** Adds a copy of prod(shape) values of T (float, int64_t, bool). */
    template <class T>
    void add(const char *name, const T *data, const std::vector<int64_t> &shape) {
        add(name, static_cast<const void *>(data), shape, dtype_of<T>::value);
    }
    /** Adds a tensor (the batch keeps its own reference). */
    void add(const char *name, ref<st_tensor> tensor) { call(st_batch_add_tensor, batch_, name, tensor); }

private:
    st_batch *batch_;
};

/** The outputs a compute-loss function reads. */
class outputs_view {
public:
    explicit outputs_view(const st_outputs *outputs) noexcept : outputs_(outputs) {}
    const st_outputs *get() const noexcept { return outputs_; }

    size_t count() const noexcept { return st_outputs_count(outputs_); }
    std::pair<std::string, tensor_ptr> entry(size_t index) const {
        const char *name = nullptr;
        st_tensor *tensor = nullptr;
        call(st_outputs_entry, &name, &tensor, outputs_, index);
        return {name, tensor_ptr(tensor)};
    }
    /** The output named `name` (st_outputs_get's rules for "logits"). */
    tensor_ptr get(const char *name) const { return make(st_outputs_get, outputs_, name); }
    tensor_ptr get(const std::string &name) const { return get(name.c_str()); }

private:
    const st_outputs *outputs_;
};

/** The outputs a forward sets. */
class mutable_outputs : public outputs_view {
public:
    explicit mutable_outputs(st_outputs *outputs) noexcept : outputs_view(outputs), outputs_(outputs) {}
    using outputs_view::get;
    st_outputs *get() const noexcept { return outputs_; }

    /** Sets an output (the outputs keep their own reference). */
    void set(const char *name, ref<st_tensor> tensor) { call(st_outputs_set, outputs_, name, tensor); }
    void set(const std::string &name, ref<st_tensor> tensor) { set(name.c_str(), tensor); }

private:
    st_outputs *outputs_;
};

/* ======================================================================================
 * Models and datasets of your own: lambdas owned by the library object
 * ====================================================================================== */

/* The signatures of the lambdas (any callable that can be called so; it may be move-only, to
 * own the handles it uses: the library object owns it and destroys it with itself). */
/** A forward: sets outputs (at least "logits") from the batch. */
typedef void forward_signature(mutable_outputs &outputs, const batch_view &batch, bool training);
/** A map-style provider: fills the batch with samples indices[0..count), in that order. */
typedef void fetch_signature(mutable_batch &batch, const int64_t *indices, size_t count);
/** An iterable provider: fills batch `index` of `epoch` (at most batch_size samples) and
 *  returns true, or returns false at the end of the epoch. */
typedef bool next_batch_signature(mutable_batch &batch, int64_t epoch, int64_t index, int64_t batch_size);

namespace detail {

template <class F>
struct owned_callable {
    F fn;
    static void destroy(void *user_data) noexcept { delete static_cast<owned_callable *>(user_data); }
};

template <class F>
callback_result_t<st_forward_fn> forward_trampoline(st_outputs *outputs, const st_batch *batch, bool training,
                                                    void *user_data) noexcept {
    try {
        mutable_outputs out(outputs);
        const batch_view in(batch);
        static_cast<owned_callable<F> *>(user_data)->fn(out, in, training);
        return callback_return<st_forward_fn>(0);
    } catch (...) {
        capture_exception();
        return callback_return<st_forward_fn>(1);
    }
}

template <class F>
callback_result_t<st_fetch_fn> fetch_trampoline(st_batch *batch, const int64_t *indices, size_t count,
                                                void *user_data) noexcept {
    try {
        mutable_batch out(batch);
        static_cast<owned_callable<F> *>(user_data)->fn(out, indices, count);
        return callback_return<st_fetch_fn>(0);
    } catch (...) {
        capture_exception();
        return callback_return<st_fetch_fn>(1);
    }
}

template <class F>
callback_result_t<st_next_batch_fn> next_batch_trampoline(st_batch *batch, int64_t epoch, int64_t index,
                                                          int64_t batch_size, void *user_data) noexcept {
    try {
        mutable_batch out(batch);
        const bool more = static_cast<owned_callable<F> *>(user_data)->fn(out, epoch, index, batch_size);
        return callback_return<st_next_batch_fn>(more ? 0 : ST_DATA_END);
    } catch (...) {
        capture_exception();
        return callback_return<st_next_batch_fn>(-1);
    }
}

template <class F>
std::unique_ptr<owned_callable<std::decay_t<F>>> own(F &&fn) {
    return std::unique_ptr<owned_callable<std::decay_t<F>>>(
        new owned_callable<std::decay_t<F>>{std::forward<F>(fn)});
}

}  // namespace detail

/** st_module_create_custom with a lambda forward (forward_signature). The module owns the
 *  lambda and destroys it when the module's last reference goes, which may be at the free of
 *  a trainer using it. Declare parameters and children with swifttrain::call(
 *  st_module_add_child, model, "fc", child), ... A handle is dead once freed, even while the
 *  object lives on inside a parent: the lambda must own the handles it uses (capture a
 *  module_ptr by move, or a std::shared_ptr<st_module>). */
template <class F>
module_ptr make_custom_module(const char *type_name, F &&forward) {
    typedef std::decay_t<F> C;
    static_assert(std::is_invocable<C &, mutable_outputs &, const batch_view &, bool>::value,
                  "a forward is called as fn(swifttrain::mutable_outputs &, const swifttrain::batch_view &, bool)");
    auto owned = detail::own(std::forward<F>(forward));
    module_ptr module = make(st_module_create_custom, type_name, &detail::forward_trampoline<C>,
                             static_cast<void *>(owned.get()), &detail::owned_callable<C>::destroy);
    owned.release();  // the module frees it now (it does not when the call fails)
    return module;
}

/** st_dataset_create_indexed with a lambda provider (fetch_signature), owned by the dataset. */
template <class F>
dataset_ptr make_indexed_dataset(int64_t num_samples, F &&fetch) {
    typedef std::decay_t<F> C;
    static_assert(std::is_invocable<C &, mutable_batch &, const int64_t *, size_t>::value,
                  "a map-style provider is called as fn(swifttrain::mutable_batch &, const int64_t *, size_t)");
    auto owned = detail::own(std::forward<F>(fetch));
    dataset_ptr dataset = make(st_dataset_create_indexed, num_samples, &detail::fetch_trampoline<C>,
                               static_cast<void *>(owned.get()), &detail::owned_callable<C>::destroy);
    owned.release();
    return dataset;
}

/** st_dataset_create_stream with a lambda provider (next_batch_signature), owned by the dataset. */
template <class F>
dataset_ptr make_stream_dataset(F &&next) {
    typedef std::decay_t<F> C;
    static_assert(std::is_invocable_r<bool, C &, mutable_batch &, int64_t, int64_t, int64_t>::value,
                  "an iterable provider is called as bool fn(swifttrain::mutable_batch &, int64_t epoch, "
                  "int64_t index, int64_t batch_size)");
    auto owned = detail::own(std::forward<F>(next));
    dataset_ptr dataset = make(st_dataset_create_stream, &detail::next_batch_trampoline<C>,
                               static_cast<void *>(owned.get()), &detail::owned_callable<C>::destroy);
    owned.release();
    return dataset;
}

/* ======================================================================================
 * Trainer
 * ====================================================================================== */

/** A callback: called for the events of its mask. To stop gracefully set
 *  control.should_training_stop; to abort, throw (train() rethrows the exception). */
typedef std::function<void(st_event event, const st_trainer_state &state, st_trainer_control &control)> callback_fn;
/** Metrics a compute-metrics function adds to an evaluation, as (name, value) pairs. */
typedef std::vector<std::pair<std::string, double>> metric_list;
typedef std::function<metric_list(const st_eval_prediction &prediction)> compute_metrics_fn;
/** A compute-loss function: a new float32 scalar loss (see st_loss_fn for its scale). */
typedef std::function<tensor_ptr(const outputs_view &outputs, const batch_view &batch)> compute_loss_fn;

/** Identifies a callback for trainer::remove_callback. */
enum class callback_id : std::uintptr_t {};

/** What trainer::predict_tensors returns. */
struct prediction_output {
    tensor_ptr predictions;
    tensor_ptr labels;     /**< null without labels */
    metrics_map metrics;   /**< empty without labels */
};

/** An st_trainer and the lambdas registered on it, which it owns: they live until the trainer
 *  is destroyed (a removed or replaced one until the train, evaluate or predict call running
 *  it has returned). Movable, not copyable; not for two threads at once, except
 *  request_stop. */
class trainer {
public:
    /** st_trainer_create (the trainer keeps its own reference to the model). */
    trainer(ref<st_module> model, st_loss loss, const training_args &args)
        : handle_(make(st_trainer_create, model, loss, args)) {}

    trainer(trainer &&) noexcept = default;
    trainer &operator=(trainer &&other) noexcept {
        if (this != &other) {
            handle_ = std::move(other.handle_);  // the old C trainer goes before its lambdas
            owned_ = std::move(other.owned_);
            retired_ = std::move(other.retired_);
            metrics_ = std::move(other.metrics_);
            loss_ = std::move(other.loss_);
            depth_ = std::exchange(other.depth_, 0);
        }
        return *this;
    }

    st_trainer *get() const noexcept { return handle_.get(); }

    /** The datasets (the trainer keeps its own references). nullptr clears the evaluation set. */
    void set_train_dataset(ref<st_dataset> dataset) { call(st_trainer_set_train_dataset, handle_, dataset); }
    void set_eval_dataset(ref<st_dataset> dataset) { call(st_trainer_set_eval_dataset, handle_, dataset); }
    void add_eval_dataset(const std::string &name, ref<st_dataset> dataset) {
        call(st_trainer_add_eval_dataset, handle_, name.c_str(), dataset);
    }

    /** st_trainer_add_callback with a lambda, for the events of `event_mask`
     *  (ST_EVENT_MASK(e) bits). */
    callback_id add_callback(callback_fn callback, uint64_t event_mask = ST_EVENT_MASK_ALL) {
        auto owned = std::make_unique<callback_holder>(std::move(callback));
        owned_.reserve(owned_.size() + 1);  // no allocation may fail once the library holds it
        call(st_trainer_add_callback, handle_, &callback_holder::trampoline, static_cast<void *>(owned.get()),
             event_mask);
        const callback_id id = static_cast<callback_id>(reinterpret_cast<std::uintptr_t>(owned.get()));
        owned_.push_back(std::move(owned));
        return id;
    }

    /** st_trainer_remove_callback: from the next event on (a callback may remove itself). */
    void remove_callback(callback_id id) {
        void *user_data = reinterpret_cast<void *>(static_cast<std::uintptr_t>(id));
        call(st_trainer_remove_callback, handle_, &callback_holder::trampoline, user_data);
        for (auto it = owned_.begin(); it != owned_.end(); ++it)
            if (it->get() == user_data) {
                retire(std::move(*it));
                owned_.erase(it);
                break;
            }
    }

    /** st_trainer_set_compute_metrics with a lambda; an empty function removes it. */
    void set_compute_metrics(compute_metrics_fn compute_metrics) {
        std::unique_ptr<metrics_holder> owned;
        if (compute_metrics) owned = std::make_unique<metrics_holder>(std::move(compute_metrics));
        retired_.reserve(retired_.size() + 1);
        call(st_trainer_set_compute_metrics, handle_, owned ? &metrics_holder::trampoline : nullptr,
             static_cast<void *>(owned.get()));
        retire(std::move(metrics_));
        metrics_ = std::move(owned);
    }

    /** st_trainer_set_compute_loss with a lambda; an empty function removes it. */
    void set_compute_loss(compute_loss_fn compute_loss) {
        std::unique_ptr<loss_holder> owned;
        if (compute_loss) owned = std::make_unique<loss_holder>(std::move(compute_loss));
        retired_.reserve(retired_.size() + 1);
        call(st_trainer_set_compute_loss, handle_, owned ? &loss_holder::trampoline : nullptr,
             static_cast<void *>(owned.get()));
        retire(std::move(loss_));
        loss_ = std::move(owned);
    }

    /** st_trainer_add_callback_state: `save` returns the bytes to store in each checkpoint,
     *  `load` receives them back when a run resumes. */
    void add_callback_state(const std::string &name, std::function<std::string()> save,
                            std::function<void(std::string_view)> load) {
        auto owned = std::make_unique<state_holder>(std::move(save), std::move(load));
        owned_.reserve(owned_.size() + 1);
        call(st_trainer_add_callback_state, handle_, name.c_str(), &state_holder::save_trampoline,
             &state_holder::load_trampoline, static_cast<void *>(owned.get()));
        owned_.push_back(std::move(owned));
    }

    void add_metrics_logger(ref<st_metrics_logger> logger) { call(st_trainer_add_metrics_logger, handle_, logger); }
    void add_terminate_on_nan() { call(st_trainer_add_terminate_on_nan, handle_); }

    /** st_trainer_train: the final train metrics. Rethrows an exception a lambda threw. */
    metrics_map train() {
        running scope(*this);
        return to_map(make(st_trainer_train, handle_));
    }

    /** st_trainer_resume from the newest valid checkpoint in output_dir, or from `checkpoint`. */
    metrics_map resume() {
        running scope(*this);
        return to_map(make(st_trainer_resume, handle_, static_cast<const char *>(nullptr)));
    }
    metrics_map resume(const std::string &checkpoint) {
        running scope(*this);
        return to_map(make(st_trainer_resume, handle_, checkpoint.c_str()));
    }
    std::string resumed_from() const { return read_text(st_trainer_resumed_from, handle_.get()); }

    /** st_trainer_evaluate on every evaluation dataset, or on `dataset`, with an optional
     *  metric_key_prefix. */
    metrics_map evaluate() { return evaluate(nullptr); }
    metrics_map evaluate(ref<st_dataset> dataset) {
        running scope(*this);
        return to_map(make(st_trainer_evaluate, handle_, dataset));
    }
    metrics_map evaluate(ref<st_dataset> dataset, const std::string &metric_key_prefix) {
        running scope(*this);
        return to_map(make(st_trainer_evaluate_prefixed, handle_, dataset, metric_key_prefix.c_str()));
    }

    /** st_trainer_predict: the outputs, row-major [num_samples, num_outputs]; the test metrics
     *  into *metrics when it is not null (empty without labels). */
    std::vector<float> predict(ref<st_dataset> dataset, metrics_map *metrics = nullptr) {
        running scope(*this);
        int64_t samples = 0;
        call(st_dataset_num_samples, &samples, dataset);
        const int64_t outputs = num_outputs(dataset);
        std::vector<float> values(static_cast<size_t>(samples * outputs));
        st_metrics *raw = nullptr;
        call(st_trainer_predict, values.data(), values.size(), metrics ? &raw : nullptr, handle_, dataset);
        metrics_ptr owned(raw);
        if (metrics) *metrics = to_map(owned);
        return values;
    }

    /** st_trainer_predict_tensors: predictions and labels of any shape, and the test metrics. */
    prediction_output predict_tensors(ref<st_dataset> dataset) {
        running scope(*this);
        st_tensor *predictions = nullptr, *labels = nullptr;
        st_metrics *metrics = nullptr;
        detail::library_call guard;
        auto status = st_trainer_predict_tensors(&predictions, &labels, &metrics, handle_.get(), dataset.get());
        prediction_output out{tensor_ptr(predictions), tensor_ptr(labels), metrics_map()};
        metrics_ptr owned(metrics);
        guard.finish(static_cast<int>(status));
        out.metrics = to_map(owned);
        return out;
    }

    /** Outputs per sample of `dataset` (st_trainer_num_outputs). */
    int64_t num_outputs(ref<st_dataset> dataset) {
        int64_t n = 0;
        call(st_trainer_num_outputs, &n, handle_, dataset);
        return n;
    }

    /** The built-in loss of `logits` against `labels` (st_trainer_builtin_loss). */
    tensor_ptr builtin_loss(ref<const st_tensor> logits, ref<const st_tensor> labels) {
        return make(st_trainer_builtin_loss, handle_, logits, labels);
    }

    /** st_trainer_save_model to output_dir, or to `directory`. */
    void save_model() { call(st_trainer_save_model, handle_, static_cast<const char *>(nullptr)); }
    void save_model(const std::string &directory) { call(st_trainer_save_model, handle_, directory.c_str()); }

    /** st_trainer_get_state (metrics and best_model_checkpoint are null). */
    st_trainer_state state() const {
        st_trainer_state state{};
        state.struct_size = sizeof state;
        call(st_trainer_get_state, &state, handle_);
        return state;
    }

    /** HF's trainer_state.json (st_trainer_state_json). */
    std::string state_json() const { return read_text(st_trainer_state_json, handle_.get()); }

    /** HF's log_history: one map per entry, "step" included. */
    std::vector<metrics_map> log_history() const {
        size_t count = 0;
        call(st_trainer_log_history_count, &count, handle_);
        std::vector<metrics_map> history;
        history.reserve(count);
        for (size_t i = 0; i < count; i++)
            history.push_back(to_map(make(st_trainer_log_history_entry, handle_, i)));
        return history;
    }

    /** st_trainer_request_stop: stop gracefully at the end of the current step (with `save`, a
     *  checkpoint of it). Safe from any thread and from a signal handler, like the C
     *  function: it neither throws nor allocates. False when the trainer is gone. */
    bool request_stop(bool save) const noexcept {
        return static_cast<int>(st_trainer_request_stop(handle_.get(), save)) == ST_OK;
    }

private:
    struct holder {
        virtual ~holder() = default;
    };

    struct callback_holder : holder {
        explicit callback_holder(callback_fn f) : fn(std::move(f)) {}
        callback_fn fn;
        static detail::callback_result_t<st_callback_fn> trampoline(st_event event, const st_trainer_state *state,
                                                                     st_trainer_control *control,
                                                                     void *user_data) noexcept {
            try {
                static_cast<callback_holder *>(user_data)->fn(event, *state, *control);
                return detail::callback_return<st_callback_fn>(0);
            } catch (...) {
                detail::capture_exception();
                return detail::callback_return<st_callback_fn>(1);
            }
        }
    };

    struct metrics_holder : holder {
        explicit metrics_holder(compute_metrics_fn f) : fn(std::move(f)) {}
        compute_metrics_fn fn;
        metric_list last;  // the names must outlive the call
        static detail::callback_result_t<st_compute_metrics_fn> trampoline(st_metric_value *out, size_t capacity,
                                                                            size_t *out_count,
                                                                            const st_eval_prediction *prediction,
                                                                            void *user_data) noexcept {
            try {
                metrics_holder *self = static_cast<metrics_holder *>(user_data);
                self->last = self->fn(*prediction);
                if (self->last.size() > capacity)
                    throw error(ST_ESHAPE, "compute_metrics returned " + std::to_string(self->last.size()) +
                                               " metrics; at most " + std::to_string(capacity) + " fit");
                for (size_t i = 0; i < self->last.size(); i++) {
                    out[i].name = self->last[i].first.c_str();
                    out[i].value = self->last[i].second;
                }
                *out_count = self->last.size();
                return detail::callback_return<st_compute_metrics_fn>(0);
            } catch (...) {
                detail::capture_exception();
                return detail::callback_return<st_compute_metrics_fn>(1);
            }
        }
    };

    struct loss_holder : holder {
        explicit loss_holder(compute_loss_fn f) : fn(std::move(f)) {}
        compute_loss_fn fn;
        static detail::callback_result_t<st_loss_fn> trampoline(st_tensor **loss, const st_outputs *outputs,
                                                                 const st_batch *batch, void *user_data) noexcept {
            try {
                const outputs_view out(outputs);
                const batch_view in(batch);
                *loss = static_cast<loss_holder *>(user_data)->fn(out, in).release();
                return detail::callback_return<st_loss_fn>(0);
            } catch (...) {
                detail::capture_exception();
                return detail::callback_return<st_loss_fn>(1);
            }
        }
    };

    struct state_holder : holder {
        state_holder(std::function<std::string()> s, std::function<void(std::string_view)> l)
            : save(std::move(s)), load(std::move(l)) {}
        std::function<std::string()> save;
        std::function<void(std::string_view)> load;
        std::string bytes;  // the library copies them when save returns
        static detail::callback_result_t<st_state_save_fn> save_trampoline(void *user_data, const void **data,
                                                                            size_t *size) noexcept {
            try {
                state_holder *self = static_cast<state_holder *>(user_data);
                self->bytes = self->save();
                *data = self->bytes.data();
                *size = self->bytes.size();
                return detail::callback_return<st_state_save_fn>(0);
            } catch (...) {
                detail::capture_exception();
                return detail::callback_return<st_state_save_fn>(1);
            }
        }
        static detail::callback_result_t<st_state_load_fn> load_trampoline(void *user_data, const void *data,
                                                                            size_t size) noexcept {
            try {
                static_cast<state_holder *>(user_data)->load(std::string_view(static_cast<const char *>(data), size));
                return detail::callback_return<st_state_load_fn>(0);
            } catch (...) {
                detail::capture_exception();
                return detail::callback_return<st_state_load_fn>(1);
            }
        }
    };

    /* Marks a train/evaluate/predict call: lambdas removed or replaced meanwhile (possibly by
     * themselves) are destroyed when the outermost such call returns. */
    class running {
    public:
        explicit running(trainer &t) noexcept : t_(t) { t_.depth_++; }
        running(const running &) = delete;
        running &operator=(const running &) = delete;
        ~running() {
            if (--t_.depth_ == 0) t_.retired_.clear();
        }

    private:
        trainer &t_;
    };

    template <class H>
    void retire(std::unique_ptr<H> old) {
        if (old && depth_ > 0) retired_.push_back(std::move(old));
    }

    /* The buffer protocol of st_trainer_state_json and st_trainer_resumed_from. */
    template <class R>
    static std::string read_text(R (*fn)(char *, size_t, size_t *, const st_trainer *), const st_trainer *t) {
        size_t length = 0;
        {
            detail::library_call guard;
            const int status = static_cast<int>(fn(nullptr, 0, &length, t));
            guard.finish(status == ST_ESHAPE ? static_cast<int>(ST_OK) : status);
        }
        std::string text(length + 1, '\0');
        call(fn, &text[0], text.size(), &length, t);
        text.resize(length);
        return text;
    }

    /* Members are destroyed in reverse order: the C trainer first, then the lambdas it used. */
    std::vector<std::unique_ptr<holder>> owned_;
    std::vector<std::unique_ptr<holder>> retired_;
    std::unique_ptr<metrics_holder> metrics_;
    std::unique_ptr<loss_holder> loss_;
    int depth_ = 0;
    trainer_ptr handle_;
};

}  // namespace swifttrain

#endif /* SWIFTTRAIN_HPP */
