# GTA -> cityscapes: a slimmable bank (widths 0.25 to 1) of ResNetV1c-101 + DAFormer head,
# the real-size model, adapted by DAFormer's self-training with SlimDA's sandwich rule and SEED
# (docs/slimda.md). Everything else is the DAFormer R101 run's: data, schedule, and its shared
# init (a plain state fills every width of the bank).
_base_ = ['../daformer/gta2cityscapes_daformer_r101.py', '../_base_/uda/slimda_r101.py']
model = {{_base_.slimda}}
