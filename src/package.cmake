# The installed libraries, made from the objects of the internal archive
# `udax` (src/CMakeLists.txt), and what `cmake --install` puts where.
include(GNUInstallDirs)

# libudax.so: SONAME libudax.so.<major>; the version script
# (src/libudax.map) exports the udax_ and __udax_ names, with symbol
# versions.  Not with UDAX_STATIC_BINARY (everything is linked -static) nor
# in the libFuzzer build (its coverage hooks live in the fuzzer's runtime).
if(NOT UDAX_STATIC_BINARY AND NOT UDAX_FUZZ)
  set(UDAX_SHARED ON)
else()
  set(UDAX_SHARED OFF)
endif()
set(UDAX_SHARED ${UDAX_SHARED} PARENT_SCOPE)

if(UDAX_SHARED)
  add_library(udax_shared SHARED $<TARGET_OBJECTS:udax>)
  target_link_libraries(udax_shared PRIVATE udax_urcu Threads::Threads)
  if(PMEM2_FOUND)
    target_link_libraries(udax_shared PRIVATE PkgConfig::PMEM2)
  endif()
  if(URING_FOUND)
    target_link_libraries(udax_shared PRIVATE udax_uring)
  endif()
  target_include_directories(udax_shared INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  set_target_properties(udax_shared PROPERTIES
    OUTPUT_NAME udax EXPORT_NAME udax
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
    LINK_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/libudax.map)
  target_link_options(udax_shared PRIVATE
    LINKER:--version-script=${CMAKE_CURRENT_SOURCE_DIR}/libudax.map)
  # Every dependency named at link time (sanitizer builds resolve their
  # runtime in the program).
  if(NOT CMAKE_BUILD_TYPE MATCHES "^(asan|tsan)$")
    target_link_options(udax_shared PRIVATE LINKER:--no-undefined)
  endif()
endif()

# libudax.a: the same objects linked into one relocatable object whose
# hidden symbols (everything include/udax/ does not declare) are made local,
# so a program defining dev_map or io_err links with libudax.a as it does
# with libudax.so.  (An archive of the separate objects would have to keep
# their cross-object references global.)
set(UDAX_STATIC_A ${CMAKE_CURRENT_BINARY_DIR}/libudax.a)
add_custom_command(OUTPUT ${UDAX_STATIC_A}
  COMMAND ${CMAKE_LINKER} -r -o libudax-all.o $<TARGET_OBJECTS:udax>
  COMMAND ${CMAKE_OBJCOPY} --localize-hidden libudax-all.o
  COMMAND ${CMAKE_COMMAND} -E rm -f ${UDAX_STATIC_A}
  COMMAND ${CMAKE_AR} qc ${UDAX_STATIC_A} libudax-all.o
  COMMAND ${CMAKE_RANLIB} ${UDAX_STATIC_A}
  DEPENDS udax $<TARGET_OBJECTS:udax>
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}
  COMMAND_EXPAND_LISTS
  COMMENT "Linking libudax.a (one object, internals local)")
add_custom_target(udax_static ALL DEPENDS ${UDAX_STATIC_A})
set(UDAX_STATIC_A ${UDAX_STATIC_A} PARENT_SCOPE)
