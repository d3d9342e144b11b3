"""Face geometry: eye alignment, close-ups, smoothing a track over time, the robustness protocol."""

import numpy as np
import pytest

from .conftest import CLIPS, SHARED, need


def _rotated(img, centre, degrees):
    import cv2

    m = cv2.getRotationMatrix2D(centre, degrees, 1.0)
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("degrees", [20, -20])
def test_a_tilted_face_reads_as_the_upright_one(degrees):
    """The 20-degree rotated face gets the crop of the upright one: distributions within 0.1 (L1 / 2)."""
    from avemotion.face.analyzer import FaceAnalyzer
    from avemotion.media import read_image

    img = read_image(need(CLIPS / "single_face.jpg"))
    fa = FaceAnalyzer()
    upright = fa.analyze(img)[0]
    x, y, w, h = upright.box
    turned = fa.analyze(_rotated(img, (x + w / 2, y + h / 2), degrees))
    assert len(turned) == 1
    p0 = np.array(list(upright.probabilities.values()))
    p1 = np.array(list(turned[0].probabilities.values()))
    assert np.abs(p0 - p1).sum() / 2 <= 0.1


def test_alignment_puts_the_eyes_where_fer2013_has_them():
    import cv2

    from avemotion.face.preprocess import FER_EYES, align_face

    img = np.zeros((400, 400), np.uint8)
    eyes = [(150.0, 210.0), (250.0, 190.0)]  # tilted, 102 px apart
    for x, y in eyes:
        cv2.circle(img, (int(x), int(y)), 6, 255, -1)
    crop = align_face(img, eyes[::-1])  # order does not matter
    assert crop.shape == (48, 48)
    ys, xs = np.nonzero(crop > 128)
    left = xs < 24
    for side, (ex, ey) in zip((left, ~left), FER_EYES):
        assert abs(xs[side].mean() - ex) < 1.0 and abs(ys[side].mean() - ey) < 1.0


def test_a_face_that_fills_the_frame_is_found():
    """A tight crop (a profile picture): the whole image finds nothing, the close-up pass finds it."""
    import cv2

    from avemotion.face.detect import BlazeFaceDetector
    from avemotion.face.preprocess import crop_face
    from avemotion.media import read_image

    img = read_image(need(CLIPS / "single_face.jpg"))
    box = BlazeFaceDetector().detect(img)[0].box
    tight = cv2.cvtColor(crop_face(img, box, 0.0, size=350), cv2.COLOR_GRAY2BGR)
    assert BlazeFaceDetector(closeups=False).detect(tight) == []
    found = BlazeFaceDetector().detect(tight)
    assert len(found) == 1
    x, y, w, h = found[0].box
    assert 0 <= x and 0 <= y and x + w <= 350 and y + h <= 350 and w > 200


def test_smoothing_outvotes_a_stray_frame_without_delaying_a_change():
    from avemotion.face.track import smooth_over_time

    t = np.arange(40) / 5.0  # 5 frames a second
    sad, happy = np.array([0.8, 0.2]), np.array([0.2, 0.8])
    p = np.array([sad if ti < 4.0 else happy for ti in t])
    p[10] = happy  # one stray frame at 2 s
    s = smooth_over_time(t, p, 0.8)
    labels = s.argmax(1)
    assert labels[10] == 0  # outvoted
    change = t[np.flatnonzero(labels == 1)[0]]
    assert abs(change - 4.0) <= 0.2  # centred: the change is not pushed later
    np.testing.assert_allclose(s.sum(1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(smooth_over_time(t, p, 0.0), p.astype(np.float32))


@pytest.mark.slow
def test_robustness_protocol_scores_every_condition():
    from avemotion.evaluation.robustness import Scored, conditions, evaluate_robustness, load_faces

    images, labels, _ = load_faces(need(SHARED / "fer2013" / "test"))
    calls = []
    report = evaluate_robustness(images, labels, [Scored("face"), Scored("face", align=False)], limit=24,
                                 progress=lambda done, total: calls.append((done, total)))
    assert report["faces"] == 24
    assert calls[-1] == (24 * len(conditions()),) * 2 and len(calls) == 24 * len(conditions())
    assert list(report["conditions"]) == [c.name for c in conditions()]
    for row in report["conditions"].values():
        assert 0 <= row["face"] <= row["found"] <= 1
    assert set(report["mean_over_transformations"]) == {"face", "face (box crop, no alignment)"}


def test_smoothing_a_two_hour_track_stays_banded():
    """36,000 frames (two hours at 5/s): banded, so no frames x frames matrix (10 GB) is ever built."""
    import tracemalloc

    from avemotion.face.track import smooth_over_time

    rng = np.random.default_rng(0)
    t = np.arange(36_000) / 5.0
    p = rng.dirichlet(np.ones(7), len(t))
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    s = smooth_over_time(t, p, 0.8)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    assert s.shape == p.shape and peak < 100e6, peak
    dense_t, dense_p = t[:300], p[:300]
    d = dense_t[:, None] - dense_t[None]
    w = np.where(np.abs(d) <= 3 * 0.8, np.exp(-0.5 * (d / 0.8) ** 2), 0.0)
    z = w @ np.log(np.clip(dense_p, 1e-6, 1)) / w.sum(1, keepdims=True)
    want = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(smooth_over_time(dense_t, dense_p, 0.8), want / want.sum(1, keepdims=True), atol=1e-5)
