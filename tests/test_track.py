"""IoU tracking and the live smoother."""

import numpy as np
import pytest

from avemotion.face.track import IoUTracker, Smoother


def test_two_faces_keep_their_ids_and_the_most_present_is_main():
    tr = IoUTracker(min_iou=0.3, max_gap=1.0)
    p = np.ones(7) / 7
    for k in range(5):
        boxes = [(100 + 2 * k, 100, 50, 50), (300 - 2 * k, 120, 40, 40)]
        if k >= 3:
            boxes = boxes[1:]  # the first face leaves; order changes
        ids = tr.update(k * 0.2, boxes, [p] * len(boxes))
        assert ids == ([0, 1] if k < 3 else [1])
    assert tr.main_track().id == 1 and len(tr.tracks[1].times) == 5


def test_a_gap_longer_than_max_gap_starts_a_new_track():
    tr = IoUTracker(max_gap=0.5)
    p = np.ones(7) / 7
    assert tr.update(0.0, [(0, 0, 50, 50)], [p]) == [0]
    assert tr.update(2.0, [(0, 0, 50, 50)], [p]) == [1]


def test_smoother_follows_within_tau_and_forgets_after_a_gap():
    s = Smoother(tau=1.0, reset_after=2.0)
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    s.update(0.0, a)
    state = s.update(1.0, b)
    assert state[1] == pytest.approx(1 - np.exp(-1))
    assert s.update(1.5, None) is not None and s.update(4.0, None) is None
