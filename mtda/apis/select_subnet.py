"""Label-free choice of a slimmable bank's width under a FLOPs budget (SlimDA's UPEM selection;
docs/slimda.md).

For every width of a :class:`~mtda.models.slimmable.SlimmableEncoderDecoder` bank: its FLOPs at
the given input size (mmengine's complexity analysis), its BatchNorm statistics re-estimated on
the unlabelled target images (BN calibration, a cumulative average over the images), and its
UPEM: the mean KL from the widest width's predictions (the anchor) to its own, over the same
images. The width with the lowest UPEM among those within the budget is chosen.
"""
from dataclasses import dataclass, field
from typing import List, Sequence

import torch

from ..errors import MtdaError
from ..merging.zip_images import image_batches as read_image_batches
from ..merging.zip_images import sample_images
from ..merging.zipit import recompute_batchnorm_statistics
from ..models.slimmable import SlimmableEncoderDecoder, SwitchableBatchNorm2d, upem


@dataclass
class SubnetChoice:
    """The scores of every width and the one chosen."""
    widths: List[float]
    flops: List[int]
    upem: List[float]
    budget_flops: float
    chosen: int  # an index into widths
    images: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def width(self) -> float:
        return self.widths[self.chosen]


def width_flops(bank: SlimmableEncoderDecoder, input_size: Sequence[int]) -> List[int]:
    """FLOPs of one ``(1, 3, H, W)`` forward at every width (mmengine's analysis of the traced
    ops, so a width counts only the channels it uses)."""
    from mmengine.analysis import get_model_complexity_info
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('ERROR')  # the analysis warns about every other width's unused BatchNorm
    try:
        device = next(bank.parameters()).device
        flops = []
        for index in range(len(bank.width_mult_list)):
            bank.set_width(index)
            info = get_model_complexity_info(
                bank, inputs=(torch.zeros(1, 3, *input_size, device=device),),
                show_table=False, show_arch=False)
            flops.append(int(info['flops']))
    finally:
        logger.setLevel(level)
        bank.set_width(-1)
    return flops


def calibrate_batchnorm_(bank: SlimmableEncoderDecoder, batches: Sequence[torch.Tensor]) -> None:
    """Re-estimate the current width's BatchNorm statistics as the average over ``batches``
    (normalised image tensors), leaving the other widths' statistics alone; the bank ends in
    eval mode (:func:`mtda.merging.zipit.recompute_batchnorm_statistics`, restricted to the
    width's norms)."""
    norms = [m.bn[m.width_index] for m in bank.modules() if isinstance(m, SwitchableBatchNorm2d)]
    recompute_batchnorm_statistics(bank, batches, lambda model, batch: model._forward(batch),
                                   norms=norms)


def select_width(flops: Sequence[int], scores: Sequence[float], budget_flops: float) -> int:
    """The index of the lowest score among the widths within ``budget_flops``.

    Raises:
        MtdaError: no width fits the budget (naming what the narrowest needs).
    """
    fitting = [i for i, f in enumerate(flops) if f <= budget_flops]
    if not fitting:
        raise MtdaError(f'no width fits a budget of {budget_flops / 1e9:.4g} GFLOPs; the '
                        f'narrowest needs {min(flops) / 1e9:.4g} GFLOPs: raise --budget')
    return min(fitting, key=lambda i: (scores[i], -flops[i]))


def score_widths(bank: SlimmableEncoderDecoder, batches: Sequence[torch.Tensor], *,
                 budget_flops: float, input_size: Sequence[int],
                 calibrate: bool = True, distance: str = 'kl') -> SubnetChoice:
    """Every width's FLOPs, calibrated statistics and UPEM against the widest; the choice.

    Args:
        bank: the slimmable segmentor (weights loaded); left at the chosen width, in eval mode,
            with every width's statistics calibrated (when ``calibrate``).
        batches: normalised target images, ``(N, 3, H, W)`` each.
        budget_flops: the most FLOPs one forward at ``input_size`` may take.
        input_size: ``(H, W)`` the FLOPs are counted at.
        calibrate: re-estimate each width's BatchNorm statistics on ``batches`` first.
        distance: UPEM's distance (``kl``, ``js``, ``l1``).
    """
    if not batches:
        raise MtdaError('UPEM needs unlabelled target images; --images found none')
    flops = width_flops(bank, input_size)
    logits = []
    for index in range(len(bank.width_mult_list)):
        bank.set_width(index)
        if calibrate:
            calibrate_batchnorm_(bank, batches)
        bank.eval()
        with torch.no_grad():
            logits.append([bank._forward(batch) for batch in batches])
    scores = [upem(logits[-1], own, distance=distance) for own in logits]
    chosen = select_width(flops, scores, budget_flops)
    bank.set_width(chosen)
    return SubnetChoice(list(bank.width_mult_list), flops, scores, budget_flops, chosen,
                        images=sum(len(b) for b in batches))


def image_batches(bank, folder, *, count: int = 64, seed: int = 0) -> List[torch.Tensor]:
    """A seeded sample of ``count`` images of ``folder`` in batches of one size
    (:mod:`mtda.merging.zip_images`, as ZipIt! reads its images), normalised by the bank's own
    data preprocessor."""
    files = sample_images(folder, count, seed=seed)
    return [bank.data_preprocessor(dict(inputs=[torch.from_numpy(image).permute(2, 0, 1)
                                                for image in batch]), False)['inputs']
            for batch in read_image_batches(files)]
