"""What a killed training run leaves behind, and how --resume puts it right."""
import os
import subprocess
import sys

from mtda.training.atomic_checkpoints import AtomicLocalBackend, repair_resume_state


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def test_empty_last_checkpoint_points_at_the_newest_iteration(tmp_path):
    for n in (2, 10, 4):  # 10 sorts before 2 as text: the order must be numeric
        (tmp_path / f'iter_{n}.pth').write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text('')
    lines = repair_resume_state(tmp_path)
    assert (tmp_path / 'last_checkpoint').read_text() == str((tmp_path / 'iter_10.pth').resolve())
    assert lines == ["last_checkpoint named 'nothing'; resuming from iter_10.pth instead"]


def test_last_checkpoint_naming_a_missing_file_without_any_checkpoint_starts_afresh(tmp_path):
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_8.pth'))
    lines = repair_resume_state(tmp_path)
    assert not (tmp_path / 'last_checkpoint').exists() and 'starting afresh' in lines[0]


def test_a_valid_pointer_and_live_writers_are_left_alone(tmp_path):
    target = tmp_path / 'iter_2.pth'
    target.write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(target))
    live = tmp_path / f'.iter_4.pth.{os.getpid()}.1.tmp'
    dead = tmp_path / f'.iter_4.pth.{_dead_pid()}.1.tmp'
    live.write_bytes(b'half')
    dead.write_bytes(b'half')
    lines = repair_resume_state(tmp_path)
    assert live.exists() and not dead.exists() and len(lines) == 1 and dead.name in lines[0]
    assert (tmp_path / 'last_checkpoint').read_text() == str(target)


def test_the_backend_writes_whole_files_and_leaves_no_temporary(tmp_path):
    backend = AtomicLocalBackend()
    backend.put(b'\x00' * 1000, tmp_path / 'iter_1.pth')
    backend.put_text('iter_1.pth', tmp_path / 'last_checkpoint')
    assert (tmp_path / 'iter_1.pth').read_bytes() == b'\x00' * 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ['iter_1.pth', 'last_checkpoint']
