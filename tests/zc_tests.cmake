# Zero-copy and layout breaks (src/fs/break.c pin.c view.c lease.c).
udax_test(fs_break_pin LABELS concurrency)
udax_test(fs_truncate_pinned_tail LABELS concurrency)
udax_test(fs_defer_kept LABELS concurrency)
udax_test(fs_view)
udax_test(fs_lease LABELS concurrency)
udax_test(fs_limited)
udax_test(fs_partitions)
udax_test(fs_stress LABELS concurrency)
