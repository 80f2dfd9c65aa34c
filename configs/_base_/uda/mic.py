# MIC's masked image consistency (Hoyer et al., CVPR 2023; lhoyer/MIC
# seg/configs/mic/gtaHR2csHR_mic_hrda.py) as DAFormerUDA options, for 512-pixel crops and up.
# A stage-one config that inherits a DAFormer one adds it with `model = {{_base_.mic}}`.
mic = dict(
    mask_weight=1.0,  # MIC: mask_lambda=1, the masked loss weighted like the mixed one
    mask_ratio=0.7,  # MIC: mask_generator.mask_ratio, 70 % of the blocks masked
    mask_block_size=64,  # MIC: mask_generator.mask_block_size
    mask_augment=True)  # MIC: mask_mode='separatetrgaug', the target jittered/blurred, then masked
