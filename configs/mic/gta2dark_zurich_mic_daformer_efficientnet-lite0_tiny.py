# GTA -> Dark Zurich: DAFormer self-training plus MIC's masked image consistency (Hoyer et
# al., CVPR 2023), on the ImageNet EfficientNet-Lite0 + DAFormer head miniature (CPU);
# everything else as the DAFormer run it inherits, from the same shared init.
_base_ = ['../daformer/gta2dark_zurich_daformer_efficientnet-lite0_tiny.py',
          '../_base_/uda/mic_tiny.py']
model = {{_base_.mic}}
