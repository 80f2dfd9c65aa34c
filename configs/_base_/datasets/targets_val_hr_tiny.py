# The four targets' val splits for the HRDA miniature: HRDA tests at full resolution, twice
# DAFormer's test scale; here the stored images upsampled 2x (256 px wide). Labels are loaded
# after the resize, so the metric runs at label resolution, as for every other model.
_base_ = ['./targets_val_tiny.py']
test_pipeline_hr = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 256), keep_ratio=True),  # 256 wide: 256x128 or 256x144
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
# partial dicts: each merges into the base's dataset of the same name
cityscapes_val = dict(pipeline=test_pipeline_hr)
idd_val = dict(pipeline=test_pipeline_hr)
acdc_val = dict(pipeline=test_pipeline_hr)
dark_zurich_val = dict(pipeline=test_pipeline_hr)
target_domains = dict(
    cityscapes=cityscapes_val, idd=idd_val, acdc=acdc_val, dark_zurich=dark_zurich_val)
val_cfg = dict(domains=target_domains)
test_cfg = dict(domains=target_domains)
