"""Keys a local install generates once under var/ (mode 0600, written atomically) and reuses; read by settings."""
import base64
import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

PRIVATE_FILE_MODE = 0o600


def new_secret_key() -> str:
    """A Django SECRET_KEY: 50 URL-safe random characters (about 300 bits)."""
    return secrets.token_urlsafe(38)[:50]


def new_fernet_key() -> str:
    """A Fernet key (32 random bytes, URL-safe base64), made without importing cryptography at settings time."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def key_from_file(path: Path, make: Callable[[], str]) -> str:
    """The key stored in `path`; the first caller writes a new one there.

    The key is written to a private temporary file (created 0600 with O_EXCL) and then hard-linked to `path`:
    the link either appears whole or not at all, so processes starting together (web server, worker, beat)
    never read a half-written file, and the one that loses the race reads the winner's key.
    """
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: everyone uses its key
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text().strip()
    if not value:
        raise ValueError(f"{path} is empty. Remove it to generate a new key (client secrets saved with the old "
                         "field encryption key must then be entered again).")
    return value


def private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it is missing, and take group/other access away if it exists
    (the embedded SQLite database: SQLite gives its -wal and -shm files the database file's mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            with contextlib.suppress(PermissionError):  # not ours to change: its owner decides
                path.chmod(PRIVATE_FILE_MODE)
