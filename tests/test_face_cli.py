"""`avemotion face` and FaceAnalyzer on real photos and on bad input."""

import json

import cv2
import numpy as np
import pytest

from avemotion.bundles import MODELS_DIR
from avemotion.cli import main
from avemotion.face.analyzer import FaceAnalyzer

from .conftest import CLIPS, SHARED, need



def test_face_model_ships():
    assert (MODELS_DIR / "face.onnx").exists() and (MODELS_DIR / "face_baseline.onnx").exists()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_multi_face_photo_five_faces_mostly_happy(capsys, tmp_path):
    png = tmp_path / "annotated.png"
    code, out, _ = run(capsys, "face", str(need(CLIPS / "multi_face.jpg")), "--json", "--annotate", str(png))
    d = json.loads(out)
    assert code == 0 and len(d["faces"]) == 5
    assert sum(f["label"] == "happy" for f in d["faces"]) >= 4
    for f in d["faces"]:
        assert len(f["box"]) == 4 and 0 <= f["score"] <= 1
        assert sum(f["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert cv2.imread(str(png)).shape == (667, 1000, 3)


def test_no_detect_treats_image_as_one_face(capsys, tmp_path):
    img = cv2.imread(str(need(CLIPS / "single_face.jpg")))
    p = tmp_path / "crop.png"
    cv2.imwrite(str(p), cv2.resize(img[150:400, 150:400], (48, 48)))
    code, out, _ = run(capsys, "face", str(p), "--no-detect", "--json")
    d = json.loads(out)
    assert code == 0 and len(d["faces"]) == 1 and d["faces"][0]["box"] == [0, 0, 48, 48]


def test_table_output(capsys):
    code, out, _ = run(capsys, "face", str(need(CLIPS / "single_face.jpg")))
    code_json, js, _ = run(capsys, "face", str(need(CLIPS / "single_face.jpg")), "--json")
    probs = json.loads(js)["faces"][0]["probabilities"]
    rows = {line.split("│")[1].strip(): float(line.split("│")[2]) for line in out.splitlines()
            if line.count("│") >= 3 and line.split("│")[1].strip() in probs}
    assert code == code_json == 0 and set(rows) == set(probs)  # one row per emotion, the JSON's values
    assert all(rows[k] == pytest.approx(probs[k], abs=6e-4) for k in probs)
    assert max(rows, key=rows.get) == max(probs, key=probs.get) == "happy"  # the photo's smile


def _write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.fixture
def bad_images(tmp_path):
    ok, jpg = cv2.imencode(".jpg", np.full((200, 200, 3), 90, np.uint8))
    return {
        "empty.jpg": _write(tmp_path, "empty.jpg", b""),
        "text.jpg": _write(tmp_path, "text.jpg", b"just some words, not an image\n" * 10),
        "truncated.jpg": _write(tmp_path, "truncated.jpg", jpg.tobytes()[: len(jpg) // 3]),
    }


@pytest.mark.parametrize("name", ["empty.jpg", "text.jpg", "truncated.jpg"])
def test_broken_images_one_line_error(capsys, bad_images, name):
    code, out, err = run(capsys, "face", str(bad_images[name]), "--json")
    if code == 0:  # a truncated JPEG that OpenCV can still decode in part must give a result
        assert json.loads(out)["faces"] == []
    else:
        assert len(err.strip().splitlines()) == 1 and name in err


@pytest.mark.parametrize("name,image", [
    ("one_pixel.png", np.zeros((1, 1, 3), np.uint8)),
    ("no_face.png", np.full((360, 640, 3), 200, np.uint8)),
    ("alpha.png", np.dstack([np.full((100, 100, 3), 120, np.uint8), np.full((100, 100), 128, np.uint8)])),
    ("grey16.tif", (np.linspace(0, 65535, 300 * 300).reshape(300, 300)).astype(np.uint16)),
])
def test_odd_images_give_empty_faces(capsys, tmp_path, name, image):
    p = tmp_path / name
    assert cv2.imwrite(str(p), image)
    code, out, _ = run(capsys, "face", str(p), "--json")
    assert code == 0 and json.loads(out)["faces"] == []


def test_huge_image(capsys, tmp_path):
    """A 100-MP photo: as JPEG it is decoded at a quarter of its size; as PNG it is over the decoding budget."""
    big = np.zeros((10000, 10000, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "huge.jpg"), big)
    code, out, err = run(capsys, "face", str(tmp_path / "huge.jpg"), "--json")
    assert code == 0 and json.loads(out)["faces"] == [] and json.loads(out)["width"] == 5000
    cv2.imwrite(str(tmp_path / "huge.png"), big)
    code, out, err = run(capsys, "face", str(tmp_path / "huge.png"), "--json")
    assert code == 1 and "too large to decode: 10000x10000 (100 MP)" in err and len(err.strip().splitlines()) == 1


def test_alpha_portrait_still_found(capsys, tmp_path):
    img = cv2.imread(str(need(CLIPS / "single_face.jpg")))
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    p = tmp_path / "portrait.png"
    cv2.imwrite(str(p), rgba)
    code, out, _ = run(capsys, "face", str(p), "--json")
    assert code == 0 and len(json.loads(out)["faces"]) == 1


def test_batch_jsonl_goes_on(capsys, tmp_path, bad_images):
    img = cv2.imread(str(need(CLIPS / "single_face.jpg")))
    cv2.imwrite(str(tmp_path / "a.jpg"), img)
    code, out, _ = run(capsys, "face", str(tmp_path))
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert len(rows) == 4 and code == 1
    assert any("error" in r for r in rows) and any(r.get("faces") for r in rows)


def test_python_api_batches_frames():
    img = cv2.imread(str(need(CLIPS / "multi_face.jpg")))
    fa = FaceAnalyzer()
    out = fa.analyze_batch([img, img[:, :500], np.zeros((50, 50, 3), np.uint8)])
    assert [len(f) for f in out][0] == 5 and len(out[2]) == 0


def test_evaluate_face_maps_class_names_and_skips_what_the_model_lacks(capsys, tmp_path):
    fer = need(SHARED / "fer2013" / "val")
    for src, dst in (("happy", "happiness"), ("sad", "Sadness"), ("angry", "anger"), ("disgust", "contempt")):
        (tmp_path / "set" / dst).mkdir(parents=True)
        for f in sorted((fer / src).iterdir())[:6]:
            (tmp_path / "set" / dst / f.name).write_bytes(f.read_bytes())
    code, out, err = run(capsys, "evaluate", "face", str(tmp_path / "set"), "--out", str(tmp_path / "ev"))
    report = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert code == 0 and report["metrics"]["n"] == 18
    assert report["skipped_classes"] == {"contempt": 6} and "contempt" in out + err
    assert sorted(report["classes_scored"]) == ["angry", "happy", "sad"]
    assert (tmp_path / "ev" / "confusion.png").stat().st_size > 0


def test_the_classifier_reads_its_crop_size_from_its_card():
    import numpy as np

    from avemotion.errors import AvemotionError
    from avemotion.face.classify import FaceClassifier

    fc = FaceClassifier("face")
    assert fc.size == fc.bundle.card["inputs"]["faces"]["size"] == 48
    assert fc.predict_proba(np.zeros((2, 48, 48), np.uint8)).shape == (2, 7)
    with pytest.raises(AvemotionError, match="48x48"):
        fc.predict_proba(np.zeros((2, 64, 64), np.uint8))
