# HRDA (Hoyer et al., ECCV 2022; lhoyer/HRDA configs/hrda/gtaHR2csHR_hrda.py) around MiT-B5 +
# DAFormer head: the context branch sees the training crop at scale 0.5, the detail branch a
# 512x512 crop of it at scale 1, one backbone and DAFormer head serve both, and a second DAFormer
# head with a 1x1-conv fusion predicts the per-class scale attention. Three settings of the paper's
# configs (AIR-DISCOVER/Model-Merging-MTDA configs/hrda/), for `model.segmentor`:
#   hrda_segmentor: full resolution, 1024 crops, test windows 1024 (stride 512)
#   hrda_segmentor_test512: 1024 crops, test windows 512 (the IDD runs)
#   hrda_segmentor_512: 960x540 images, 512 crops (the detail crop is the whole crop), test
#       windows 512 (the ACDC and, for ResNet-101, Dark Zurich runs)
_base_ = ['./daformer_mitb5.py']
hrda_segmentor = dict(
    type='HRDAEncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(1024, 1024)),  # the training crop
    backbone={{_base_.segmentor.backbone}},
    decode_head=dict(
        type='HRDAHead',
        single_scale_head={{_base_.segmentor.decode_head}},  # one head for both scales
        hr_loss_weight=0.1,  # lambda_d: the detail crop's own loss
        attention_classwise=True,  # one scale-attention map per class
        attention_embed_dims=256),
    scales=[1, 0.5],  # detail at full, context at half resolution
    hr_crop_size=(512, 512),  # the detail crop
    crop_coord_divisible=8,  # output stride 4 x context downscale 2: the logits align
    hr_slide_inference=True,  # the teacher's detail branch in overlapping 512 windows
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(1024, 1024), stride=(512, 512)))
hrda_segmentor_test512 = dict(
    hrda_segmentor, test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(512, 512)))
hrda_segmentor_512 = dict(
    hrda_segmentor_test512,
    data_preprocessor=dict(hrda_segmentor['data_preprocessor'], size=(512, 512)))
