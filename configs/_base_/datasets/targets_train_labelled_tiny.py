# Labelled target training splits of the miniature synthetic copies (Cityscapes, IDD and ACDC ship
# train labels; Dark Zurich does not), for target-supervised "oracle" runs: the upper end of the
# stage-one report's source-only -> oracle gap. 64x64 crops and flip, as the source.
target_labelled_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=(64, 64), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
cityscapes_train_labelled = dict(
    type='CityscapesDataset', data_root='data/cityscapes',
    data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
    pipeline=target_labelled_train_pipeline)
idd_train_labelled = dict(
    type='IDDDataset', data_root='data/idd',
    data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
    pipeline=target_labelled_train_pipeline)
acdc_train_labelled = dict(
    type='ACDCDataset', data_root='data/acdc', split='train',
    data_prefix=dict(img_path='rgb_anon', seg_map_path='gt'),
    pipeline=target_labelled_train_pipeline)
