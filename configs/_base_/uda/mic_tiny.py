# MIC's masked image consistency (configs/_base_/uda/mic.py) at the miniature's 64-pixel crops.
# A stage-one config that inherits a DAFormer one adds it with `model = {{_base_.mic}}`.
mic = dict(
    mask_weight=1.0,  # MIC: mask_lambda=1
    mask_ratio=0.7,  # MIC: 70 % of the blocks masked
    # MIC: 64-pixel blocks, 1/8 of the side of DAFormer's 512 crops; the same 1/8 of the
    # miniature's 64-pixel crops is 8 pixels
    mask_block_size=8,
    mask_augment=True)  # MIC's separatetrgaug
