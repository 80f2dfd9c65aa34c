"""DAFormer-style self-training: the pure pieces the UDA segmentor calls.

One idea per module, torch only (no mmseg / mmengine), each citing the DAFormer convention it
follows:

* :mod:`.ema` -- EMA teacher weight schedule and the parameter-only, name-matched update;
* :mod:`.pseudo_label` -- argmax pseudo labels, confidence weight, crop margins;
* :mod:`.classmix` -- DACS ClassMix masks and mixing;
* :mod:`.strong_aug` -- colour jitter and Gaussian blur with DAFormer's probabilities;
* :mod:`.feature_distance` -- ImageNet feature distance on thing classes;
* :mod:`.masking` -- MIC's block masks of the target image.

Rare class sampling is a data concern: :mod:`mtda.datasets.rare_class_sampling`.
"""
from .classmix import class_mix_masks, mix
from .ema import disable_stochastic_layers_, ema_alpha, update_ema_
from .feature_distance import downscale_label_ratio, feature_distance_loss
from .masking import block_mask, mask_images
from .pseudo_label import crop_margin_mask, pseudo_labels_and_weight
from .strong_aug import blur_kernel_size, color_jitter, gaussian_blur, strong_augment

__all__ = [
    'block_mask', 'blur_kernel_size', 'class_mix_masks', 'color_jitter', 'crop_margin_mask',
    'disable_stochastic_layers_', 'downscale_label_ratio', 'ema_alpha', 'feature_distance_loss',
    'gaussian_blur', 'mask_images', 'mix', 'pseudo_labels_and_weight', 'strong_augment',
    'update_ema_',
]
