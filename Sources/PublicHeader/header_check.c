/* Compiles the public header inside the package build, so a header that does not compile
 * (or whose ABI-relevant enums change value) fails the build of the library itself. */
#include "swifttrain.h"

_Static_assert(ST_OK == 0, "ST_OK must stay 0");
_Static_assert(ST_EVENT_SAVE == 26 && ST_EVENT_POST_CLOSE + 1 == ST_EVENT_COUNT, "ST_EVENT_COUNT must follow the last event");
_Static_assert(SWIFTTRAIN_VERSION_NUMBER ==
                   SWIFTTRAIN_VERSION_MAJOR * 10000 + SWIFTTRAIN_VERSION_MINOR * 100 +
                       SWIFTTRAIN_VERSION_PATCH,
               "version number formula");

/* st_status is returned where int used to be: it must stay an int in size and signedness,
 * so that `int rc = st_x(...)` and callers compiled against the int declarations agree. */
_Static_assert(sizeof(st_status) == sizeof(int), "st_status must have the size of int");
_Static_assert((st_status)-1 < 0, "st_status must be signed");
_Static_assert(ST_ECORRUPT == -10, "status values are stable");

/* Structs that grow start with uint32_t struct_size (docs/abi.md). */
#include <stddef.h>
#define HEADER_CHECK_SIZED(type)                                                               \
    _Static_assert(offsetof(type, struct_size) == 0, #type ": struct_size must come first");   \
    _Static_assert(sizeof(((type *)0)->struct_size) == 4, #type ": struct_size is uint32_t")
HEADER_CHECK_SIZED(st_conv2d_options);
HEADER_CHECK_SIZED(st_pool2d_options);
HEADER_CHECK_SIZED(st_transformer_options);
HEADER_CHECK_SIZED(st_optim_options);
HEADER_CHECK_SIZED(st_plateau_state);
HEADER_CHECK_SIZED(st_trainer_state);
HEADER_CHECK_SIZED(st_eval_prediction);

/* The largest thread count is the core's (Sources/PlatformShims: STX_MAX_THREADS). */
_Static_assert(ST_MAX_NUM_THREADS == 1024, "ST_MAX_NUM_THREADS must match STX_MAX_THREADS");
