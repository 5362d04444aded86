# SPDX-License-Identifier: Apache-2.0
# cmake/install.cmake: what `cmake --install` puts in place, under any
# prefix, with GNUInstallDirs paths: the header, libfastsnap.so.0 (plus the
# .so link) and libfastsnap.a, fastsnap.pc, the CMake package
# (find_package(fastsnap) -> fastsnap::fastsnap, with a version file), the
# fastsnap command and the man pages (man/CMakeLists.txt).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

target_include_directories(fastsnap PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_include_directories(fastsnap_static PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

install(FILES ${PROJECT_SOURCE_DIR}/include/fastsnap.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(TARGETS fastsnap EXPORT fastsnapTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib NAMELINK_COMPONENT dev)
# The static library is for pkg-config --static users (Libs.private); the
# CMake package exports the shared one only, so that find_package() needs
# none of the private dependencies' own packages.
install(TARGETS fastsnap_static
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(TARGETS fastsnap_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT bin)
# The library's flatten helper (clients/flattener.h), where it looks for it.
install(TARGETS fastsnap-flatten RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/fastsnap
  COMPONENT lib)

# pkg-config: written at install time, so that `cmake --install --prefix P`
# gives a .pc naming P; paths relative to ${prefix} when they are under it.
foreach(d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
    set(FS_PC_${d} "${CMAKE_INSTALL_${d}}")
  else()
    set(FS_PC_${d} "\${prefix}/${CMAKE_INSTALL_${d}}")
  endif()
endforeach()
set(FS_PC_PREFIX "@FS_PC_PREFIX@")   # filled in by the install step below
configure_file(${PROJECT_SOURCE_DIR}/cmake/fastsnap.pc.in ${PROJECT_BINARY_DIR}/fastsnap.pc.in @ONLY)
install(CODE "set(FS_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/fastsnap.pc.in\" \"${PROJECT_BINARY_DIR}/fastsnap.pc\" @ONLY)"
  COMPONENT dev)
install(FILES ${PROJECT_BINARY_DIR}/fastsnap.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

set(FS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/fastsnap)
install(EXPORT fastsnapTargets NAMESPACE fastsnap:: DESTINATION ${FS_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/fastsnapConfig.cmake.in
  ${PROJECT_BINARY_DIR}/fastsnapConfig.cmake INSTALL_DESTINATION ${FS_CMAKE_DIR})
# SONAME 0 grows by addition only (docs/embedding.md): any 0.y satisfies 0.x, x <= y.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/fastsnapConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/fastsnapConfig.cmake ${PROJECT_BINARY_DIR}/fastsnapConfigVersion.cmake
  DESTINATION ${FS_CMAKE_DIR} COMPONENT dev)

add_subdirectory(${PROJECT_SOURCE_DIR}/man ${PROJECT_BINARY_DIR}/man)
