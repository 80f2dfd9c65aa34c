# The paper's setting with ResNetV1c-101 + DeepLabV2 head: GTA -> Cityscapes, IDD, ACDC,
# Dark Zurich on the real datasets under data/ (converted with tools/convert_datasets/*.py;
# every run checks them first).
#   python tools/run_mtda.py configs/mtda/gta2all_dlv2_r101.py
# Stage one is 4 x 40k iterations: run it on a cluster (tools/dist_train.sh, slurm_train.sh) into
# WORK_DIR/stage_one/<target>/; this job skips every step whose output exists, then merges and
# evaluates what it finds.
experiment = dict(
    name='gta2all_dlv2_r101',
    work_dir='work_dirs/gta2all_dlv2_r101',
    synthetic_data=False,
    # mmcv's ImageNet ResNetV1c-101, relative to the working directory
    shared_init=dict(backbone_weights='pretrained/resnet101_v1c-e67eebb6.pth'),
    stage_one=dict(  # one independent tools/train.py run per target, all from the shared init
        cityscapes='../daformer/gta2cityscapes_dlv2_r101.py',
        idd='../daformer/gta2idd_dlv2_r101.py',
        acdc='../daformer/gta2acdc_dlv2_r101.py',
        dark_zurich='../daformer/gta2dark_zurich_dlv2_r101.py'))
