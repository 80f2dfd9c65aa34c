# The main job with MIC + HRDA stage-one runs, MiT-B5 + DAFormer head (MIC's strongest published
# setting), GTA -> Cityscapes, IDD, ACDC, Dark Zurich on the real datasets under data/; the same
# shared init as configs/mtda/gta2all_hrda_mitb5.py.
#   python tools/run_mtda.py configs/mtda/gta2all_mic_hrda_mitb5.py
experiment = dict(
    name='gta2all_mic_hrda_mitb5',
    work_dir='work_dirs/gta2all_mic_hrda_mitb5',
    synthetic_data=False,
    shared_init=dict(backbone_weights='pretrained/mit_b5.pth'),  # SegFormer's ImageNet MiT-B5
    stage_one=dict(
        cityscapes='../mic/gta2cityscapes_mic_hrda_mitb5.py',
        idd='../mic/gta2idd_mic_hrda_mitb5.py',
        acdc='../mic/gta2acdc_mic_hrda_mitb5.py',
        dark_zurich='../mic/gta2dark_zurich_mic_hrda_mitb5.py'))
