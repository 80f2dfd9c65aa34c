"""Atomic output files: written under a temporary name beside the target, then renamed into place.

Every file mtda writes goes through here (checkpoints, results, converted labels, figures), so a
killed process or a full disk leaves either the old file, or nothing, or the complete new file —
never a torn one. The temporary name is hidden, ends in ``.tmp`` (no input pattern of mtda matches
it) and carries the process and thread ids, so parallel writers never collide. It is created with a
plain ``open``, so the file gets the user's umask permissions (``mkstemp`` would make it 0600, which
breaks data folders and checkpoints shared between users).
"""
import contextlib
import os
import threading
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from ..errors import MtdaError


def _temporary_name(path: Path) -> Path:
    return path.with_name(f'.{path.name}.{os.getpid()}.{threading.get_ident()}.tmp')


@contextlib.contextmanager
def atomic_output(path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else remove it.

    For writers that want a path (safetensors, matplotlib). The folder is created.

    Raises:
        MtdaError: the file could not be written (e.g. a full disk), naming ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise MtdaError(f'{path}: could not be written ({exc.strerror or exc}); free disk space '
                        'or choose another output path') from None
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path, write: Callable[[BinaryIO], None], *, fsync: bool = False) -> Path:
    """Call ``write(file)`` on the temporary file, then rename it to ``path``.

    Args:
        path: the final file.
        write: writes the content to the open binary file.
        fsync: flush to the disk before the rename (checkpoints: survive a power loss too).
    """
    with atomic_output(path) as tmp:
        with open(tmp, 'wb') as f:
            write(f)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
    return Path(path)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(data))


def check_output_path(path, *, option: str, folder: bool = False) -> None:
    """Refuse, before any work, an output that cannot be written: one line naming it and the fix.

    Checks that ``path`` is not the wrong kind of thing (a folder where a file goes, or a file
    where a folder goes), that no part of its parent path is a file, and that the nearest
    existing folder above it takes a new file (probed by creating and removing one, which also
    catches read-only file systems where permission bits say nothing, e.g. for root).

    Args:
        path: the output file, or folder if ``folder``.
        option: how the user named it (``--out``, ``--work-dir``), for the message.
        folder: ``path`` is a folder to create or reuse.

    Raises:
        MtdaError: naming ``option``, ``path`` and what to do.
    """
    path = Path(path)
    if path.exists() and path.is_dir() != folder:
        kind = 'a folder' if path.is_dir() else 'a file'
        raise MtdaError(f'{option} {path}: is {kind}; give the path of a '
                        f'{"folder" if folder else "file"} to write')
    existing = path if folder and path.is_dir() else path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise MtdaError(f'{option} {path}: {existing} is a file, so nothing can be created under '
                        'it; choose another path')
    probe = existing / f'.mtda-write-probe.{os.getpid()}.{threading.get_ident()}.tmp'
    try:
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise MtdaError(f'{option} {path}: cannot write into {existing} '
                        f'({exc.strerror or exc}); choose a writable location') from None
