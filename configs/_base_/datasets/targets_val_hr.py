# The four targets' val splits at full resolution (HRDA tests there: Cityscapes 2048x1024, IDD /
# ACDC / Dark Zurich 1920x1080), for the HRDA configs trained on 1024 crops; the loop, metric
# and datasets are targets_val.py's.
_base_ = ['./targets_val.py']
test_pipeline_cityscapes_hr = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_pipeline_1920x1080 = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1920, 1080), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
# partial dicts: each merges into the base's dataset of the same name
cityscapes_val = dict(pipeline=test_pipeline_cityscapes_hr)
idd_val = dict(pipeline=test_pipeline_1920x1080)
acdc_val = dict(pipeline=test_pipeline_1920x1080)
dark_zurich_val = dict(pipeline=test_pipeline_1920x1080)
target_domains = dict(
    cityscapes=cityscapes_val, idd=idd_val, acdc=acdc_val, dark_zurich=dark_zurich_val)
val_cfg = dict(domains=target_domains)
test_cfg = dict(domains=target_domains)
