"""Collectors: the only code that reads the kernel (/proc now, eBPF through bcc later)."""
