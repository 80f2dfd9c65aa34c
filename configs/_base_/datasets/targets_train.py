# Unlabelled target training splits (DAFormer's pipelines, no labels loaded): Cityscapes resized
# to 1024x512, IDD / ACDC / Dark Zurich to 960x540 (half of 1920x1080), 512x512 crops, flip.
target_train_pipeline_cityscapes = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(512, 512)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
target_train_pipeline_960x540 = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(960, 540), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(512, 512)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
cityscapes_train = dict(
    type='CityscapesDataset', data_root='data/cityscapes',
    data_prefix=dict(img_path='leftImg8bit/train'), pipeline=target_train_pipeline_cityscapes)
idd_train = dict(
    type='IDDDataset', data_root='data/idd',
    data_prefix=dict(img_path='leftImg8bit/train'), pipeline=target_train_pipeline_960x540)
acdc_train = dict(
    type='ACDCDataset', data_root='data/acdc', split='train',
    data_prefix=dict(img_path='rgb_anon'), pipeline=target_train_pipeline_960x540)
dark_zurich_train = dict(
    type='DarkZurichDataset', data_root='data/dark_zurich',
    data_prefix=dict(img_path='rgb_anon/train/night'), pipeline=target_train_pipeline_960x540)
