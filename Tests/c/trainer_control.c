/* Controlling a running training from outside its callbacks' return values, through the C
 * header only:
 *   - st_trainer_request_stop from a real SIGINT handler (installed with sigaction, the signal
 *     raised inside a callback at step K): training stops at the end of step K with ST_OK,
 *     TRAIN_END fires, checkpoint-K is written, and st_trainer_resume continues it to the
 *     final loss and weights of a run never interrupted, bit for bit;
 *   - st_trainer_request_stop from another thread while training runs, before a training (the
 *     next one stops after its first step), and a request no step acted on being dropped;
 *   - st_trainer_remove_callback: a removed callback no longer runs, removal during an event
 *     takes effect from the next event, every registration of a (function, user_data) pair
 *     goes and other pairs stay;
 *   - st_trainer_state.event_serial: every callback of one event sees the same non-zero
 *     number, and it increases from event to event.
 * The argument errors of both functions are in errors_trainer.c.
 *
 * Every case trains the small problem of check.h (Linear(4, 3) on 8 rows) in batches of 2 for
 * 3 epochs: 12 steps. */
#define _POSIX_C_SOURCE 200809L /* sigaction, pthreads */
#include "check.h"
#include "swifttrain.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TOTAL_STEPS 12
#define STOP_STEP 5
#define NUM_WEIGHTS (SMALL_FEATURES * SMALL_CLASSES + SMALL_CLASSES)

/* ---- a run ------------------------------------------------------------------------------- */

typedef struct run {
    st_module *model;
    st_dataset *data;
    st_trainer *trainer;
} run;

/* A trainer of a freshly seeded Linear(4, 3) on the small problem, 12 steps, checkpoints in
 * `output_dir` only when asked for (save_steps beyond the run) and at the last step. */
static int run_create(run *r, const char *output_dir) {
    st_training_args args;
    memset(r, 0, sizeof *r);
    st_manual_seed(3);
    return CHECK_OK(st_linear_create(&r->model, SMALL_FEATURES, SMALL_CLASSES, true)) &&
           CHECK_OK(st_dataset_create(&r->data, small_features, SMALL_ROWS, SMALL_FEATURES,
                                      small_labels, ST_DATA_COPY)) &&
           CHECK_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION)) &&
           CHECK_OK(st_training_args_set(&args, "per_device_train_batch_size", "2")) &&
           CHECK_OK(st_training_args_set(&args, "num_train_epochs", "3")) &&
           CHECK_OK(st_training_args_set(&args, "learning_rate", "0.1")) &&
           CHECK_OK(st_training_args_set(&args, "logging_steps", "1")) &&
           CHECK_OK(st_training_args_set(&args, "save_strategy", "steps")) &&
           CHECK_OK(st_training_args_set(&args, "save_steps", "1000")) &&
           CHECK_OK(st_training_args_set(&args, "output_dir", output_dir)) &&
           CHECK_OK(st_trainer_create(&r->trainer, r->model, ST_LOSS_CROSS_ENTROPY, &args)) &&
           CHECK_OK(st_trainer_set_train_dataset(r->trainer, r->data));
}

static void run_free(run *r) {
    st_trainer_free(r->trainer);
    st_dataset_free(r->data);
    st_module_free(r->model);
    memset(r, 0, sizeof *r);
}

/* The trainer's global step and last step loss (st_trainer_get_state). */
static int final_state(int64_t *step, double *loss, const st_trainer *trainer) {
    st_trainer_state state;
    memset(&state, 0, sizeof state);
    state.struct_size = sizeof state;
    if (!CHECK_OK(st_trainer_get_state(&state, trainer))) return 0;
    *step = state.global_step;
    *loss = state.loss;
    return 1;
}

/* The model's weights and bias in state-dict order. */
static int read_weights(float out[NUM_WEIGHTS], const st_module *model) {
    return read_module_weights(out, NUM_WEIGHTS, model);
}

/* ---- what a run's callback saw ------------------------------------------------------------ */

typedef struct seen {
    int steps_begun;              /* STEP_BEGIN events */
    int steps_ended;              /* STEP_END events */
    int train_ends;               /* TRAIN_END events */
    int saves;                    /* SAVE events */
    int64_t last_step_end;        /* global_step at the last STEP_END */
    int64_t raise_at_step_begin;  /* raise(SIGINT) at the STEP_BEGIN of this step (0: never) */
    bool request_at_train_end;    /* st_trainer_request_stop from TRAIN_END */
    st_trainer *trainer;
} seen;

/* ---- SIGINT ------------------------------------------------------------------------------ */

static st_trainer *volatile sigint_trainer;
static volatile sig_atomic_t sigint_count;
static volatile sig_atomic_t sigint_status = 1; /* not a status: the handler never ran */

/* What a program's Ctrl-C handler does: nothing but the async-signal-safe request. */
static void on_sigint(int signal_number) {
    (void)signal_number;
    sigint_status = st_trainer_request_stop(sigint_trainer, true);
    sigint_count++;
}

static int recording(st_event event, const st_trainer_state *state, st_trainer_control *control,
                     void *user_data) {
    seen *s = (seen *)user_data;
    (void)control;
    switch (event) {
    case ST_EVENT_STEP_BEGIN:
        s->steps_begun++;
        /* global_step counts the updates done: step K begins with K - 1 done. */
        if (s->raise_at_step_begin && state->global_step == s->raise_at_step_begin - 1)
            raise(SIGINT); /* the handler runs before raise returns */
        break;
    case ST_EVENT_STEP_END:
        s->steps_ended++;
        s->last_step_end = state->global_step;
        break;
    case ST_EVENT_TRAIN_END:
        s->train_ends++;
        if (s->request_at_train_end) CHECK_OK(st_trainer_request_stop(s->trainer, true));
        break;
    case ST_EVENT_SAVE:
        s->saves++;
        break;
    default:
        break;
    }
    return 0;
}

static int checkpoint_exists(const char *output_dir, int64_t step) {
    char path[512];
    snprintf(path, sizeof path, "%s/checkpoint-%lld", output_dir, (long long)step);
    return is_directory(path);
}

/* SIGINT at step 5 of 12: the handler's st_trainer_request_stop(trainer, true) ends training
 * at the end of step 5 with ST_OK and TRAIN_END, leaving checkpoint-5; resuming it in a new
 * trainer ends with the loss and weights of the uninterrupted run. */
static void test_sigint_handler_stops_and_saves(void) {
    char dir[64] = "", reference_dir[128], run_dir[128], checkpoint[256];
    run reference, interrupted, resumed;
    seen s;
    struct sigaction action, previous;
    int installed = 0, rc;
    int64_t step = 0, reference_step = 0;
    double loss = 0, reference_loss = 0;
    float reference_weights[NUM_WEIGHTS], weights[NUM_WEIGHTS];
    memset(&reference, 0, sizeof reference);
    memset(&interrupted, 0, sizeof interrupted);
    memset(&resumed, 0, sizeof resumed);
    REQUIRE(make_temp_dir(dir, sizeof dir, "sigint"), "a temporary directory");
    snprintf(reference_dir, sizeof reference_dir, "%s/reference", dir);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);

    /* The run never interrupted. */
    REQUIRE(run_create(&reference, reference_dir), "reference trainer");
    REQUIRE_OK(st_trainer_train(NULL, reference.trainer));
    REQUIRE(final_state(&reference_step, &reference_loss, reference.trainer) &&
                read_weights(reference_weights, reference.model),
            "reference state");
    CHECK(reference_step == TOTAL_STEPS, "the reference run did %lld steps",
          (long long)reference_step);

    /* The run interrupted by SIGINT. */
    REQUIRE(run_create(&interrupted, run_dir), "interrupted trainer");
    memset(&s, 0, sizeof s);
    s.raise_at_step_begin = STOP_STEP;
    REQUIRE_OK(st_trainer_add_callback(interrupted.trainer, recording, &s, ST_EVENT_MASK_ALL));
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    sigint_trainer = interrupted.trainer;
    REQUIRE(sigaction(SIGINT, &action, &previous) == 0, "sigaction");
    installed = 1;
    rc = st_trainer_train(NULL, interrupted.trainer);
    sigaction(SIGINT, &previous, NULL);
    installed = 0;
    CHECK(sigint_count == 1 && sigint_status == ST_OK,
          "the handler ran %d time(s); st_trainer_request_stop returned %d", (int)sigint_count,
          (int)sigint_status);
    CHECK_OK(rc);
    CHECK(s.last_step_end == STOP_STEP && s.steps_begun == STOP_STEP && s.steps_ended == STOP_STEP,
          "training stopped at the end of step %d: %d steps begun, %d ended, the last at step %lld",
          STOP_STEP, s.steps_begun, s.steps_ended, (long long)s.last_step_end);
    CHECK(s.train_ends == 1, "TRAIN_END fired %d times", s.train_ends);
    CHECK(s.saves == 1, "SAVE fired %d times", s.saves);
    REQUIRE(final_state(&step, &loss, interrupted.trainer), "state");
    CHECK(step == STOP_STEP, "global_step is %lld after the stop", (long long)step);
    CHECK(checkpoint_exists(run_dir, STOP_STEP), "%s/checkpoint-%d exists", run_dir, STOP_STEP);
    CHECK(!checkpoint_exists(run_dir, TOTAL_STEPS), "no checkpoint-%d in %s", TOTAL_STEPS, run_dir);

    /* Resumed in a new trainer (a new model from another seed: the checkpoint restores it). */
    run_free(&interrupted);
    REQUIRE(run_create(&resumed, run_dir), "resumed trainer");
    snprintf(checkpoint, sizeof checkpoint, "%s/checkpoint-%d", run_dir, STOP_STEP);
    REQUIRE_OK(st_trainer_resume(NULL, resumed.trainer, checkpoint));
    REQUIRE(final_state(&step, &loss, resumed.trainer) && read_weights(weights, resumed.model),
            "resumed state");
    CHECK(step == TOTAL_STEPS, "the resumed run ended at step %lld", (long long)step);
    CHECK(loss == reference_loss, "final loss %.9g, uninterrupted %.9g", loss, reference_loss);
    CHECK(memcmp(weights, reference_weights, sizeof weights) == 0,
          "the resumed weights equal the uninterrupted run's bit for bit");
done:
    if (installed) sigaction(SIGINT, &previous, NULL);
    run_free(&reference);
    run_free(&interrupted);
    run_free(&resumed);
    if (dir[0]) remove_tree(dir);
}

/* ---- another thread ---------------------------------------------------------------------- */

/* The training thread waits in STEP_BEGIN of step 5 until the other thread has asked for the
 * stop, so the request arrives while step 5 runs, whatever the scheduling. */
typedef struct handshake {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int at_step;    /* set by the training thread */
    int requested;  /* set by the other thread */
    int status;     /* what st_trainer_request_stop returned there */
    st_trainer *trainer;
    seen seen;
} handshake;

static int wait_for_request(st_event event, const st_trainer_state *state,
                            st_trainer_control *control, void *user_data) {
    handshake *h = (handshake *)user_data;
    recording(event, state, control, &h->seen);
    if (event == ST_EVENT_STEP_BEGIN && state->global_step == STOP_STEP - 1) {
        pthread_mutex_lock(&h->lock);
        h->at_step = STOP_STEP;
        pthread_cond_broadcast(&h->changed);
        while (!h->requested) pthread_cond_wait(&h->changed, &h->lock);
        pthread_mutex_unlock(&h->lock);
    }
    return 0;
}

static void *request_from_thread(void *arg) {
    handshake *h = (handshake *)arg;
    pthread_mutex_lock(&h->lock);
    while (!h->at_step) pthread_cond_wait(&h->changed, &h->lock);
    pthread_mutex_unlock(&h->lock);
    h->status = st_trainer_request_stop(h->trainer, false);
    pthread_mutex_lock(&h->lock);
    h->requested = 1;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

static void test_request_from_another_thread(void) {
    char dir[64] = "";
    run r;
    handshake h;
    pthread_t thread;
    int started = 0, rc;
    int64_t step = 0;
    double loss = 0;
    memset(&r, 0, sizeof r);
    memset(&h, 0, sizeof h);
    pthread_mutex_init(&h.lock, NULL);
    pthread_cond_init(&h.changed, NULL);
    h.status = 1;
    REQUIRE(make_temp_dir(dir, sizeof dir, "thread"), "a temporary directory");
    REQUIRE(run_create(&r, dir), "trainer");
    h.trainer = r.trainer;
    REQUIRE_OK(st_trainer_add_callback(r.trainer, wait_for_request, &h, ST_EVENT_MASK_ALL));
    REQUIRE(pthread_create(&thread, NULL, request_from_thread, &h) == 0, "pthread_create");
    started = 1;
    rc = st_trainer_train(NULL, r.trainer);
    pthread_join(thread, NULL);
    started = 0;
    CHECK(h.status == ST_OK, "st_trainer_request_stop from the thread returned %d", h.status);
    CHECK_OK(rc);
    CHECK(h.seen.last_step_end == STOP_STEP && h.seen.steps_begun == STOP_STEP,
          "training stopped at the end of step %d: %d steps begun, the last ended at %lld",
          STOP_STEP, h.seen.steps_begun, (long long)h.seen.last_step_end);
    CHECK(h.seen.train_ends == 1, "TRAIN_END fired %d times", h.seen.train_ends);
    if (final_state(&step, &loss, r.trainer))
        CHECK(step == STOP_STEP, "global_step is %lld after the stop", (long long)step);
    /* save = false: the stop writes no checkpoint (none was due). */
    CHECK(h.seen.saves == 0 && !checkpoint_exists(dir, STOP_STEP),
          "a stop without save wrote a checkpoint (%d SAVE events)", h.seen.saves);
done:
    if (started) {
        /* (only when the trainer failed before training: release the thread) */
        pthread_mutex_lock(&h.lock);
        h.requested = h.at_step = 1;
        pthread_cond_broadcast(&h.changed);
        pthread_mutex_unlock(&h.lock);
        pthread_join(thread, NULL);
    }
    run_free(&r);
    pthread_cond_destroy(&h.changed);
    pthread_mutex_destroy(&h.lock);
    if (dir[0]) remove_tree(dir);
}

/* A request while no training runs stops the next one after its first step; the one after
 * that runs in full. */
static void test_request_before_training(void) {
    char dir[64] = "";
    run r;
    seen s;
    memset(&r, 0, sizeof r);
    memset(&s, 0, sizeof s);
    REQUIRE(make_temp_dir(dir, sizeof dir, "before"), "a temporary directory");
    REQUIRE(run_create(&r, dir), "trainer");
    REQUIRE_OK(st_trainer_add_callback(r.trainer, recording, &s, ST_EVENT_MASK_ALL));
    CHECK_OK(st_trainer_request_stop(r.trainer, false));
    CHECK_OK(st_trainer_train(NULL, r.trainer));
    CHECK(s.steps_ended == 1 && s.last_step_end == 1 && s.train_ends == 1,
          "the first training stopped after step 1: %d steps ended, %d TRAIN_END", s.steps_ended,
          s.train_ends);
    memset(&s, 0, sizeof s);
    CHECK_OK(st_trainer_train(NULL, r.trainer));
    CHECK(s.steps_ended == TOTAL_STEPS, "the next training ran %d of %d steps", s.steps_ended,
          TOTAL_STEPS);
done:
    run_free(&r);
    if (dir[0]) remove_tree(dir);
}

/* A request made after the last step (in TRAIN_END) is acted on by no step: it is dropped when
 * st_trainer_train returns, and the next training runs in full. */
static void test_request_no_step_acted_on_is_dropped(void) {
    char dir[64] = "";
    run r;
    seen s;
    memset(&r, 0, sizeof r);
    memset(&s, 0, sizeof s);
    REQUIRE(make_temp_dir(dir, sizeof dir, "dropped"), "a temporary directory");
    REQUIRE(run_create(&r, dir), "trainer");
    s.trainer = r.trainer;
    s.request_at_train_end = true;
    REQUIRE_OK(st_trainer_add_callback(r.trainer, recording, &s, ST_EVENT_MASK_ALL));
    CHECK_OK(st_trainer_train(NULL, r.trainer));
    CHECK(s.steps_ended == TOTAL_STEPS && s.train_ends == 1, "the first training ran %d steps",
          s.steps_ended);
    memset(&s, 0, sizeof s);
    CHECK_OK(st_trainer_train(NULL, r.trainer));
    CHECK(s.steps_ended == TOTAL_STEPS,
          "the request made in the previous TRAIN_END was not dropped: the next training ran %d "
          "of %d steps", s.steps_ended, TOTAL_STEPS);
done:
    run_free(&r);
    if (dir[0]) remove_tree(dir);
}

/* ---- st_trainer_remove_callback ----------------------------------------------------------- */

typedef struct counter {
    int events;
    uint64_t last_serial;
} counter;

static int counting(st_event event, const st_trainer_state *state, st_trainer_control *control,
                    void *user_data) {
    counter *c = (counter *)user_data;
    (void)event;
    (void)control;
    c->events++;
    c->last_serial = state->event_serial;
    return 0;
}

/* Removing (counting, &a) stops both of its registrations and leaves (counting, &b). */
static void test_removed_callback_no_longer_runs(void) {
    char dir[64] = "";
    run r;
    counter a = {0, 0}, b = {0, 0};
    memset(&r, 0, sizeof r);
    REQUIRE(make_temp_dir(dir, sizeof dir, "remove"), "a temporary directory");
    REQUIRE(run_create(&r, dir), "trainer");
    REQUIRE_OK(st_trainer_add_callback(r.trainer, counting, &a, ST_EVENT_MASK(ST_EVENT_STEP_END)));
    REQUIRE_OK(st_trainer_add_callback(r.trainer, counting, &a, ST_EVENT_MASK(ST_EVENT_STEP_END)));
    REQUIRE_OK(st_trainer_add_callback(r.trainer, counting, &b, ST_EVENT_MASK(ST_EVENT_STEP_END)));
    REQUIRE_OK(st_trainer_train(NULL, r.trainer));
    CHECK(a.events == 2 * TOTAL_STEPS && b.events == TOTAL_STEPS,
          "before removal: a saw %d events (twice registered), b %d", a.events, b.events);
    CHECK_OK(st_trainer_remove_callback(r.trainer, counting, &a));
    CHECK_ERROR(st_trainer_remove_callback(r.trainer, counting, &a), ST_ENOTFOUND, "callback");
    a.events = b.events = 0;
    REQUIRE_OK(st_trainer_train(NULL, r.trainer));
    CHECK(a.events == 0, "a removed callback ran %d times", a.events);
    CHECK(b.events == TOTAL_STEPS, "the callback left registered ran %d times", b.events);
done:
    run_free(&r);
    if (dir[0]) remove_tree(dir);
}

/* The remover removes the victim, and itself, at the STEP_END of step 2: both still see that
 * event (all callbacks of an event are chosen before the first runs) and none after it. */
typedef struct remover {
    st_trainer *trainer;
    counter *victim;
    counter self;
    uint64_t removal_serial;
    int removals_ok;
} remover;

static int removing(st_event event, const st_trainer_state *state, st_trainer_control *control,
                    void *user_data) {
    remover *r = (remover *)user_data;
    counting(event, state, control, &r->self);
    if (event == ST_EVENT_STEP_END && state->global_step == 2) {
        r->removal_serial = state->event_serial;
        r->removals_ok = st_trainer_remove_callback(r->trainer, counting, r->victim) == ST_OK &&
                         st_trainer_remove_callback(r->trainer, removing, r) == ST_OK;
    }
    return 0;
}

static void test_remove_during_event(void) {
    char dir[64] = "";
    run r;
    counter victim = {0, 0};
    remover rm;
    memset(&r, 0, sizeof r);
    memset(&rm, 0, sizeof rm);
    REQUIRE(make_temp_dir(dir, sizeof dir, "during"), "a temporary directory");
    REQUIRE(run_create(&r, dir), "trainer");
    rm.trainer = r.trainer;
    rm.victim = &victim;
    /* registered before the victim: the victim runs after the removal in the same event */
    REQUIRE_OK(st_trainer_add_callback(r.trainer, removing, &rm, ST_EVENT_MASK_ALL));
    REQUIRE_OK(st_trainer_add_callback(r.trainer, counting, &victim, ST_EVENT_MASK_ALL));
    REQUIRE_OK(st_trainer_train(NULL, r.trainer));
    CHECK(rm.removals_ok, "removing both callbacks during STEP_END failed: %s",
          st_last_error_message());
    CHECK(rm.removal_serial != 0, "the removal happened");
    CHECK(victim.last_serial == rm.removal_serial,
          "the victim's last event is %llu, the removal's %llu: it must see that event, no later",
          (unsigned long long)victim.last_serial, (unsigned long long)rm.removal_serial);
    CHECK(rm.self.last_serial == rm.removal_serial,
          "the remover's last event is %llu, its removal's %llu",
          (unsigned long long)rm.self.last_serial, (unsigned long long)rm.removal_serial);
done:
    run_free(&r);
    if (dir[0]) remove_tree(dir);
}

/* ---- st_trainer_state.event_serial -------------------------------------------------------- */

#define MAX_SERIALS 4096

typedef struct serials {
    size_t count;
    uint64_t values[MAX_SERIALS];
    st_event events[MAX_SERIALS];
    int too_small; /* struct_size does not reach event_serial */
} serials;

static int recording_serials(st_event event, const st_trainer_state *state,
                             st_trainer_control *control, void *user_data) {
    serials *s = (serials *)user_data;
    (void)control;
    if (state->struct_size < offsetof(st_trainer_state,
                                      event_serial) + sizeof state->event_serial) {
        s->too_small = 1;
        return 0;
    }
    if (s->count < MAX_SERIALS) {
        s->values[s->count] = state->event_serial;
        s->events[s->count] = event;
        s->count++;
    }
    return 0;
}

/* Two callbacks on every event see the same serial per event; serials are non-zero and
 * increase from event to event, across trainings too; st_trainer_get_state gives 0. */
static serials first, second;

static void test_event_serial(void) {
    char dir[64] = "";
    run r;
    size_t i, first_run;
    st_trainer_state state;
    memset(&r, 0, sizeof r);
    memset(&first, 0, sizeof first);
    memset(&second, 0, sizeof second);
    REQUIRE(make_temp_dir(dir, sizeof dir, "serial"), "a temporary directory");
    REQUIRE(run_create(&r, dir), "trainer");
    REQUIRE_OK(st_trainer_add_callback(r.trainer, recording_serials, &first, ST_EVENT_MASK_ALL));
    REQUIRE_OK(st_trainer_add_callback(r.trainer, recording_serials, &second, ST_EVENT_MASK_ALL));
    REQUIRE_OK(st_trainer_train(NULL, r.trainer));
    first_run = first.count;
    REQUIRE_OK(st_trainer_train(NULL, r.trainer));
    REQUIRE(!first.too_small && !second.too_small, "st_trainer_state reaches event_serial");
    REQUIRE(first.count > 2 * TOTAL_STEPS && first.count < MAX_SERIALS,
            "the callbacks saw %zu events", first.count);
    REQUIRE(second.count == first.count, "both callbacks saw every event: %zu and %zu", first.count,
            second.count);
    for (i = 0; i < first.count; i++) {
        if (!CHECK(first.values[i] == second.values[i] && first.events[i] == second.events[i],
                   "event %zu (%s): the callbacks saw serials %llu and %llu", i,
                   st_event_name(first.events[i]), (unsigned long long)first.values[i],
                   (unsigned long long)second.values[i]) ||
            !CHECK(first.values[i] != 0, "event %zu (%s) has serial 0", i,
                   st_event_name(first.events[i])) ||
            !CHECK(i == 0 || first.values[i] > first.values[i - 1],
                   "event %zu (%s%s) has serial %llu, not more than the previous event's %llu", i,
                   st_event_name(first.events[i]),
                   i == first_run ? ", the second training's first" : "",
                   (unsigned long long)first.values[i],
                   (unsigned long long)first.values[i ? i - 1 : 0]))
            break;
    }
    memset(&state, 0xff, sizeof state);
    state.struct_size = sizeof state;
    REQUIRE_OK(st_trainer_get_state(&state, r.trainer));
    CHECK(state.event_serial == 0, "st_trainer_get_state gave event_serial %llu",
          (unsigned long long)state.event_serial);
done:
    run_free(&r);
    if (dir[0]) remove_tree(dir);
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"sigint_handler_stops_and_saves", test_sigint_handler_stops_and_saves},
        {"request_from_another_thread", test_request_from_another_thread},
        {"request_before_training", test_request_before_training},
        {"request_no_step_acted_on_is_dropped", test_request_no_step_acted_on_is_dropped},
        {"removed_callback_no_longer_runs", test_removed_callback_no_longer_runs},
        {"remove_during_event", test_remove_during_event},
        {"event_serial", test_event_serial},
    };
    /* A stop that is never acted on would hang the thread case: fail instead. */
    if (argc == 2) fail_if_hung(120);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
