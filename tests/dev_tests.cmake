# Device layer tests (included by tests/CMakeLists.txt).
udax_test(dev_crc32c)
udax_test(dev_mem)
udax_test(dev_spec)
udax_test(dev_file)
udax_test(dev_part)
udax_test(dev_part_corrupt)
udax_test(dev_persist_hooks)
udax_test(dev_crash)
udax_test(dev_crash_part)
udax_test(dev_pgmap)
udax_test(dev_close_wait LABELS concurrency TIMEOUT 120)
# fork(): the child does not share the device's lock (include/udax/dev.h).
udax_test(fork_lock)
