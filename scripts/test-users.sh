#!/bin/bash
# Test users: tests run clients as these to check what other users may and may not do.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
    echo "test-users: not root; tests that switch users will skip"
    exit 0
fi
for user in tester tester2; do
    id "$user" >/dev/null 2>&1 || { useradd -m "$user" && echo "test-users: created $user"; }
done
