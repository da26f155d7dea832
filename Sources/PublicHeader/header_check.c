/* Compiles the public header inside the package build, so a header that does not compile
 * (or whose ABI-relevant enums change value) fails the build of the library itself. */
#include "swifttrain.h"

_Static_assert(ST_OK == 0, "ST_OK must stay 0");
_Static_assert(ST_EVENT_SAVE + 1 == ST_EVENT_COUNT, "ST_EVENT_COUNT must follow the last event");
_Static_assert(SWIFTTRAIN_VERSION_NUMBER ==
                   SWIFTTRAIN_VERSION_MAJOR * 10000 + SWIFTTRAIN_VERSION_MINOR * 100 +
                       SWIFTTRAIN_VERSION_PATCH,
               "version number formula");
