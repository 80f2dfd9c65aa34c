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


#: a config with two of the tiny targets, to keep evaluation short in tests
TWO_DOMAINS = f"""_base_ = [{str(TINY_CONFIG)!r}]
# the tiny targets, two of them, to keep evaluation short
test_cfg = dict(domains=dict(_delete_=True, cityscapes={{{{_base_.cityscapes_val}}}},
                             dark_zurich={{{{_base_.dark_zurich_val}}}}))
"""
