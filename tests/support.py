"""Helpers shared by the tests (importable because pytest puts tests/ on sys.path)."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'configs'
TINY_CONFIG = CONFIGS / 'source_only' / 'gta_segformer_mit-b0_tiny.py'


def run_tool(tool: str, *args, cwd, check: bool = True, env=None, timeout: int = 600,
             fresh_interpreter: bool = False):
    """Run ``tools/<tool>`` in its own process, as ``python tools/<tool> args...`` would; return
    a CompletedProcess (text output).

    The process is forked from a server that has already imported mtda (see
    :func:`_tool_process`), which saves the ~6 s every interpreter spends importing torch, mmcv,
    mmseg and timm. ``fresh_interpreter=True`` starts a new interpreter instead, for the tests
    whose point is the command exactly as a user types it (the README's main job).
    """
    cmd = _tool_command(tool, args)
    full_env = {**os.environ, **(env or {})}
    if fresh_interpreter:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              env=full_env)
    else:
        proc = _run_forked(cmd, cwd=cwd, env=full_env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}'
                             f'\n{proc.stderr[-3000:]}')
    return proc


def _tool_command(tool: str, args) -> list:
    return [sys.executable, str(REPO / 'tools' / tool), *map(str, args)]


_FORKSERVER = []


def _forkserver():
    """multiprocessing's forkserver context, its server preloading mtda (started on first use, one
    per test process). The server only imports, so forking it is safe: no thread pool of torch's
    or OpenMP's exists in it yet."""
    if not _FORKSERVER:
        import multiprocessing
        context = multiprocessing.get_context('forkserver')
        context.set_forkserver_preload(['mtda'])
        _FORKSERVER.append(context)
    return _FORKSERVER[0]


def _tool_process(cmd: list, cwd: str, env: dict, stdout: str, stderr=None) -> None:
    """The forked child: the working directory, environment, ``sys.argv``, ``sys.path[0]`` and
    standard streams of ``python tools/<tool> ...``, then the script as ``__main__``. Its
    ``sys.exit`` status becomes the process's exit code (multiprocessing's bootstrap), an uncaught
    exception exit code 1 with the traceback on stderr, as in an interpreter."""
    import runpy
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    os.dup2(os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
    if stderr is None:  # both streams into one file, as `2>&1`
        os.dup2(1, 2)
    else:
        os.dup2(os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
    sys.stdout = open(1, 'w', buffering=1, closefd=False)
    sys.stderr = open(2, 'w', buffering=1, closefd=False)
    if env.get('OMP_NUM_THREADS'):  # read by OpenMP when the server imported torch, so set here
        import torch
        torch.set_num_threads(int(env['OMP_NUM_THREADS']))
    script = cmd[1]
    sys.argv = cmd[1:]
    sys.path[0] = os.path.dirname(script)
    runpy.run_path(script, run_name='__main__')


class ForkedTool:
    """A tool started by :func:`start_tool`, with the part of ``subprocess.Popen`` the tests use."""

    def __init__(self, cmd: list, child):
        self.args, self._child, self.pid = cmd, child, child.pid

    @property
    def returncode(self):
        """The exit code; ``-signal`` if a signal ended it; None while it runs."""
        return self._child.exitcode

    def poll(self):
        return self.returncode

    def wait(self, timeout=None) -> int:
        self._child.join(timeout)
        if self._child.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self._child.exitcode

    def send_signal(self, signal_number: int) -> None:
        os.kill(self.pid, signal_number)


def start_tool(tool: str, *args, cwd, env=None, stdout=os.devnull, stderr=None) -> ForkedTool:
    """Start ``tools/<tool>`` forked as :func:`run_tool` does and return at once; its output goes
    to the file ``stdout`` (``stderr``: another file, default the same one)."""
    return _start_forked(_tool_command(tool, args), cwd, {**os.environ, **(env or {})}, stdout,
                         stderr)


def _start_forked(cmd: list, cwd, env: dict, stdout, stderr) -> ForkedTool:
    child = _forkserver().Process(target=_tool_process, args=(
        cmd, str(cwd), env, str(stdout), None if stderr is None else str(stderr)))
    child.start()
    return ForkedTool(cmd, child)


def _run_forked(cmd: list, *, cwd, env: dict, timeout: int) -> subprocess.CompletedProcess:
    import signal
    import tempfile
    with tempfile.TemporaryDirectory(prefix='tool_') as folder:
        out, err = os.path.join(folder, 'stdout'), os.path.join(folder, 'stderr')
        tool = _start_forked(cmd, cwd, env, out, err)
        try:
            tool.wait(timeout)
        except subprocess.TimeoutExpired:
            tool.send_signal(signal.SIGKILL)
            tool.wait()
            raise
        read = [Path(p).read_text(errors='replace') if os.path.exists(p) else '' for p in (out, err)]
    return subprocess.CompletedProcess(cmd, tool.returncode, *read)


def tool_main(tool: str):
    """The ``main`` function of ``tools/<tool>``, imported from its file."""
    import importlib.util
    path = REPO / 'tools' / tool
    spec = importlib.util.spec_from_file_location(f'tool_{path.stem}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def run_tool_in_process(tool: str, *args, cwd):
    """``tools/<tool>``'s ``main`` through :func:`mtda.cli.run_tool` in this interpreter, in ``cwd``:
    the same parsing, checks and error contract as :func:`run_tool` without an interpreter start
    (~6 s of imports). For inputs refused before any model or runner is built.

    Returns:
        An object with ``returncode``, ``stdout`` and ``stderr``, like a CompletedProcess.
    """
    import contextlib
    import io
    from types import SimpleNamespace

    from mtda.cli import run_tool as run_main
    main = tool_main(tool)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = run_main(main, [str(a) for a in args])
        except SystemExit as exit_:  # argparse refusing an option
            status = exit_.code
    return SimpleNamespace(returncode=status, stdout=out.getvalue(), stderr=err.getvalue())


#: a config with two of the tiny targets, to keep evaluation short in tests
TWO_DOMAINS = f"""_base_ = [{str(TINY_CONFIG)!r}]
# the tiny targets, two of them, to keep evaluation short
test_cfg = dict(domains=dict(_delete_=True, cityscapes={{{{_base_.cityscapes_val}}}},
                             dark_zurich={{{{_base_.dark_zurich_val}}}}))
"""


def finetune_two_from_one_init(data_root, folder, seeds=(2, 3)):
    """A config with two target domains (cityscapes, dark_zurich), an init of the tiny model, and
    the tiny model fine-tuned from it for 2 iterations once per seed.

    Returns:
        ``(config, init, [weights/final.pth of each seed])``.
    """
    import contextlib

    import torch
    from mmseg.apis import init_model

    from mtda.io import atomic_save
    from mtda.apis import train_from_config
    config = folder / 'two_domains.py'
    config.write_text(TWO_DOMAINS)
    torch.manual_seed(0)
    init = atomic_save(dict(state_dict=init_model(str(TINY_CONFIG), device='cpu').state_dict()),
                       folder / 'init.pth')
    finals = []
    for seed in seeds:
        work_dir = folder / f'finetune_{seed}'
        with contextlib.chdir(data_root):  # the config reads data/ relative to the cwd
            train_from_config(str(TINY_CONFIG), work_dir=str(work_dir),
                              cfg_options={'train_cfg.max_iters': 2, 'train_cfg.val_begin': 1000,
                                           'randomness.seed': seed, 'load_from': str(init)})
        finals.append(work_dir / 'weights' / 'final.pth')
    return config, init, finals
