"""The sandwich rule: which widths of a slimmable bank train in one iteration.

Yu & Huang, "Universally Slimmable Networks and Improved Training Techniques", ICCV 2019
(``JiahuiYu/slimmable_networks``, ``train.py``): every iteration trains the widest and the
narrowest width (the bounds of the bank's accuracy) plus ``samples - 2`` widths drawn at random,
accumulating their gradients before one optimiser step.

Torch only: no mmseg / mmengine import.
"""
from typing import List, Optional

import torch


def sandwich_widths(count: int, samples: int, *,
                    generator: Optional[torch.Generator] = None) -> List[int]:
    """Width indices ``[widest, narrowest, r_1, ..., r_{samples-2}]`` of a bank of ``count``.

    Args:
        count: the number of widths (index 0 the narrowest, ``count - 1`` the widest).
        samples: widths per iteration, at least 2 (1 with a single-width bank).
        generator: random source of the ``r_i`` (uniform over all indices).
    """
    if count < 1:
        raise ValueError(f'a bank needs at least one width, got {count}')
    if count == 1:
        return [0] * max(samples, 1)
    if samples < 2:
        raise ValueError(f'the sandwich rule trains at least the widest and the narrowest width, '
                         f'so samples must be >= 2, got {samples}')
    middle = torch.randint(0, count, (samples - 2,), generator=generator).tolist()
    return [count - 1, 0, *middle]
