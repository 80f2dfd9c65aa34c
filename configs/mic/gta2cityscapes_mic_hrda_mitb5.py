# GTA -> cityscapes: MIC (Hoyer et al., CVPR 2023) on HRDA, MiT-B5 + DAFormer head: MIC's published
# setting (lhoyer/MIC seg/configs/mic/gtaHR2csHR_mic_hrda.py), the masked image consistency added
# to this target's HRDA run with the paper's settings. Stage one of mtda, from the shared init.
_base_ = ['../hrda/gta2cityscapes_hrda_mitb5.py', '../_base_/uda/mic.py']
model = {{_base_.mic}}
