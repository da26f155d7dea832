# Install rules of the C library: the library and its development link, the header, the CMake
# package (swifttrain::swifttrain) and a pkg-config file. All paths are relative to the
# install prefix, so `cmake --install <build> --prefix <anywhere>` gives a working package.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(SWIFTTRAIN_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/swifttrain"
    CACHE STRING "Where swifttrainConfig.cmake is installed, relative to the prefix")

install(FILES "${SWIFTTRAIN_LIBRARY_FILE}"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
                    GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
# The symlink lib/libswifttrain.so -> libswifttrain.so.0 is installed as a symlink.
install(FILES "${SWIFTTRAIN_LINK_FILE}" DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(FILES "${PROJECT_SOURCE_DIR}/include/swifttrain.h"
              "${PROJECT_SOURCE_DIR}/include/swifttrain.hpp"  # C++17 RAII and lambdas, header-only
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

# CMake package.
configure_package_config_file(
    "${CMAKE_CURRENT_LIST_DIR}/swifttrainConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/swifttrainConfig.cmake"
    INSTALL_DESTINATION "${SWIFTTRAIN_INSTALL_CMAKEDIR}"
    PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(
    "${PROJECT_BINARY_DIR}/swifttrainConfigVersion.cmake"
    VERSION "${PROJECT_VERSION}"
    COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/swifttrainConfig.cmake"
              "${PROJECT_BINARY_DIR}/swifttrainConfigVersion.cmake"
        DESTINATION "${SWIFTTRAIN_INSTALL_CMAKEDIR}")

# pkg-config file, relocatable through ${pcfiledir}.
set(_swifttrain_pkgconfigdir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${_swifttrain_pkgconfigdir}")
    set(SWIFTTRAIN_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
    file(RELATIVE_PATH _swifttrain_pc_up "/prefix/${_swifttrain_pkgconfigdir}" "/prefix")
    string(REGEX REPLACE "/$" "" _swifttrain_pc_up "${_swifttrain_pc_up}")
    set(SWIFTTRAIN_PC_PREFIX "\${pcfiledir}/${_swifttrain_pc_up}")
endif()
foreach(kind LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
        set(SWIFTTRAIN_PC_${kind} "${CMAKE_INSTALL_${kind}}")
    else()
        set(SWIFTTRAIN_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
    endif()
endforeach()
configure_file("${CMAKE_CURRENT_LIST_DIR}/swifttrain.pc.in"
               "${PROJECT_BINARY_DIR}/swifttrain.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/swifttrain.pc" DESTINATION "${_swifttrain_pkgconfigdir}")
