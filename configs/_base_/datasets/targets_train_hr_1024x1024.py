# Unlabelled target training splits at HRDA's resolution: Cityscapes 2048x1024, IDD / ACDC /
# Dark Zurich 1920x1080 (their full resolutions), 1024x1024 crops, flip (lhoyer/HRDA
# configs/_base_/datasets/uda_gtaHR_to_*HR_1024x1024.py). HRDA's pseudo-label margins
# (crop_pseudo_margins 30, 240, 30, 30) are marked on the full image before cropping.
target_train_pipeline_cityscapes_hr = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='PseudoLabelMargins', margins=(30, 240, 30, 30)),
    dict(type='RandomCrop', crop_size=(1024, 1024)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackTargetInputs'),
]
target_train_pipeline_1920x1080 = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1920, 1080), keep_ratio=True),
    dict(type='PseudoLabelMargins', margins=(30, 240, 30, 30)),
    dict(type='RandomCrop', crop_size=(1024, 1024)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackTargetInputs'),
]
cityscapes_train = dict(
    type='CityscapesDataset', data_root='data/cityscapes',
    data_prefix=dict(img_path='leftImg8bit/train'), pipeline=target_train_pipeline_cityscapes_hr)
idd_train = dict(
    type='IDDDataset', data_root='data/idd',
    data_prefix=dict(img_path='leftImg8bit/train'), pipeline=target_train_pipeline_1920x1080)
acdc_train = dict(
    type='ACDCDataset', data_root='data/acdc', split='train',
    data_prefix=dict(img_path='rgb_anon'), pipeline=target_train_pipeline_1920x1080)
dark_zurich_train = dict(
    type='DarkZurichDataset', data_root='data/dark_zurich',
    data_prefix=dict(img_path='rgb_anon/train/night'), pipeline=target_train_pipeline_1920x1080)
