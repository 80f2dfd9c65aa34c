"""Distributed training on CPU processes (gloo), e.g. ``torchrun --nproc_per_node 2`` on a laptop
or in CI.

mmengine 0.10.7 assumes one GPU per process: its pytorch launcher calls
``torch.cuda.set_device(local_rank)`` and its default DDP wrapper passes
``device_ids=[local_rank]``; both fail without CUDA. When no GPU is visible,
:func:`prepare_cpu_distributed` initialises the process group with gloo itself (mmengine then
skips its own initialisation) and selects :class:`CPUDistributedDataParallel`, which drops the GPU
device ids. With a GPU nothing changes.
"""
import os

import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper for modules on the CPU (``device_ids`` must be None there)."""

    def __init__(self, module, device_ids=None, **kwargs):
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        super().__init__(module=module, device_ids=None if on_cpu else device_ids, **kwargs)


def prepare_cpu_distributed(cfg) -> bool:
    """For ``launcher != 'none'`` without CUDA: gloo process group + CPU DDP wrapper.

    Returns True when it took over the set-up.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return False
    if cfg.launcher == 'slurm':
        # mmengine's slurm launcher derives these; torchrun sets them itself
        os.environ.setdefault('RANK', os.environ.get('SLURM_PROCID', '0'))
        os.environ.setdefault('WORLD_SIZE', os.environ.get('SLURM_NTASKS', '1'))
        os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='CPUDistributedDataParallel',
                                     broadcast_buffers=False,
                                     find_unused_parameters=cfg.get('find_unused_parameters',
                                                                    False))
    return True
