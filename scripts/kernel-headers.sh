#!/bin/bash
# Test machines only: bcc compiles BPF C against /lib/modules/$(uname -r)/build. A custom
# kernel with no headers package gets the nearest distribution headers linked there (see
# docs/ebpf.md: the programs read only tracepoint arguments, so struct layouts that
# differ from the running kernel do not matter). Also mounts tracefs when it is missing.
set -euo pipefail
modules=/lib/modules/$(uname -r)
if [ "$(id -u)" != 0 ]; then
    echo "kernel-headers: not root; leaving $modules alone (eBPF tests will skip)"
    exit 0
fi
if [ ! -e "$modules/build/Makefile" ]; then
    arch_tree=$(ls -d /usr/src/linux-headers-*-"$(dpkg --print-architecture 2>/dev/null || echo amd64)" 2>/dev/null | sort -V | tail -1 || true)
    common_tree=$(ls -d /usr/src/linux-headers-*-common 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$arch_tree" ] || [ -z "$common_tree" ]; then
        echo "kernel-headers: no headers under /usr/src to link; eBPF will report 'no kernel headers'"
        exit 0
    fi
    mkdir -p "$modules"
    ln -sfn "$arch_tree" "$modules/build"
    ln -sfn "$common_tree" "$modules/source"
    echo "kernel-headers: no headers for kernel $(uname -r); linked $modules/build -> $arch_tree" \
         "and $modules/source -> $common_tree (test machine only)"
fi
if [ ! -e /sys/kernel/tracing/trace_pipe ] && [ -d /sys/kernel/tracing ]; then
    mount -t tracefs nodev /sys/kernel/tracing && echo "kernel-headers: mounted tracefs"
fi
