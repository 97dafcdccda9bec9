"""Reading whole BPF maps into numpy arrays with BPF_MAP_LOOKUP_BATCH.

bcc's own iteration costs two syscalls and a few Python objects per entry; with a
thousand processes that is most of the helper's budget. A batch lookup is one syscall
per batch, and numpy reads the packed entries without a Python object per entry.
"""

import contextlib
import ctypes
import errno
import os
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

BATCH_NOT_SUPPORTED = (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS)


@cache
def possible_cpus() -> int:
    """Per-CPU map values have one slot per possible CPU (not online CPU)."""
    with open("/sys/devices/system/cpu/possible") as f:
        text = f.read().strip()
    count = 0
    for part in text.split(","):
        low, _, high = part.partition("-")
        count += int(high or low) - int(low) + 1
    return count


class MapReader:
    """Reads one map: keys as ``key_dtype``, values as ``value_dtype``.

    For per-CPU maps the values come back with a CPU axis: shape (entries, cpus).
    """

    def __init__(
        self,
        name: str,
        table: Any,
        key_dtype: np.dtype[Any],
        value_dtype: np.dtype[Any],
        per_cpu: bool,
    ) -> None:
        from bcc.libbcc import lib  # noqa: PLC0415  # bcc is imported only once loaded

        self._lookup_batch = lib.bpf_lookup_batch
        self.name = name
        self._table = table
        self.fd: int = table.map_fd
        self.max_entries: int = table.max_entries
        key_size = ctypes.sizeof(table.Key)
        # bcc's per-CPU tables give Leaf as an array over CPUs; sLeaf is one CPU's value
        value_size = ctypes.sizeof(table.sLeaf if per_cpu else table.Leaf)
        if key_dtype.itemsize != key_size or value_dtype.itemsize != value_size:
            raise ValueError(
                f"map {name!r}: numpy layout {key_dtype.itemsize}/{value_dtype.itemsize} "
                f"bytes does not match the BPF map's {key_size}/{value_size}"
            )
        self.key_dtype = key_dtype
        self.value_dtype = value_dtype
        self.per_cpu = per_cpu
        self.cpus = possible_cpus() if per_cpu else 1
        # per-CPU values are laid out at 8-byte strides, one per possible CPU
        self._value_stride = (-(-value_size // 8) * 8) if per_cpu else value_size
        self._keys = np.zeros(self.max_entries, dtype=key_dtype)
        self._values = np.zeros(self.max_entries * self.cpus * self._value_stride, dtype=np.uint8)
        self._batch_supported = True

    def read(self) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """All entries now: (keys, values); copies, safe to keep."""
        count = self._read_batch() if self._batch_supported else -1
        if count < 0:
            return self._read_slowly()
        keys = self._keys[:count].copy()
        raw = self._values[: count * self.cpus * self._value_stride]
        if self.per_cpu:
            strided = raw.reshape(count, self.cpus, self._value_stride)
            values = strided[:, :, : self.value_dtype.itemsize].copy().view(self.value_dtype)
            return keys, values.reshape(count, self.cpus)
        return keys, raw.copy().view(self.value_dtype)

    def _read_batch(self) -> int:
        """Entries read, or -1 if this kernel cannot batch-read this kind of map."""
        token_in, token_out = ctypes.c_uint32(0), ctypes.c_uint32(0)
        total = 0
        first = True
        while total < self.max_entries:
            count = ctypes.c_uint32(self.max_entries - total)
            result = self._lookup_batch(
                self.fd,
                None if first else ctypes.byref(token_in),
                ctypes.byref(token_out),
                ctypes.c_void_p(self._keys.ctypes.data + total * self.key_dtype.itemsize),
                ctypes.c_void_p(self._values.ctypes.data + total * self.cpus * self._value_stride),
                ctypes.byref(count),
            )
            err = ctypes.get_errno() if result else 0
            total += count.value
            if result != 0:
                if err == errno.ENOENT or result == -errno.ENOENT:
                    return total  # the end of the map
                if err in BATCH_NOT_SUPPORTED or -result in BATCH_NOT_SUPPORTED:
                    self._batch_supported = False
                    return -1
                raise OSError(err or -result, f"reading BPF map: {os.strerror(err or -result)}")
            if count.value == 0:
                return total
            token_in.value = token_out.value
            first = False
        return total

    def _read_slowly(self) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """bcc's entry-by-entry iteration, for kernels without batch lookups (< 5.6)."""
        items = list(self._table.items())
        keys = np.zeros(len(items), dtype=self.key_dtype)
        shape = (len(items), self.cpus) if self.per_cpu else (len(items),)
        values = np.zeros(shape, dtype=self.value_dtype)
        for i, (key, value) in enumerate(items):
            keys[i] = np.frombuffer(bytes(key), dtype=self.key_dtype)[0]
            if self.per_cpu:
                for cpu, per in enumerate(value):
                    values[i, cpu] = np.frombuffer(bytes(per), dtype=self.value_dtype)[0]
            else:
                values[i] = np.frombuffer(bytes(value), dtype=self.value_dtype)[0]
        return keys, values

    def count(self) -> int:
        """Entries in the map now (a batch read; keys only matter)."""
        return len(self.read()[0])

    def delete(self, keys: npt.NDArray[Any]) -> None:
        for key in keys:
            k = self._table.Key.from_buffer_copy(np.asarray(key, dtype=self.key_dtype).tobytes())
            with contextlib.suppress(KeyError):  # already freed by its own exit hook
                del self._table[k]
