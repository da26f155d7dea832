/* Counts heap allocations, for swifttrain-bench PHASES (allocations per training step):
 *
 *   cc -O2 -shared -fPIC -o /tmp/alloc_count.so bench/alloc_count.c -ldl
 *   LD_PRELOAD=/tmp/alloc_count.so .build/release/swifttrain-bench PHASES
 *
 * malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign are counted and passed
 * to the C library's (found with dlsym(RTLD_NEXT)); the bench reads the count through
 * alloc_count_get (found with dlsym(RTLD_DEFAULT)). Not part of the library or its tests. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

static uint64_t count;

uint64_t alloc_count_get(void) { return __atomic_load_n(&count, __ATOMIC_RELAXED); }

static void counted(void) { __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED); }

/* dlsym may call calloc itself: a small static arena serves those first calls. */
static char arena[4096];
static size_t arena_used;
static int resolving;

static void *next(const char *name)
{
    resolving = 1;
    void *f = dlsym(RTLD_NEXT, name);
    resolving = 0;
    return f;
}

void *malloc(size_t n)
{
    static void *(*real)(size_t);
    if (!real) real = next("malloc");
    counted();
    return real(n);
}

void *calloc(size_t k, size_t n)
{
    static void *(*real)(size_t, size_t);
    if (!real) {
        if (resolving) {
            void *p = arena + arena_used;
            arena_used += (k * n + 15) & ~(size_t)15;
            return arena_used <= sizeof arena ? p : NULL;
        }
        real = next("calloc");
    }
    counted();
    return real(k, n);
}

void *realloc(void *p, size_t n)
{
    static void *(*real)(void *, size_t);
    if (!real) real = next("realloc");
    counted();
    return real(p, n);
}

int posix_memalign(void **out, size_t alignment, size_t n)
{
    static int (*real)(void **, size_t, size_t);
    if (!real) real = next("posix_memalign");
    counted();
    return real(out, alignment, n);
}

void *aligned_alloc(size_t alignment, size_t n)
{
    static void *(*real)(size_t, size_t);
    if (!real) real = next("aligned_alloc");
    counted();
    return real(alignment, n);
}

void free(void *p)
{
    static void (*real)(void *);
    if ((char *)p >= arena && (char *)p < arena + sizeof arena) return;
    if (!real) real = next("free");
    real(p);
}
