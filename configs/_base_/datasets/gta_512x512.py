# GTA5 as a labelled source, DAFormer's pipeline: resize to 1280x720, 512x512 crop with
# cat_max_ratio 0.75, horizontal flip. Labels come from tools/convert_datasets/gta.py.
source_domain = 'gta'  # results files use it (SYNTHIA adds mIoU16/13)
gta_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1280, 720), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(512, 512), cat_max_ratio=0.75),
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
