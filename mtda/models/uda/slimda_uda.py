"""``SlimDAUDA``: a slimmable bank adapted by DAFormer's self-training with SlimDA's sandwich rule
and stochastic ensemble distillation (mtda's formulation of SlimDA for segmentation;
``docs/slimda.md`` says which parts follow the paper)::

    train_step
      widths <- sandwich rule: widest, narrowest, width_samples - 2 at random   (slimmable.sampling)
      teacher <- EMA of the student's weights (every width's; BN statistics its own)
      teacher at the widest width -> pseudo labels; ClassMix; jitter/blur       (DAFormer, once)
      for each sampled width w, widest first:
          student at w: source cross-entropy (+ the ImageNet feature distance at the widest) and
          the confidence-weighted cross-entropy on the mixed batch; backward
      SEED: the teacher at every sampled width predicts the target; the probabilities averaged
          and sharpened (temperature T) are the soft target of every sampled width narrower than
          the widest, learnt by its seed_classifier only (conv_seg never sees it); backward
      one optimiser step: the gradients of all widths added up

The student is a :class:`~mtda.models.slimmable.SlimmableEncoderDecoder` with
``seed_classifier=True``; exported, evaluated and merged at the widest width unless set otherwise.
With ``sandwich=False`` only the segmentor's ``inference_width`` trains, without SEED: that width
trained alone, the baseline a bank's width is compared with (SlimDA, Table 1's "individually
trained" rows).
"""
from typing import Dict

import torch
from mmseg.registry import MODELS
from torch import nn
from torch.profiler import record_function

from ...errors import CheckpointError
from ..slimmable import (SlimmableEncoderDecoder, ensemble_probabilities, make_slimmable_,
                         sandwich_widths, seed_loss, set_width_, sharpen)
from .daformer_uda import DAFormerUDA, _labels


@MODELS.register_module()
class SlimDAUDA(DAFormerUDA):
    """DAFormer self-training of a slimmable bank (see the module docstring).

    Args:
        width_samples: widths per iteration by the sandwich rule (the slimmable networks: 4).
        seed_weight: weight of the SEED loss of each narrower width.
        seed_temperature: sharpening temperature T of the ensemble (< 1 sharpens).
        sandwich: train the bank by the sandwich rule with SEED (default); ``False`` trains only
            ``segmentor.inference_width`` (its ImageNet feature distance included): the width
            alone, from the same shared init and with the same schedule.
        **kwargs: :class:`~mtda.models.uda.daformer_uda.DAFormerUDA` arguments; ``segmentor``
            must be a ``SlimmableEncoderDecoder`` with ``seed_classifier=True``.
    """

    def __init__(self, *, width_samples: int = 4, seed_weight: float = 1.0,
                 seed_temperature: float = 0.5, sandwich: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(self.model, SlimmableEncoderDecoder) or \
                not hasattr(self.model, 'seed_classifier'):
            raise ValueError('SlimDAUDA trains a SlimmableEncoderDecoder with '
                             "seed_classifier=True (model.segmentor.type)")
        if self.mask_weight > 0:
            raise ValueError('SlimDAUDA does not combine with MIC yet; set mask_weight=0')
        if seed_temperature <= 0 or seed_weight < 0:
            raise ValueError(f'seed_temperature must be > 0 and seed_weight >= 0, got '
                             f'{seed_temperature} and {seed_weight}')
        self.width_samples = width_samples
        self.seed_weight = seed_weight
        self.seed_temperature = seed_temperature
        self.sandwich = sandwich
        #: the width index that labels the target, takes the feature distance and is kept
        self.top_width = self.widths - 1 if sandwich else self.model.width_index
        if self.imnet_backbone is not None:  # the frozen copy of the bank, at its widest width
            stem = next(n for n, m in self.imnet_backbone.named_modules()
                        if isinstance(m, nn.Conv2d))
            make_slimmable_(self.imnet_backbone, self.model.width_mult_list, fixed_in={stem})
            set_width_(self.imnet_backbone, self.top_width)

    def _load_shared_init(self, state) -> None:
        """The bank's own shared init, or a plain segmentor's of the same architecture (the
        DAFormer miniature's): every width then starts from its first channels, and the SEED
        classifier keeps its fresh init."""
        missing, unexpected = self.model.load_state_dict(dict(state), strict=False)
        wrong = [k for k in missing if not k.startswith('seed_classifier.')] + list(unexpected)
        if wrong:
            raise CheckpointError(
                f'{self.init_checkpoint}: does not fit the slimmable bank ({len(wrong)} keys, '
                f'e.g. {wrong[:3]}); make the shared init with this config or with the DAFormer '
                'config of the same model (tools/make_shared_init.py)')

    @property
    def widths(self) -> int:
        return len(self.model.width_mult_list)

    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        if 'source' not in data:  # a plain supervised batch: the widest width's loss
            return super().train_step(data, optim_wrapper)
        if not self.sequential_backward:
            raise ValueError('SlimDAUDA back-propagates width by width (sequential_backward=True)')
        top = self.top_width
        sampled = sandwich_widths(self.widths, self.width_samples) if self.sandwich else [top]
        narrower = [w for w in sampled if w != top] if self.sandwich else []
        log_vars: Dict[str, torch.Tensor] = {}
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            self._update_teacher()
            source, target = data['source'], data['target']
            src_label = _labels(source['data_samples'])
            self.teacher.set_width(top)
            batch = self._mixed_batch(source, target, src_label)
        log_vars['mix.pseudo_weight'] = batch.pseudo_weight
        for index, width in enumerate(sampled):
            self.model.set_width(width)
            tag = f'w{self.model.width:g}'
            with optim_wrapper.optim_context(self):  # the feature distance at the widest only
                losses = self._source_losses(source, feature_distance=width == top)[0]
            self._backward({f'{tag}.{k}': v for k, v in losses.items()}, optim_wrapper, log_vars)
            with optim_wrapper.optim_context(self), record_function('uda.student_mix'):
                losses = self._pixel_weighted_losses(batch.image, batch.label, batch.weight)
            losses = {f'{tag}.mix.{k}': v for k, v in losses.items()}
            if narrower or index < len(sampled) - 1:
                self._backward(losses, optim_wrapper, log_vars)
            else:  # the width alone: its mixed loss is the last pass
                optim_wrapper.update_params(self._log(losses, log_vars))
        soft_target = self._seed_target(target['inputs'], sampled) if narrower else None
        for index, width in enumerate(narrower):
            self.model.set_width(width)
            with optim_wrapper.optim_context(self), record_function('uda.seed'):
                _, seed_logits = self.model.logits_and_seed_logits(target['inputs'])
                loss = {f'w{self.model.width:g}.seed.loss': self.seed_weight * seed_loss(
                    soft_target, seed_logits) / len(narrower)}
            if index < len(narrower) - 1:
                self._backward(loss, optim_wrapper, log_vars)
            else:
                optim_wrapper.update_params(self._log(loss, log_vars))
        self.model.set_width(top)
        return log_vars

    def _seed_target(self, images: torch.Tensor, sampled) -> torch.Tensor:
        """The sharpened mean of the teacher's class probabilities at the sampled widths."""
        with record_function('uda.seed_teacher'), torch.inference_mode():
            logits = []
            for width in sampled:
                self.teacher.set_width(width)
                logits.append(self.teacher._forward(images))
            self.teacher.set_width(self.top_width)
            target = sharpen(ensemble_probabilities(logits), self.seed_temperature)
        return target.clone()  # out of inference mode: usable in the student's graph
