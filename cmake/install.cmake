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

# The package finds its dependencies the way the build did: FlatBuffers by its CMake
# package (the runtime is compiled against its headers), libsodium and ENet through
# pkg-config (PkgConfig::SODIUM and PkgConfig::ENET are in netkey::runtime's and
# netkey::enet's link interfaces). A missing one makes find_package(netkey) report
# "not found" with a message (silently under QUIET) instead of stopping configuration.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/netkeyConfig.cmake.in [=[
@PACKAGE_INIT@
include(CMakeFindDependencyMacro)
find_dependency(FlatBuffers CONFIG)
find_dependency(PkgConfig)
if(NOT TARGET PkgConfig::SODIUM)
  pkg_check_modules(SODIUM QUIET IMPORTED_TARGET libsodium>=1.0.18)
endif()
if(NOT TARGET PkgConfig::ENET)
  pkg_check_modules(ENET QUIET IMPORTED_TARGET libenet>=1.3)
endif()
if(NOT TARGET PkgConfig::SODIUM OR NOT TARGET PkgConfig::ENET)
  set(${CMAKE_FIND_PACKAGE_NAME}_FOUND FALSE)
  set(${CMAKE_FIND_PACKAGE_NAME}_NOT_FOUND_MESSAGE
      "netkey needs libsodium >= 1.0.18 and libenet >= 1.3 through pkg-config (Debian: libsodium-dev libenet-dev pkg-config)")
  return()
endif()
include("${CMAKE_CURRENT_LIST_DIR}/netkeyTargets.cmake")
check_required_components(netkey)
]=])
configure_package_config_file(${CMAKE_CURRENT_BINARY_DIR}/netkeyConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/netkeyConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/netkey)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/netkeyConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/netkeyConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/netkeyConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/netkey)

# netkey.pc names the prefix the files were really installed to: `cmake --install
# --prefix P` overrides CMAKE_INSTALL_PREFIX only when the install script runs, so the
# prefix line is filled in then (the rest at configure time).
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/netkey.pc.in [=[
prefix=@NETKEY_PC_PREFIX@
libdir=${prefix}/@CMAKE_INSTALL_LIBDIR@
includedir=${prefix}/@CMAKE_INSTALL_INCLUDEDIR@

Name: netkey
Description: Secure multicast for game servers: the C ABI (libnetkey)
Version: @PROJECT_VERSION@
Libs: -L${libdir} -lnetkey
Cflags: -I${includedir}
]=])
set(NETKEY_PC_PREFIX "@NETKEY_PC_PREFIX@")  # kept for the install-time pass
configure_file(${CMAKE_CURRENT_BINARY_DIR}/netkey.pc.in ${CMAKE_CURRENT_BINARY_DIR}/netkey.pc.prefix-in @ONLY)
install(CODE "
  set(NETKEY_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${CMAKE_CURRENT_BINARY_DIR}/netkey.pc.prefix-in\" \"${CMAKE_CURRENT_BINARY_DIR}/netkey.pc\" @ONLY)
")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/netkey.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
