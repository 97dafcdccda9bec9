"""Bad input from sysfs or fdinfo: a named error, skipped and logged, never fatal."""

import logging

MAX_REMEMBERED = 1024  # distinct problems logged once each; then the memory starts over


class GpuDataError(ValueError):
    """A sysfs or DRM fdinfo file that does not say what the kernel documents."""


class LogOnce:
    """Logs each distinct problem once: a malformed file read every second must not
    fill the log, but must be seen."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._seen: set[str] = set()

    def warning(self, key: str, message: str, *args: object) -> None:
        if key in self._seen:
            return
        if len(self._seen) >= MAX_REMEMBERED:
            self._seen.clear()
        self._seen.add(key)
        self._log.warning(message, *args)
