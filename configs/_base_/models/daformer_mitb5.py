# DAFormer's final architecture: MiT-B5 encoder + DAFormer head (MLP embeddings of 256 channels,
# separable-ASPP context fusion with dilations 1/6/12/18, BN + ReLU, 3x3 bottleneck, dropout 0.1).
# MiT has LayerNorm only, so the head's BN layers are the model's only BatchNorm. The encoder
# loads the official SegFormer ImageNet weights from a local file converted to mmseg key names.
# `segmentor` is a plain mmseg EncoderDecoder: the UDA wrapper takes it as `model.segmentor`
# (configs/_base_/uda/); a plain run says `model = {{_base_.segmentor}}`.
norm_cfg = dict(type='BN', requires_grad=True)  # DAFormer: plain BN, 2 images per GPU
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(512, 512))
segmentor = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MixVisionTransformer', in_channels=3, embed_dims=64, num_stages=4,
        num_layers=[3, 6, 40, 3], num_heads=[1, 2, 5, 8], patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1], out_indices=(0, 1, 2, 3), mlp_ratio=4, qkv_bias=True,
        drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/mit_b5_mmseg.pth')),
    decode_head=dict(
        type='DAFormerHead', in_channels=[64, 128, 320, 512], in_index=[0, 1, 2, 3],
        channels=256, embed_dims=256, dilations=(1, 6, 12, 18), dropout_ratio=0.1,
        num_classes=19, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
