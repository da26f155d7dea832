/* Per-thread state of the core: the last error message and the autograd switch. Swift 6
 * has no thread-local variables on Linux, so they live here. */
#include "_CSupport.h"

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
