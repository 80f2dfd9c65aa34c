"""Helpers for the merge tests that use the real tiny segmentor (its fixtures are in conftest.py).

Checkpoints there are the tiny SegFormer's shared init plus a small per-"domain" perturbation of every
floating entry (:func:`fine_tuned`), random BatchNorm statistics and different counters: cheap to make,
and the merge's expected output can be computed independently from them.
"""
import torch

from mtda.merging import EntryKind
from mtda.merging.files import HEAD_PREFIXES


def is_head_key(key):
    return key.startswith(tuple(f'{p}.' for p in HEAD_PREFIXES))


def fine_tuned(init, kinds, seed, counter):
    """The init moved a little in every floating entry, with its own BatchNorm statistics."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in init.items():
        kind = kinds[key]
        if kind is EntryKind.BN_COUNTER:
            state[key] = torch.tensor(counter, dtype=value.dtype)
        elif kind is EntryKind.BN_VAR:
            state[key] = torch.rand(value.shape, generator=generator) + 0.2
        elif kind is EntryKind.BN_MEAN:
            state[key] = torch.randn(value.shape, generator=generator)
        elif value.is_floating_point():
            state[key] = value + 0.05 * torch.randn(value.shape, generator=generator)
        else:
            state[key] = value.clone()
    return state


def state_of(path):
    return torch.load(path, weights_only=True)['state_dict']
