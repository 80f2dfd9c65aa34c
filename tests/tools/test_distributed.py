"""Two-process DDP training (torchrun, gloo on CPU): the tiny source-only config and the tiny
DAFormer UDA config (student under DDP, teacher and frozen backbone outside the gradient)."""
import os
import shutil
import subprocess
import sys

import pytest
import torch

from support import CONFIGS, REPO, TINY_CONFIG, run_tool

UDA_TINY = CONFIGS / 'daformer' / 'gta2cityscapes_daformer_mit-b0_tiny.py'


@pytest.mark.parametrize('config', [TINY_CONFIG, UDA_TINY], ids=['source_only', 'uda'])
def test_torchrun_two_processes(tiny_data_root, config):
    work = tiny_data_root / 'work_dirs' / f'ddp_{config.stem}'
    options = ['train_cfg.max_iters=3', 'train_cfg.val_interval=3']
    if config == UDA_TINY:
        init = tiny_data_root / 'work_dirs' / 'ddp_init.pth'
        run_tool('make_shared_init.py', config, '--out', init, cwd=tiny_data_root)
        options.append(f'model.init_checkpoint={init}')
    env = {**os.environ, 'PYTHON': sys.executable, 'PORT': '29611', 'OMP_NUM_THREADS': '1'}
    proc = subprocess.run(
        ['bash', str(REPO / 'tools' / 'dist_train.sh'), str(config), '2',
         '--work-dir', str(work), '--cfg-options', *options],
        cwd=tiny_data_root, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    assert 'CPUDistributedDataParallel' in log
    export = torch.load(work / 'weights' / 'final.pth', weights_only=True)
    assert export['meta']['iteration'] == 3
    assert not any(k.startswith(('teacher.', 'model.')) for k in export['state_dict'])
    shutil.rmtree(work)
