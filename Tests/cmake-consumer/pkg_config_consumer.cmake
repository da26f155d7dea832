# Builds main.c with the flags `pkg-config --cflags --libs swifttrain` gives for an install
# prefix, then runs it: checks that the installed swifttrain.pc is usable (and relocatable).
#
#   cmake -DPKG_CONFIG=<pkg-config> -DPREFIX=<install prefix> -DLIBDIR=<lib dir, relative>
#         -DC_COMPILER=<cc> -DBINARY_DIR=<scratch dir> -P pkg_config_consumer.cmake

foreach(var PKG_CONFIG PREFIX LIBDIR C_COMPILER BINARY_DIR)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "pass -D${var}=...")
    endif()
endforeach()

# Only the prefix's own .pc files, so an installed swifttrain elsewhere cannot answer.
set(ENV{PKG_CONFIG_LIBDIR} "${PREFIX}/${LIBDIR}/pkgconfig")
unset(ENV{PKG_CONFIG_PATH})

function(pkg_config out_var)
    execute_process(COMMAND "${PKG_CONFIG}" ${ARGN} swifttrain RESULT_VARIABLE result
                    OUTPUT_VARIABLE output ERROR_VARIABLE error OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "pkg-config ${ARGN} swifttrain failed:\n${error}")
    endif()
    set(${out_var} "${output}" PARENT_SCOPE)
endfunction()

pkg_config(cflags --cflags)
pkg_config(libs --libs)
pkg_config(libdir --variable=libdir)
message(STATUS "pkg-config: cflags '${cflags}', libs '${libs}'")
get_filename_component(libdir "${libdir}" REALPATH)
get_filename_component(expected_libdir "${PREFIX}/${LIBDIR}" REALPATH)
if(NOT libdir STREQUAL expected_libdir)
    message(FATAL_ERROR "swifttrain.pc gives libdir ${libdir}, expected ${expected_libdir}: "
                        "the .pc file does not follow the prefix it was installed into")
endif()

separate_arguments(cflags UNIX_COMMAND "${cflags}")
separate_arguments(libs UNIX_COMMAND "${libs}")
file(MAKE_DIRECTORY "${BINARY_DIR}")
set(program "${BINARY_DIR}/pkg_config_consumer")
execute_process(
    COMMAND "${C_COMPILER}" -std=c99 -Wall -Wextra -Werror -pedantic ${cflags}
            "${CMAKE_CURRENT_LIST_DIR}/main.c" -o "${program}" ${libs} "-Wl,-rpath,${libdir}"
    RESULT_VARIABLE result)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "compiling main.c with the pkg-config flags failed")
endif()
execute_process(COMMAND "${program}" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "${program} failed (${result})")
endif()
