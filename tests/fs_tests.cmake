# File system tests (included by tests/CMakeLists.txt).
udax_test(fs_mount)
udax_test(fs_namespace)
udax_test(fs_data)
udax_test(fs_crash)
udax_test(fs_corrupt)
