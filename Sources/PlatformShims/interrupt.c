/* Ctrl-C for the command line: the first SIGINT sets a flag the training loop polls (a
 * graceful stop that saves), and puts the previous action back, so a second Ctrl-C acts as
 * it did before (ends the process). Async-signal-safe: the handler writes a sig_atomic_t and
 * calls sigaction. */
#define _POSIX_C_SOURCE 200809L
#include "PlatformShims.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t interrupted;
static struct sigaction previous;

static void on_interrupt(int signal_number)
{
    (void)signal_number;
    interrupted = 1;
    sigaction(SIGINT, &previous, NULL);
}

int stx_interrupt_install(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    interrupted = 0;
    return sigaction(SIGINT, &action, &previous);
}

void stx_interrupt_restore(void)
{
    sigaction(SIGINT, &previous, NULL);
}

int stx_interrupted(void)
{
    return interrupted;
}
