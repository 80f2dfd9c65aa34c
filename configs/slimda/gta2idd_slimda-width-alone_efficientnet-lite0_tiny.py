# GTA -> IDD: one width of the slimmable miniature trained alone (no sandwich rule, no SEED)
# from the bank's shared init, data and schedule: the "individually trained" width that SlimDA
# compares every width of a bank with (docs/slimda.md). The width is the segmentor's
# inference_width, for training and evaluation alike; another one:
# --cfg-options model.segmentor.inference_width=0.5
_base_ = ['./gta2idd_slimda_efficientnet-lite0_tiny.py']
model = dict(sandwich=False, segmentor=dict(inference_width=0.25))
