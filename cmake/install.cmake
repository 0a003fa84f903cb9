# `cmake --install` puts the public headers, the static runtime and ENet binding, the
# shared C ABI (libnetkey), netkey-ca, a CMake package (find_package(netkey):
# netkey::runtime, netkey::enet, netkey::capi) and a pkg-config file (netkey.pc, C ABI).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# netkey/testing.h (test and benchmark hooks) is left out: it is not part of the API.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/netkey DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        PATTERN "testing.h" EXCLUDE)
install(FILES ${PROJECT_SOURCE_DIR}/plugin/enet/include/netkey/enet.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/netkey)
install(FILES ${PROJECT_SOURCE_DIR}/plugin/capi/include/netkey.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS netkey_runtime netkey_enet netkey netkey_schemas netkey_warnings
        EXPORT netkeyTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS netkey-ca RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT netkeyTargets NAMESPACE netkey:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/netkey)

file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/netkeyConfig.cmake.in [=[
@PACKAGE_INIT@
include(CMakeFindDependencyMacro)
find_dependency(PkgConfig)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=1.0.18)
pkg_check_modules(ENET REQUIRED IMPORTED_TARGET libenet>=1.3)
include("${CMAKE_CURRENT_LIST_DIR}/netkeyTargets.cmake")
]=])
configure_package_config_file(${CMAKE_CURRENT_BINARY_DIR}/netkeyConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/netkeyConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/netkey)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/netkeyConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/netkeyConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/netkeyConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/netkey)

file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/netkey.pc.in [=[
prefix=@CMAKE_INSTALL_PREFIX@
libdir=${prefix}/@CMAKE_INSTALL_LIBDIR@
includedir=${prefix}/@CMAKE_INSTALL_INCLUDEDIR@

Name: netkey
Description: Secure multicast for game servers: the C ABI (libnetkey)
Version: @PROJECT_VERSION@
Libs: -L${libdir} -lnetkey
Cflags: -I${includedir}
]=])
configure_file(${CMAKE_CURRENT_BINARY_DIR}/netkey.pc.in ${CMAKE_CURRENT_BINARY_DIR}/netkey.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/netkey.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
