/* What the element-wise kernels (optimizer_kernels.c, gradient_kernels.c) share: each is
 * compiled for AVX-512, AVX2 and the baseline and chosen at load time by the CPU
 * (target_clones), and no multiply-add is contracted into an FMA, so every CPU gives the same
 * bits. Included first by those files; internal to PlatformShims. */
#ifndef SWIFTTRAIN_KERNELS_H
#define SWIFTTRAIN_KERNELS_H

#include "PlatformShims.h"

#pragma clang fp contract(off)

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWIFTTRAIN_KERNELS_SANITIZED 1
#endif
#endif

/* Not under AddressSanitizer (cmake's SWIFTTRAIN_SANITIZE): a clone's resolver is an ifunc that
 * the dynamic loader runs while relocating the library, before the sanitizer runtime is set up,
 * and instrumented it crashes there. The baseline code alone is the same arithmetic. */
#if defined(__x86_64__) && defined(__clang__) && !defined(SWIFTTRAIN_KERNELS_SANITIZED)
#define KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KERNEL
#endif

#endif
