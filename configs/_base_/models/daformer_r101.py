# ResNet-101 (V1c: deep stem, dilated last two stages, output stride 8) + DAFormer head: the
# paper's "ResNet101" model. BN everywhere and trained (norm_eval=False), so every BN layer's
# running statistics are merged in stage two. The encoder loads mmcv's ImageNet ResNetV1c-101
# (resnet101_v1c-e67eebb6.pth, already in mmseg key names) from a local file.
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
        type='DAFormerHead', in_channels=[256, 512, 1024, 2048], in_index=[0, 1, 2, 3],
        channels=256, embed_dims=256, dilations=(1, 6, 12, 18), dropout_ratio=0.1,
        num_classes=19, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
