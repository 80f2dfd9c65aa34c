# GTA -> cityscapes: HRDA self-training, MiT-B5 + DAFormer head, with the paper's settings for this
# target and backbone (docs/stage_one.md, "The paper's per-target settings"). Stage one of mtda:
# one of the per-target runs that share init_checkpoint and are merged later.
_base_ = [
    '../_base_/models/hrda_daformer_mitb5.py',  # HRDA: context 0.5 + detail crop, scale attention
    '../_base_/uda/daformer.py',  # EMA teacher, pseudo labels, ClassMix, FD
    '../_base_/datasets/gta_hr_1024x1024.py',  # source: GTA at 2560x1440, 1024 crops
    '../_base_/datasets/targets_train_hr_1024x1024.py',  # targets at full resolution, 1024 crops
    '../_base_/datasets/targets_val_hr.py',  # evaluation: the four targets at full resolution
    '../_base_/schedules/adamw_poly_40k.py',  # AdamW 6e-5, head x10, warm-up 1500, poly, 40k
    '../_base_/default_runtime.py',
]
target_domain = 'cityscapes'
model = dict(
    segmentor={{_base_.hrda_segmentor}},  # 1024 crops, test windows 1024
    init_checkpoint='pretrained/shared_init_hrda_mitb5.pth',
    ema_alpha=0.999,
    # HRDA's crop_pseudo_margins (30, 240, 30, 30) are marked on the image before cropping by the
    # target pipeline (PseudoLabelMargins): a margin counts only where the crop touches the border
    pseudo_margins=(0, 0, 0, 0))
train_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True, type='UDADataset',
        source={{_base_.gta_train}},
        target={{_base_.cityscapes_train}},
        # HRDA: min_crop_ratio 2.0 instead of DAFormer's 0.5 (4x the pixels per crop)
        rare_class_sampling=dict(min_pixels=3000, class_temp=0.01, min_crop_ratio=2.0),
        length='source'))  # sampler index list of len(source), not len(source) x len(target)
# validation during training on this run's own target; tools/test.py evaluates all four
val_cfg = dict(domains=dict(_delete_=True, cityscapes={{_base_.cityscapes_val}}))
