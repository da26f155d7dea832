/* Which GEMM library is fastest on the machine at hand, for the GEMMs of a training step of
 * W1-W3 (shared/bench/WORKLOADS.md): each library is loaded with dlopen and its cblas_sgemm
 * (with a symbol prefix for wheels that rename theirs) runs the 8 GEMMs of a step with the
 * trainer's transposes, 2 threads, medians of 5 timings; prints the GEMM-only ceiling in
 * steps per second and GFLOP/s per workload (issue 13 item 3).
 *
 *     cc -O2 -o /tmp/gemm_choice bench/gemm_choice.c -ldl
 *     /tmp/gemm_choice NAME LIBRARY [SYMBOL_PREFIX]   (e.g. debian-openblas libopenblas.so.0)
 *
 * Thread count: OPENBLAS_NUM_THREADS / BLIS_NUM_THREADS / OMP_NUM_THREADS from the caller's
 * environment (bench/gemm_choice.sh sets them to 2). Not part of the library or its tests. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: gemm_choice NAME LIBRARY [SYMBOL_PREFIX]\n");
        return 2;
    }
    void *lib = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "%s: %s\n", argv[2], dlerror());
        return 1;
    }
    char symbol[128];
    snprintf(symbol, sizeof symbol, "%scblas_sgemm", argc > 3 ? argv[3] : "");
    sgemm_fn sgemm = (sgemm_fn)dlsym(lib, symbol);
    if (!sgemm) {
        fprintf(stderr, "%s has no %s\n", argv[2], symbol);
        return 1;
    }
    static const struct { const char *id; int sizes[4]; int batch; } workloads[] = {
        {"W1", {784, 256, 256, 10}, 128}, {"W2", {32, 64, 64, 4}, 32}, {"W3", {1024, 2048, 2048, 10}, 256}};
    size_t largest = 2048 * 2048;
    float *a = malloc(largest * sizeof *a), *b = malloc(largest * sizeof *b), *c = malloc(largest * sizeof *c);
    for (size_t i = 0; i < largest; i++) a[i] = 0.01f, b[i] = 0.02f, c[i] = 0;
    for (int w = 0; w < 3; w++) {
        int shapes[8][5], count = 0; /* ta, tb, m, n, k as the trainer calls them */
        double flops = 0;
        for (int l = 0; l < 3; l++) {
            int k = workloads[w].sizes[l], n = workloads[w].sizes[l + 1], batch = workloads[w].batch;
            int s[3][5] = {{0, 1, batch, n, k}, {1, 0, n, k, batch}, {0, 0, batch, k, n}};
            for (int j = 0; j < (l > 0 ? 3 : 2); j++) {
                memcpy(shapes[count++], s[j], sizeof s[j]);
                flops += 2.0 * s[j][2] * s[j][3] * s[j][4];
            }
        }
        int repeats = w == 2 ? 10 : (w == 0 ? 200 : 5000);
        double samples[5];
        for (int r = -1; r < 5; r++) {
            double start = now();
            for (int i = 0; i < (r < 0 ? repeats / 5 + 1 : repeats); i++)
                for (int g = 0; g < count; g++) {
                    int *s = shapes[g];
                    sgemm(ROW_MAJOR, s[0] ? TRANS : NO_TRANS, s[1] ? TRANS : NO_TRANS, s[2], s[3], s[4], 1, a,
                          s[0] ? s[2] : s[4], b, s[1] ? s[4] : s[3], 0, c, s[3]);
                }
            if (r >= 0) samples[r] = (now() - start) / repeats;
        }
        qsort(samples, 5, sizeof samples[0], compare);
        printf("RESULT library=%s workload=%s gemm_ceiling_steps_per_s=%.1f gflops=%.1f\n", argv[1],
               workloads[w].id, 1 / samples[2], flops / samples[2] * 1e-9);
    }
    return 0;
}
