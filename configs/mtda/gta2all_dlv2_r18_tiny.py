# The main job on the miniature synthetic data: GTA -> Cityscapes, IDD, ACDC, Dark Zurich with
# ResNetV1c-18 + DeepLabV2 head (BN in the backbone only).
#   python tools/run_mtda.py configs/mtda/gta2all_dlv2_r18_tiny.py
experiment = dict(
    name='gta2all_dlv2_r18_tiny',
    work_dir='work_dirs/gta2all_dlv2_r18_tiny',
    synthetic_data='miniature',  # tools/make_synthetic_data.py --size miniature + converters, if data/ lacks them
    # no ImageNet weights offline: a source-only pretraining on GTA is the shared init
    shared_init=dict(pretrain_config='../source_only/gta_dlv2_r18_tiny.py'),
    stage_one=dict(  # one independent tools/train.py run per target, all from the shared init
        cityscapes='../daformer/gta2cityscapes_dlv2_r18_tiny.py',
        idd='../daformer/gta2idd_dlv2_r18_tiny.py',
        acdc='../daformer/gta2acdc_dlv2_r18_tiny.py',
        dark_zurich='../daformer/gta2dark_zurich_dlv2_r18_tiny.py'))
