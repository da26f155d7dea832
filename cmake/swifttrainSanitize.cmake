# SWIFTTRAIN_SANITIZE=ON: a build for finding memory errors (Tests/fuzz/README.md).
#   - libswifttrain.so is built by SwiftPM with AddressSanitizer (`swift build --sanitize=address`)
#     and coverage instrumentation that libFuzzer reads (-sanitize-coverage), its sanitizer
#     symbols left to the program that loads it (Package.swift's SWIFTTRAIN_SANITIZE);
#   - every C program of the build (tests, examples, the command line) is compiled and linked
#     with AddressSanitizer and UndefinedBehaviorSanitizer, which also links the ASan runtime the
#     library needs; UB aborts instead of printing and going on;
#   - the libFuzzer targets of Tests/fuzz are built (SWIFTTRAIN_BUILD_FUZZERS).
# The C compiler must be a clang whose compiler-rt matches the one swiftc instrumented the library
# for: the toolchain's own clang (next to `swift`), which scripts/test.sh passes.
if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR
        "SWIFTTRAIN_SANITIZE needs clang as the C compiler (the Swift toolchain's, whose sanitizer "
        "runtimes match the library's instrumentation): pass "
        "-DCMAKE_C_COMPILER=<toolchain>/usr/bin/clang -DCMAKE_CXX_COMPILER=<toolchain>/usr/bin/clang++")
endif()
set(SWIFTTRAIN_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer -g)
add_compile_options(${SWIFTTRAIN_SANITIZE_FLAGS})
add_link_options(${SWIFTTRAIN_SANITIZE_FLAGS} -fuse-ld=lld)  # the toolchain's linker: gold warns about ASan's symbols
