# Unlabelled target training splits of the paper's 512-crop HRDA runs (ACDC, Dark Zurich;
# uda_gtaHR_to_*HR_512x512.py): DAFormer's resolutions and 512x512 crops (targets_train.py), with
# HRDA's pseudo-label margins (30, 240, 30, 30) marked on the resized image before cropping.
_base_ = ['./targets_train.py']
target_train_pipeline_cityscapes_hrda = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='PseudoLabelMargins', margins=(30, 240, 30, 30)),
    dict(type='RandomCrop', crop_size=(512, 512)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackTargetInputs'),
]
target_train_pipeline_960x540_hrda = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(960, 540), keep_ratio=True),
    dict(type='PseudoLabelMargins', margins=(30, 240, 30, 30)),
    dict(type='RandomCrop', crop_size=(512, 512)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackTargetInputs'),
]
# partial dicts: each merges into the base's dataset of the same name
cityscapes_train = dict(pipeline=target_train_pipeline_cityscapes_hrda)
idd_train = dict(pipeline=target_train_pipeline_960x540_hrda)
acdc_train = dict(pipeline=target_train_pipeline_960x540_hrda)
dark_zurich_train = dict(pipeline=target_train_pipeline_960x540_hrda)
