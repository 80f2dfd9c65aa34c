# The four target domains' labelled val splits, evaluated one after another by mtda's
# multi-domain loop (per-domain mIoU, H-mean). Test scales follow DAFormer: Cityscapes 1024x512,
# IDD / ACDC / Dark Zurich 960x540 (half of 1920x1080); the metric runs at full label resolution.
cityscapes_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_pipeline_960x540 = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(960, 540), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
cityscapes_val = dict(
    type='CityscapesDataset', data_root='data/cityscapes',
    data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
    pipeline=cityscapes_test_pipeline)
idd_val = dict(
    type='IDDDataset', data_root='data/idd',
    data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
    pipeline=test_pipeline_960x540)
acdc_val = dict(
    type='ACDCDataset', data_root='data/acdc', split='val',
    data_prefix=dict(img_path='rgb_anon', seg_map_path='gt'),
    pipeline=test_pipeline_960x540)
dark_zurich_val = dict(
    type='DarkZurichDataset', data_root='data/dark_zurich',
    data_prefix=dict(img_path='rgb_anon/val', seg_map_path='gt/val'),
    pipeline=test_pipeline_960x540)
target_domains = dict(
    cityscapes=cityscapes_val, idd=idd_val, acdc=acdc_val, dark_zurich=dark_zurich_val)

val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='DomainIoUMetric')
test_evaluator = val_evaluator
val_cfg = dict(type='MultiDomainValLoop', domains=target_domains)
test_cfg = dict(type='MultiDomainTestLoop', domains=target_domains)
