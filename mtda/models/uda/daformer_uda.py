"""``DAFormerUDA``: DAFormer's self-training around any mmseg ``EncoderDecoder`` (stage one).

One wrapper owns the UDA logic; each ingredient is a small pure function in this package::

    train_step (mmengine BaseModel)
      UDADataPreProcessor                   source and target halves of the batch
      forward(source=, target=, mode='loss') -> uda_loss
        1. teacher <- EMA of the student's parameters, alpha_t = min(1 - 1/(t+1), alpha)  (ema)
        2. source: student -> cross-entropy; ImageNet feature distance on thing classes
           against the frozen initial backbone                                 (feature_distance)
        3. target: teacher -> pseudo labels, confidence weight, crop margins     (pseudo_label)
        4. ClassMix: half of the source classes pasted onto the target           (classmix)
           colour jitter + Gaussian blur on the mixed image                     (strong_aug)
        5. student on the mixed image -> confidence-weighted cross-entropy
        6. (MIC, ``mask_weight > 0``) student on the jittered, block-masked target image ->
           the same pseudo labels and weights, cross-entropy                     (masking)
      train_step: the source losses (1-2) are back-propagated before 3-5 run, and those before 6,
      as in DAFormer and MIC (one student graph in memory at a time), then one optimiser step;
      under DDP the losses of forward() go through one backward instead (a second backward per
      forward is not allowed)
    predict / _forward / encode_decode -> the student (what DAFormer and the paper evaluate)

State: ``model`` (student, the segmentor that is exported, evaluated and merged), ``teacher``
(EMA parameters; its BN buffers are its own, see :mod:`.ema`), ``imnet_backbone`` (frozen copy
of the initial backbone). ``init_checkpoint`` is the experiment's shared init
(:mod:`mtda.models.shared_init`): it is loaded into all three in :meth:`init_weights`, and the
sha256 of its weights (:func:`~mtda.io.weights_sha256`, not of the file) is kept in
:attr:`init_sha256` for the exported checkpoints' lineage.

A stage-one config also serves inference: ``mmseg.apis.init_model(config, weights)`` builds the
wrapper (it passes mmseg's ``pretrained=None`` and ``train_cfg=None``) and loads a plain segmentor
state dict (an export, a merged model) into the student; the teacher and the frozen copy start
from it, as at the start of training (:meth:`_segmentor_state_into_all`).
"""
import copy
from typing import Dict, NamedTuple, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch.profiler import record_function

from ...datasets.label_maps import THING_CLASSES
from ...io import load_state_dict_file, weights_sha256
from ..hrda import HRDAEncoderDecoder
from ..segmentor import load_state_strict
from .classmix import class_mix_masks, mix
from .ema import disable_stochastic_layers_, ema_alpha, update_ema_
from .feature_distance import feature_distance_loss
from .masking import block_mask, mask_images
from .pseudo_label import crop_margin_mask, pseudo_labels_and_weight
from .strong_aug import strong_augment


#: the profiler scopes of one UDA iteration, in the order they run (the backward pass and the
#: optimizer step follow them)
PARTS = ('uda.ema', 'uda.student_source', 'uda.imnet', 'uda.feature_distance', 'uda.teacher',
         'uda.mix_augment', 'uda.student_mix', 'uda.masked')


class MixedBatch(NamedTuple):
    """What the student trains on in the mixed pass: the ClassMix-ed, augmented ``image``, its
    ``label`` (source labels and pseudo labels) and pixel ``weight``; the target's
    ``pseudo_label`` and ``pixel_weight`` (MIC reuses them) and the batch's mean
    ``pseudo_weight`` (logged)."""
    image: torch.Tensor
    label: torch.Tensor
    weight: torch.Tensor
    pseudo_label: torch.Tensor
    pixel_weight: torch.Tensor
    pseudo_weight: torch.Tensor


def _labels(data_samples) -> torch.Tensor:
    return torch.stack([s.gt_sem_seg.data for s in data_samples])  # (B, 1, H, W)


def _metas(data_samples):
    return [s.metainfo for s in data_samples]


@MODELS.register_module()
class DAFormerUDA(BaseSegmentor):
    """DAFormer self-training (Hoyer et al., CVPR 2022) on mmseg 1.x / mmengine.

    Args:
        segmentor: config of the student (and teacher): an ``EncoderDecoder``, or an
            ``HRDAEncoderDecoder`` (:mod:`mtda.models.hrda`), whose losses then include the
            detail crop's and whose teacher labels with its fused multi-resolution inference.
        data_preprocessor: defaults to the segmentor's, as a :class:`UDADataPreProcessor`.
        init_checkpoint: the experiment's shared init (weights-only segmentor checkpoint).
        ema_alpha: teacher EMA momentum (DAFormer 0.999).
        pseudo_threshold: confidence for the pseudo-label weight (DAFormer 0.968).
        pseudo_margins: target rows/columns (top, bottom, left, right) of every crop left out of
            the weight (DAFormer ignores the top 15 and bottom 120 rows at 512 crops). Target
            samples that carry ``pseudo_trusted`` (HRDA's margins on the uncropped image,
            :mod:`mtda.datasets.pseudo_label_margins`) are masked by it as well.
        mix_per_sample: choose the pasted classes per image (``True``) or from the whole batch's
            classes (``False``, DAFormer's code).
        color_jitter_strength: brightness/contrast/saturation/hue strength s (0.2).
        color_jitter_probability: DAFormer's ``p``: jitter when U(0,1) > p (0.2, i.e. 80%).
        blur: Gaussian blur (sigma ~ U(0.15, 1.15)) on the mixed image, half of the time.
        feature_distance_weight: lambda of the ImageNet feature distance (0.005; 0 disables).
        feature_distance_classes: trainIds it applies to (thing classes).
        feature_distance_scale_min_ratio: label downscaling purity (0.75).
        feature_distance_stage: which backbone output the distance is taken on (DAFormer: the last,
            ``-1``, a 16x16 map at 512 crops); small crops pick an earlier stage of similar size.
        mask_weight: MIC's ``mask_lambda``, the weight of the masked-image consistency loss
            (MIC: 1; 0, the default, is DAFormer without MIC).
        mask_ratio: the share of blocks masked (MIC: 0.7).
        mask_block_size: the block side in pixels (MIC: 64).
        mask_augment: colour-jitter and blur the target image before masking it, with its own
            random draws (MIC's ``separatetrgaug`` mode, its default); ``False``: ``separatetrg``.
        sequential_backward: back-propagate the source losses before the mixed batch's forward,
            as DAFormer does (:meth:`train_step`); ``False``: one backward of all losses.
        init_cfg: mmengine init config.
        pretrained, train_cfg: mmseg's standard segmentor arguments, which ``init_model`` sets to
            ``None``; anything else is refused (the shared init is ``init_checkpoint``, the
            training options are the student's).
    """

    def __init__(self, segmentor: dict, data_preprocessor: Optional[dict] = None,
                 init_checkpoint: Optional[str] = None, ema_alpha: float = 0.999,
                 pseudo_threshold: float = 0.968,
                 pseudo_margins: Sequence[int] = (15, 120, 0, 0),
                 mix_per_sample: bool = False, color_jitter_strength: float = 0.2,
                 color_jitter_probability: float = 0.2, blur: bool = True,
                 feature_distance_weight: float = 0.005,
                 feature_distance_classes: Sequence[int] = THING_CLASSES,
                 feature_distance_scale_min_ratio: float = 0.75,
                 feature_distance_stage: int = -1, mask_weight: float = 0.0,
                 mask_ratio: float = 0.7, mask_block_size: int = 64, mask_augment: bool = True,
                 sequential_backward: bool = True,
                 init_cfg: Optional[dict] = None, pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None) -> None:
        if pretrained is not None or train_cfg is not None:
            raise ValueError('DAFormerUDA takes its weights from init_checkpoint (the shared init) '
                             'and its training options from segmentor.train_cfg; drop '
                             'model.pretrained / model.train_cfg')
        if data_preprocessor is None:
            data_preprocessor = dict(segmentor.get('data_preprocessor') or {})
        data_preprocessor = dict(data_preprocessor, type='UDADataPreProcessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        segmentor = copy.deepcopy(dict(segmentor))
        segmentor.pop('data_preprocessor', None)  # batches arrive preprocessed
        self.model = MODELS.build(segmentor)
        self.teacher = MODELS.build(copy.deepcopy(segmentor))
        self.teacher.requires_grad_(False)
        self.imnet_backbone = None
        if feature_distance_weight > 0:
            self.imnet_backbone = MODELS.build(copy.deepcopy(segmentor['backbone']))
            self.imnet_backbone.requires_grad_(False)
        self.init_checkpoint = init_checkpoint
        self.init_sha256: Optional[str] = None
        self.ema_alpha = ema_alpha
        self.pseudo_threshold = pseudo_threshold
        self.pseudo_margins = tuple(pseudo_margins)
        self.mix_per_sample = mix_per_sample
        self.color_jitter_strength = color_jitter_strength
        self.color_jitter_probability = color_jitter_probability
        self.blur = blur
        self.feature_distance_weight = feature_distance_weight
        self.feature_distance_classes = tuple(feature_distance_classes)
        # moves with the model: selecting thing pixels needs no host-to-device copy on a GPU
        self.register_buffer('thing_classes', torch.tensor(self.feature_distance_classes,
                                                           dtype=torch.long), persistent=False)
        self.feature_distance_scale_min_ratio = feature_distance_scale_min_ratio
        self.feature_distance_stage = feature_distance_stage
        if mask_weight < 0:
            raise ValueError(f'mask_weight must be >= 0 (0 disables MIC), got {mask_weight}')
        self.mask_weight = mask_weight
        self.mask_ratio = mask_ratio
        self.mask_block_size = mask_block_size
        self.mask_augment = mask_augment
        self.sequential_backward = sequential_backward
        self.align_corners = self.model.decode_head.align_corners
        #: HRDA segmentors train through their own crop-aware weighted loss
        self.is_hrda = isinstance(self.model, HRDAEncoderDecoder)
        self._register_load_state_dict_pre_hook(self._segmentor_state_into_all)

    def _segmentor_state_into_all(self, state_dict, prefix, *args) -> None:
        """A plain segmentor state dict (``backbone.*``, ``decode_head.*``, no ``model.*``) becomes
        the student's, the teacher's and (its backbone) the frozen copy's, in place."""
        own = [k for k in state_dict if k.startswith(prefix)]
        if not own or any(k.startswith(f'{prefix}model.') for k in own):
            return
        children = ('model', 'teacher') + (('imnet_backbone',) if self.imnet_backbone else ())
        if any(k[len(prefix):].split('.')[0] in children for k in own):
            return
        for key in own:
            name, value = key[len(prefix):], state_dict.pop(key)
            state_dict[f'{prefix}model.{name}'] = value
            state_dict[f'{prefix}teacher.{name}'] = value
            if self.imnet_backbone is not None and name.startswith('backbone.'):
                state_dict[f'{prefix}imnet_backbone.{name[len("backbone."):]}'] = value

    @property
    def student(self) -> torch.nn.Module:
        """The segmentor that is exported, evaluated and merged."""
        return self.model

    # --- weights -----------------------------------------------------------------------------
    def init_weights(self) -> None:
        """mmseg init of the student, then the shared init; teacher and frozen copy follow it."""
        self.model.init_weights()
        if self.init_checkpoint:
            state = load_state_dict_file(self.init_checkpoint)
            self._load_shared_init(state)
            self.init_sha256 = weights_sha256(state)
        self.teacher.load_state_dict(self.model.state_dict())
        if self.imnet_backbone is not None:
            self.imnet_backbone.load_state_dict(self.model.backbone.state_dict())
        self._is_init = True

    def _load_shared_init(self, state) -> None:
        load_state_strict(self.model, state, self.init_checkpoint,
                          fix='make the shared init with this config (tools/make_shared_init.py)')

    def train(self, mode: bool = True):
        super().train(mode)
        # DAFormer: the teacher labels in train mode (BN on batch statistics) without dropout
        disable_stochastic_layers_(self.teacher)
        if self.imnet_backbone is not None:
            self.imnet_backbone.eval()  # DAFormer: the ImageNet model is always in eval mode
        return self

    # --- mmseg segmentor interface: the student ------------------------------------------------
    def extract_feat(self, inputs):
        return self.model.extract_feat(inputs)

    def encode_decode(self, inputs, batch_img_metas):
        return self.model.encode_decode(inputs, batch_img_metas)

    def predict(self, inputs, data_samples=None):
        return self.model.predict(inputs, data_samples)

    def _forward(self, inputs, data_samples=None):
        return self.model._forward(inputs, data_samples)

    def loss(self, inputs, data_samples):
        """Supervised loss of the student (mmseg's interface; UDA batches use uda_loss)."""
        return self.model.loss(inputs, data_samples)

    def forward(self, inputs=None, data_samples=None, mode: str = 'tensor', source=None,
                target=None):
        if mode == 'loss' and source is not None:
            return self.uda_loss(source, target)
        return super().forward(inputs, data_samples, mode)

    # --- UDA ---------------------------------------------------------------------------------
    def _current_iter(self) -> int:
        return int(MessageHub.get_current_instance().get_info('iter', 0))

    def _teacher_logits(self, inputs, metas) -> torch.Tensor:
        # inference mode: no autograd bookkeeping at all (its outputs only become labels and
        # weights, never saved for the backward pass)
        with torch.inference_mode():
            return self.teacher.encode_decode(inputs, metas)

    def uda_loss(self, source: dict, target: dict) -> Dict[str, torch.Tensor]:
        """All losses of one DAFormer iteration (see the module docstring), for one backward.

        Each part runs under a ``torch.profiler.record_function`` scope named in :data:`PARTS`
        (``benchmarks/uda_step_bench.py`` reads the breakdown from them).
        """
        self._update_teacher()
        losses, src_label = self._source_losses(source)
        mixed_losses, pseudo = self._mixed_losses(source, target, src_label)
        losses.update(mixed_losses)
        if self.mask_weight > 0:
            losses.update(self._masked_losses(target, *pseudo))
        return losses

    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        """One iteration with DAFormer's order of backward passes (``sequential_backward``).

        The source losses are back-propagated as soon as they are computed, which frees the
        source graph before the teacher, mixing and the student's pass on the mixed batch
        (DAFormer, ``mmseg/models/uda/dacs.py``): the peak memory holds one student graph, not
        two. The gradients are the same sum as one backward of all losses; the parameters change
        once, after both. Under DDP, mmengine's wrapper runs :meth:`uda_loss` with one backward
        instead (a second backward per forward is not allowed there); so does
        ``sequential_backward=False``.
        """
        if not self.sequential_backward or 'source' not in data:  # or a plain supervised batch
            return super().train_step(data, optim_wrapper)
        log_vars: Dict[str, torch.Tensor] = {}
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            self._update_teacher()
            source_losses, src_label = self._source_losses(data['source'])
        self._backward(source_losses, optim_wrapper, log_vars)
        del source_losses
        with optim_wrapper.optim_context(self):
            losses, pseudo = self._mixed_losses(data['source'], data['target'], src_label)
        if self.mask_weight > 0:
            self._backward(losses, optim_wrapper, log_vars)
            with optim_wrapper.optim_context(self):
                losses = self._masked_losses(data['target'], *pseudo)
        del pseudo
        loss = self._log(losses, log_vars)
        optim_wrapper.update_params(loss)  # backward, then the one optimiser step
        return log_vars

    def _log(self, losses: Dict[str, torch.Tensor], log_vars: Dict[str, torch.Tensor]):
        """The total of ``losses``; their detached values added to ``log_vars`` (``loss``
        accumulates the totals of the iteration's backward passes)."""
        loss, values = self.parse_losses(losses)
        total = log_vars.get('loss')
        log_vars.update({k: v.detach() for k, v in values.items() if k != 'loss'})
        log_vars['loss'] = values['loss'].detach() + (0 if total is None else total)
        return loss

    def _backward(self, losses, optim_wrapper, log_vars) -> None:
        """Back-propagate ``losses`` now, without an optimiser step (the gradients add up until
        :meth:`train_step`'s last pass steps once), scaled as the wrapper scales them."""
        scaled = optim_wrapper.scale_loss(self._log(losses, log_vars))
        scaler = getattr(optim_wrapper, 'loss_scaler', None)  # AmpOptimWrapper's GradScaler
        (scaler.scale(scaled) if scaler is not None else scaled).backward()

    def _update_teacher(self) -> None:
        with record_function('uda.ema'):
            update_ema_(self.teacher, self.model,
                        alpha=ema_alpha(self._current_iter(), self.ema_alpha))

    def _source_losses(self, source: dict, *, feature_distance: bool = True) -> tuple:
        """``(losses, source labels)``: the student's supervised loss and (when the model has
        the frozen ImageNet copy and ``feature_distance``) the feature distance."""
        src_img, src_samples = source['inputs'], source['data_samples']
        src_label = _labels(src_samples)
        losses: Dict[str, torch.Tensor] = {}
        with record_function('uda.student_source'):
            if self.is_hrda:  # context and detail crop; feats: the context's
                head_losses, feats = self.model.pixel_weighted_loss(src_img, src_label[:, 0])
            else:
                feats = self.model.extract_feat(src_img)
                head_losses = self.model.decode_head.loss(feats, src_samples,
                                                          self.model.train_cfg)
            for name, value in head_losses.items():
                losses[f'src.{name}'] = value
        if self.imnet_backbone is not None and feature_distance:
            # HRDA: the distance is taken on the context branch (its feature_scale)
            imnet_img = self.model.context_input(src_img) if self.is_hrda else src_img
            with record_function('uda.imnet'), torch.inference_mode():
                imnet_feats = self.imnet_backbone(imnet_img)
            stage = self.feature_distance_stage
            with record_function('uda.feature_distance'):
                losses['src.loss_imnet_fd'] = feature_distance_loss(
                    feats[stage], imnet_feats[stage], src_label,
                    thing_classes=self.thing_classes,
                    scale_min_ratio=self.feature_distance_scale_min_ratio,
                    lambda_=self.feature_distance_weight)
        return losses, src_label

    def _mixed_batch(self, source: dict, target: dict, src_label) -> MixedBatch:
        """The teacher's pseudo labels of the target and their weights, ClassMix of the source
        into the target and the strong augmentation of the mix (no student pass)."""
        src_img, tgt_img, tgt_samples = source['inputs'], target['inputs'], target['data_samples']
        # target: pseudo labels from the teacher; their confidence weight (one scalar for the
        # batch, DAFormer), zero on the crop margins
        with record_function('uda.teacher'):
            teacher_logits = self._teacher_logits(tgt_img, _metas(tgt_samples))
            pseudo_label, pseudo_weight = pseudo_labels_and_weight(
                teacher_logits, threshold=self.pseudo_threshold)
            trusted = ~crop_margin_mask(pseudo_label.shape, margins=self.pseudo_margins,
                                        device=pseudo_label.device)
            if 'pseudo_trusted' in tgt_samples[0]:  # HRDA's margins, marked before cropping
                trusted = trusted & torch.stack([s.pseudo_trusted.data[0] for s in tgt_samples])
            pixel_weight = (pseudo_weight.view(-1, 1, 1) * trusted).expand(pseudo_label.shape)

        # ClassMix + strong augmentation
        with record_function('uda.mix_augment'):
            masks = class_mix_masks(src_label, per_sample=self.mix_per_sample)
            mixed_img = strong_augment(  # the preprocessor's own (device) mean and std
                mix(masks, src_img, tgt_img), mean=self.data_preprocessor.mean,
                std=self.data_preprocessor.std,
                color_jitter_strength=self.color_jitter_strength,
                color_jitter_probability=self.color_jitter_probability, blur=self.blur)
            mixed_label = mix(masks, src_label[:, 0], pseudo_label).long()
            mixed_weight = mix(masks, torch.ones_like(pixel_weight), pixel_weight)
        return MixedBatch(mixed_img, mixed_label, mixed_weight, pseudo_label, pixel_weight,
                          pseudo_weight.mean().detach())

    def _mixed_losses(self, source: dict, target: dict, src_label) -> tuple:
        """``(losses, (pseudo labels, pixel weights))``: the teacher's pseudo labels of the
        target, ClassMix and the student's weighted loss on the mix."""
        batch = self._mixed_batch(source, target, src_label)
        # the student on the mixed image, confidence-weighted
        with record_function('uda.student_mix'):
            losses = {f'mix.{name}': value for name, value in self._pixel_weighted_losses(
                batch.image, batch.label, batch.weight).items()}
        losses['mix.pseudo_weight'] = batch.pseudo_weight
        return losses, (batch.pseudo_label, batch.pixel_weight)

    def _masked_losses(self, target: dict, pseudo_label: torch.Tensor,
                       pixel_weight: torch.Tensor) -> Dict[str, torch.Tensor]:
        """MIC: the student on the block-masked target image learns the teacher's pseudo labels
        of the whole image, with the mixed loss's confidence weights (:mod:`.masking`)."""
        tgt_img = target['inputs']
        with record_function('uda.masked'):
            if self.mask_augment:  # its own jitter and blur draws
                tgt_img = strong_augment(
                    tgt_img, mean=self.data_preprocessor.mean, std=self.data_preprocessor.std,
                    color_jitter_strength=self.color_jitter_strength,
                    color_jitter_probability=self.color_jitter_probability, blur=self.blur)
            mask = block_mask(tgt_img.shape, ratio=self.mask_ratio,
                              block_size=self.mask_block_size, device=tgt_img.device)
            losses = self._pixel_weighted_losses(mask_images(tgt_img, mask), pseudo_label,
                                                 pixel_weight)
            return {f'masked.{name}': self.mask_weight * value for name, value in losses.items()}

    def _pixel_weighted_losses(self, img: torch.Tensor, label: torch.Tensor,
                               weight: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The student's pixel-weighted cross-entropy on ``img`` (averaged over all pixels, as
        DAFormer's mmseg 0.x loss); HRDA's on a random detail crop and the context."""
        if self.is_hrda:
            return self.model.pixel_weighted_loss(img, label, weight, with_accuracy=False)[0]
        logits = self.model.decode_head(self.model.extract_feat(img))
        logits = resize(logits, size=label.shape[-2:], mode='bilinear',
                        align_corners=self.align_corners)
        ce = F.cross_entropy(logits, label, reduction='none',
                             ignore_index=self.model.decode_head.ignore_index)
        return {'loss_ce': (ce * weight).mean()}
