"""Resumable checkpoints written atomically, like every other file mtda writes.

mmengine's ``CheckpointHook`` writes ``iter_N.pth`` through its file backend, whose local ``put``
is a plain ``open(path, 'wb')``: a run killed while saving leaves a torn ``iter_N.pth`` behind, and
a full disk a truncated one and a traceback. :class:`AtomicLocalBackend` writes through
:func:`mtda.io.atomic.atomic_write` instead (temporary file, fsync, rename), so a checkpoint file
is complete or absent, and a failed write is a one-line :class:`~mtda.errors.MtdaError` naming the
file; :func:`use_atomic_checkpoints` points a config's ``CheckpointHook`` at it.
"""
import os
from pathlib import Path

from mmengine.fileio import LocalBackend, register_backend

from ..io.atomic import atomic_write

BACKEND = 'mtda_atomic_local'


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, with atomic ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(filepath, lambda f: f.write(obj), fsync=True)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write(filepath, lambda f: f.write(obj.encode(encoding)), fsync=True)


register_backend(BACKEND, AtomicLocalBackend, force=True)


def use_atomic_checkpoints(cfg) -> None:
    """Save the config's ``CheckpointHook`` files with :class:`AtomicLocalBackend`, unless the hook
    already names a backend or saves to a remote ``out_dir`` (``s3://...``)."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if not hook or hook.get('backend_args') or hook.get('file_client_args'):
        return
    if '://' in str(hook.get('out_dir') or ''):
        return
    hook['backend_args'] = dict(backend=BACKEND)


def repair_resume_state(work_dir) -> list[str]:
    """Before ``--resume``: undo what a killed run can leave in ``work_dir``.

    * ``last_checkpoint`` (written by mmengine with a plain ``open``) empty, or naming a file that
      is gone: point it at the newest ``iter_N.pth`` (each is complete, :class:`AtomicLocalBackend`),
      or remove it so the run starts afresh when there is none.
    * hidden temporary files (``.NAME.<pid>.<tid>.tmp``) of writers that are no longer running.

    Returns:
        one line per repair, for the log.
    """
    work_dir = Path(work_dir)
    done = []
    for tmp in work_dir.glob('.*.tmp'):
        pid = tmp.name.rsplit('.', 3)[-3] if tmp.name.count('.') >= 4 else ''
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)
            done.append(f'removed {tmp.name}, left by killed process {pid}')
    pointer = work_dir / 'last_checkpoint'
    if not pointer.is_file():
        return done
    named = pointer.read_text().strip()
    if named and Path(named).is_file():
        return done
    checkpoints = sorted(work_dir.glob('iter_*.pth'), key=lambda p: _iteration(p.name))
    if checkpoints:
        atomic_write(pointer, lambda f: f.write(str(checkpoints[-1].resolve()).encode()))
        done.append(f'last_checkpoint named {named or "nothing"!r}; resuming from '
                    f'{checkpoints[-1].name} instead')
    else:
        pointer.unlink()
        done.append(f'last_checkpoint named {named or "nothing"!r} and there is no iter_*.pth; '
                    'starting afresh')
    return done


def _iteration(name: str) -> int:
    digits = name[len('iter_'):-len('.pth')]
    return int(digits) if digits.isdigit() else -1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
