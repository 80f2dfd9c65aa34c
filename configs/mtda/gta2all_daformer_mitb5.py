# The paper's setting with MiT-B5 + DAFormer head (its 'V' model): GTA -> Cityscapes, IDD,
# ACDC, Dark Zurich on the real datasets under data/ (converted with tools/convert_datasets/*.py;
# every run checks them first).
#   python tools/run_mtda.py configs/mtda/gta2all_daformer_mitb5.py
# Stage one is 4 x 40k iterations: run it on a cluster (tools/dist_train.sh, slurm_train.sh) into
# WORK_DIR/stage_one/<target>/; this job skips every step whose output exists, then merges and
# evaluates what it finds.
experiment = dict(
    name='gta2all_daformer_mitb5',
    work_dir='work_dirs/gta2all_daformer_mitb5',
    synthetic_data=False,
    # SegFormer's ImageNet MiT-B5 (mit_b5.pth), relative to the working directory
    shared_init=dict(backbone_weights='pretrained/mit_b5.pth'),
    stage_one=dict(  # one independent tools/train.py run per target, all from the shared init
        cityscapes='../daformer/gta2cityscapes_daformer_mitb5.py',
        idd='../daformer/gta2idd_daformer_mitb5.py',
        acdc='../daformer/gta2acdc_daformer_mitb5.py',
        dark_zurich='../daformer/gta2dark_zurich_daformer_mitb5.py'))
