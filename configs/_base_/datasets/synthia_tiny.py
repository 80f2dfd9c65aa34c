# SYNTHIA source on the miniature synthetic copy: images are 128x76 (SYNTHIA's aspect ratio),
# kept as they are, 64x64 crops.
source_domain = 'synthia'  # results files add mIoU16 and mIoU13
synthia_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(128, 76), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(64, 64), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
synthia_train = dict(
    type='SynthiaDataset', data_root='data/synthia',
    data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS'),
    pipeline=synthia_train_pipeline)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True), dataset=synthia_train)
