# File system tests (included by tests/CMakeLists.txt).
udax_test(fs_mount)
udax_test(fs_namespace)
udax_test(fs_data)
udax_test(fs_crash TIMEOUT 900)
udax_test(fs_corrupt)
udax_test(fs_orphan)
udax_test(fs_enospc)
udax_test(fs_extents)
udax_test(fs_mt_file LABELS concurrency)
udax_test(fs_mt_ns LABELS concurrency)
udax_test(fs_fault)
udax_test(fs_fault_mount)
target_sources(fs_crash PRIVATE fs_crash_state.c fs_crash_ops.c fs_crash_run.c)
# Sanitizer builds run ~3x slower: the crash test samples large epochs with
# random subsets only there (UDAX_CRASH_QUICK); UDAX_CRASH_LONG=1 by hand
# for the long mode.
if(CMAKE_BUILD_TYPE MATCHES "^(asan|tsan)$")
  set_tests_properties(fs_crash PROPERTIES ENVIRONMENT "UDAX_CRASH_QUICK=1")
endif()
udax_test(fs_fsck)
udax_test(fs_fsck_lnf)
# Crashes during recovery, fsck repair and mkfs (docs/crash.md).
udax_test(fs_crash_recovery TIMEOUT 900)
target_sources(fs_crash_recovery PRIVATE fs_crash_state.c fs_crash_ops.c fs_crash_run.c
  fs_crash_walk.c fs_crash_replay.c fs_crash_damage.c fs_crash_repair.c fs_crash_mkfs.c)
if(CMAKE_BUILD_TYPE MATCHES "^(asan|tsan)$")
  set_tests_properties(fs_crash_recovery PROPERTIES ENVIRONMENT "UDAX_CRASH_QUICK=1")
endif()
# Concurrent operations under per-thread fences (docs/crash.md).
udax_test(fs_crash_mt LABELS concurrency)
target_sources(fs_crash_mt PRIVATE fs_crash_state.c fs_crash_ops.c fs_crash_run.c)
if(CMAKE_BUILD_TYPE MATCHES "^(asan|tsan)$")
  set_tests_properties(fs_crash_mt PROPERTIES ENVIRONMENT "UDAX_CRASH_QUICK=1")
endif()
