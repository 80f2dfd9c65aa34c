# Source-only training on synthetic GTA of the HRDA EfficientNet-Lite0 miniature from its shared
# init: the source-only row of the HRDA miniature table (as many iterations as each single).
_base_ = [
    '../_base_/models/hrda_daformer_efficientnet-lite0_tiny.py',  # HRDA: context 0.5 + detail crop
    '../_base_/datasets/gta_hr_tiny.py',  # source: synthetic GTA at 2x, 128x128 crops
    '../_base_/datasets/targets_val_hr_tiny.py',  # evaluation: the four targets at 2x
    '../_base_/schedules/adamw_poly_from_imagenet_tiny.py',  # the singles' schedule: 1500 iterations
    '../_base_/default_runtime.py',
]
model = {{_base_.segmentor}}
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=500),
    visualization=dict(type='SegVisualizationHook', draw=False))
