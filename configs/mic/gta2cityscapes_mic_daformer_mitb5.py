# GTA -> Cityscapes: DAFormer self-training plus MIC's masked image consistency (Hoyer et al.,
# CVPR 2023; lhoyer/MIC seg/configs/mic/gtaHR2csHR_mic_hrda.py, MIC's settings without HRDA),
# MiT-B5 + DAFormer head at DAFormer's 512 crops. Stage one of mtda, from the shared init.
_base_ = ['../daformer/gta2cityscapes_daformer_mitb5.py']
model = dict(
    mask_weight=1.0,  # MIC: mask_lambda=1
    mask_ratio=0.7,  # MIC: mask_generator.mask_ratio
    mask_block_size=64,  # MIC: mask_generator.mask_block_size
    mask_augment=True)  # MIC: mask_mode='separatetrgaug' (same teacher alpha and threshold)
