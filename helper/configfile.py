"""A configuration file that is validated before use, written atomically, reloaded when
edited by hand, and whose last good version stays in force when a new one is bad.

The last good text is also kept in the state folder, so that a file that became invalid
while the helper was stopped still leaves the previous settings in force at the next
start (with the error in the status), rather than the defaults.
"""

import logging
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from smoothtask_helper.atomic import write_atomic
from smoothtask_helper.errors import InvalidArgument

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_FILE_BYTES = 1024 * 1024

Signature = tuple[int, int, int] | None  # (inode, size, mtime ns) or None when absent


def load_toml(text: str, source: str, max_bytes: int) -> dict[str, object]:
    """A TOML document of at most ``max_bytes``, or InvalidArgument naming ``source``."""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InvalidArgument(f"{source}: larger than {max_bytes // 1024} KiB")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgument(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:
        raise InvalidArgument(f"{source}: invalid TOML: nested too deeply") from None


def signature(path: Path) -> Signature:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class ConfigFile(Generic[T]):
    def __init__(
        self,
        path: Path,
        last_good: Path,
        parse: Callable[[str, str], T],
        default: T,
    ) -> None:
        self.path = path
        self.last_good = last_good
        self._parse = parse
        self.default = default
        self.value: T = default
        self.text: str = ""
        self.error: str | None = None
        self.source = "defaults"  # "file", "last good copy" or "defaults"
        self._seen: Signature = None

    def _read(self) -> str:
        with self.path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise InvalidArgument(f"{self.path}: larger than {MAX_FILE_BYTES // 1024} KiB")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgument(f"{self.path}: not UTF-8 text") from None

    def load(self) -> None:
        """At start: the file; if it is bad, the last good copy (or the defaults)."""
        self._seen = signature(self.path)
        if self._seen is None:
            self.value, self.text, self.error, self.source = self.default, "", None, "defaults"
            return
        try:
            text = self._read()
            self.value, self.text = self._parse(text, str(self.path)), text
            self.error, self.source = None, "file"
            self._keep_last_good(text)
            return
        except (InvalidArgument, OSError) as exc:
            self.error = str(exc)
            log.error("%s; keeping the last good version", self.error)
        try:
            text = self.last_good.read_text()
            self.value, self.text, self.source = (
                self._parse(text, str(self.last_good)),
                text,
                ("last good copy"),
            )
        except (InvalidArgument, OSError):
            self.value, self.text, self.source = self.default, "", "defaults"

    def poll(self) -> bool:
        """Reload if the file changed on disk; True when something changed (value or error)."""
        seen = signature(self.path)
        if seen == self._seen:
            return False
        self._seen = seen
        if seen is None:  # removed by hand: back to the defaults
            self.value, self.text, self.error, self.source = self.default, "", None, "defaults"
            return True
        try:
            text = self._read()
            value = self._parse(text, str(self.path))
        except (InvalidArgument, OSError) as exc:
            self.error = str(exc)
            log.error("%s; the last good version stays in force", self.error)
            return True
        self.value, self.text, self.error, self.source = value, text, None, "file"
        self._keep_last_good(text)
        log.info("reloaded %s", self.path)
        return True

    def save(self, text: str) -> T:
        """Validate ``text``, then write it atomically; InvalidArgument changes nothing."""
        value = self._parse(text, str(self.path))
        write_atomic(self.path, text.encode("utf-8"), 0o644)
        self._seen = signature(self.path)
        self.value, self.text, self.error, self.source = value, text, None, "file"
        self._keep_last_good(text)
        return value

    def _keep_last_good(self, text: str) -> None:
        try:
            write_atomic(self.last_good, text.encode("utf-8"), 0o600)
        except OSError as exc:  # the state folder is a convenience here, not a must
            log.warning("cannot keep a last good copy in %s: %s", self.last_good, exc)

    def status(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "error": self.error,
            "source": self.source,
        }


def ensure_folder(path: Path, mode: int) -> str | None:
    """Create a folder if needed; the reason it cannot be used, or None."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=mode)
    except OSError as exc:
        return f"cannot create {path}: {exc.strerror or exc}"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"{path} is not writable"
    return None
