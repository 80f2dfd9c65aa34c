# Unlabelled target training splits for the HRDA miniature: HRDA trains on full resolution
# (Cityscapes 2048x1024, the others 1920x1080), twice DAFormer's; here twice the stored 128 px
# width, 128x128 crops and flip. HRDA's pseudo-label margins (30, 240, 30, 30) of the 2048-wide
# image are marked before cropping; at 256 px wide, 1/8 of them.
target_train_pipeline_hr = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 256), keep_ratio=True),  # 256 wide: 256x128 or 256x144
    dict(type='PseudoLabelMargins', margins=(4, 30, 4, 4)),
    dict(type='RandomCrop', crop_size=(128, 128)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackTargetInputs'),  # the margins ride along as the samples' pseudo_trusted
]
cityscapes_train = dict(
    type='CityscapesDataset', data_root='data/cityscapes',
    data_prefix=dict(img_path='leftImg8bit/train'), pipeline=target_train_pipeline_hr)
idd_train = dict(
    type='IDDDataset', data_root='data/idd',
    data_prefix=dict(img_path='leftImg8bit/train'), pipeline=target_train_pipeline_hr)
acdc_train = dict(
    type='ACDCDataset', data_root='data/acdc', split='train',
    data_prefix=dict(img_path='rgb_anon'), pipeline=target_train_pipeline_hr)
dark_zurich_train = dict(
    type='DarkZurichDataset', data_root='data/dark_zurich',
    data_prefix=dict(img_path='rgb_anon/train/night'), pipeline=target_train_pipeline_hr)
