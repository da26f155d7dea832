/* Loads OpenBLAS at run time so that swifttrain can choose its core type first.
 *
 * OpenBLAS reads OPENBLAS_CORETYPE once, when it is loaded. Debian's OpenBLAS 0.3.21 does
 * not know recent CPUs and falls back to "Prescott" kernels, about 5x slower than the
 * SkylakeX kernels the CPU can run. A library linked against OpenBLAS cannot fix that after
 * the fact, so swifttrain does not link it: on first use it picks the core type from CPUID
 * (unless the user set OPENBLAS_CORETYPE), sets the variable, dlopen()s OpenBLAS, and
 * restores the environment as it found it.
 *
 * Which OpenBLAS: the file SWIFTTRAIN_OPENBLAS names when it is set (and then only that one),
 * else the system's libopenblas.so.0 (Debian, Ubuntu, Arch), libopenblasp.so.0 (Fedora's
 * pthreads build) or libopenblas.so, else the scipy-openblas32 wheel's copy when that Python
 * package is installed beside this library (site-packages/swifttrain/libswifttrain.so.0 and
 * site-packages/scipy_openblas32/lib/). The system's comes first: on a machine whose CPUs
 * are shared, the wheel's OpenBLAS 0.3.34 ran W1 several times slower with 2 threads
 * (docs/packaging.md). Builds that prefix their symbols (the wheel's "scipy_cblas_sgemm")
 * are recognised by their cblas_sgemm's name. */
#define _GNU_SOURCE
#include "PlatformShims.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

enum { CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef char *(*string_fn)(void);
typedef void (*set_threads_fn)(int);

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_status = -1;
static char load_error[1024] = "";
static char symbol_prefix[16] = "";
static char chosen_coretype[32] = "";
static sgemm_fn p_sgemm;
static string_fn p_corename;
static string_fn p_config;
static set_threads_fn p_set_threads;
static void apply_num_threads(int at_load);

/* The OpenBLAS core type this CPU can run fastest, or NULL to let OpenBLAS decide. */
static const char *coretype_for_this_cpu(void) {
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return NULL;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx) return NULL;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0x6) != 0x6) return NULL; /* the OS does not save YMM state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return NULL;
    int avx2 = (b >> 5) & 1;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 28) & 1) && ((b >> 30) & 1) &&
                 ((b >> 31) & 1); /* F, DQ, CD, BW, VL */
    if (avx512 && (xcr0_lo & 0xe6) == 0xe6) return "SkylakeX";
    if (avx2 && fma) return "Haswell";
#endif
    return NULL;
}

/* What to do when no OpenBLAS loads, for every common way of installing it. */
#define INSTALL_HINT                                                                           \
    "install OpenBLAS: Debian/Ubuntu: apt-get install libopenblas0-pthread; Fedora/RHEL: "    \
    "dnf install openblas-threads; Alpine: apk add openblas; Arch: pacman -S openblas; "      \
    "conda: conda install -c conda-forge libopenblas (then set SWIFTTRAIN_OPENBLAS="          \
    "$CONDA_PREFIX/lib/libopenblas.so.0); without root: pip install scipy-openblas32 (found "  \
    "beside the swifttrain package), or set SWIFTTRAIN_OPENBLAS to any OpenBLAS library file"

/* `name` with the library's symbol prefix (see symbol_prefix). */
static void *openblas_symbol(void *handle, const char *name) {
    char full[96];
    snprintf(full, sizeof full, "%s%s", symbol_prefix, name);
    return dlsym(handle, full);
}

/* dlopen()s the library SWIFTTRAIN_OPENBLAS names, else the first system name that loads,
 * else the scipy-openblas32 wheel's beside this library; NULL with load_error set when none
 * does. */
static void *open_openblas(void) {
    const char *wanted = getenv("SWIFTTRAIN_OPENBLAS");
    if (wanted && *wanted) {
        void *handle = dlopen(wanted, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char *why = dlerror();
            snprintf(load_error, sizeof load_error,
                     "could not load the OpenBLAS that SWIFTTRAIN_OPENBLAS names (%s): %s; point "
                     "it at an OpenBLAS library file, or unset it to use the system's",
                     wanted, why ? why : "not found");
        }
        return handle;
    }
    const char *names[] = {"libopenblas.so.0", "libopenblasp.so.0", "libopenblas.so"};
    char why[320] = "libopenblas.so.0 not found"; /* what the first, usual name gave */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (handle) return handle;
        const char *error = dlerror();
        if (i == 0 && error) snprintf(why, sizeof why, "%s", error);
    }
    Dl_info self;
    char wheel[4096];
    if (dladdr((void *)stx_blas_load, &self) && self.dli_fname && strrchr(self.dli_fname, '/')) {
        int directory = (int)(strrchr(self.dli_fname, '/') - self.dli_fname);
        snprintf(wheel, sizeof wheel, "%.*s/../scipy_openblas32/lib/libscipy_openblas.so",
                 directory, self.dli_fname);
        void *handle = dlopen(wheel, RTLD_NOW | RTLD_LOCAL);
        if (handle) return handle;
    }
    snprintf(load_error, sizeof load_error, "could not load OpenBLAS (%s); " INSTALL_HINT, why);
    return NULL;
}

static void load_openblas(void) {
    const char *user = getenv("OPENBLAS_CORETYPE");
    const char *choice = (user && *user) ? NULL : coretype_for_this_cpu();
    if (choice) {
        snprintf(chosen_coretype, sizeof chosen_coretype, "%s", choice);
        setenv("OPENBLAS_CORETYPE", choice, 1);
    }
    void *handle = open_openblas();
    if (choice) unsetenv("OPENBLAS_CORETYPE");
    if (!handle) return;
    const char *prefixes[] = {"", "scipy_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0] && !p_sgemm; i++) {
        snprintf(symbol_prefix, sizeof symbol_prefix, "%s", prefixes[i]);
        p_sgemm = (sgemm_fn)openblas_symbol(handle, "cblas_sgemm");
    }
    if (!p_sgemm) {
        snprintf(load_error, sizeof load_error,
                 "the loaded OpenBLAS has no cblas_sgemm (nor scipy_cblas_sgemm); " INSTALL_HINT);
        return;
    }
    p_corename = (string_fn)openblas_symbol(handle, "openblas_get_corename");
    p_config = (string_fn)openblas_symbol(handle, "openblas_get_config");
    p_set_threads = (set_threads_fn)openblas_symbol(handle, "openblas_set_num_threads");
    apply_num_threads(1);
    load_status = 0;
}

int stx_blas_load(void) {
    pthread_once(&load_once, load_openblas);
    return load_status;
}

const char *stx_blas_error(void) {
    stx_blas_load();
    return load_error;
}

const char *stx_blas_corename(void) {
    if (stx_blas_load() != 0 || !p_corename) return "unavailable";
    const char *name = p_corename();
    return name ? name : "unavailable";
}

const char *stx_blas_config(void) {
    if (stx_blas_load() != 0 || !p_config) return "unavailable";
    const char *config = p_config();
    return config ? config : "unavailable";
}

const char *stx_blas_chosen_coretype(void) {
    stx_blas_load();
    return chosen_coretype;
}

/* Gives OpenBLAS the library's thread count, if it is loaded (loading does it too; the lock
 * keeps a count set during loading from being lost). */
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static int threads_applied;

static void apply_num_threads(int at_load) {
    pthread_mutex_lock(&threads_lock);
    if (at_load) threads_applied = 1;
    if (threads_applied && p_set_threads) p_set_threads(stx_num_threads());
    pthread_mutex_unlock(&threads_lock);
}

void stx_blas_apply_num_threads(void) {
    apply_num_threads(0);
}

void stx_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    p_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
            trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
