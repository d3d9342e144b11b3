"""Training facial-expression models on FER2013-style data, resumable, chosen on validation only.

Data: a folder with ``train/``, ``val/`` (and ``test/``) subfolders of one folder per class, or
the FER2013 CSV (``emotion,pixels,Usage``: Training / PublicTest / PrivateTest). Every image goes
through :func:`avemotion.face.analyzer.face_crops`, the path inference uses.

Training: random affine (rotation, scale, shift, horizontal flip) and random erasing applied on
whole batches in torch, label smoothing, SGD with Nesterov momentum and a one-cycle schedule.
After each epoch the model is scored on ``val`` with test-time flip; the best epoch is kept.
A checkpoint (model, optimiser, schedule, epoch, RNG) is written every epoch, and a rerun of
the same command resumes from it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..face.analyzer import face_crops
from ..face.preprocess import to_input
from ..media import IMAGE_EXTENSIONS, read_image
from ..taxonomy import FACE_EMOTIONS, try_canonical

log = logging.getLogger(__name__)

SPLITS = {"train": ("train", "Training"), "val": ("val", "PublicTest"), "test": ("test", "PrivateTest")}


@dataclass
class FaceConfig:
    """Hyperparameters (chosen on the val split)."""

    arch: str = "vgg"
    epochs: int = 40
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    rotate: float = 12.0  # degrees
    scale: float = 0.12
    shift: float = 0.08  # fraction of the side
    erase_prob: float = 0.4
    seed: int = 0
    threads: int = 2


# ---------------------------------------------------------------------------------------------
# Data


def load_split(data: str | Path, split: str, cache_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """uint8 crops (N, 48, 48) and int labels (index into FACE_EMOTIONS) of one split.

    Folder layouts are read through :func:`crop_face`; the result is cached as ``.npz`` keyed
    by the split's file list, so later runs start in a second.
    """
    data = Path(data)
    if data.is_file() and data.suffix.lower() == ".csv":
        from ..datasets import read_fer_csv

        images, labels = read_fer_csv(data, usage=SPLITS[split][1])
        return images, np.array([FACE_EMOTIONS.index(lab) for lab in labels], dtype=np.int64)
    root = data / SPLITS[split][0]
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no {split} split (expected {data}/{{train,val,test}}/<class>/)")
    files, labels = [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        lab = try_canonical(d.name)
        if lab not in FACE_EMOTIONS:
            continue
        for f in sorted(q for q in d.iterdir() if q.suffix.lower() in IMAGE_EXTENSIONS):
            files.append(f)
            labels.append(FACE_EMOTIONS.index(lab))
    key = hashlib.sha1("\n".join(str(f) for f in files).encode()).hexdigest()[:16]
    cache = (cache_dir or Path.home() / ".cache" / "avemotion") / "faces" / f"{split}-{key}.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        return z["images"], z["labels"]
    images = np.stack([face_crops(read_image(f), None, 0.0)[0] for f in files])
    y = np.array(labels, dtype=np.int64)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, images=images, labels=y)
    return images, y


# ---------------------------------------------------------------------------------------------
# Augmentation (torch, whole batches)


def augment(x, cfg: FaceConfig, gen):
    """Random affine (rotation, scale, shift, flip) and random erasing on (B, 1, 48, 48)."""
    import torch
    import torch.nn.functional as F

    b = x.shape[0]
    u = lambda: torch.rand(b, generator=gen) * 2 - 1
    ang = u() * math.radians(cfg.rotate)
    sc = 1 + u() * cfg.scale
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos * flip, -sin, u() * cfg.shift * 2], 1),
                         torch.stack([sin * flip, cos, u() * cfg.shift * 2], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # Random erasing: one rectangle per chosen image, filled with noise at the image's level.
    erase = torch.rand(b, generator=gen) < cfg.erase_prob
    if erase.any():
        h = w = x.shape[-1]
        eh = (torch.rand(b, generator=gen) * 0.3 + 0.1) * h
        ew = (torch.rand(b, generator=gen) * 0.3 + 0.1) * w
        y0 = torch.rand(b, generator=gen) * (h - eh)
        x0 = torch.rand(b, generator=gen) * (w - ew)
        rows = torch.arange(h)[None, :, None]
        cols = torch.arange(w)[None, None, :]
        mask = ((rows >= y0[:, None, None]) & (rows < (y0 + eh)[:, None, None]) &
                (cols >= x0[:, None, None]) & (cols < (x0 + ew)[:, None, None]) & erase[:, None, None])
        noise = torch.rand(x.shape, generator=gen) * 255
        x = torch.where(mask[:, None], noise, x)
    return x


# ---------------------------------------------------------------------------------------------
# Training with checkpoints


def predict(model, images: np.ndarray, batch: int = 256, tta: bool = True) -> np.ndarray:
    """Softmax probabilities (N, 7); ``tta`` averages the image and its mirror."""
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(images), batch):
            x = torch.from_numpy(to_input(images[s:s + batch]))
            p = torch.softmax(model(x), 1)
            if tta:
                p = (p + torch.softmax(model(torch.flip(x, dims=[3])), 1)) / 2
            out.append(p.numpy())
    return np.concatenate(out)


def train(data: str | Path, run_dir: Path, cfg: FaceConfig | None = None) -> dict:
    """Train (or resume) in ``run_dir``; returns the history. ``best.pt`` holds the chosen model."""
    import torch

    from .face_nets import build

    cfg = cfg or FaceConfig()
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    xtr, ytr = load_split(data, "train")
    xva, yva = load_split(data, "val")
    log.info("train %d, val %d images", len(xtr), len(xva))
    torch.manual_seed(cfg.seed)
    model = build(cfg.arch, len(FACE_EMOTIONS))
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=True,
                          weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(xtr) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch,
                                                pct_start=0.15)
    gen = torch.Generator().manual_seed(cfg.seed)
    state = {"epoch": 0, "best_val": 0.0, "best_epoch": -1, "history": []}
    ckpt = run_dir / "last.pt"
    if ckpt.exists():
        saved = torch.load(ckpt, weights_only=True)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        sched.load_state_dict(saved["sched"])
        gen.set_state(saved["gen"])
        state = json.loads(saved["state"])
        log.info("resumed at epoch %d (best val %.4f)", state["epoch"], state["best_val"])
    (run_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    ytr_t = torch.from_numpy(ytr)
    while state["epoch"] < cfg.epochs:
        epoch = state["epoch"]
        model.train()
        order = torch.randperm(len(xtr), generator=gen)
        t0, total = time.time(), 0.0
        for s in range(0, len(xtr), cfg.batch_size):
            idx = order[s:s + cfg.batch_size]
            if len(idx) < 2:
                continue
            x = augment(torch.from_numpy(to_input(xtr[idx.numpy()])), cfg, gen)
            loss = loss_fn(model(x), ytr_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        val = float((predict(model, xva).argmax(1) == yva).mean())
        state["history"].append({"epoch": epoch + 1, "loss": round(total / len(xtr), 4), "val_accuracy": round(val, 4),
                                 "seconds": round(time.time() - t0, 1)})
        state["epoch"] = epoch + 1
        if val > state["best_val"]:
            state["best_val"], state["best_epoch"] = val, epoch + 1
            torch.save(model.state_dict(), run_dir / "best.pt")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "gen": gen.get_state(), "state": json.dumps(state)}, run_dir / "last.tmp")
        (run_dir / "last.tmp").replace(ckpt)
        (run_dir / "history.json").write_text(json.dumps(state, indent=2))
        log.info("epoch %d/%d loss %.4f val %.4f (best %.4f @%d) %.0fs", epoch + 1, cfg.epochs, total / len(xtr), val,
                 state["best_val"], state["best_epoch"], time.time() - t0)
    return state


def load_best(run_dir: Path, arch: str):
    import torch

    from .face_nets import build

    model = build(arch, len(FACE_EMOTIONS))
    model.load_state_dict(torch.load(run_dir / "best.pt", weights_only=True))
    return model.eval()


def export_onnx(model, path: Path) -> Path:
    """``faces`` (N, 1, 48, 48) grey 0..255 → ``probabilities`` (N, 7)."""
    import torch

    from .export import export_classifier

    return export_classifier(model, torch.zeros(1, 1, 48, 48), path, "faces", {0: "batch"})


FER_LICENCE = ("weights trained on FER2013 (Goodfellow et al. 2013, ICML 2013 challenges in representation learning), "
               "released for research; non-commercial research use")


def train_and_export_face(data: str | Path, run_dir: Path, out: Path, cfg: FaceConfig | None = None,
                          name: str | None = None, command: str | None = None) -> Path:
    """Train (resuming in ``run_dir``), export the best-on-val epoch to ONNX, write its card."""
    from ..bundles import write_card

    cfg = cfg or FaceConfig()
    state = train(data, run_dir, cfg)
    model = load_best(run_dir, cfg.arch)
    out.mkdir(parents=True, exist_ok=True)
    name = name or ("face" if cfg.arch == "vgg" else "face_baseline")
    path = export_onnx(model, out / f"{name}.onnx")
    card = {
        "name": name, "task": "face", "labels": list(FACE_EMOTIONS), "tta": True,
        "inputs": {"faces": {"kind": "face", "size": 48, "channels": "grey", "range": "0..255",
                             "layout": "N,1,48,48", "normalisation": "per-image standardisation inside the model"}},
        "architecture": cfg.arch, "parameters": int(sum(p.numel() for p in model.parameters())),
        "training": {"config": asdict(cfg), "best_epoch": state["best_epoch"],
                     "val_accuracy_tta": round(state["best_val"], 4), "history": state["history"]},
        "data": {"corpus": "FER2013", "train": "train/ (28,709)", "selection": "val/ = PublicTest (3,589)"},
        "licence": FER_LICENCE,
        "command": command or f"avemotion train face DATA --arch {cfg.arch}",
    }
    write_card(path, card)
    return path
