# Reads the version from the SWIFTTRAIN_VERSION_MAJOR/MINOR/PATCH macros of the header, so the
# header stays the single source of the version number.
#
#   swifttrain_read_version(<header> <out-var>)   sets <out-var> to "MAJOR.MINOR.PATCH"
function(swifttrain_read_version header out_var)
    file(STRINGS "${header}" defines
         REGEX "^#define SWIFTTRAIN_VERSION_(MAJOR|MINOR|PATCH) +[0-9]+ *$")
    foreach(part MAJOR MINOR PATCH)
        set(value "")
        foreach(line IN LISTS defines)
            if(line MATCHES "^#define SWIFTTRAIN_VERSION_${part} +([0-9]+)")
                set(value "${CMAKE_MATCH_1}")
            endif()
        endforeach()
        if(value STREQUAL "")
            message(FATAL_ERROR
                "${header} has no '#define SWIFTTRAIN_VERSION_${part} <number>' line; "
                "the CMake build reads the project version from it.")
        endif()
        set(${part} "${value}")
    endforeach()
    set(${out_var} "${MAJOR}.${MINOR}.${PATCH}" PARENT_SCOPE)
endfunction()
