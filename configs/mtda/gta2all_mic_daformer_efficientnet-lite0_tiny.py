# The main job with MIC stage-one runs (DAFormer self-training plus masked image consistency) on
# the EfficientNet-Lite0 miniature: the same shared init, source-only row and oracles as
# gta2all_daformer_efficientnet-lite0_tiny.py, only the four stage-one configs differ.
#   python tools/run_mtda.py configs/mtda/gta2all_mic_daformer_efficientnet-lite0_tiny.py
experiment = dict(
    name='gta2all_mic_daformer_efficientnet-lite0_tiny',
    work_dir='work_dirs/mtda_mic_efficientnet-lite0_tiny',
    synthetic_data='miniature',
    shared_init=dict(backbone_weights='packaged'),  # ImageNet weights + seeded head
    source_only='../source_only/gta_daformer_efficientnet-lite0_tiny.py',
    stage_one=dict(
        cityscapes='../mic/gta2cityscapes_mic_daformer_efficientnet-lite0_tiny.py',
        idd='../mic/gta2idd_mic_daformer_efficientnet-lite0_tiny.py',
        acdc='../mic/gta2acdc_mic_daformer_efficientnet-lite0_tiny.py',
        dark_zurich='../mic/gta2dark_zurich_mic_daformer_efficientnet-lite0_tiny.py'),
    oracle=dict(
        cityscapes='../oracle/cityscapes_daformer_efficientnet-lite0_tiny.py',
        idd='../oracle/idd_daformer_efficientnet-lite0_tiny.py',
        acdc='../oracle/acdc_daformer_efficientnet-lite0_tiny.py'))
