"""Helpers shared by the tests (importable because pytest puts tests/ on sys.path)."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'configs'
TINY_CONFIG = CONFIGS / 'source_only' / 'gta_segformer_mit-b0_tiny.py'


def run_tool(tool: str, *args, cwd, check: bool = True, env=None, timeout: int = 600):
    """Run ``tools/<tool>`` with this interpreter; return the CompletedProcess."""
    cmd = [sys.executable, str(REPO / 'tools' / tool), *map(str, args)]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}'
                             f'\n{proc.stderr[-3000:]}')
    return proc


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
