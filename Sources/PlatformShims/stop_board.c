/* The stop board: where st_trainer_request_stop leaves a request for a trainer, with no lock
 * and no allocation, so a signal handler may call it (a handle lookup takes a lock that the
 * interrupted thread may hold). A slot is a handle's id and the pending request; the trainer
 * takes the request at its next step end. */
#include "PlatformShims.h"

#include <stdatomic.h>

#define SLOTS 4096

static _Atomic uintptr_t keys[SLOTS];
static _Atomic int requests[SLOTS];
static _Atomic int overflowed;

int stx_stop_board_add(uintptr_t id)
{
    for (int i = 0; i < SLOTS; i++) {
        uintptr_t empty = 0;
        if (atomic_load_explicit(&keys[i], memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&keys[i], &empty, id)) {
            atomic_store(&requests[i], 0);
            return i;
        }
    }
    atomic_store(&overflowed, 1);
    return -1;
}

int stx_stop_board_overflowed(void)
{
    return atomic_load(&overflowed);
}

void stx_stop_board_remove(uintptr_t id)
{
    for (int i = 0; id != 0 && i < SLOTS; i++) {
        if (atomic_load(&keys[i]) == id) {
            atomic_store(&requests[i], 0);
            atomic_store(&keys[i], 0);
        }
    }
}

int stx_stop_board_request(uintptr_t id, int request)
{
    if (id == 0)
        return -1;
    for (int i = 0; i < SLOTS; i++) {
        if (atomic_load(&keys[i]) != id)
            continue;
        int seen = atomic_load(&requests[i]);
        while (seen < request && !atomic_compare_exchange_weak(&requests[i], &seen, request)) {
        }
        return 0;
    }
    return -1;
}

void stx_stop_board_clear(uintptr_t id)
{
    for (int i = 0; id != 0 && i < SLOTS; i++)
        if (atomic_load(&keys[i]) == id)
            atomic_store(&requests[i], 0);
}

int stx_stop_board_take(int slot)
{
    if (slot < 0 || slot >= SLOTS)
        return 0;
    return atomic_exchange(&requests[slot], 0);
}
