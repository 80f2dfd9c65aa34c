# HRDA (multi-resolution) on the EfficientNet-Lite0 + DAFormer head miniature: the context branch
# sees the whole 128x128 training crop at scale 0.5 (64x64, the DAFormer miniature's crop and
# resolution) and the detail branch a 64x64 crop at scale 1; a scale-attention head fuses them.
# Each value is HRDA's (lhoyer/HRDA configs/hrda/gtaHR2csHR_hrda.py) or scaled from it as noted.
# The miniature's images are stored at one resolution (128 px wide, DAFormer's 1280 px scaled by
# 1/10), so the detail branch sees them upsampled 2x (as HRDA's 2560x1440 GTA is upsampled from
# 1914x1052) and gains no rendered detail: the miniature exercises HRDA's mechanics and cost, not
# its high-resolution gain.
_base_ = ['./daformer_efficientnet-lite0_tiny.py']
segmentor = dict(
    type='HRDAEncoderDecoder',
    # the crop the data pipeline delivers (HRDA: 1024x1024)
    data_preprocessor=dict(size=(128, 128)),
    scales=[1, 0.5],  # HRDA: detail at full, context at half resolution
    hr_crop_size=(64, 64),  # HRDA: 512 of 1024, half the training crop's side
    crop_coord_divisible=8,  # HRDA: output stride 4 x context downscale 2
    hr_slide_inference=True,  # HRDA: the teacher's detail branch in overlapping windows
    decode_head=dict(
        _delete_=True, type='HRDAHead',
        single_scale_head={{_base_.segmentor.decode_head}},
        hr_loss_weight=0.1,  # HRDA's lambda_d
        attention_classwise=True,  # HRDA: one attention map per class
        # HRDA: 256, the DAFormer head's embedding width; the miniature head's is 64
        attention_embed_dims=64),
    # HRDA: slide 1024 windows, stride 512, on the full-resolution image (2x DAFormer's test
    # scale); here 128 windows, stride 64, on the 2x-upsampled image
    test_cfg=dict(mode='slide', crop_size=(128, 128), stride=(64, 64)))
