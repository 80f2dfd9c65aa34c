"""The paper's numbers that the claims study is read against (ECCV 2024, arXiv 2407.13771).

Read from the result images of the project page (``AIR-DISCOVER/ModelMerging``,
``static/images/{compare_baseline,four_domains}.jpg``); see ``docs/paper_results.md``.
R = ResNet-101 + DAFormer head (HRDA), V = MiT-B5. mIoU in %, GTA source, 19 classes.
"""

#: Table 1, GTA -> Cityscapes + IDD: H-mean of (C, I) per method and encoder.
CS_IDD_HMEAN = {
    'R': {'STDA (GTA->CS)': 51.6, 'STDA (GTA->IDD)': 52.1, 'merged': 56.3,
          'merged encoder, own heads': 57.7},
    'V': {'STDA (GTA->CS)': 59.6, 'STDA (GTA->IDD)': 55.0, 'merged': 60.8,
          'merged encoder, own heads': 62.1},
}

#: Table 3 (likely ResNet-101): merging every subset of C(ityscapes), I(DD), A(CDC), D(ark Zurich);
#: mIoU on C, I, A, D and the H-mean over the four.
FOUR_DOMAIN_TABLE = {
    'C': (61.3, 47.0, 42.1, 16.1, 32.4),
    'I': (51.2, 55.4, 37.6, 16.2, 31.8),
    'A': (44.9, 38.5, 42.4, 18.6, 31.9),
    'D': (43.6, 38.2, 41.6, 21.6, 33.5),
    'C+I': (58.8, 54.0, 41.9, 17.4, 34.2),
    'C+A': (55.1, 45.2, 45.2, 20.8, 36.2),
    'C+D': (57.5, 45.2, 45.8, 24.2, 38.9),
    'I+A': (47.1, 49.7, 43.6, 21.5, 36.1),
    'I+D': (50.0, 49.6, 46.2, 25.0, 39.3),
    'A+D': (45.5, 41.3, 45.3, 22.0, 35.2),
    'C+I+A': (53.0, 49.3, 44.5, 20.0, 35.9),
    'C+I+D': (55.1, 49.3, 45.4, 21.1, 37.1),
    'C+A+D': (51.9, 43.8, 46.3, 22.1, 36.7),
    'I+A+D': (47.6, 46.7, 46.1, 22.5, 36.8),
    'C+I+A+D': (51.6, 47.3, 45.8, 21.1, 36.4),
}

#: Fig. 3 gives curves, not numbers: what can be read from it.
LMC_FIGURE = ('shared init: H-mean of C and I stays high along λ and peaks near 55 at λ ≈ 0.3–0.4 '
              '(no barrier); different inits: under 10 mIoU in the middle (a barrier of about 45)')

#: The Git Re-Basin baseline: the caption of the project page's ``static/images/Fig_mid_rebasin.jpg``
REBASIN_FIGURE = ('Re-Basin "reduced to" midpoint merging: the same curves for R50, R101 and '
                  'MiT-B5 at 10k–40k steps (figure caption)')

#: The buffer ablation (pool vs mean vs first) is not in the sources we could read.
BUFFER_ABLATION = None
