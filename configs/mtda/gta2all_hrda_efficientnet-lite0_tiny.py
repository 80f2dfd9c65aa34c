# The main job with HRDA stage-one runs on the EfficientNet-Lite0 miniature: an HRDA shared init
# (the same ImageNet backbone, a seeded HRDA head), the HRDA source-only row and four HRDA
# singles, merged as any others. No oracles: their labelled splits at HRDA's scale are not set up.
#   python tools/run_mtda.py configs/mtda/gta2all_hrda_efficientnet-lite0_tiny.py
experiment = dict(
    name='gta2all_hrda_efficientnet-lite0_tiny',
    work_dir='work_dirs/mtda_hrda_efficientnet-lite0_tiny',
    synthetic_data='miniature',
    shared_init=dict(backbone_weights='packaged'),  # ImageNet weights + seeded HRDA head
    source_only='../source_only/gta_hrda_efficientnet-lite0_tiny.py',
    stage_one=dict(
        cityscapes='../hrda/gta2cityscapes_hrda_efficientnet-lite0_tiny.py',
        idd='../hrda/gta2idd_hrda_efficientnet-lite0_tiny.py',
        acdc='../hrda/gta2acdc_hrda_efficientnet-lite0_tiny.py',
        dark_zurich='../hrda/gta2dark_zurich_hrda_efficientnet-lite0_tiny.py'))
