"""Face training (the `train` extra): a tiny run trains, resumes, exports, and ONNX matches torch."""

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from avemotion.taxonomy import FACE_EMOTIONS  # noqa: E402


def _tiny_fer(root, per_class=6):
    """A folder-per-class set: every class a different brightness pattern, so it is learnable."""
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for k, name in enumerate(FACE_EMOTIONS):
            d = root / split / name
            d.mkdir(parents=True)
            for i in range(per_class):
                img = np.full((48, 48), 20 + 30 * k, np.uint8) + rng.integers(0, 10, (48, 48), dtype=np.uint8)
                cv2.imwrite(str(d / f"{split}_{i}.png"), img)
    return root


def test_train_resume_export(tmp_path):
    import torch

    from avemotion.bundles import ModelBundle
    from avemotion.training.face import FaceConfig, load_best, train, train_and_export_face

    data = _tiny_fer(tmp_path / "fer")
    cfg = FaceConfig.for_arch("vgg-s", epochs=2, batch_size=16, device="cpu")
    run = tmp_path / "run"
    state = train(data, run, FaceConfig.for_arch("vgg-s", epochs=1, batch_size=16, device="cpu"))
    assert state["epoch"] == 1 and (run / "best.pt").exists() and (run / "last.pt").exists()
    # A rerun resumes: it keeps the recorded schedule and runs only the missing epoch.
    cfg_resume = FaceConfig.for_arch("vgg-s", epochs=2, batch_size=16, device="cpu")
    state = train(data, run, cfg_resume)
    assert [h["epoch"] for h in state["history"]] == [1]  # config.json said 1 epoch: nothing left to do
    onnx = train_and_export_face(data, tmp_path / "run2", tmp_path / "out", cfg)
    card = json.loads(onnx.with_suffix(".json").read_text())
    assert card["task"] == "face" and card["labels"] == list(FACE_EMOTIONS) and card["tta"] is True
    assert len(card["training"]["history"]) == 2
    model = load_best(tmp_path / "run2", "vgg-s")
    crops = np.random.default_rng(1).integers(0, 255, (5, 48, 48), dtype=np.uint8)
    temperature = card["calibration"]["temperature"]  # fitted on val, built into the exported graph
    assert 0.25 <= temperature <= 4.0
    with torch.no_grad():
        want = torch.softmax(model(torch.from_numpy(crops[:, None].astype(np.float32))) / temperature, 1).numpy()
    got = ModelBundle.load(onnx).run(crops[:, None].astype(np.float32))
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_seed_recipe_is_the_plain_one():
    from avemotion.training.face import FaceConfig

    cfg = FaceConfig.for_arch("baseline")
    assert (cfg.optimizer, cfg.augment, cfg.label_smoothing, cfg.tta) == ("adam", False, 0.0, False)
    assert FaceConfig.for_arch("vgg", epochs=None).epochs == FaceConfig().epochs


def test_time_budget_shrinks_epochs(tmp_path):
    from avemotion.training.face import FaceConfig, train

    data = _tiny_fer(tmp_path / "fer")
    cfg = FaceConfig.for_arch("vgg-s", epochs=1000, batch_size=8, device="cpu", time_budget=3.0)
    state = train(data, tmp_path / "run", cfg)
    assert 1 <= state["epoch"] < 1000
    assert json.loads((tmp_path / "run" / "config.json").read_text())["epochs"] == state["epoch"]
