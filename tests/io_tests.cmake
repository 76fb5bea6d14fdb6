# io layer tests (included by tests/CMakeLists.txt when liburing is found).
udax_test(io_odirect)
udax_test(io_wait_idle LABELS concurrency TIMEOUT 120)
udax_test(io_cancel LABELS concurrency TIMEOUT 120)
udax_test(io_qdepth LABELS concurrency TIMEOUT 120)
udax_test(io_fixed LABELS concurrency TIMEOUT 120)
udax_test(io_file LABELS concurrency TIMEOUT 120)
udax_test(io_lease LABELS concurrency TIMEOUT 300)
udax_test(fs_dma_stress LABELS concurrency TIMEOUT 300)
# fork(): an engine, its transfers and buffers stay the parent's.
udax_test(fork_io LABELS concurrency TIMEOUT 300)
udax_test(io_write_pin LABELS concurrency TIMEOUT 120)
udax_test(io_range_rules LABELS concurrency TIMEOUT 120)
