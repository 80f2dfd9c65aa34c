"""tests/support.py's forked tool processes behave as ``python tools/<tool>`` in a new interpreter."""
import signal

from support import TINY_CONFIG, run_tool, start_tool


def test_a_forked_tool_exits_and_prints_what_a_new_interpreter_does(tmp_path):
    args = ('test.py', TINY_CONFIG, tmp_path / 'missing.pth', '--work-dir', tmp_path / 'work')
    forked = run_tool(*args, cwd=tmp_path, check=False)
    fresh = run_tool(*args, cwd=tmp_path, check=False, fresh_interpreter=True)
    assert forked.returncode == fresh.returncode == 2
    error = fresh.stderr.strip().splitlines()[-1]
    assert error.startswith('error: ') and 'missing.pth' in error
    assert forked.stderr.strip().splitlines()[-1] == error
    assert forked.stdout == fresh.stdout


def test_a_started_tool_can_be_killed_and_its_output_read(tmp_path):
    log = tmp_path / 'log'
    tool = start_tool('test.py', '--help', cwd=tmp_path, stdout=log)
    assert tool.wait(timeout=60) == 0 and tool.poll() == 0
    assert log.read_text().startswith('usage: test.py')
    killed = start_tool('train.py', TINY_CONFIG, '--work-dir', tmp_path / 'work', cwd=tmp_path)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait(timeout=60) == -signal.SIGKILL == killed.returncode
