# Unlabelled target training splits of the miniature synthetic copies, at their stored size,
# 64x64 crops and flip (the tiny counterpart of targets_train.py).
target_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=(64, 64)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
cityscapes_train = dict(
    type='CityscapesDataset', data_root='data/cityscapes',
    data_prefix=dict(img_path='leftImg8bit/train'), pipeline=target_train_pipeline)
idd_train = dict(
    type='IDDDataset', data_root='data/idd',
    data_prefix=dict(img_path='leftImg8bit/train'), pipeline=target_train_pipeline)
acdc_train = dict(
    type='ACDCDataset', data_root='data/acdc', split='train',
    data_prefix=dict(img_path='rgb_anon'), pipeline=target_train_pipeline)
dark_zurich_train = dict(
    type='DarkZurichDataset', data_root='data/dark_zurich',
    data_prefix=dict(img_path='rgb_anon/train/night'), pipeline=target_train_pipeline)
