# Tests of the installed package, used the way other projects use it (nlohmann_json's and fmt's
# import tests):
#   consumer.clean_prefix   empties <build>/test-prefix
#   consumer.install        `cmake --install` of this build into it          (fixture setup)
#   consumer.cmake          configures, builds and runs Tests/cmake-consumer against it with
#                           find_package(swifttrain CONFIG) and swifttrain::swifttrain (its C
#                           program, and its C++ program over swifttrain.hpp)
#   consumer.pkg_config     builds and runs the same main.c with the flags of swifttrain.pc

set(SWIFTTRAIN_TEST_PREFIX "${PROJECT_BINARY_DIR}/test-prefix")

add_test(NAME consumer.clean_prefix
         COMMAND "${CMAKE_COMMAND}" -E rm -rf "${SWIFTTRAIN_TEST_PREFIX}")
add_test(NAME consumer.install
         COMMAND "${CMAKE_COMMAND}" --install "${PROJECT_BINARY_DIR}"
                 --prefix "${SWIFTTRAIN_TEST_PREFIX}")
set_tests_properties(consumer.clean_prefix PROPERTIES FIXTURES_SETUP swifttrain_clean_prefix)
set_tests_properties(consumer.install PROPERTIES
    FIXTURES_REQUIRED swifttrain_clean_prefix
    FIXTURES_SETUP swifttrain_installed)

add_test(NAME consumer.cmake
         COMMAND "${CMAKE_CTEST_COMMAND}" --build-and-test
                 "${PROJECT_SOURCE_DIR}/Tests/cmake-consumer"
                 "${PROJECT_BINARY_DIR}/cmake-consumer"
                 --build-generator "${CMAKE_GENERATOR}"
                 --build-makeprogram "${CMAKE_MAKE_PROGRAM}"
                 --build-options
                     "-Dswifttrain_DIR=${SWIFTTRAIN_TEST_PREFIX}/${SWIFTTRAIN_INSTALL_CMAKEDIR}"
                     "-DCMAKE_C_COMPILER=${CMAKE_C_COMPILER}"
                     "-DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}"
                 # every test of the consumer project: the C program and the C++ one
                 --test-command "${CMAKE_CTEST_COMMAND}" --output-on-failure)
set_tests_properties(consumer.cmake PROPERTIES FIXTURES_REQUIRED swifttrain_installed)

find_program(SWIFTTRAIN_PKG_CONFIG_EXECUTABLE pkg-config)
if(SWIFTTRAIN_PKG_CONFIG_EXECUTABLE)
    add_test(NAME consumer.pkg_config
             COMMAND "${CMAKE_COMMAND}"
                     "-DPKG_CONFIG=${SWIFTTRAIN_PKG_CONFIG_EXECUTABLE}"
                     "-DPREFIX=${SWIFTTRAIN_TEST_PREFIX}"
                     "-DLIBDIR=${CMAKE_INSTALL_LIBDIR}"
                     "-DC_COMPILER=${CMAKE_C_COMPILER}"
                     "-DBINARY_DIR=${PROJECT_BINARY_DIR}/pkg-config-consumer"
                     -P "${PROJECT_SOURCE_DIR}/Tests/cmake-consumer/pkg_config_consumer.cmake")
    set_tests_properties(consumer.pkg_config PROPERTIES FIXTURES_REQUIRED swifttrain_installed)
else()
    message(STATUS "pkg-config not found: the consumer.pkg_config test is not registered")
endif()
