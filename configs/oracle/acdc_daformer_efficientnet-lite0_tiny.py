# Target-supervised "oracle" on acdc's labelled train split: the EfficientNet-Lite0 + DAFormer head
# miniature trained from the experiment's shared init (load_from) with the singles' schedule. It
# bounds what UDA can reach; tools/stage_one_report.py reports the share of the gap UDA closes.
_base_ = [
    '../_base_/models/daformer_efficientnet-lite0_tiny.py',  # ImageNet EfficientNet-Lite0 + DAFormer head
    '../_base_/datasets/targets_train_labelled_tiny.py',  # labelled target train splits
    '../_base_/datasets/targets_val_tiny.py',  # evaluation: the four targets
    '../_base_/schedules/adamw_poly_from_imagenet_tiny.py',  # the singles' schedule: 1500 iterations
    '../_base_/default_runtime.py',
]
source_domain = 'gta'  # the experiment's source (results files); this run sees none of it
target_domain = 'acdc'
model = {{_base_.segmentor}}
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True), dataset={{_base_.acdc_train_labelled}})
val_cfg = dict(domains=dict(_delete_=True, acdc={{_base_.acdc_val}}))
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=500),
    visualization=dict(type='SegVisualizationHook', draw=False))
