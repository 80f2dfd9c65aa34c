# GTA -> cityscapes: HRDA (Hoyer et al., ECCV 2022) self-training, MiT-B5 + DAFormer head, with the
# settings of the paper's own config (AIR-DISCOVER/Model-Merging-MTDA configs/hrda/ for this target
# and backbone): full resolution, 1024x1024 crops (HRDA's default); EMA alpha 0.999
# (dacs_a999_fdthings); test windows 1024x1024, stride 512.
# Stage one of mtda: one of the per-target runs that share init_checkpoint and are merged later.
_base_ = [
    '../_base_/models/daformer_mitb5.py',  # backbone and the single-scale DAFormer head
    '../_base_/uda/daformer.py',  # EMA teacher, pseudo labels, ClassMix, FD
    '../_base_/datasets/gta_hr_1024x1024.py',  # source: GTA at 2560x1440, 1024 crops
    '../_base_/datasets/targets_train_hr_1024x1024.py',  # targets at full resolution, 1024 crops
    '../_base_/datasets/targets_val_hr.py',  # evaluation: the four targets at full resolution
    '../_base_/schedules/adamw_poly_40k.py',  # AdamW 6e-5, head x10, warm-up 1500, poly, 40k
    '../_base_/default_runtime.py',
]
target_domain = 'cityscapes'
model = dict(
    segmentor=dict(
        type='HRDAEncoderDecoder',
        data_preprocessor=dict(
            type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
            size=(1024, 1024)),  # the training crop
        backbone={{_base_.segmentor.backbone}},
        decode_head=dict(
            type='HRDAHead',
            single_scale_head={{_base_.segmentor.decode_head}},  # one head for both scales
            hr_loss_weight=0.1,  # HRDA's lambda_d: the detail crop's own loss
            attention_classwise=True,  # one scale-attention map per class
            attention_embed_dims=256),
        scales=[1, 0.5],  # detail at full, context at half resolution
        hr_crop_size=(512, 512),  # the detail crop
        crop_coord_divisible=8,  # output stride 4 x context downscale 2: cells align
        hr_slide_inference=True,  # the teacher's detail branch in overlapping 512 windows
        train_cfg=dict(),
        test_cfg=dict(mode='slide', crop_size=(1024, 1024), stride=(512, 512))),
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
