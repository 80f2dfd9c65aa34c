"""Two-process DDP training (torchrun, gloo on CPU) of the tiny config."""
import os
import shutil
import subprocess
import sys

import torch

from support import REPO, TINY_CONFIG


def test_torchrun_two_processes(tiny_data_root):
    work = tiny_data_root / 'work_dirs' / 'ddp'
    env = {**os.environ, 'PYTHON': sys.executable, 'PORT': '29611', 'OMP_NUM_THREADS': '1'}
    proc = subprocess.run(
        ['bash', str(REPO / 'tools' / 'dist_train.sh'), str(TINY_CONFIG), '2',
         '--work-dir', str(work), '--cfg-options', 'train_cfg.max_iters=3',
         'train_cfg.val_interval=3'],
        cwd=tiny_data_root, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    assert 'CPUDistributedDataParallel' in log
    export = torch.load(work / 'weights' / 'final.pth', weights_only=True)
    assert export['meta']['iteration'] == 3
    shutil.rmtree(work)
