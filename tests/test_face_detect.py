"""Face detection and the shared preprocessing path."""

import numpy as np
import pytest

from avemotion.face.detect import BlazeFaceDetector, HaarDetector, iou
from avemotion.face.preprocess import crop_face, square_box, to_input
from avemotion.media import read_image

from .conftest import CLIPS, SHARED, need


def test_blazeface_finds_all_five_faces_haar_fewer():
    img = read_image(need(CLIPS / "multi_face.jpg"))
    blaze = BlazeFaceDetector().detect(img)
    assert len(blaze) == 5
    assert all(0.5 <= d.score <= 1 and len(d.keypoints) == 6 for d in blaze)
    boxes = np.array([d.box for d in blaze])
    overlap = iou(boxes, boxes) - np.eye(5)
    assert overlap.max() < 0.3  # five different faces, not one found twice
    haar = HaarDetector().detect(img)
    assert 1 <= len(haar) <= 5


def test_detectors_agree_on_a_portrait():
    img = read_image(need(CLIPS / "single_face.jpg"))
    (b,) = BlazeFaceDetector().detect(img)
    (h,) = HaarDetector().detect(img)
    assert iou(np.array([b.box]), np.array([h.box]))[0, 0] > 0.5


@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 7, 3), (64, 64, 3)])
def test_no_face_in_blank_or_tiny_images(shape):
    img = np.full(shape, 127, np.uint8)
    assert BlazeFaceDetector().detect(img) == []
    assert HaarDetector().detect(img) == []


def test_crop_pads_at_borders_and_is_square():
    img = np.arange(100 * 80, dtype=np.uint32).reshape(80, 100).astype(np.uint8)
    crop = crop_face(img, (-10, -10, 40, 30), margin=0.2)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    assert square_box((10, 20, 40, 20)) == (10, 10, 40)


def test_training_and_inference_give_identical_arrays():
    """FER2013 images: the training loader's arrays equal the inference path's, bit for bit."""
    from avemotion.face.analyzer import face_crops
    from avemotion.training.face import load_split

    root = need(SHARED / "fer2013")
    x, y = load_split(root, "val")  # training side (cached npz after the first run)
    first = sorted((root / "val" / "angry").iterdir())[:5]  # load_split order: class folders, then files
    infer = to_input([face_crops(read_image(f), None, 0.12)[0] for f in first])
    assert np.array_equal(to_input(x[:5]), infer)
    assert x.shape[1:] == (48, 48) and x.dtype == np.uint8 and len(x) == len(y) == 3589


def test_tiles_find_a_small_face_the_whole_frame_misses():
    import cv2

    from avemotion.face.detect import BlazeFaceDetector
    from avemotion.media import iter_frames, read_image

    bg = next(f.image for f in iter_frames(need(CLIPS / "no_face.mp4"), fps=1) if f.time >= 1.0)
    photo = read_image(need(CLIPS / "single_face.jpg"))
    head = cv2.resize(photo[100:460, 90:450], (64, 64), interpolation=cv2.INTER_AREA)  # a ~40-px face
    scene = bg.copy()
    scene[300:364, 700:764] = head
    plain, tiled = BlazeFaceDetector(), BlazeFaceDetector(tiles=True)
    found = tiled.detect(scene)
    assert len(found) == 1
    x, y, w, h = found[0].box
    assert 690 <= x + w / 2 <= 774 and 290 <= y + h / 2 <= 374
    assert len(plain.detect(scene)) <= len(found)
    assert len(tiled.detect(photo)) == 1  # the same face seen whole and in quarters is kept once
    assert tiled.detect(photo)[0].box == pytest.approx(plain.detect(photo)[0].box, abs=8)
