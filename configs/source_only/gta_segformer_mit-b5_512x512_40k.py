# Source-only baseline at real size: SegFormer MiT-B5 trained on GTA5 (DAFormer's source
# pipeline and schedule, without adaptation), evaluated on the four targets' val splits.
_base_ = [
    '../_base_/models/segformer_mit-b5.py',      # model: MiT-B5 (local ImageNet weights) + head
    '../_base_/datasets/gta_512x512.py',         # source: GTA5 1280x720, 512x512 crops
    '../_base_/datasets/targets_val.py',         # evaluation: CS / IDD / ACDC / Dark Zurich val
    '../_base_/schedules/adamw_poly_40k.py',     # AdamW 6e-5, warm-up 1500, poly, 40k iterations
    '../_base_/default_runtime.py',
]
model = {{_base_.segmentor}}
default_hooks = dict(checkpoint=dict(save_best='hmean', rule='greater'))
