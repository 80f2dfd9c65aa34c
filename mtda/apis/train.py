"""Build mmengine's Runner from a config and train, with mtda's resume and AMP conventions
(what ``tools/train.py`` runs).

Resuming reads the run's own work-dir checkpoint with mmengine's plain ``torch.load`` (weights-only
under torch >= 2.6); that works because ``PlainCheckpointHook`` writes checkpoints as plain data.
"""
import logging
import os
from pathlib import Path
from typing import Mapping, Optional

from mmengine.logging import print_log
from mmengine.runner import Runner

from ..config import check_target_domain, load_config
from ..datasets.data_check import check_datasets
from ..io.atomic import check_output_path
from ..training.atomic_checkpoints import repair_resume_state, use_atomic_checkpoints
from ..training.cpu_distributed import prepare_cpu_distributed
from ..errors import CheckpointError, MtdaError


def enable_amp(cfg, dtype: str) -> None:
    """Switch the config's optimiser wrapper to mmengine's AmpOptimWrapper."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper == 'AmpOptimWrapper':
        print_log('AMP is already enabled in the config.', logger='current',
                  level=logging.WARNING)
        return
    if wrapper != 'OptimWrapper':
        raise MtdaError(f'--amp: the config uses {wrapper}; AMP works with OptimWrapper configs '
                        'only, set optim_wrapper.type=AmpOptimWrapper yourself')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.dtype = dtype
    # bfloat16 has float32's exponent range: no loss scaling needed
    cfg.optim_wrapper.loss_scale = 'dynamic' if dtype == 'float16' else 1.0


def check_training_inputs(cfg, config: str, *, amp: Optional[str] = None) -> None:
    """Refuse, before anything is built, a run that cannot do what it says.

    Raises:
        MtdaError: ``train_cfg.max_iters`` below 1 (it would export an untrained model), or
            ``--amp`` on a machine without a CUDA GPU.
        CheckpointError: a UDA config whose shared init (``model.init_checkpoint``) is missing.
    """
    iters = cfg.get('train_cfg', {}).get('max_iters')
    if iters is not None and (isinstance(iters, bool) or not isinstance(iters, int) or iters < 1):
        raise MtdaError(f'{config}: train_cfg.max_iters={iters!r} trains nothing (an untrained '
                          'model would be exported); give a positive number of iterations')
    if amp:
        import torch
        if not torch.cuda.is_available():
            raise MtdaError(f'--amp {amp}: mixed precision here needs a CUDA GPU and this machine '
                            'has none; train without --amp (float32)')
    init = cfg.get('model', {}).get('init_checkpoint')
    if init and not Path(init).is_file():
        raise CheckpointError(
            f'{init}: the shared init this config starts from (model.init_checkpoint) does not '
            f'exist; write it with python tools/make_shared_init.py {config} --out {init} '
            '(tools/run_mtda.py writes it as <work dir>/shared_init.pth), or pass another with '
            '--cfg-options model.init_checkpoint=FILE')


def train_from_config(config: str, *, work_dir: Optional[str] = None,
                      cfg_options: Optional[Mapping] = None, launcher: str = 'none',
                      resume: bool = False, amp: Optional[str] = None) -> Runner:
    """Train the experiment ``config`` and return the finished runner.

    Args:
        config: config file path.
        work_dir: output folder (default ``work_dirs/<config name>``).
        cfg_options: ``--cfg-options`` overrides.
        launcher: 'none', 'pytorch' (torchrun), 'slurm' or 'mpi'.
        resume: continue from the latest checkpoint in ``work_dir``.
        amp: 'float16' or 'bfloat16' for mixed precision, None for fp32.
    """
    cfg = load_config(config, cfg_options=cfg_options, work_dir=work_dir, launcher=launcher)
    if amp:
        enable_amp(cfg, amp)
    cfg.resume = resume
    use_atomic_checkpoints(cfg)
    if resume and os.environ.get('RANK', '0') == '0':
        for line in repair_resume_state(cfg.work_dir):
            print_log(f'--resume: {line}', logger='current', level=logging.WARNING)
    check_target_domain(cfg)
    check_training_inputs(cfg, config, amp=amp)
    check_output_path(cfg.work_dir, option='--work-dir', folder=True)
    check_datasets(cfg, parts=('train', 'val'))
    prepare_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    _leave_process_group()
    return runner


def _leave_process_group() -> None:
    """End a distributed run's process group once every rank is done: left to the interpreter's
    exit, gloo's threads can be torn down mid-flight and abort a rank after a finished run."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
