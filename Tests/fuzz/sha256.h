/* SHA-256 (FIPS 180-4), for the checkpoint target's manifests: a fuzzed file gets the hash the
 * library checks, so the fuzzer's bytes reach the readers behind the manifest check. */
#ifndef SWIFTTRAIN_FUZZ_SHA256_H
#define SWIFTTRAIN_FUZZ_SHA256_H

#include <stddef.h>
#include <stdint.h>

/** The digest of data[0..size) as 64 lowercase hex digits and a NUL in hex[0..65). */
void sha256_hex(char hex[65], const void *data, size_t size);

#endif
