# GTA -> dark_zurich: DAFormer self-training of the ImageNet EfficientNet-Lite0 + DAFormer head miniature
# (CPU). Stage one of mtda: each target's run starts from the one shared init (ImageNet backbone,
# seeded head), as in the paper, and is merged later.
_base_ = [
    '../_base_/models/daformer_efficientnet-lite0_tiny.py',  # ImageNet EfficientNet-Lite0 + DAFormer head
    '../_base_/uda/daformer.py',  # EMA teacher, pseudo labels, ClassMix, FD
    '../_base_/datasets/gta_tiny.py',  # source: synthetic GTA, 64x64 crops
    '../_base_/datasets/targets_train_tiny.py',  # unlabelled target train splits
    '../_base_/datasets/targets_val_tiny.py',  # evaluation: the four targets
    '../_base_/schedules/adamw_poly_from_imagenet_tiny.py',  # 1500 iterations from ImageNet + a fresh head
    '../_base_/default_runtime.py',
]
target_domain = 'dark_zurich'
model = dict(
    segmentor={{_base_.segmentor}},
    init_checkpoint='work_dirs/mtda_efficientnet-lite0_tiny/shared_init.pth',
    # DAFormer: alpha 0.999, a teacher time constant 1/(1-alpha) = 1000 iterations, 2.5 % of 40k.
    # The same 2.5 % of 1500 iterations is 37.5: alpha = 1 - 1/37.5.
    ema_alpha=0.973,
    # DAFormer: the distance on the last stage, a 16x16 map of 512 crops. The map of that size at
    # 64 crops is the stride-4 stage (index 0): each cell covers the same 1/16 of the crop, so the
    # 75 % thing-class purity rule passes as often as in DAFormer.
    feature_distance_stage=0,
    pseudo_margins=(2, 15, 0, 0))  # DAFormer's top 15 / bottom 120 rows at 512 crops, scaled
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True, type='UDADataset',
        source={{_base_.gta_train}},
        target={{_base_.dark_zurich_train}},
        rare_class_sampling={{_base_.gta_rare_class_sampling}},
        length='source'))  # sampler index list of len(source), not len(source) x len(target)
# validation during training on this run's own target; tools/test.py evaluates all four
val_cfg = dict(domains=dict(_delete_=True, dark_zurich={{_base_.dark_zurich_val}}))
