# Source-only training on synthetic GTA of the EfficientNet-Lite0 + DAFormer head model from its
# ImageNet shared init (tools/make_shared_init.py --backbone-weights packaged): the source-only row
# of the miniature table, and the lower end of the stage-one report's gap.
_base_ = [
    '../_base_/models/daformer_efficientnet-lite0_tiny.py',  # ImageNet EfficientNet-Lite0 + DAFormer head
    '../_base_/datasets/gta_tiny.py',  # source: synthetic GTA, 64x64 crops
    '../_base_/datasets/targets_val_tiny.py',  # evaluation: the four targets
    '../_base_/schedules/adamw_poly_from_imagenet_tiny.py',  # the singles' schedule: 1500 iterations
    '../_base_/default_runtime.py',
]
model = {{_base_.segmentor}}
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=500),
    visualization=dict(type='SegVisualizationHook', draw=False))
