/* What the element-wise kernels (optimizer_kernels.c, gradient_kernels.c) share: each is
 * compiled for AVX-512, AVX2 and the baseline and chosen at load time by the CPU
 * (target_clones), and no multiply-add is contracted into an FMA, so every CPU gives the same
 * bits. Included first by those files; internal to PlatformShims. */
#ifndef SWIFTTRAIN_KERNELS_H
#define SWIFTTRAIN_KERNELS_H

#include "PlatformShims.h"

#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#define KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KERNEL
#endif

#endif
