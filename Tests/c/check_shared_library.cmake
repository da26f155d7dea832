# Checks the shape of the built libswifttrain.so.0 (run by ctest with cmake -P):
#   - its soname is libswifttrain.so.<major> (the file name it is installed under);
#   - it needs no Swift runtime library (ldd), and does not link OpenBLAS (it dlopen()s it);
#   - it exports exactly the functions declared in include/swifttrain.h: only st_* symbols,
#     none missing.
#
#   cmake -DLIBRARY=<path/libswifttrain.so.0> -DHEADER=<path/swifttrain.h> -P check_shared_library.cmake
cmake_minimum_required(VERSION 3.20)

foreach(var LIBRARY HEADER)
    if(NOT EXISTS "${${var}}")
        message(FATAL_ERROR "${var} '${${var}}' does not exist")
    endif()
endforeach()
get_filename_component(library_name "${LIBRARY}" NAME)
set(problems "")

function(run_tool out_var)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE output
                    ERROR_VARIABLE error)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "'${ARGN}' failed (${result}):\n${error}")
    endif()
    set(${out_var} "${output}" PARENT_SCOPE)
endfunction()

foreach(tool readelf ldd nm)
    find_program(${tool}_program ${tool})
    if(NOT ${tool}_program)
        message(FATAL_ERROR "this check needs '${tool}' (binutils / libc-bin)")
    endif()
endforeach()

# --- soname and direct dependencies ---------------------------------------------------------
run_tool(dynamic "${readelf_program}" -d "${LIBRARY}")
if(dynamic MATCHES "\\(SONAME\\)[^\n]*\\[([^]\n]*)\\]")
    if(NOT CMAKE_MATCH_1 STREQUAL library_name)
        string(APPEND problems "SONAME is ${CMAKE_MATCH_1}, expected ${library_name}\n")
    endif()
else()
    string(APPEND problems "no SONAME in the dynamic section (expected ${library_name})\n")
endif()
string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*\\[[^]\n]*\\]" needed_lines "${dynamic}")
set(needed "")
foreach(line IN LISTS needed_lines)
    string(REGEX REPLACE ".*\\[([^]]*)\\]" "\\1" name "${line}")
    list(APPEND needed "${name}")
    if(name MATCHES "openblas")
        string(APPEND problems
               "NEEDED ${name}: OpenBLAS must not be linked, the library loads it at run time\n")
    endif()
endforeach()
message(STATUS "NEEDED: ${needed}")

# --- run-time dependencies, transitively ----------------------------------------------------
run_tool(ldd_output "${ldd_program}" "${LIBRARY}")
string(REGEX MATCHALL "[^\n]*(libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime)[^\n]*"
       swift_runtime "${ldd_output}")
foreach(line IN LISTS swift_runtime)
    string(STRIP "${line}" line)
    string(APPEND problems "depends on the Swift runtime: ${line}\n")
endforeach()
string(REGEX MATCHALL "[^\n]*not found[^\n]*" unresolved "${ldd_output}")
foreach(line IN LISTS unresolved)
    string(STRIP "${line}" line)
    string(APPEND problems "unresolved dependency: ${line}\n")
endforeach()

# --- exported symbols versus the header -----------------------------------------------------
# Declarations start in column 0 ("int st_x(", "const char *st_y("); comment lines do not.
file(STRINGS "${HEADER}" declarations REGEX "^[a-z][a-z_ ]*[ *]+st_[a-z0-9_]+\\(")
set(declared "")
foreach(line IN LISTS declarations)
    string(REGEX REPLACE "^[a-z][a-z_ ]*[ *]+(st_[a-z0-9_]+)\\(.*" "\\1" name "${line}")
    list(APPEND declared "${name}")
endforeach()
list(LENGTH declared declared_count)
if(declared_count LESS 10)
    message(FATAL_ERROR "found only ${declared_count} function declarations in ${HEADER}: "
                        "the pattern of this script no longer matches the header")
endif()

run_tool(symbols "${nm_program}" -D --defined-only "${LIBRARY}")
string(REPLACE "\n" ";" symbol_lines "${symbols}")
set(exported "")
foreach(line IN LISTS symbol_lines)
    if(line STREQUAL "")
        continue()
    endif()
    # "<address> <type> <name>[@[@]<version>]"; type A is a version node or another absolute
    # symbol, not code or data.
    if(NOT line MATCHES "^[0-9a-fA-F]* *([A-Za-z]) ([^@ ]+)")
        string(APPEND problems "unexpected nm line: ${line}\n")
        continue()
    endif()
    set(type "${CMAKE_MATCH_1}")
    set(name "${CMAKE_MATCH_2}")
    if(type STREQUAL "A")
        continue()
    endif()
    list(APPEND exported "${name}")
    if(NOT name MATCHES "^st_")
        string(APPEND problems "exports ${name} (${type}): only st_* symbols may be exported\n")
    elseif(NOT name IN_LIST declared)
        string(APPEND problems "exports ${name}, which include/swifttrain.h does not declare\n")
    endif()
endforeach()
foreach(name IN LISTS declared)
    if(NOT name IN_LIST exported)
        string(APPEND problems "does not export ${name}, declared in include/swifttrain.h\n")
    endif()
endforeach()
list(LENGTH exported exported_count)
message(STATUS "${library_name}: ${exported_count} exported symbols, "
               "${declared_count} functions declared in the header")

if(problems)
    message(FATAL_ERROR "${LIBRARY}:\n${problems}")
endif()
message(STATUS "${library_name}: soname, dependencies and exports are as expected")
