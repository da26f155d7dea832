/* Ctrl-C for the command line: the first SIGINT sets a flag the training loop polls (a
 * graceful stop that saves), and puts the previous action back, so a second Ctrl-C acts as
 * it did before (ends the process). Async-signal-safe: the handler writes a sig_atomic_t and
 * calls sigaction. Nested or concurrent runs share one installation (a count under a mutex:
 * installed by the first, the previous action restored by the last). A SIGINT the process
 * ignores (nohup, a background job) stays ignored. SA_RESTART keeps writes from failing with
 * EINTR. */
#define _POSIX_C_SOURCE 200809L
#include "PlatformShims.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t interrupted;
static struct sigaction previous;
static int installed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void on_interrupt(int signal_number)
{
    (void)signal_number;
    interrupted = 1;
    sigaction(SIGINT, &previous, NULL);
}

int stx_interrupt_install(void)
{
    int rc = 0;
    pthread_mutex_lock(&lock);
    if (installed++ == 0) {
        interrupted = 0;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_interrupt;
        action.sa_flags = SA_RESTART;
        sigemptyset(&action.sa_mask);
        rc = sigaction(SIGINT, NULL, &previous);
        if (rc == 0 && previous.sa_handler != SIG_IGN)
            rc = sigaction(SIGINT, &action, NULL);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void stx_interrupt_restore(void)
{
    pthread_mutex_lock(&lock);
    if (installed > 0 && --installed == 0)
        sigaction(SIGINT, &previous, NULL);
    pthread_mutex_unlock(&lock);
}

int stx_interrupted(void)
{
    return interrupted;
}
