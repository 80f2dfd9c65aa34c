# Source-only baseline from SYNTHIA on the miniature data (results add mIoU16 / mIoU13).
_base_ = [
    '../_base_/models/segformer_mit-b0_tiny.py',    # model: MiT-B0 widths, SegFormer head, BN
    '../_base_/datasets/synthia_tiny.py',           # source: synthetic SYNTHIA, 64x64 crops
    '../_base_/datasets/targets_val_tiny.py',       # evaluation: the four targets' val splits
    '../_base_/schedules/adamw_poly_tiny.py',
    '../_base_/default_runtime.py',
]
model = {{_base_.segmentor}}
default_hooks = dict(
    checkpoint=dict(interval=500),
    visualization=dict(type='SegVisualizationHook', draw=False))
