"""tools/infer.py: frames in, trainId predictions and overlays out, the head chosen by domain."""
import numpy as np
import pytest
import torch

from mtda.apis.infer import colourise, load_segmentor, overlay, predict, read_frames
from mtda.errors import CheckpointError, DataError
from mtda.io import atomic_save
from support import TINY_CONFIG, run_tool

pytestmark = pytest.mark.usefixtures('one_torch_thread')


def test_colours_and_overlay_are_the_palette_blended_with_the_frame():
    prediction = np.array([[0, 1], [2, 255]], dtype=np.uint8)
    palette = [(10, 20, 30), (40, 50, 60), (70, 80, 90)]
    rgb = colourise(prediction, palette)
    assert rgb[0, 0].tolist() == [10, 20, 30] and rgb[1, 0].tolist() == [70, 80, 90]
    assert rgb[1, 1].tolist() == [0, 0, 0]  # ignore / unknown id: black
    frame = np.full((2, 2, 3), 100, dtype=np.uint8)  # BGR
    blended = overlay(frame, rgb, 0.25)
    # BGR of palette 0 is (30, 20, 10): 0.75 * 100 + 0.25 * (30, 20, 10)
    assert blended[0, 0].tolist() == [82, 80, 78]
    assert overlay(frame, rgb, 0.0).tolist() == frame.tolist()


def test_frames_come_from_a_folder_an_image_or_a_video(tmp_path):
    import cv2
    folder = tmp_path / 'frames'
    (folder / 'b').mkdir(parents=True)
    for name, value in (('a.png', 10), ('b/c.jpg', 200)):
        cv2.imwrite(str(folder / name), np.full((8, 12, 3), value, dtype=np.uint8))
    assert [name for name, _ in read_frames(folder)] == ['a', 'b/c']
    assert [name for name, _ in read_frames(folder / 'a.png')] == ['a']
    video = cv2.VideoWriter(str(tmp_path / 'drive.avi'), cv2.VideoWriter_fourcc(*'MJPG'), 5,
                            (12, 8))
    for value in (0, 120, 240):
        video.write(np.full((8, 12, 3), value, dtype=np.uint8))
    video.release()
    frames = list(read_frames(tmp_path / 'drive.avi'))
    assert [name for name, _ in frames] == ['drive_000000', 'drive_000001', 'drive_000002']
    assert frames[2][1].shape == (8, 12, 3) and abs(int(frames[2][1].mean()) - 240) < 8
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DataError, match=r'empty: no images'):
        list(read_frames(tmp_path / 'empty'))
    with pytest.raises(DataError, match=r'notes\.txt: not a folder, an image .* or a video'):
        list(read_frames(tmp_path / 'notes.txt'))


@pytest.fixture(scope='module')
def separate_heads_file(tmp_path_factory):
    """A merged file with a head per domain, as tools/merge.py --heads separate writes it."""
    from mmseg.apis import init_model
    folder = tmp_path_factory.mktemp('infer')
    torch.manual_seed(0)
    state = init_model(str(TINY_CONFIG), device='cpu').state_dict()
    heads = {}
    for domain, seed in (('cityscapes', 1), ('dark_zurich', 2)):
        generator = torch.Generator().manual_seed(seed)
        heads[domain] = {k: v + torch.randn(v.shape, generator=generator)
                         for k, v in state.items()
                         if k.startswith('decode_head.conv_seg')}
    path = atomic_save(dict(state_dict=state, domain_heads=heads, meta={}), folder / 'merged.pth')
    return path, heads


def test_infer_writes_a_prediction_and_an_overlay_per_frame_with_the_domain_head(
        tiny_data_root, separate_heads_file, tmp_path):
    import cv2

    from mtda.config import load_config
    path, heads = separate_heads_file
    images = sorted((tiny_data_root / 'data/dark_zurich/rgb_anon/val').rglob('*.png'))[:3]
    frames = tmp_path / 'frames'
    frames.mkdir()
    for image in images:
        (frames / image.name).write_bytes(image.read_bytes())
    proc = run_tool('infer.py', TINY_CONFIG, path, frames, '--out-dir', tmp_path / 'out',
                    '--domain', 'dark_zurich', cwd=tiny_data_root)
    assert '3 frame(s)' in proc.stdout
    cfg = load_config(str(TINY_CONFIG))
    own = load_segmentor(cfg, path, domain='dark_zurich')
    merged_head = load_segmentor(cfg, path)
    differs = False
    for image in images:
        written = cv2.imread(str(tmp_path / 'out' / 'pred' / image.name), cv2.IMREAD_UNCHANGED)
        frame = cv2.imread(str(frames / image.name))
        assert np.array_equal(written, predict(own, frame)) and written.max() <= 18
        assert cv2.imread(str(tmp_path / 'out' / 'overlay' / f'{image.stem}.jpg')).shape == \
            frame.shape
        differs |= not np.array_equal(written, predict(merged_head, frame))
    assert differs  # the domain's own head is what predicted
    assert torch.equal(own.decode_head.conv_seg.weight,
                       heads['dark_zurich']['decode_head.conv_seg.weight'])
    with pytest.raises(CheckpointError, match=r"no head for domain 'idd'; it has heads for "
                                              'cityscapes, dark_zurich'):
        load_segmentor(cfg, path, domain='idd')
