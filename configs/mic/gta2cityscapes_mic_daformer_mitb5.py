# GTA -> Cityscapes: DAFormer self-training plus MIC's masked image consistency (Hoyer et al.,
# CVPR 2023), MiT-B5 + DAFormer head at DAFormer's 512 crops (MIC's settings without HRDA).
# Stage one of mtda, from the shared init.
_base_ = ['../daformer/gta2cityscapes_daformer_mitb5.py', '../_base_/uda/mic.py']
model = {{_base_.mic}}
