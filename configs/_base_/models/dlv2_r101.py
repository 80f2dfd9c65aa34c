# DeepLabV2 as the UDA literature uses it: ResNet-101 (V1c, output stride 8, BN trained) + the
# DeepLabV2 classifier with dilations (6, 12) only -- AdaptSegNet's early return, kept by DACS and
# DAFormer's experiment 1 ("dlv2red"); see mtda/models/heads/dlv2_head.py. The head has no BN.
# The encoder loads mmcv's ImageNet ResNetV1c-101 from a local file.
# `segmentor` is a plain mmseg EncoderDecoder: the UDA wrapper takes it as `model.segmentor`
# (configs/_base_/uda/); a plain run says `model = {{_base_.segmentor}}`.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(512, 512))
segmentor = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c', depth=101, num_stages=4, out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), contract_dilation=True,
        norm_cfg=norm_cfg, norm_eval=False, style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/resnet101_v1c-e67eebb6.pth')),
    decode_head=dict(
        type='DLV2Head', in_channels=2048, in_index=3, dilations=(6, 12), num_classes=19,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
