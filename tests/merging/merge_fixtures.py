"""Merging test helpers: a tiny segmentor-shaped model, random checkpoints, a memory-watching loader."""
import functools
import weakref

import torch
from torch import nn


class TinySegmentor(nn.Module):
    """backbone (conv, BN, an index-table buffer) + decode_head (BN, conv_seg), like an mmseg segmentor."""

    def __init__(self, num_classes: int = 5) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        self.backbone.register_buffer('index_table', torch.arange(6).reshape(2, 3))
        self.decode_head = nn.Module()
        self.decode_head.bn = nn.BatchNorm2d(4)
        self.decode_head.conv_seg = nn.Conv2d(4, num_classes, 1)


def random_state(model: nn.Module, seed: int, *, counter: int = 100,
                 dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """A checkpoint of ``model`` with random parameters and BN statistics; other buffers kept as they are."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, tensor in model.state_dict().items():
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(counter, dtype=torch.int64)
        elif key.endswith('running_var'):
            state[key] = (torch.rand(tensor.shape, generator=generator) + 0.1).to(dtype)
        elif tensor.is_floating_point():
            state[key] = torch.randn(tensor.shape, generator=generator).to(dtype)
        else:
            state[key] = tensor.clone()
    return state


class _LoadedState(dict):
    """A dict that can be weak-referenced, so a test can see when the merge lets go of it."""


class LoadTracker:
    """Loaders that hand out fresh copies of ``states`` and record how many copies are alive at each load.

    Args:
        states: the checkpoints, in order.
        names: their names; default ``ckpt0.pth``, ``ckpt1.pth``, ...
    """

    def __init__(self, states, names=None) -> None:
        self.states = list(states)
        self.names = list(names) if names else [f'ckpt{i}.pth' for i in range(len(self.states))]
        self.calls: list[int] = []
        self.alive_at_load: list[int] = []
        self._alive = 0

    def sources(self):
        return [(name, functools.partial(self._load, i)) for i, name in enumerate(self.names)]

    def _release(self) -> None:
        self._alive -= 1

    def _load(self, index: int):
        self.calls.append(index)
        self.alive_at_load.append(self._alive)
        state = _LoadedState({key: value.clone() if isinstance(value, torch.Tensor) else value
                              for key, value in self.states[index].items()})
        # One count per dict and per tensor: a merge that kept any tensor of an earlier checkpoint
        # (not a copy of it) would show up as a nonzero count at the next load.
        tensors = [value for value in state.values() if isinstance(value, torch.Tensor)]
        for obj in (state, *tensors):
            self._alive += 1
            weakref.finalize(obj, self._release)
        return state


def sources_of(states, names=None):
    """``(name, loader)`` pairs over in-memory states."""
    return LoadTracker(states, names).sources()
