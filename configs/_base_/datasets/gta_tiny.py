# GTA5 source on the miniature synthetic copy (tools/make_synthetic_data.py --size tiny): the
# images are 128x70 (GTA's aspect ratio), so the pipeline keeps them and crops 64x64.
source_domain = 'gta'  # results files use it (SYNTHIA adds mIoU16/13)
gta_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(128, 70), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(64, 64), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
gta_train = dict(
    type='GTADataset', data_root='data/gta',
    data_prefix=dict(img_path='images', seg_map_path='labels'),
    pipeline=gta_train_pipeline)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True), dataset=gta_train)
