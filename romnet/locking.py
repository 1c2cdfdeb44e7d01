"""Writer locks and temporary files of stores (any file romnet writes whole or in place:
case stores, ROM version files).

* :func:`write_lock` ``(path)``: an advisory lock on ``<path>.lock`` held while a process
  writes ``path`` (``fcntl.flock``, exclusive, non-blocking). A second writer gets a
  :class:`~romnet.errors.StoreError` naming the holder (pid and host written in the lock
  file) at once, instead of silently overwriting the first one's work. Re-entrant within a
  process (a writer that calls another writer of the same file). The lock file is removed
  when released (a killed holder leaves it, unlocked: the next writer takes it over). Where
  the file system has no ``flock`` (``ENOLCK`` / ``ENOSYS`` / ``EOPNOTSUPP``, e.g. a
  Lustre mount without ``-o flock``), the lock is the exclusive creation of the lock file
  (``O_CREAT | O_EXCL``), stale when its pid is dead on this host (docs/store-schema.md,
  "Locks": cluster file systems).
* :func:`temporary_path` ``(path)``: a new temporary file ``<name>.XXXXXXXX.tmp`` next to
  ``path`` (the only temporaries romnet writes for a store); :func:`clean_temporaries`
  removes the ones a killed writer left, when no live writer holds the lock;
  :func:`is_temporary` tells whether a file name is one of them.
* :func:`copy_mode` ``(src, dst)``: ``dst`` gets the permission bits of ``src`` (an
  atomic rewrite keeps the mode of the file it replaces; a new file gets the umask's).
"""
from __future__ import annotations

import errno
import os
import re
import socket
import stat
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from .errors import StoreError

__all__ = ["write_lock", "lock_path", "holder", "temporary_path", "is_temporary", "clean_temporaries",
           "try_clean_temporaries", "copy_mode", "default_mode", "held"]

#: the random part of ``tempfile.mkstemp`` names: 8 characters of this alphabet
_TMP_CHARS = "a-z0-9_"
_NO_FLOCK = (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL)
_held: dict = {}            # resolved path -> [count, fd or None, lock file path]
_mutex = threading.Lock()


def lock_path(path) -> Path:
    """The lock file of ``path``: ``<path>.lock`` in the same folder."""
    p = Path(path)
    return p.with_name(p.name + ".lock")


def _key(path) -> str:
    return os.path.realpath(os.fspath(path))


def held(path) -> bool:
    """True when this process holds the write lock of ``path``."""
    return _key(path) in _held


def holder(path) -> str:
    """``pid N on host H`` of the lock file's content ('' when unreadable)."""
    try:
        text = lock_path(path).read_text(errors="replace").split()
    except OSError:
        return ""
    return f"pid {text[0]} on host {text[1]}" if len(text) >= 2 else ""


def _stamp(fd):
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)


def _busy(path, how=""):
    who = holder(path)
    return StoreError(f"{path}: another romnet process{' (' + who + ')' if who else ''} is writing this "
                      f"store{how}; wait for it to end (or, if it is dead, remove {lock_path(path)})")


def _acquire_flock(path, lp):
    import fcntl
    for _ in range(5):
        fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise _busy(path) from None
            raise
        try:                        # the file we locked must still be the lock file
            same = os.path.samestat(os.fstat(fd), os.stat(lp))
        except FileNotFoundError:
            same = False
        if same:
            _stamp(fd)
            return fd
        os.close(fd)                # removed by its releasing holder meanwhile: retry
    raise _busy(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _acquire_exclusive(path, lp):
    """Lock by exclusive creation (file systems without flock)."""
    for _ in range(2):
        try:
            fd = os.open(lp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            parts = lp.read_text(errors="replace").split() if lp.exists() else []
            stale = (len(parts) >= 2 and parts[1] == socket.gethostname() and parts[0].isdigit()
                     and not _pid_alive(int(parts[0])))
            if not stale:
                raise _busy(path, " (lock by exclusive creation: no flock on this file system)") from None
            lp.unlink(missing_ok=True)
            continue
        _stamp(fd)
        os.close(fd)
        return None
    raise _busy(path)


@contextmanager
def write_lock(path):
    """Hold the write lock of ``path`` for the block (module docstring); StoreError at once
    when another process holds it. Stale temporaries of ``path`` are removed once the lock
    is taken (no live writer can be writing them)."""
    key = _key(path)
    with _mutex:
        entry = _held.get(key)
        if entry is not None:
            entry[0] += 1
    if entry is None:
        lp = lock_path(key)
        try:
            fd = _acquire_flock(path, lp)
        except OSError as exc:
            if exc.errno not in _NO_FLOCK:
                raise StoreError(f"{path}: cannot lock {lp}: {exc.strerror}") from None
            fd = _acquire_exclusive(path, lp)
        with _mutex:
            _held[key] = [1, fd, lp]
        clean_temporaries(path)
    try:
        yield
    finally:
        with _mutex:
            entry = _held[key]
            entry[0] -= 1
            done = entry[0] == 0
            if done:
                del _held[key]
        if done:
            _, fd, lp = entry
            try:
                lp.unlink(missing_ok=True)   # before unlocking: a waiter re-checks the inode
            finally:
                if fd is not None:
                    os.close(fd)


# --------------------------------------------------------------------------- temporaries
def _tmp_pattern(name: str):
    return re.compile(re.escape(name) + r"\.[" + _TMP_CHARS + r"]{8}\.tmp")


def is_temporary(candidate, path) -> bool:
    """True when the file name ``candidate`` is a temporary of ``path``
    (``<name>.XXXXXXXX.tmp``, XXXXXXXX the 8 random characters of ``mkstemp``)."""
    return _tmp_pattern(Path(path).name).fullmatch(Path(candidate).name) is not None


def temporary_path(path) -> Path:
    """A new empty temporary file next to ``path`` (same folder: the rename over ``path`` is
    atomic), named ``<name>.XXXXXXXX.tmp``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=p.name + ".", suffix=".tmp", dir=p.parent)
    os.close(fd)
    return Path(tmp)


def clean_temporaries(path) -> list:
    """Remove the temporaries of ``path`` (regular files matching exactly
    :func:`is_temporary`) a killed writer left; the caller holds the write lock. Returns
    the removed paths."""
    p = Path(path)
    pat = _tmp_pattern(p.name)
    removed = []
    try:
        names = os.listdir(p.parent if str(p.parent) else ".")
    except OSError:
        return removed
    for n in names:
        if pat.fullmatch(n):
            q = p.parent / n
            try:
                if stat.S_ISREG(os.lstat(q).st_mode):
                    q.unlink()
                    removed.append(q)
            except OSError:
                pass
    return removed


def try_clean_temporaries(path) -> list:
    """:func:`clean_temporaries` when stale temporaries exist and the write lock is free
    (taken and released here); nothing when this process or another one writes ``path``,
    or the folder is read-only. For readers: a store's next open cleans up after a
    killed writer."""
    p = Path(path)
    pat = _tmp_pattern(p.name)
    try:
        if held(p) or not any(pat.fullmatch(n) for n in os.listdir(p.parent if str(p.parent) else ".")):
            return []
        with write_lock(p):
            return []               # write_lock cleaned them
    except (StoreError, OSError):
        return []


# --------------------------------------------------------------------------- modes
def default_mode() -> int:
    """Permission bits of a new file under the current umask (0o666 & ~umask)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def copy_mode(src, dst) -> None:
    """Give ``dst`` the permission bits of ``src`` (those of a new file when ``src`` does
    not exist)."""
    try:
        mode = stat.S_IMODE(os.stat(src).st_mode)
    except FileNotFoundError:
        mode = default_mode()
    os.chmod(dst, mode)
