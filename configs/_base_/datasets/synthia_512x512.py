# SYNTHIA-RAND-CITYSCAPES as a labelled source, DAFormer's pipeline: resize to 1280x760,
# 512x512 crop with cat_max_ratio 0.75, flip. Labels from tools/convert_datasets/synthia.py.
source_domain = 'synthia'  # results files add mIoU16 and mIoU13
synthia_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1280, 760), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(512, 512), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
synthia_train = dict(
    type='SynthiaDataset', data_root='data/synthia',
    data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS'),
    pipeline=synthia_train_pipeline)
train_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True), dataset=synthia_train)
