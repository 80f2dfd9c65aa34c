# Source-only pretraining of the ResNetV1c-18 + DAFormer head (BN everywhere) model on synthetic GTA: on the miniature
# setup (no ImageNet weights) its final weights become the experiment's shared init
# (tools/make_shared_init.py --from-checkpoint) that every stage-one run starts from.
_base_ = [
    '../_base_/models/daformer_r18_tiny.py',  # segmentor: ResNetV1c-18 + DAFormer head (BN everywhere)
    '../_base_/datasets/gta_tiny.py',  # source: synthetic GTA, 64x64 crops
    '../_base_/datasets/targets_val_tiny.py',  # evaluation: the four targets
    '../_base_/schedules/adamw_poly_tiny.py',  # 1500 iterations
    '../_base_/default_runtime.py',
]
model = {{_base_.segmentor}}
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=500),
    visualization=dict(type='SegVisualizationHook', draw=False))
