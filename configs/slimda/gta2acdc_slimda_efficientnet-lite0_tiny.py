# GTA -> acdc: a slimmable bank (widths 0.25 to 1 of the EfficientNet-Lite0 + DAFormer head
# miniature) adapted by DAFormer's self-training with SlimDA's sandwich rule and SEED
# (docs/slimda.md). Everything else is the DAFormer miniature's run: same data, schedule and
# shared-init recipe (the shared init is made with this config: the bank's own layout).
_base_ = ['../daformer/gta2acdc_daformer_efficientnet-lite0_tiny.py',
          '../_base_/uda/slimda_efficientnet-lite0.py']
model = {{_base_.slimda}}
