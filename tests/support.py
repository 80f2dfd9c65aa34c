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
