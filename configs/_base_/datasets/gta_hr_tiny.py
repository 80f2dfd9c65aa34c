# Synthetic GTA for the HRDA miniature: HRDA resizes GTA to 2560x1440, twice DAFormer's 1280x720,
# and crops 1024x1024; here twice the DAFormer miniature's 128x70 (the stored size), 128x128 crops.
source_domain = 'gta'
gta_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(256, 140), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(128, 128), cat_max_ratio=0.75),
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
# Rare class sampling: the DAFormer miniature's (gta_tiny.py) with HRDA's min_crop_ratio 2.0
# (DAFormer's 0.5): 200 of the 128x128 crop's 16384 pixels, the DAFormer miniature's 50 of 4096.
gta_rare_class_sampling = dict(min_pixels=100, class_temp=0.01, min_crop_ratio=2.0)
