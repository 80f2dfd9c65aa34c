# GTA5 as a labelled source at HRDA's resolution: resized to 2560x1440 (twice DAFormer's
# 1280x720), 1024x1024 crops with cat_max_ratio 0.75, flip (lhoyer/HRDA
# configs/_base_/datasets/uda_gtaHR_to_cityscapesHR_1024x1024.py).
source_domain = 'gta'
gta_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(2560, 1440), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(1024, 1024), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
gta_train = dict(
    type='GTADataset', data_root='data/gta',
    data_prefix=dict(img_path='images', seg_map_path='labels'),
    pipeline=gta_train_pipeline)
train_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True), dataset=gta_train)
