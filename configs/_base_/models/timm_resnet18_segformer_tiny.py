# A timm backbone through mmseg's TIMMBackbone wrapper (timm's ResNet-18 feature pyramid, random
# init, no hub download) with a SegFormer head: shows that any timm encoder plugs into mtda.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(64, 64))
segmentor = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='mmseg.TIMMBackbone', model_name='resnet18', features_only=True, pretrained=False,
        out_indices=(1, 2, 3, 4)),
    decode_head=dict(
        type='SegformerHead', in_channels=[64, 128, 256, 512], in_index=[0, 1, 2, 3],
        channels=64, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
