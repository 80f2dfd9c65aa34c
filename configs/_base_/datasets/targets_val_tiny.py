# The four target domains' val splits on the miniature synthetic copies, at their stored size
# (Cityscapes 128x64, the 16:9 domains 128x72); same datasets and loop as targets_val.py.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
cityscapes_val = dict(
    type='CityscapesDataset', data_root='data/cityscapes',
    data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
    pipeline=test_pipeline)
idd_val = dict(
    type='IDDDataset', data_root='data/idd',
    data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
    pipeline=test_pipeline)
acdc_val = dict(
    type='ACDCDataset', data_root='data/acdc', split='val',
    data_prefix=dict(img_path='rgb_anon', seg_map_path='gt'),
    pipeline=test_pipeline)
dark_zurich_val = dict(
    type='DarkZurichDataset', data_root='data/dark_zurich',
    data_prefix=dict(img_path='rgb_anon/val', seg_map_path='gt/val'),
    pipeline=test_pipeline)
target_domains = dict(
    cityscapes=cityscapes_val, idd=idd_val, acdc=acdc_val, dark_zurich=dark_zurich_val)

val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='DomainIoUMetric')
test_evaluator = val_evaluator
val_cfg = dict(type='MultiDomainValLoop', domains=target_domains)
test_cfg = dict(type='MultiDomainTestLoop', domains=target_domains)
