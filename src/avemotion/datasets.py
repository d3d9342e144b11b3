"""Corpus readers: each turns a folder into a list of labelled items by the corpus's own naming.

Supported: RAVDESS, CREMA-D, TESS, SAVEE, EmoDB, a manifest CSV (``path,label,speaker``; the
RAVDESS copy's ``emotion`` column works too), folder-per-class (``DATA/<class>/<file>``), and for
faces the FER2013 CSV (``emotion,pixels,Usage``). Labels come out as canonical names
(:mod:`avemotion.taxonomy`); speakers as strings, so folds can keep each speaker on one side.
:func:`read_corpus` detects the layout.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AvemotionError
from .media import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS
from .taxonomy import CORPUS_LABELS, try_canonical


@dataclass(frozen=True)
class Item:
    """One labelled file of a corpus."""

    path: str
    label: str
    speaker: str
    corpus: str


def _files(root: Path, exts: Iterable[str]) -> list[Path]:
    exts = {e.lower() for e in exts}
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts)


_RAVDESS = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_CREMAD = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")
_TESS = re.compile(r"^([A-Za-z]+)_([A-Za-z]+)_([A-Za-z]+)$")
_SAVEE = re.compile(r"^(?:([A-Za-z]{2})_)?(sa|su|a|d|f|h|n)(\d\d)$")
_EMODB = re.compile(r"^(\d\d)([a-b]\d\d)([WLEAFTN])([a-z])$")


def read_ravdess(root: Path) -> list[Item]:
    """RAVDESS: ``MM-VV-EE-II-SS-RR-AA.wav``, emotion EE, actor AA."""
    out = []
    for p in _files(root, AUDIO_EXTENSIONS):
        m = _RAVDESS.match(p.stem)
        if m:
            out.append(Item(str(p), CORPUS_LABELS["ravdess"][m.group(3)], m.group(7), "ravdess"))
    return out


def read_cremad(root: Path) -> list[Item]:
    """CREMA-D: ``1001_DFA_ANG_XX.wav``, speaker 1001, emotion ANG."""
    out = []
    for p in _files(root, AUDIO_EXTENSIONS):
        m = _CREMAD.match(p.stem)
        if m and m.group(3) in CORPUS_LABELS["cremad"]:
            out.append(Item(str(p), CORPUS_LABELS["cremad"][m.group(3)], m.group(1), "cremad"))
    return out


def read_tess(root: Path) -> list[Item]:
    """TESS: ``OAF_back_angry.wav``, speaker OAF or YAF, emotion last (``ps`` = surprise)."""
    out = []
    for p in _files(root, AUDIO_EXTENSIONS):
        m = _TESS.match(p.stem)
        if m and m.group(3).lower() in CORPUS_LABELS["tess"]:
            out.append(Item(str(p), CORPUS_LABELS["tess"][m.group(3).lower()], m.group(1).upper(), "tess"))
    return out


def read_savee(root: Path) -> list[Item]:
    """SAVEE: ``DC_a01.wav`` or ``DC/a01.wav``; speaker DC/JE/JK/KL, emotion a/d/f/h/n/sa/su."""
    out = []
    for p in _files(root, AUDIO_EXTENSIONS):
        m = _SAVEE.match(p.stem)
        if m:
            speaker = m.group(1) or p.parent.name
            out.append(Item(str(p), CORPUS_LABELS["savee"][m.group(2)], speaker.upper(), "savee"))
    return out


def read_emodb(root: Path) -> list[Item]:
    """EmoDB: ``03a01Fa.wav``, speaker 03, emotion F (German initial)."""
    out = []
    for p in _files(root, AUDIO_EXTENSIONS):
        m = _EMODB.match(p.stem)
        if m:
            out.append(Item(str(p), CORPUS_LABELS["emodb"][m.group(3)], m.group(1), "emodb"))
    return out


def read_manifest(csv_path: Path) -> list[Item]:
    """A CSV with ``path`` and ``label`` (or ``emotion``) columns, optional ``speaker`` and ``corpus``.

    Paths are relative to the CSV's folder unless absolute. Without a ``corpus`` column, RAVDESS
    file names say ``ravdess`` (its shared copy has none) and anything else is ``manifest``. The
    CASIA and EMOVO copies in ``../shared/data`` carry their own ``corpus`` column.
    """
    out = []
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        cols = set(reader.fieldnames or [])
        label_col = "label" if "label" in cols else "emotion" if "emotion" in cols else None
        if "path" not in cols or label_col is None:
            raise AvemotionError("manifest needs a 'path' and a 'label' (or 'emotion') column", csv_path)
        for row in reader:
            label = try_canonical(row[label_col])
            if label is None:
                raise AvemotionError(f"unknown label {row[label_col]!r} in row for {row['path']}", csv_path)
            p = Path(row["path"])
            p = p if p.is_absolute() else csv_path.parent / p
            speaker = (row.get("speaker") or p.stem).strip()
            corpus = (row.get("corpus") or "").strip().lower()
            corpus = corpus or ("ravdess" if _RAVDESS.match(p.stem) else "manifest")
            out.append(Item(str(p), label, speaker, corpus))
    return out


def read_class_folders(root: Path, exts: Iterable[str]) -> tuple[list[Item], list[str]]:
    """``root/<class>/<file>``: returns the items and the folder names that are not emotions."""
    out, unknown = [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        label = try_canonical(d.name)
        if label is None:
            unknown.append(d.name)
            continue
        for p in _files(d, exts):
            out.append(Item(str(p), label, p.stem, "folders"))
    return out, unknown


SPEECH_READERS = {
    "ravdess": read_ravdess,
    "cremad": read_cremad,
    "tess": read_tess,
    "savee": read_savee,
    "emodb": read_emodb,
}


def read_corpus(root: str | os.PathLike[str], kind: str = "speech", corpus: str | None = None) -> list[Item]:
    """Read a speech or face corpus, detecting its layout unless ``corpus`` names it.

    Order of detection: a ``manifest.csv`` (or ``root`` is a CSV), a FER2013 CSV, the named
    speech corpora by file naming (the one matching most files wins), folder-per-class.
    """
    root = Path(root)
    if not root.exists():
        raise AvemotionError("no such file or folder", root)
    exts = AUDIO_EXTENSIONS if kind == "speech" else IMAGE_EXTENSIONS
    if root.is_file() and root.suffix.lower() == ".csv":
        with open(root, encoding="utf-8") as f:
            header = f.readline()
        if "pixels" in header:
            return [Item(f"{root}#{i}", lab, "", "fer2013") for i, lab in enumerate(read_fer_csv(root)[1])]
        return read_manifest(root)
    if corpus in (None, "manifest") and (root / "manifest.csv").exists():
        return read_manifest(root / "manifest.csv")
    if kind == "speech":
        readers = {corpus: SPEECH_READERS[corpus]} if corpus in SPEECH_READERS else SPEECH_READERS
        best: list[Item] = []
        for reader in readers.values():
            items = reader(root)
            if len(items) > len(best):
                best = items
        if best:
            return best
    items, _ = read_class_folders(root, exts)
    if not items:
        raise AvemotionError(
            f"found no labelled {kind} files (tried manifest.csv, corpus file names, and one folder per class)", root
        )
    return items


def read_corpora(
    roots: Sequence[str | os.PathLike[str]], kind: str = "speech", corpus: str | None = None
) -> list[Item]:
    """Items of several corpora read with :func:`read_corpus`, in the order given.

    Speakers are kept apart across corpora: a speaker id that two corpora share (``01`` in
    RAVDESS and in EmoDB) is prefixed with its corpus, so speaker-grouped folds never merge them.
    """
    per = [read_corpus(r, kind, corpus) for r in roots]
    owners: dict[str, set[str]] = {}
    for items in per:
        for it in items:
            owners.setdefault(it.speaker, set()).add(it.corpus)
    out = []
    for items in per:
        for it in items:
            clash = len(owners[it.speaker]) > 1
            out.append(Item(it.path, it.label, f"{it.corpus}_{it.speaker}" if clash else it.speaker, it.corpus))
    return out


def read_fer_csv(csv_path: str | os.PathLike[str], usage: str | None = None) -> tuple[np.ndarray, list[str]]:
    """FER2013's CSV (``emotion,pixels,Usage``): uint8 images (N, 48, 48) and canonical labels.

    ``usage`` picks one split ("Training", "PublicTest", "PrivateTest").
    """
    images, labels = [], []
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not {"emotion", "pixels"} <= set(reader.fieldnames or []):
            raise AvemotionError("FER2013 CSV needs 'emotion' and 'pixels' columns", csv_path)
        for row in reader:
            if usage and row.get("Usage") != usage:
                continue
            px = np.array(row["pixels"].split(), dtype=np.uint8)
            side = int(round(np.sqrt(px.size)))
            images.append(px.reshape(side, side))
            labels.append(CORPUS_LABELS["fer2013"][row["emotion"].strip()])
    return (np.stack(images) if images else np.zeros((0, 48, 48), np.uint8)), labels


# FER+ (Barsoum et al., ICMI 2016): ten raters' votes for every FER2013 image.
FERPLUS_VOTES = {
    "angry": "votes_anger",
    "disgust": "votes_disgust",
    "fear": "votes_fear",
    "happy": "votes_happiness",
    "neutral": "votes_neutral",
    "sad": "votes_sadness",
    "surprise": "votes_surprise",
}
"""The vote column of each of the seven face classes (contempt, unknown and not-a-face are not classes here)."""

FERPLUS_EXCLUDED = frozenset({"contempt", "unknown", "NF", "not_in_ferplus"})
"""FER+ majorities that are none of the seven classes: left out of training and scoring."""


@dataclass(frozen=True)
class FerPlusRow:
    """One image's FER+ votes: counts over the seven classes (in the order given) and FER+'s majority."""

    votes: tuple[float, ...]
    majority: str  # a face class, "no_majority", or one of FERPLUS_EXCLUDED


def read_ferplus(csv_path: str | os.PathLike[str], labels: Sequence[str]) -> dict[str, FerPlusRow]:
    """``ferplus.csv`` as ``{path relative to its folder: FerPlusRow}``, votes in the order of ``labels``.

    The majority is FER+'s own (single votes dropped, the winner holds more than half of the rest),
    as the file states it; it is what accuracy is scored against.
    """
    csv_path = Path(csv_path)
    out: dict[str, FerPlusRow] = {}
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        need = {"path", "ferplus_label", *FERPLUS_VOTES.values()}
        if not need <= set(reader.fieldnames or []):
            raise AvemotionError(f"FER+ CSV needs the columns {', '.join(sorted(need))}", csv_path)
        for row in reader:
            votes = tuple(float(row[FERPLUS_VOTES[lab]] or 0) for lab in labels)
            out[row["path"].replace(os.sep, "/")] = FerPlusRow(votes, row["ferplus_label"].strip())
    return out


def find_ferplus(folder: str | os.PathLike[str]) -> Path:
    """The ``ferplus.csv`` that holds the votes of the images in ``folder`` (in it, or in its parent)."""
    folder = Path(folder)
    for candidate in (folder, folder.parent):
        if (candidate / "ferplus.csv").is_file():
            return candidate / "ferplus.csv"
    raise AvemotionError("no ferplus.csv in this folder or its parent (needed for --labels ferplus)", folder)


def ferplus_majorities(
    paths: Sequence[str | os.PathLike[str]], csv_path: Path, labels: Sequence[str]
) -> list[str | None]:
    """FER+'s majority class of each image (one of ``labels``), or None where it has none of them."""
    rows = read_ferplus(csv_path, labels)
    root = csv_path.parent.resolve()
    out: list[str | None] = []
    for p in paths:
        try:
            key = Path(p).resolve().relative_to(root).as_posix()
        except ValueError:
            key = ""
        row = rows.get(key)
        out.append(row.majority if row is not None and row.majority in labels else None)
    return out
