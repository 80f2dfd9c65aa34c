# Source-only on the miniature data with a timm encoder (ResNet-18 through mmseg's TIMMBackbone):
# the same experiment as gta_segformer_mit-b0_tiny.py with another backbone family.
_base_ = [
    '../_base_/models/timm_resnet18_segformer_tiny.py',  # model: timm ResNet-18 + SegFormer head
    '../_base_/datasets/gta_tiny.py',                    # source: synthetic GTA, 64x64 crops
    '../_base_/datasets/targets_val_tiny.py',            # evaluation: the four targets
    '../_base_/schedules/adamw_poly_tiny.py',
    '../_base_/default_runtime.py',
]
model = {{_base_.segmentor}}
default_hooks = dict(
    checkpoint=dict(interval=500),
    visualization=dict(type='SegVisualizationHook', draw=False))
