# GTA -> Cityscapes: DAFormer self-training, ResNetV1c-101 + DeepLabV2 head.
# Stage one of mtda: one of the per-target runs that share `init_checkpoint` and are merged later.
_base_ = [
    '../_base_/models/dlv2_r101.py',
    '../_base_/uda/daformer.py',  # EMA teacher, pseudo labels, ClassMix, FD
    '../_base_/datasets/gta_512x512.py',  # source: GTA (DAFormer resize/crop)
    '../_base_/datasets/targets_train.py',  # unlabelled target train splits
    '../_base_/datasets/targets_val.py',  # evaluation: the four targets' val
    '../_base_/schedules/adamw_poly_40k.py',  # AdamW 6e-5, warm-up 1500, poly, 40k
    '../_base_/default_runtime.py',
]
target_domain = 'cityscapes'
model = dict(
    segmentor={{_base_.segmentor}},
    init_checkpoint='pretrained/shared_init_dlv2_r101.pth',)
train_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True, type='UDADataset',
        source={{_base_.gta_train}},
        target={{_base_.cityscapes_train}},
        rare_class_sampling=dict(min_pixels=3000, class_temp=0.01, min_crop_ratio=0.5),
        length='source'))  # sampler index list of len(source), not len(source) x len(target)
# validation during training on this run's own target; tools/test.py evaluates all four
val_cfg = dict(domains=dict(_delete_=True, cityscapes={{_base_.cityscapes_val}}))
