/* Symbols defined here so that libswifttrain.so does not ask glibc for a newer version of
 * them than it needs elsewhere, which would raise the wheel's manylinux tag (docs/packaging.md).
 *
 * hypotf: the Swift runtime's static Glibc overlay (libswiftGlibc.a) refers to it, and linked
 * on glibc >= 2.35 that reference binds to hypotf@GLIBC_2.35, the only 2.35 symbol the library
 * would need. This is glibc 2.35's computation (sysdeps/ieee754/flt-32/e_hypotf.c: infinity
 * when either is infinite, else the square root of the sum of squares in double, where floats
 * neither overflow nor underflow, rounded to float); hidden, so it serves this library only. */
#include <math.h>

__attribute__((visibility("hidden"))) float hypotf(float x, float y) {
    if (isinf(x) || isinf(y)) return INFINITY; /* even with a NaN beside it, as C requires */
    double dx = x, dy = y;
    return (float)sqrt(dx * dx + dy * dy);
}
