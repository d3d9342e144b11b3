import numpy as np
import pytest

from avemotion.datasets import read_corpus, read_fer_csv
from avemotion.errors import AvemotionError

TONE = np.zeros(1600, np.float32)


@pytest.mark.parametrize("corpus,names,expected", [
    ("ravdess", ["Actor_03/03-01-05-02-01-01-03.wav", "Actor_04/03-01-02-01-02-02-04.wav"],
     [("angry", "03"), ("calm", "04")]),
    ("cremad", ["1001_DFA_ANG_XX.wav", "1002_IEO_NEU_LO.wav"], [("angry", "1001"), ("neutral", "1002")]),
    ("tess", ["OAF_back_ps.wav", "YAF_dog_sad.wav"], [("surprise", "OAF"), ("sad", "YAF")]),
    ("savee", ["DC_sa01.wav", "JK_su02.wav", "KL_a03.wav"], [("sad", "DC"), ("surprise", "JK"), ("angry", "KL")]),
    ("emodb", ["03a01Fa.wav", "16b10Lb.wav"], [("happy", "03"), ("boredom", "16")]),
])
def test_corpus_readers_by_file_naming(tmp_path, write_wav, corpus, names, expected):
    for n in names:
        write_wav(n, TONE)
    items = read_corpus(tmp_path, "speech")
    assert sorted((it.label, it.speaker) for it in items) == sorted(expected)
    assert {it.corpus for it in items} == {corpus}


def test_manifest_and_class_folders(tmp_path, write_wav):
    write_wav("a/x.wav", TONE)
    write_wav("b/y.wav", TONE)
    (tmp_path / "manifest.csv").write_text("path,label,speaker\na/x.wav,Anger,s1\nb/y.wav,happiness,s2\n")
    items = read_corpus(tmp_path, "speech")
    assert [(it.label, it.speaker) for it in items] == [("angry", "s1"), ("happy", "s2")]
    (tmp_path / "manifest.csv").unlink()
    folders = tmp_path / "f"
    write_wav("f/sadness/1.wav", TONE)
    write_wav("f/contempt/2.wav", TONE)
    items = read_corpus(folders, "speech")
    # contempt is a canonical emotion: the reader keeps it; evaluation skips what a model lacks
    assert sorted(it.label for it in items) == ["contempt", "sad"]
    write_wav("f/Misc/3.wav", TONE)
    assert len(read_corpus(folders, "speech")) == 2  # a folder that is no emotion is ignored


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(AvemotionError, match="found no labelled speech files"):
        read_corpus(tmp_path, "speech")


def test_fer_csv(tmp_path):
    px = " ".join(["128"] * 48 * 48)
    (tmp_path / "fer.csv").write_text(f"emotion,pixels,Usage\n3,{px},Training\n6,{px},PrivateTest\n")
    images, labels = read_fer_csv(tmp_path / "fer.csv")
    assert images.shape == (2, 48, 48) and labels == ["happy", "neutral"]
    images, labels = read_fer_csv(tmp_path / "fer.csv", usage="PrivateTest")
    assert labels == ["neutral"]


@pytest.mark.parametrize(("folder", "corpus", "speakers", "classes"), [
    ("nemo_speech_16k", "nemo", 9, {"angry", "fear", "happy", "neutral", "sad", "surprise"}),
    ("ased_speech_16k", "ased", 65, {"angry", "fear", "happy", "neutral", "sad"}),
])
def test_the_opus_corpora_read_through_the_users_decoder(folder, corpus, speakers, classes):
    """nEMO and ASED: their manifests, corpus kept apart, and a clip of each decoded by the path a user's file takes."""
    from avemotion.datasets import read_corpora
    from avemotion.media import load_audio, probe

    from .conftest import SHARED, need

    items = read_corpora([need(SHARED / folder)])
    assert {it.corpus for it in items} == {corpus} and {it.label for it in items} == classes
    assert len({it.speaker for it in items}) == speakers and all(it.speaker.startswith(f"{corpus}_") for it in items)
    clip = items[0].path
    info = probe(clip)
    y = load_audio(clip)
    assert info.kind == "audio" and y.dtype == np.float32 and 0.5 < y.size / 16000 < 30 and np.abs(y).max() > 0.01
