# GTA -> acdc: HRDA multi-resolution self-training (DAFormer's self-training on HRDA's context and
# detail branches) of the ImageNet EfficientNet-Lite0 + DAFormer head miniature (CPU). Stage one of
# mtda: each target's run starts from the one shared init and is merged later.
_base_ = [
    '../_base_/models/hrda_daformer_efficientnet-lite0_tiny.py',  # HRDA: context 0.5 + detail crop
    '../_base_/uda/daformer.py',  # EMA teacher, pseudo labels, ClassMix, FD
    '../_base_/datasets/gta_hr_tiny.py',  # source: synthetic GTA at 2x, 128x128 crops
    '../_base_/datasets/targets_train_hr_tiny.py',  # unlabelled target train splits at 2x
    '../_base_/datasets/targets_val_hr_tiny.py',  # evaluation: the four targets at 2x
    '../_base_/schedules/adamw_poly_from_imagenet_tiny.py',  # 1500 iterations from ImageNet + a fresh head
    '../_base_/default_runtime.py',
]
target_domain = 'acdc'
model = dict(
    segmentor={{_base_.segmentor}},
    init_checkpoint='work_dirs/mtda_hrda_efficientnet-lite0_tiny/shared_init.pth',
    ema_alpha=0.973,  # as the DAFormer miniature: DAFormer's 2.5 % teacher lag of 1500 iterations
    # DAFormer: the last stage, 16x16 at 512 crops. HRDA takes it on the context branch
    # (feature_scale 0.5), which here is the DAFormer miniature's 64x64 input: stage 0, 16x16.
    feature_distance_stage=0,
    # HRDA's margins are marked on the uncropped image (targets_train_hr_tiny.py), not per crop
    pseudo_margins=(0, 0, 0, 0))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True, type='UDADataset',
        source={{_base_.gta_train}},
        target={{_base_.acdc_train}},
        rare_class_sampling={{_base_.gta_rare_class_sampling}},
        length='source'))  # sampler index list of len(source), not len(source) x len(target)
# validation during training on this run's own target; tools/test.py evaluates all four
val_cfg = dict(domains=dict(_delete_=True, acdc={{_base_.acdc_val}}))
