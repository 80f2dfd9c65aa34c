# Source-only baseline on the miniature synthetic data: a MiT-B0-sized SegFormer trained on GTA
# only, evaluated on Cityscapes, IDD, ACDC and Dark Zurich. The README's main job runs this.
_base_ = [
    '../_base_/models/segformer_mit-b0_tiny.py',    # model: MiT-B0 widths, SegFormer head, BN
    '../_base_/datasets/gta_tiny.py',               # source: synthetic GTA, 64x64 crops
    '../_base_/datasets/targets_val_tiny.py',       # evaluation: the four targets' val splits
    '../_base_/schedules/adamw_poly_tiny.py',       # AdamW + warm-up + poly, 1500 iterations
    '../_base_/default_runtime.py',
]
model = {{_base_.segmentor}}
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=500),
    visualization=dict(type='SegVisualizationHook', draw=False))
