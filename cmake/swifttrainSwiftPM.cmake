# Builds libswifttrain.so with SwiftPM (the single source of truth for the Swift sources) and
# wraps it as the target swifttrain::swifttrain.
#
# Defines:
#   swifttrain_swiftpm        custom target running `swift build` (always; SwiftPM's own
#                             incremental build decides what to redo)
#   swifttrain                IMPORTED GLOBAL shared library, depending on swifttrain_swiftpm
#   swifttrain::swifttrain    ALIAS of it: the same spelling as the installed package
#   SWIFTTRAIN_LIBRARY_FILE   absolute path of the built library, named after its soname

find_program(SWIFTTRAIN_SWIFT_EXECUTABLE NAMES swift
             DOC "The swift driver used to build libswifttrain.so with SwiftPM")
if(NOT SWIFTTRAIN_SWIFT_EXECUTABLE)
    message(FATAL_ERROR
        "swifttrain needs a Swift toolchain (the `swift` program) to build libswifttrain.so; "
        "put it on PATH or pass -DSWIFTTRAIN_SWIFT_EXECUTABLE=/path/to/swift.")
endif()

set(SWIFTTRAIN_SONAME "libswifttrain.so.${PROJECT_VERSION_MAJOR}")
set(SWIFTTRAIN_SWIFTPM_SCRATCH "${PROJECT_BINARY_DIR}/swiftpm")
set(_swifttrain_swiftpm_output "${SWIFTTRAIN_SWIFTPM_SCRATCH}/release/libswifttrain.so")
set(SWIFTTRAIN_LIBRARY_FILE "${PROJECT_BINARY_DIR}/lib/${SWIFTTRAIN_SONAME}")
set(SWIFTTRAIN_LINK_FILE "${PROJECT_BINARY_DIR}/lib/libswifttrain.so")

# With SWIFTTRAIN_SANITIZE (cmake/swifttrainSanitize.cmake): AddressSanitizer, and coverage
# instrumentation for libFuzzer, in the Swift and C code of the library.
set(_swifttrain_swiftpm_sanitize SWIFTTRAIN_SANITIZE=0)
set(_swifttrain_swiftpm_sanitize_flags "")
if(SWIFTTRAIN_SANITIZE)
    set(_swifttrain_swiftpm_sanitize SWIFTTRAIN_SANITIZE=1)
    set(_swifttrain_swiftpm_sanitize_flags --sanitize=address
        -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp
        -Xcc -fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp)
endif()

# CC/CXX are unset because SwiftPM compiles its C targets with $CC when it is set, and fails
# with gcc (scikit-build-core sets CC=gcc). SWIFTTRAIN_STATIC=1 makes Package.swift link the
# Swift runtime statically, export only st_* and set the soname.
add_custom_target(swifttrain_swiftpm ALL
    COMMAND "${CMAKE_COMMAND}" -E env --unset=CC --unset=CXX SWIFTTRAIN_STATIC=1
            ${_swifttrain_swiftpm_sanitize}
            "${SWIFTTRAIN_SWIFT_EXECUTABLE}" build -c release --product swifttrain
            ${_swifttrain_swiftpm_sanitize_flags}
            --package-path "${PROJECT_SOURCE_DIR}"
            --scratch-path "${SWIFTTRAIN_SWIFTPM_SCRATCH}"
    # copy_if_different leaves the file's time alone when SwiftPM changed nothing, so
    # programs linking the library are not relinked on every build.
    COMMAND "${CMAKE_COMMAND}" -E copy_if_different
            "${_swifttrain_swiftpm_output}" "${SWIFTTRAIN_LIBRARY_FILE}"
    BYPRODUCTS "${SWIFTTRAIN_LIBRARY_FILE}"
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    COMMENT "Building libswifttrain.so with SwiftPM (scratch path ${SWIFTTRAIN_SWIFTPM_SCRATCH})"
    USES_TERMINAL
    VERBATIM)

# lib/libswifttrain.so -> libswifttrain.so.0, the development link name (also installed).
file(MAKE_DIRECTORY "${PROJECT_BINARY_DIR}/lib")
file(CREATE_LINK "${SWIFTTRAIN_SONAME}" "${SWIFTTRAIN_LINK_FILE}" SYMBOLIC)

add_library(swifttrain SHARED IMPORTED GLOBAL)
set_target_properties(swifttrain PROPERTIES
    IMPORTED_LOCATION "${SWIFTTRAIN_LIBRARY_FILE}"
    IMPORTED_SONAME "${SWIFTTRAIN_SONAME}"
    INTERFACE_INCLUDE_DIRECTORIES "${PROJECT_SOURCE_DIR}/include")
# Dependencies of an imported target are followed by everything that links it, so every
# consumer waits for the SwiftPM build.
add_dependencies(swifttrain swifttrain_swiftpm)
add_library(swifttrain::swifttrain ALIAS swifttrain)
