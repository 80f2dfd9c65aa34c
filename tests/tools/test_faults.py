"""Fault injection: the real command-line tools, each in its own process, hit by what goes wrong.
The processes are forked from a server that has mtda imported (``support.start_tool``), except
the full-disk runs, which start a new interpreter to set their file-size limit first.

Faults injected:

* ``kill -9`` of ``tools/train.py`` (8 deterministic iterations, a checkpoint every 2) at 5
  points: at the runner's first log line (before any checkpoint exists), the moment a seeded
  random checkpoint starts being written, and a seeded random delay after a seeded random
  iteration's log line (three times; it often lands in a checkpoint save); then ``--resume``;
* ``kill -9`` of ``tools/merge.py --no-eval`` after 10 seeded delays spread over one merge's
  lifetime, and twice the moment its temporary output file appears (in the middle of the write);
* a full disk while a checkpoint is written, for ``tools/merge.py`` and ``tools/train.py``
  (``RLIMIT_FSIZE`` with SIGXFSZ ignored, so ``write()`` fails with EFBIG as it would with ENOSPC);
* two ``tools/merge.py`` writing one ``--out`` at the same time.

The invariant: an output path holds nothing, its previous content, or one complete file that loads
with ``torch.load(weights_only=True)``, never a torn one. A process that fails while alive says why
in one line (``error: ...``, exit status 2) and leaves no temporary file; a killed one can leave
only its own hidden ``.NAME.<pid>.<tid>.tmp`` (kill -9 runs no cleanup), which nothing reads. A run
killed and resumed ends with weights bit-identical to an uninterrupted run.
"""
import contextlib
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import pytest
import torch

from support import (REPO, TINY_CONFIG, ForkedTool, finetune_two_from_one_init, run_tool,
                     start_tool)

pytestmark = pytest.mark.usefixtures('one_torch_thread')

# One OpenMP thread per tool (the tiny model gains nothing from more); unbuffered, so a log line is
# in the log file the moment the tool writes it.
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}
PARALLEL = 2  # tool processes at a time: the machine has 2 cores

TRAIN_ITERS = 8
TRAIN_OPTIONS = ['--cfg-options', f'train_cfg.max_iters={TRAIN_ITERS}', 'train_cfg.val_begin=1000',
                 'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
                 'randomness.seed=0', 'randomness.deterministic=True']

WEIGHTS_A, WEIGHTS_B = ('1', '3'), ('3', '1')  # two different merges of the same inputs


# ---------------------------------------------------------------------------------------- helpers

def _command(tool: str, *args) -> list:
    return [sys.executable, str(REPO / 'tools' / tool), *map(str, args)]


def _start(tool: str, *args, cwd, stdout=os.devnull, stderr=None) -> ForkedTool:
    """Start ``tools/<tool>``, forked as :func:`_run` runs it; its output to the file ``stdout``
    (``stderr``: another file, default the same one)."""
    return start_tool(tool, *args, cwd=cwd, env=ENV, stdout=stdout, stderr=stderr)


def _run(tool: str, *args, cwd, preexec_fn=None) -> subprocess.CompletedProcess:
    """Run ``tools/<tool>`` to its end; its output captured as text. Forked from the server that
    has mtda imported (:func:`support.run_tool`), or, with a ``preexec_fn`` to run in the child
    first, a new interpreter."""
    if preexec_fn is None:
        return run_tool(tool, *args, cwd=cwd, check=False, env=ENV)
    return subprocess.run(_command(tool, *args), cwd=cwd, env=ENV, capture_output=True, text=True,
                          preexec_fn=preexec_fn)


def _disk_full_beyond(size: int):
    """A ``preexec_fn``: files grow to ``size`` bytes, then ``write()`` fails with EFBIG."""
    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit_file_size


def _loads_weights_only(path: Path) -> bool:
    try:
        torch.load(path, weights_only=True)
    except Exception:  # noqa: BLE001  (any failure means the file is torn)
        return False
    return True


def _torn_checkpoints(folder: Path) -> list:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob('*.pth')
                  if not _loads_weights_only(p))


def _temporary_files(folder: Path) -> list:
    """Leftover temporary files (mtda/io/atomic.py names them ``.NAME.<pid>.<tid>.tmp``)."""
    return sorted(folder.rglob('*.tmp'))


def _writer_pid(temporary: Path) -> int:
    return int(temporary.name.split('.')[-3])


def _state(path) -> dict:
    return torch.load(path, weights_only=True)['state_dict']


def _assert_same_tensors(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(actual[key], value), key


def _same_tensors(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _in_parallel(function, items) -> list:
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(function, items))


# ------------------------------------------------------------------------- kill -9 while training

@pytest.fixture(scope='module')
def reference_training(tiny_data_root, tmp_path_factory) -> Path:
    """The work dir of an uninterrupted run of TRAIN_ITERS iterations."""
    work_dir = tmp_path_factory.mktemp('faults_train') / 'reference'
    proc = _run('train.py', TINY_CONFIG, '--work-dir', work_dir, *TRAIN_OPTIONS, cwd=tiny_data_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work_dir


@dataclass(frozen=True)
class TrainKill:
    """When to kill training: ``delay`` seconds after the log shows ``log_pattern``, or (no
    pattern) the moment the resumable checkpoint of iteration ``checkpoint`` starts being written
    (its file, or its temporary, appears)."""
    log_pattern: Optional[str] = None
    checkpoint: Optional[int] = None
    delay: float = 0.0

    def has_happened(self, log_text: str, work_dir: Path) -> bool:
        if self.log_pattern is not None:
            return re.search(self.log_pattern, log_text) is not None
        return any(work_dir.glob(f'*iter_{self.checkpoint}.pth*'))


def _iteration_logged(iteration: int) -> str:
    return rf'Iter\(train\) \[\s*{iteration}/'


def train_kill_points(count: int = 5, seed: int = 13) -> list:
    """At the runner's first log line (before the model is built, so before any checkpoint); while
    a random checkpoint is written; then after random iterations (leaving at least two, so the
    process is still alive), with a random delay that spans the weights export and checkpoint save
    that follow an even iteration."""
    rng = random.Random(seed)
    return [TrainKill(log_pattern='System environment:'),
            TrainKill(checkpoint=rng.choice(range(2, TRAIN_ITERS + 1, 2)))] + [
        TrainKill(log_pattern=_iteration_logged(rng.randint(1, TRAIN_ITERS - 2)),
                  delay=round(rng.uniform(0.0, 0.6), 2)) for _ in range(count - 2)]


def _last_checkpoint(work_dir: Path) -> Optional[Path]:
    """The checkpoint ``--resume`` reads (mmengine's ``last_checkpoint`` names it)."""
    pointer = work_dir / 'last_checkpoint'
    return Path(pointer.read_text().strip()) if pointer.exists() else None


def _kill_training(point: TrainKill, work_dir: Path, cwd: Path) -> ForkedTool:
    """Start a run with its output to a log file, poll for ``point``, SIGKILL it there."""
    log = work_dir.with_suffix('.log')
    log.write_text('')
    with open(log) as reader:
        proc = _start('train.py', TINY_CONFIG, '--work-dir', work_dir, *TRAIN_OPTIONS, cwd=cwd,
                      stdout=log)
        log_text = ''
        while proc.poll() is None and not point.has_happened(log_text, work_dir):
            time.sleep(0.002)
            log_text += reader.read()
        time.sleep(point.delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return proc


def _kill_and_resume(point: TrainKill, work_dir: Path, cwd: Path) -> SimpleNamespace:
    """Kill a run at ``point``, look at what it left, then ``--resume`` it to the end."""
    killed = _kill_training(point, work_dir, cwd)
    killed_log = work_dir.with_suffix('.log').read_text()
    resume_from, torn_after_kill = _last_checkpoint(work_dir), _torn_checkpoints(work_dir)
    resumed = _run('train.py', TINY_CONFIG, '--work-dir', work_dir, '--resume', *TRAIN_OPTIONS,
                   cwd=cwd)
    return SimpleNamespace(point=point, work_dir=work_dir, killed=killed, killed_log=killed_log,
                           resume_from=resume_from, torn_after_kill=torn_after_kill,
                           resumed=resumed)


def test_training_killed_and_resumed_ends_bit_identical(reference_training, tiny_data_root,
                                                        tmp_path):
    reference = _state(reference_training / 'weights' / 'final.pth')
    points = train_kill_points()
    runs = _in_parallel(lambda i: _kill_and_resume(points[i], tmp_path / f'kill_{i}',
                                                   tiny_data_root), range(len(points)))
    for run in runs:
        leftovers = _temporary_files(run.work_dir)
        print(f'{run.point}: resumed from {run.resume_from}, torn after the kill '
              f'{run.torn_after_kill}, stale temporary files {[t.name for t in leftovers]}')
        assert run.killed.returncode == -signal.SIGKILL, run.killed_log[-3000:]
        # the kill leaves no torn checkpoint (so certainly not the one --resume reads)
        assert run.torn_after_kill == [], run.point
        assert run.resumed.returncode == 0, run.resumed.stderr[-3000:]
        log = run.resumed.stdout
        if run.resume_from is None:  # killed before the first checkpoint: starts from scratch
            assert 'Did not find last_checkpoint to be resumed' in log
        else:
            named = re.fullmatch(r'iter_(\d+)\.pth', run.resume_from.name)
            assert named, run.resume_from  # a checkpoint, never a temporary file
            iteration = int(named.group(1))
            assert f'Auto resumed from the latest checkpoint {run.resume_from}.' in log
            assert f'resumed epoch: 0, iter: {iteration}' in log
        _assert_same_tensors(_state(run.work_dir / 'weights' / 'final.pth'), reference)
        assert _torn_checkpoints(run.work_dir) == []
        # the resumed run cleaned up after itself; a temporary file can only be the killed one's
        assert {_writer_pid(t) for t in leftovers} <= {run.killed.pid}
    # the first kill point is at the runner's first log line, before the model even exists
    assert runs[0].resume_from is None


def test_a_full_disk_while_training_saves_a_checkpoint_is_a_one_line_error(
        reference_training, tiny_data_root, tmp_path):
    export_size = (reference_training / 'weights' / 'final.pth').stat().st_size
    checkpoint_size = (reference_training / f'iter_{TRAIN_ITERS}.pth').stat().st_size
    limit = export_size + (1 << 20)
    # the weights-only export fits; mmengine's resumable checkpoint (optimizer state too) does not
    assert checkpoint_size > limit
    work_dir = tmp_path / 'work'
    proc = _run('train.py', TINY_CONFIG, '--work-dir', work_dir, *TRAIN_OPTIONS, cwd=tiny_data_root,
                preexec_fn=_disk_full_beyond(limit))
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    # library warnings may come before it; the error is the one last line
    lines = proc.stderr.strip().splitlines()
    print(lines[-1])
    assert [line for line in lines if line.startswith('error: ')] == lines[-1:]
    assert f'{work_dir / "iter_2.pth"}:' in lines[-1] and 'free disk space' in lines[-1]
    assert not (work_dir / 'iter_2.pth').exists() and _last_checkpoint(work_dir) is None
    assert _loads_weights_only(work_dir / 'weights' / 'iter_2.pth')
    assert _torn_checkpoints(work_dir) == [] and _temporary_files(work_dir) == []


# --------------------------------------------------------------------------------------- merging

@pytest.fixture(scope='module')
def merge_inputs(tiny_data_root, tmp_path_factory) -> SimpleNamespace:
    """A config, and two tiny checkpoints fine-tuned for 2 iterations from one init."""
    folder = tmp_path_factory.mktemp('faults_merge')
    config, _, checkpoints = finetune_two_from_one_init(tiny_data_root, folder)
    return SimpleNamespace(folder=folder, config=config, checkpoints=checkpoints)


def _merge_args(inputs: SimpleNamespace, out: Path, weights) -> list:
    return [inputs.config, *inputs.checkpoints, '--out', out, '--no-eval', '--weights', *weights]


@pytest.fixture(scope='module')
def reference_merges(merge_inputs) -> SimpleNamespace:
    """Both weightings merged undisturbed, side by side, and how long one merge took."""
    folder = merge_inputs.folder / 'reference'
    folder.mkdir()
    started = time.monotonic()

    def merge(weights):
        out = folder / f'merged_{"_".join(weights)}.pth'
        # started as the killed merges are: their kill points span its lifetime
        proc = _run('merge.py', *_merge_args(merge_inputs, out, weights), cwd=folder)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return out, time.monotonic() - started

    (a, seconds), (b, _) = _in_parallel(merge, [WEIGHTS_A, WEIGHTS_B])
    return SimpleNamespace(a=a, b=b, seconds=seconds)


@dataclass(frozen=True)
class MergeKill:
    """When to kill a merge: ``delay`` seconds after its start, or (``None``) the moment its
    temporary output file appears."""
    delay: Optional[float]


def merge_kill_points(lifetime: float, count: int = 10, seed: int = 11) -> list:
    rng = random.Random(seed)
    delays = sorted(round(rng.uniform(0.0, lifetime), 2) for _ in range(count))
    return [MergeKill(delay) for delay in delays] + [MergeKill(None), MergeKill(None)]


def _wait_for_temporary_file(proc: ForkedTool, out: Path) -> None:
    while proc.poll() is None and not list(out.parent.glob(f'.{out.name}.*.tmp')):
        time.sleep(0.001)


def _kill_merge(point: MergeKill, inputs: SimpleNamespace, folder: Path) -> SimpleNamespace:
    folder.mkdir()
    out = folder / 'merged.pth'
    proc = _start('merge.py', *_merge_args(inputs, out, WEIGHTS_A), cwd=folder)
    if point.delay is None:
        _wait_for_temporary_file(proc, out)
    else:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=point.delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return SimpleNamespace(point=point, pid=proc.pid, returncode=proc.returncode, out=out,
                           temporary=_temporary_files(folder))


def test_merge_killed_at_any_moment_leaves_no_output_or_the_complete_one(
        merge_inputs, reference_merges, tmp_path):
    reference = _state(reference_merges.a)
    input_keys = set().union(*(_state(c).keys() for c in merge_inputs.checkpoints))
    points = merge_kill_points(reference_merges.seconds)
    kills = _in_parallel(lambda i: _kill_merge(points[i], merge_inputs, tmp_path / f'kill_{i}'),
                         range(len(points)))
    for kill in kills:
        print(f'{kill.point}: exit {kill.returncode}, output '
              f'{"complete" if kill.out.exists() else "none"}, stale tmp {len(kill.temporary)}')
        assert kill.returncode in (0, -signal.SIGKILL), kill.point
        if kill.out.exists():  # never torn: complete, with every key of the inputs, the reference
            assert _loads_weights_only(kill.out), kill.point
            state = _state(kill.out)
            assert set(state) == input_keys
            _assert_same_tensors(state, reference)
        if kill.returncode == 0:  # finished before the kill: its output, and nothing left behind
            assert kill.out.exists() and kill.temporary == []
        # nothing else beside the output; a temporary file only from the killed writer, hidden
        visible = {p.name for p in kill.out.parent.iterdir() if not p.name.startswith('.')}
        assert visible <= {'merged.pth'}
        assert {_writer_pid(t) for t in kill.temporary} <= {kill.pid}
        assert all(t.name.startswith('.merged.pth.') for t in kill.temporary)


@pytest.mark.parametrize('previous_output', [False, True], ids=['no previous', 'previous'])
def test_a_full_disk_while_merging_is_a_one_line_error_and_no_torn_file(
        merge_inputs, reference_merges, tmp_path, previous_output):
    out = tmp_path / 'merged.pth'
    if previous_output:
        shutil.copyfile(reference_merges.b, out)
    before = out.read_bytes() if previous_output else None
    proc = _run('merge.py', *_merge_args(merge_inputs, out, WEIGHTS_A), cwd=tmp_path,
                preexec_fn=_disk_full_beyond(1 << 20))
    lines = proc.stderr.strip().splitlines()
    print(lines)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith('error: '), lines
    assert f'{out}:' in lines[0] and 'free disk space' in lines[0] and 'another' in lines[0]
    if previous_output:
        assert out.read_bytes() == before
    else:
        assert not out.exists()
    assert _temporary_files(tmp_path) == []  # the process was alive: it removed its temporary


def test_two_merges_racing_to_one_output_leave_one_of_them_whole(
        merge_inputs, reference_merges, tmp_path):
    out = tmp_path / 'merged.pth'
    logs = tmp_path / 'logs'
    logs.mkdir()
    racers = [_start('merge.py', *_merge_args(merge_inputs, out, weights), cwd=tmp_path,
                     stdout=logs / f'{i}.out', stderr=logs / f'{i}.err')
              for i, weights in enumerate((WEIGHTS_A, WEIGHTS_B))]
    finished = [(proc.wait(), (logs / f'{i}.err').read_text())[::-1]
                for i, proc in enumerate(racers)]
    for stderr, returncode in finished:
        lines = stderr.strip().splitlines()
        # each either wrote its merge, or failed cleanly in one line
        assert returncode == 0 or (returncode == 2 and len(lines) == 1
                                   and lines[0].startswith('error: ')), stderr[-3000:]
    assert any(returncode == 0 for _, returncode in finished)
    state = _state(out)
    matches = [name for name, path in (('1:3', reference_merges.a), ('3:1', reference_merges.b))
               if _same_tensors(state, _state(path))]
    print(f'exit statuses {[r for _, r in finished]}, output is the {matches} merge')
    assert len(matches) == 1  # exactly one of the two merges, not a mix
    assert _temporary_files(tmp_path) == []
