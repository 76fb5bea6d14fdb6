# libudax-preload.so (src/preload): unmodified programs on udax.  Label
# "preload".  preload_calls is a plain program: it never links libudax.
if(UDAX_PRELOAD)
  add_executable(preload_calls preload_calls.c)
  add_executable(preload_threads preload_threads.c)
  target_link_libraries(preload_threads PRIVATE Threads::Threads)
  set(_pl $<TARGET_FILE:udax_preload>)
  set(_plt ${CMAKE_CURRENT_SOURCE_DIR}/preload_test.sh)
  add_test(NAME preload_exports COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/preload_exports.sh
           ${CMAKE_NM} ${_pl} ${PROJECT_SOURCE_DIR})
  add_test(NAME preload_calls COMMAND ${_plt} calls $<TARGET_FILE:udax-cli> ${_pl}
           $<TARGET_FILE:preload_calls>)
  add_test(NAME preload_threads COMMAND ${_plt} threads $<TARGET_FILE:udax-cli> ${_pl}
           $<TARGET_FILE:preload_threads>)
  foreach(mode config tools sqlite fio kill)
    add_test(NAME preload_${mode} COMMAND ${_plt} ${mode} $<TARGET_FILE:udax-cli> ${_pl})
  endforeach()
  set_tests_properties(preload_threads PROPERTIES LABELS "preload;concurrency"
    TIMEOUT 300)
  set_tests_properties(preload_exports preload_calls preload_config preload_tools
    preload_sqlite preload_fio preload_kill PROPERTIES
    LABELS preload TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()
