# What `cmake --install` puts where (GNUInstallDirs; --prefix and DESTDIR
# honoured): the headers of include/udax/ with the generated config.h and
# version.h, libudax.so.N and libudax.a, the udax command, udax.pc and the
# CMake package (find_package(udax) -> udax::udax).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY include/udax DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/udax/config.h
              ${PROJECT_BINARY_DIR}/include/udax/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/udax)

install(FILES ${UDAX_STATIC_A} DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS udax-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

if(UDAX_SHARED)
  install(TARGETS udax_shared EXPORT udaxTargets
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  set(_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/udax)
  install(EXPORT udaxTargets NAMESPACE udax:: DESTINATION ${_cmakedir})
  configure_package_config_file(cmake/udaxConfig.cmake.in
    ${PROJECT_BINARY_DIR}/udaxConfig.cmake INSTALL_DESTINATION ${_cmakedir})
  # 0.x: a new minor release may change the interface.
  write_basic_package_version_file(${PROJECT_BINARY_DIR}/udaxConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
  install(FILES ${PROJECT_BINARY_DIR}/udaxConfig.cmake
                ${PROJECT_BINARY_DIR}/udaxConfigVersion.cmake
          DESTINATION ${_cmakedir})
endif()

# udax.pc, relative to its own place (${pcfiledir}) so that the tree can be
# installed with any --prefix or DESTDIR and moved.
set(_pcdir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
foreach(v LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${v}}")
    set(UDAX_PC_${v} "${CMAKE_INSTALL_${v}}")
  else()
    set(UDAX_PC_${v} "\${prefix}/${CMAKE_INSTALL_${v}}")
  endif()
endforeach()
if(IS_ABSOLUTE "${_pcdir}")
  set(UDAX_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _up "/${_pcdir}" "/")
  string(REGEX REPLACE "/$" "" _up "${_up}")
  set(UDAX_PC_PREFIX "\${pcfiledir}/${_up}")
endif()
set(UDAX_PC_REQUIRES_PRIVATE liburcu-bp)
if(URING_FOUND)
  string(APPEND UDAX_PC_REQUIRES_PRIVATE " liburing")
endif()
if(PMEM2_FOUND)
  string(APPEND UDAX_PC_REQUIRES_PRIVATE " libpmem2")
endif()
configure_file(cmake/udax.pc.in ${PROJECT_BINARY_DIR}/udax.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/udax.pc DESTINATION ${_pcdir})
