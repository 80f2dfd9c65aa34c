"""Label-free choice of a slimmable bank's sub-network under a FLOPs budget (SlimDA's UPEM
selection; docs/slimda.md).

The candidates are the bank's uniform widths and, when its config names ``width_stages``, a seeded
sample of sub-networks whose stages run at different widths. For each: its FLOPs at the given
input size (mmengine's complexity analysis), its BatchNorm statistics re-estimated on the
unlabelled target images (BN calibration, a cumulative average over the images), and its UPEM:
the mean KL from the widest width's predictions (the anchor) to its own, over the same images.
The candidate with the lowest UPEM among those within the budget is chosen.
"""
import contextlib
import copy
import itertools
import random
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import torch

from ..errors import MtdaError
from ..merging.zip_images import image_batches as read_image_batches
from ..merging.zip_images import sample_images
from ..merging.zipit import recompute_batchnorm_statistics
from ..models.slimmable import SlimmableEncoderDecoder, SwitchableBatchNorm2d, upem

#: one width index per stage of the bank (one entry for a bank without width stages)
Subnet = Tuple[int, ...]


@dataclass
class SubnetChoice:
    """The scores of every candidate and the one chosen."""
    candidates: List[Subnet]
    widths: List[Tuple[float, ...]]  # each candidate's width multiplier per stage
    flops: List[int]
    upem: List[float]
    budget_flops: float
    chosen: int  # an index into candidates
    images: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def width(self) -> Tuple[float, ...]:
        """The chosen sub-network's width per stage."""
        return self.widths[self.chosen]


def stage_count(bank: SlimmableEncoderDecoder) -> int:
    return len(bank.width_stages) if bank.width_stages else 1


def apply_subnet(bank: SlimmableEncoderDecoder, subnet: Subnet) -> SlimmableEncoderDecoder:
    """Run ``bank`` as ``subnet``."""
    return bank.set_subnet(subnet) if bank.width_stages else bank.set_width(subnet[0])


def candidate_subnets(bank: SlimmableEncoderDecoder, *, per_stage: int = 0,
                      seed: int = 0) -> List[Subnet]:
    """The uniform widths, narrowest first, then ``per_stage`` distinct non-uniform sub-networks
    drawn with ``seed`` from every per-stage combination (in a seeded order, so a budget filter
    can keep taking the next).

    Raises:
        MtdaError: per-stage candidates asked of a bank without width stages.
    """
    widths, stages = len(bank.width_mult_list), stage_count(bank)
    uniform = [(index,) * stages for index in range(widths)]
    if per_stage and not bank.width_stages:
        raise MtdaError('per-stage candidates need the bank\'s width_stages in its config '
                        '(configs/_base_/uda/slimda_efficientnet-lite0.py shows them)')
    mixed = [subnet for subnet in itertools.product(range(widths), repeat=stages)
             if len(set(subnet)) > 1]
    random.Random(seed).shuffle(mixed)
    return uniform + mixed[:per_stage] if per_stage else uniform


def subnet_widths(bank: SlimmableEncoderDecoder, subnet: Subnet) -> Tuple[float, ...]:
    return tuple(bank.width_mult_list[index] for index in subnet)


def subnet_flops(bank: SlimmableEncoderDecoder, subnets: Sequence[Subnet],
                 input_size: Sequence[int]) -> List[int]:
    """FLOPs of one ``(1, 3, H, W)`` forward of every sub-network (mmengine's analysis of the
    traced ops, so a sub-network counts only the channels it uses)."""
    from mmengine.analysis import get_model_complexity_info
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('ERROR')  # the analysis warns about every other width's unused BatchNorm
    try:
        device = next(bank.parameters()).device
        flops = []
        for subnet in subnets:
            apply_subnet(bank, subnet)
            info = get_model_complexity_info(
                bank, inputs=(torch.zeros(1, 3, *input_size, device=device),),
                show_table=False, show_arch=False)
            flops.append(int(info['flops']))
    finally:
        logger.setLevel(level)
        bank.set_width(-1)
    return flops


def width_flops(bank: SlimmableEncoderDecoder, input_size: Sequence[int]) -> List[int]:
    """FLOPs of one forward at every uniform width, narrowest first."""
    return subnet_flops(bank, candidate_subnets(bank), input_size)


def _segmentor_forward(segmentor, batch: torch.Tensor) -> None:
    segmentor._forward(batch)


def calibrate_segmentor_batchnorm_(segmentor, batches: Sequence[torch.Tensor]) -> None:
    """Re-estimate every BatchNorm's statistics of an mmseg segmentor as the average over
    ``batches`` (normalised image tensors, :func:`file_batches`); the segmentor ends in eval mode
    (:func:`mtda.merging.zipit.recompute_batchnorm_statistics`)."""
    recompute_batchnorm_statistics(segmentor, batches, _segmentor_forward)


def calibrate_batchnorm_(bank: SlimmableEncoderDecoder, batches: Sequence[torch.Tensor]) -> None:
    """Re-estimate the BatchNorm statistics the current sub-network uses as the average over
    ``batches`` (normalised image tensors), leaving the other widths' statistics alone; the bank
    ends in eval mode (:func:`mtda.merging.zipit.recompute_batchnorm_statistics`, restricted to
    those norms)."""
    norms = [m.bn[m.width_index] for m in bank.modules() if isinstance(m, SwitchableBatchNorm2d)]
    recompute_batchnorm_statistics(bank, batches, _segmentor_forward, norms=norms)


@contextlib.contextmanager
def kept_batchnorm_statistics(bank: SlimmableEncoderDecoder) -> Iterator[None]:
    """Restore every switchable BatchNorm's state on exit (candidates share statistics: a
    per-stage sub-network calibrates some of each width's norms)."""
    norms = [m for m in bank.modules() if isinstance(m, SwitchableBatchNorm2d)]
    saved = [copy.deepcopy(m.state_dict()) for m in norms]
    try:
        yield
    finally:
        for module, state in zip(norms, saved):
            module.load_state_dict(state)


def subnet_logits(bank: SlimmableEncoderDecoder, subnet: Subnet,
                  batches: Sequence[torch.Tensor], *, calibrate: bool = True) -> List[torch.Tensor]:
    """The logits of ``subnet`` on ``batches``, after calibrating its statistics on them."""
    apply_subnet(bank, subnet)
    if calibrate:
        calibrate_batchnorm_(bank, batches)
    bank.eval()
    with torch.no_grad():
        return [bank._forward(batch) for batch in batches]


def lowest_within_budget(flops: Sequence[int], scores: Sequence[float], budget_flops: float) -> int:
    """The index of the lowest score among the candidates within ``budget_flops`` (a tie goes to
    the one with more FLOPs).

    Raises:
        MtdaError: no candidate fits the budget (naming what the cheapest needs).
    """
    fitting = [i for i, f in enumerate(flops) if f <= budget_flops]
    if not fitting:
        raise MtdaError(f'no sub-network fits a budget of {budget_flops / 1e9:.4g} GFLOPs; the '
                        f'cheapest needs {min(flops) / 1e9:.4g} GFLOPs: raise --budget')
    return min(fitting, key=lambda i: (scores[i], -flops[i]))


def upem_scores(bank: SlimmableEncoderDecoder, candidates: Sequence[Subnet],
                batches: Sequence[torch.Tensor], *, anchor: int, calibrate: bool = True,
                distance: str = 'kl', on_candidate: Optional[Callable[[int, float], None]] = None
                ) -> List[float]:
    """The UPEM of every candidate against ``candidates[anchor]`` (the widest, in SlimDA), each
    run with its statistics calibrated on ``batches`` and every statistic restored afterwards.

    ``on_candidate(index, score)`` is called while candidate ``index`` is applied with its
    calibrated statistics in place (the anchor first, whose logits are computed once).
    """
    scores = [0.0] * len(candidates)
    with kept_batchnorm_statistics(bank):
        reference = subnet_logits(bank, candidates[anchor], batches, calibrate=calibrate)
        scores[anchor] = upem(reference, reference, distance=distance)
        if on_candidate is not None:
            on_candidate(anchor, scores[anchor])
    for index, subnet in enumerate(candidates):
        if index == anchor:
            continue
        with kept_batchnorm_statistics(bank):
            scores[index] = upem(reference, subnet_logits(bank, subnet, batches,
                                                           calibrate=calibrate), distance=distance)
            if on_candidate is not None:
                on_candidate(index, scores[index])
    return scores


def score_subnets(bank: SlimmableEncoderDecoder, batches: Sequence[torch.Tensor], *,
                  budget_flops: float, input_size: Sequence[int], per_stage: int = 0,
                  seed: int = 0, calibrate: bool = True, distance: str = 'kl') -> SubnetChoice:
    """Every candidate's FLOPs and UPEM against the widest width (each calibrated on
    ``batches`` first); the choice.

    Args:
        bank: the slimmable segmentor (weights loaded); left as the chosen sub-network, in eval
            mode, with the statistics it uses calibrated (when ``calibrate``) and every other
            statistic as it was.
        batches: normalised target images, ``(N, 3, H, W)`` each.
        budget_flops: the most FLOPs one forward at ``input_size`` may take.
        input_size: ``(H, W)`` the FLOPs are counted at.
        per_stage: how many non-uniform sub-networks within the budget to add to the uniform
            widths (:func:`candidate_subnets`, drawn with ``seed``).
        calibrate: re-estimate each candidate's BatchNorm statistics on ``batches`` first.
        distance: UPEM's distance (``kl``, ``js``, ``l1``).
    """
    if not batches:
        raise MtdaError('UPEM needs unlabelled target images; --images found none')
    pool = candidate_subnets(bank, per_stage=len(bank.width_mult_list) ** stage_count(bank)
                             if per_stage else 0, seed=seed)
    uniform = len(bank.width_mult_list)
    candidates, flops = pool[:uniform], subnet_flops(bank, pool[:uniform], input_size)
    for subnet in pool[uniform:]:  # the seeded order, keeping those within the budget
        if len(candidates) == uniform + per_stage:
            break
        cost = subnet_flops(bank, [subnet], input_size)[0]
        if cost <= budget_flops:
            candidates.append(subnet)
            flops.append(cost)
    scores = upem_scores(bank, candidates, batches, anchor=uniform - 1, calibrate=calibrate,
                         distance=distance)
    chosen = lowest_within_budget(flops, scores, budget_flops)
    apply_subnet(bank, candidates[chosen])
    if calibrate:
        calibrate_batchnorm_(bank, batches)
    bank.eval()
    return SubnetChoice(candidates, [subnet_widths(bank, s) for s in candidates], flops, scores,
                        budget_flops, chosen, images=sum(len(b) for b in batches))


def image_batches(bank, folder, *, count: int = 64, seed: int = 0) -> List[torch.Tensor]:
    """A seeded sample of ``count`` images of ``folder`` in batches of one size
    (:mod:`mtda.merging.zip_images`, as ZipIt! reads its images), normalised by the bank's own
    data preprocessor."""
    return file_batches(bank, sample_images(folder, count, seed=seed))


def file_batches(bank, files) -> List[torch.Tensor]:
    """The images of ``files`` in batches of one size, normalised by the bank's own data
    preprocessor."""
    return [bank.data_preprocessor(dict(inputs=[torch.from_numpy(image).permute(2, 0, 1)
                                                for image in batch]), False)['inputs']
            for batch in read_image_batches(files)]
