# GTA -> Cityscapes: DAFormer self-training plus MIC's masked image consistency (Hoyer et
# al., CVPR 2023), on the ImageNet EfficientNet-Lite0 + DAFormer head miniature (CPU);
# everything else as the DAFormer run it inherits, from the same shared init.
_base_ = ['../daformer/gta2cityscapes_daformer_efficientnet-lite0_tiny.py']
model = dict(
    mask_weight=1.0,  # MIC: mask_lambda 1, the masked loss weighted like the mixed one
    mask_ratio=0.7,  # MIC: 70 % of the blocks masked
    # MIC: 64-pixel blocks, 1/8 of the side of DAFormer's 512 crops; the same 1/8 of the
    # miniature's 64-pixel crops is 8 pixels
    mask_block_size=8,
    mask_augment=True)  # MIC's separatetrgaug: the target is jittered and blurred, then masked
