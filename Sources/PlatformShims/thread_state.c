/* Per-thread state of the core: the last error message, the autograd switch and the queue
 * that releases autograd graphs without recursion. Swift 6
 * has no thread-local variables on Linux, so they live here. */
#include "PlatformShims.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char *last_error;
static _Thread_local int grad_disabled;

void stx_set_last_error(const char *message) {
    size_t n = strlen(message);
    char *copy = malloc(n + 1);
    if (!copy) return; /* keep the previous message rather than lose both */
    memcpy(copy, message, n + 1);
    free(last_error);
    last_error = copy;
}

const char *stx_last_error(void) { return last_error ? last_error : ""; }

int stx_grad_enabled(void) { return !grad_disabled; }

void stx_set_grad_enabled(int enabled) { grad_disabled = !enabled; }

static pthread_key_t queue_key;
static int queue_key_ok;
static pthread_once_t queue_once = PTHREAD_ONCE_INIT;
static void (*queue_destroy)(void *);

static void destroy_queue(void *queue) {
    if (queue_destroy) queue_destroy(queue);
}

static void make_queue_key(void) { queue_key_ok = pthread_key_create(&queue_key, destroy_queue) == 0; }

void *stx_release_queue(void) {
    pthread_once(&queue_once, make_queue_key);
    return queue_key_ok ? pthread_getspecific(queue_key) : NULL;
}

int stx_set_release_queue(void *queue, void (*destroy)(void *)) {
    pthread_once(&queue_once, make_queue_key);
    if (!queue_key_ok) return -1;
    queue_destroy = destroy;
    return pthread_setspecific(queue_key, queue) == 0 ? 0 : -1;
}
