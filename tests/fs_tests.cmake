# File system tests (included by tests/CMakeLists.txt).
udax_test(fs_mount)
udax_test(fs_namespace)
udax_test(fs_handle)
udax_test(fs_data)
udax_test(fs_crash TIMEOUT 900)
udax_test(fs_corrupt)
udax_test(fs_orphan)
udax_test(fs_enospc)
udax_test(fs_extents)
udax_test(fs_mt_file LABELS concurrency)
udax_test(fs_mt_ns LABELS concurrency)
udax_test(fs_dir_large)
udax_test(fs_dir_cached)
udax_test(fs_dir_readdir_mt LABELS concurrency)
udax_test(fs_fault)
udax_test(fs_fault_mount)
udax_test(fs_part_busy)
udax_test(fs_unmount_ex LABELS concurrency)
udax_test(fs_busy_causes)
udax_test(fs_range_rules)
udax_test(fs_tail_zero)
udax_test(fs_symlink)
udax_test(fs_owner)
udax_test(fs_setattr)
udax_test(fs_dir_cookie LABELS concurrency)
udax_test(fs_open_flags)
udax_test(fs_mknod)
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
# fork(): objects inherited by a child are refused (include/udax/dev.h).
udax_test(fork_scenario)
udax_test(fork_fs)
udax_test(fs_corrupt_exact)

# The same data and concurrency tests on the PMem-like memory device
# (cache-line write-back + fence, non-temporal copies): tests/fs_util.h.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  add_test(NAME fs_data_pmem_like COMMAND fs_data)
  add_test(NAME fs_mt_file_pmem_like COMMAND fs_mt_file)
  set_tests_properties(fs_data_pmem_like fs_mt_file_pmem_like PROPERTIES
                       ENVIRONMENT "UDAX_TEST_MEM_OPTS=persist=cpu" TIMEOUT 300)
  set_tests_properties(fs_mt_file_pmem_like PROPERTIES LABELS concurrency)
endif()
