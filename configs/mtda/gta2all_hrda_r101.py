# The paper's own stage one: HRDA runs with ResNetV1c-101 + DAFormer head (its 'R' model), one per target with the paper's
# per-target settings (configs/hrda/gta2*_hrda_r101.py), GTA -> Cityscapes, IDD, ACDC, Dark Zurich
# on the real datasets under data/. Merges and evaluations use the Cityscapes config: every model
# is tested at full resolution with HRDA's slide inference.
#   python tools/run_mtda.py configs/mtda/gta2all_hrda_r101.py
# Stage one is 4 x 40k HRDA iterations (about 2x DAFormer's time and memory): run it on a cluster
# (tools/dist_train.sh, slurm_train.sh) into WORK_DIR/stage_one/<target>/; this job skips every
# step whose output exists, then merges and evaluates what it finds.
experiment = dict(
    name='gta2all_hrda_r101',
    work_dir='work_dirs/gta2all_hrda_r101',
    synthetic_data=False,
    # mmcv's ImageNet ResNetV1c-101, relative to the working directory
    shared_init=dict(backbone_weights='pretrained/resnet101_v1c-e67eebb6.pth'),
    stage_one=dict(  # one independent tools/train.py run per target, all from the shared init
        cityscapes='../hrda/gta2cityscapes_hrda_r101.py',
        idd='../hrda/gta2idd_hrda_r101.py',
        acdc='../hrda/gta2acdc_hrda_r101.py',
        dark_zurich='../hrda/gta2dark_zurich_hrda_r101.py'))
