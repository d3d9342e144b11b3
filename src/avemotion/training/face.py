"""Training facial-expression models on FER2013-style data, resumable, chosen on validation only.

Data: a folder with ``train/``, ``val/`` (and ``test/``) subfolders of one folder per class, or
the FER2013 CSV (``emotion,pixels,Usage``: Training / PublicTest / PrivateTest). Every image goes
through :func:`avemotion.face.analyzer.face_crops`, the path inference uses.

Training (the default recipe): random affine (rotation, scale, shift, horizontal flip) and
random erasing applied on whole batches in torch, label smoothing, SGD with Nesterov momentum and
a one-cycle schedule. After each epoch the model is scored on ``val`` (with test-time flip where
the recipe uses it); the best epoch is kept. A checkpoint (model, optimiser, schedule, epoch,
RNG) is written every epoch, and a rerun of the same command resumes from it.

The original system's recipe (``arch="baseline"``, see :meth:`FaceConfig.for_arch`) is what the original report
did: its CNN, Adam at a constant rate, no augmentation, no smoothing, no test-time flip.

Training runs on a CUDA GPU where torch sees one (``device="auto"``), else on the CPU; the data
set lives on that device and augmentation runs there too, so a GPU is not starved by Python.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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
    optimizer: str = "sgd"  # "sgd" (Nesterov, one-cycle) or "adam" (constant rate, the original system's)
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    augment: bool = True
    rotate: float = 12.0  # degrees
    scale: float = 0.12
    shift: float = 0.08  # fraction of the side
    erase_prob: float = 0.4
    photometric: float = 0.0  # share of images given one of blur, noise, JPEG, gamma, low light, low resolution
    class_power: float = 0.0  # class weights (1/frequency)**power in the loss: 0 plain, 0.5 softened, 1 balanced
    labels: str = "fer2013"  # "fer2013": the folders' labels; "ferplus": cross-entropy to FER+'s vote distribution
    init_from: str | None = None  # an exported ONNX model to start from (fine-tuning)
    calibrate: bool = True  # fit a softmax temperature on val and build it into the exported model
    tta: bool = True  # score val (and ship) with the mirror image averaged in
    seed: int = 0
    threads: int = 2
    device: str = "auto"  # "auto" (CUDA if torch sees it), "cpu" or "cuda"
    time_budget: float | None = None  # seconds: fewer epochs if a timed probe says they won't fit

    @classmethod
    def for_arch(cls, arch: str, **overrides) -> FaceConfig:
        """The recipe of an architecture: ``baseline`` gets the original report's plain training."""
        base: dict[str, Any]
        if arch == "baseline":
            base = {
                "optimizer": "adam",
                "lr": 1e-3,
                "weight_decay": 0.0,
                "label_smoothing": 0.0,
                "augment": False,
                "tta": False,
                "epochs": 40,
            }
        else:
            base = {}
        return cls(arch=arch, **(base | {k: v for k, v in overrides.items() if v is not None}))


# ---------------------------------------------------------------------------------------------
# Data


def split_files(data: str | Path, split: str) -> tuple[list[Path], list[int]]:
    """The image files of one split of a folder layout (sorted by class folder, then name) and their labels."""
    root = Path(data) / SPLITS[split][0]
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
    return files, labels


def load_split(data: str | Path, split: str, cache_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """uint8 crops (N, 48, 48) and int labels (index into FACE_EMOTIONS) of one split.

    Folder layouts are read through :func:`face_crops` (the inference path); the result is cached
    as ``.npz`` keyed by the split's file list, so later runs start in a second.
    """
    data = Path(data)
    if data.is_file() and data.suffix.lower() == ".csv":
        from ..datasets import read_fer_csv

        images, names = read_fer_csv(data, usage=SPLITS[split][1])
        return images, np.array([FACE_EMOTIONS.index(lab) for lab in names], dtype=np.int64)
    files, labels = split_files(data, split)
    key = hashlib.sha1("\n".join(str(f) for f in files).encode()).hexdigest()[:16]
    root = cache_dir or Path(os.environ.get("AVEMOTION_CACHE") or Path.home() / ".cache" / "avemotion")
    cache = root / "faces" / f"{split}-{key}.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        return z["images"], z["labels"]
    images = np.stack([face_crops(read_image(f), None, 0.0)[0] for f in files])
    y = np.array(labels, dtype=np.int64)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npz")  # atomic: parallel runs share the cache
    np.savez(tmp, images=images, labels=y)
    tmp.replace(cache)
    return images, y


def ferplus_targets(data: str | Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FER+ targets of one split, aligned with :func:`load_split`: vote distributions, majority, usable.

    Returns ``(dist (N, 7) float32, majority (N,) int64 with -1 where there is none, usable (N,) bool)``.
    An image is usable for training when FER+ rated it, its majority is not contempt, unknown or not
    a face, and at least one rater chose one of the seven classes; images without a majority keep
    their distribution (the FER+ paper's cross-entropy scheme learns from them too).
    """
    from ..datasets import FERPLUS_EXCLUDED, read_ferplus

    data = Path(data)
    csv_path = data / "ferplus.csv"
    if not csv_path.exists():
        raise FileNotFoundError(f"{csv_path}: no FER+ votes beside the images")
    rows = read_ferplus(csv_path, FACE_EMOTIONS)
    files, _ = split_files(data, split)
    dist = np.zeros((len(files), len(FACE_EMOTIONS)), np.float32)
    majority = np.full(len(files), -1, np.int64)
    usable = np.zeros(len(files), bool)
    for i, f in enumerate(files):
        row = rows.get(f.relative_to(data).as_posix())
        if row is None:
            continue
        v = np.asarray(row.votes, np.float32)
        if row.majority in FACE_EMOTIONS:
            majority[i] = FACE_EMOTIONS.index(row.majority)
        if v.sum() > 0 and row.majority not in FERPLUS_EXCLUDED:
            dist[i] = v / v.sum()
            usable[i] = True
    return dist, majority, usable


# ---------------------------------------------------------------------------------------------
# Augmentation (torch, whole batches)


def augment(x, cfg: FaceConfig, gen):
    """Random affine (rotation, scale, shift, flip) and random erasing on (B, 1, 48, 48)."""
    import torch
    import torch.nn.functional as F

    b, dev = x.shape[0], x.device

    def rand(*shape):
        return torch.rand(*shape, generator=gen, device=dev)

    u = lambda: rand(b) * 2 - 1
    ang = u() * math.radians(cfg.rotate)
    sc = 1 + u() * cfg.scale
    flip = torch.where(rand(b) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, u() * cfg.shift * 2], 1),
            torch.stack([sin * flip, cos, u() * cfg.shift * 2], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # Random erasing: one rectangle per chosen image, filled with noise at the image's level.
    # (Drawn whether or not any image is erased: no host sync, and the RNG stream stays fixed.)
    erase = rand(b) < cfg.erase_prob
    h = w = x.shape[-1]
    eh = (rand(b) * 0.3 + 0.1) * h
    ew = (rand(b) * 0.3 + 0.1) * w
    y0 = rand(b) * (h - eh)
    x0 = rand(b) * (w - ew)
    rows = torch.arange(h, device=dev)[None, :, None]
    cols = torch.arange(w, device=dev)[None, None, :]
    mask = (
        (rows >= y0[:, None, None])
        & (rows < (y0 + eh)[:, None, None])
        & (cols >= x0[:, None, None])
        & (cols < (x0 + ew)[:, None, None])
        & erase[:, None, None]
    )
    noise = rand(*x.shape) * 255
    return torch.where(mask[:, None], noise, x)


def photometric(x, cfg: FaceConfig, gen):
    """What real video does to a face, on a share ``cfg.photometric`` of a batch (B, 1, 48, 48), 0..255.

    Each chosen image gets one of: Gaussian blur (sigma 0.6-1.6), sensor noise (sigma 3-15),
    JPEG at quality 10-50 (OpenCV, on the CPU), gamma 0.5-2, low light (x0.15-0.5, noise, then
    8-bit rounding, which is what a dark webcam frame keeps), low resolution (down to 12-24 px and
    back up: a small face in a wide frame).
    """
    import torch
    import torch.nn.functional as F

    if cfg.photometric <= 0:
        return x
    b, dev = x.shape[0], x.device
    rand = lambda *shape: torch.rand(*shape, generator=gen, device=dev)
    chosen = rand(b) < cfg.photometric
    kind = (rand(b) * 6).long()
    out = x.clone()

    def pick(k):
        return (chosen & (kind == k)).nonzero().flatten()

    idx = pick(0)  # blur
    if len(idx):
        sigma = 0.6 + float(rand(1)) * 1.0
        r = torch.arange(-3, 4, device=dev, dtype=x.dtype)
        k1 = torch.exp(-(r**2) / (2 * sigma**2))
        k1 = k1 / k1.sum()
        xi = F.pad(x[idx], (3, 3, 3, 3), mode="replicate")
        xi = F.conv2d(xi, k1.view(1, 1, 1, 7))
        out[idx] = F.conv2d(xi, k1.view(1, 1, 7, 1))
    idx = pick(1)  # noise
    if len(idx):
        sig = 3 + rand(len(idx), 1, 1, 1) * 12
        out[idx] = x[idx] + sig * torch.randn(x[idx].shape, generator=gen, device=dev)
    idx = pick(2)  # JPEG
    if len(idx):
        import cv2

        q = (10 + rand(len(idx)) * 40).long().tolist()
        imgs = x[idx].clamp(0, 255).round().to(torch.uint8).cpu().numpy()
        dec = [
            np.asarray(
                cv2.imdecode(cv2.imencode(".jpg", im[0], [cv2.IMWRITE_JPEG_QUALITY, qq])[1], cv2.IMREAD_GRAYSCALE)
            )
            for im, qq in zip(imgs, q)
        ]
        out[idx] = torch.from_numpy(np.stack(dec)[:, None].astype(np.float32)).to(dev)
    idx = pick(3)  # gamma
    if len(idx):
        g = torch.exp((rand(len(idx), 1, 1, 1) * 2 - 1) * math.log(2.0))
        out[idx] = 255 * (x[idx].clamp(0, 255) / 255) ** g
    idx = pick(4)  # low light
    if len(idx):
        a = 0.15 + rand(len(idx), 1, 1, 1) * 0.35
        dark = x[idx] * a + 2 * torch.randn(x[idx].shape, generator=gen, device=dev)
        out[idx] = dark.clamp(0, 255).round()
    idx = pick(5)  # low resolution
    if len(idx):
        side = int(12 + float(rand(1)) * 12)
        small = F.interpolate(x[idx], size=(side, side), mode="area")
        out[idx] = F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return out.clamp(0, 255)


def class_weights(y: np.ndarray, power: float, n: int = len(FACE_EMOTIONS)) -> np.ndarray:
    """Loss weights (1 / class frequency) ** power, scaled so the average example weighs 1."""
    freq = np.bincount(y, minlength=n).astype(np.float64) / len(y)
    w = np.where(freq > 0, freq, 1.0) ** -power
    return (w / (w * freq).sum()).astype(np.float32)


def init_from_onnx(model, onnx_path: str | Path, images: np.ndarray) -> None:
    """Load an exported VGG-style face model (batch norm folded into its convolutions) into ``model``.

    The export folds each BatchNorm into the convolution before it, so the file holds conv weights
    and biases only. They are copied into the convolutions, and each BatchNorm is set so that in
    training mode (batch statistics) it reproduces the folded network: its scale and shift are the
    standard deviation and mean of the folded convolution's output over ``images``, so fine-tuning
    starts from the exported model's function, not from a jolt.
    """
    import onnx
    import torch
    from onnx import numpy_helper

    m = onnx.load(str(onnx_path))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    for node in m.graph.node:  # weights stored as float16 (scripts/store_fp16.py) reach the graph through a Cast
        if node.op_type == "Cast" and node.input[0] in inits:
            inits[node.output[0]] = inits[node.input[0]].astype(np.float32)
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    gemm = next(n for n in m.graph.node if n.op_type == "Gemm")
    tconvs = [mod for mod in model.features if isinstance(mod, torch.nn.Conv2d)]
    tbns = [mod for mod in model.features if isinstance(mod, torch.nn.BatchNorm2d)]
    if len(convs) != len(tconvs):
        raise ValueError(f"{onnx_path}: {len(convs)} convolutions, the network has {len(tconvs)}")
    biases = []
    for node, conv in zip(convs, tconvs):
        w = torch.from_numpy(inits[node.input[1]].copy())
        if w.shape != conv.weight.shape:
            raise ValueError(f"{onnx_path}: conv weight {tuple(w.shape)} != {tuple(conv.weight.shape)}")
        conv.weight.data.copy_(w)
        biases.append(torch.from_numpy(inits[node.input[2]].copy()))
    lin = model.head[-1]
    lin.weight.data.copy_(torch.from_numpy(inits[gemm.input[1]].copy()))
    lin.bias.data.copy_(torch.from_numpy(inits[gemm.input[2]].copy()))
    # Statistics of each folded conv's output (conv + bias), measured layer by layer.
    stats: list[tuple] = []
    hooks = [
        conv.register_forward_hook(
            lambda mod, inp, out, b=b: stats.append(
                ((out + b[None, :, None, None]).mean((0, 2, 3)), (out + b[None, :, None, None]).std((0, 2, 3)))
            )
        )
        for conv, b in zip(tconvs, biases)
    ]
    for bn, b in zip(tbns, biases):  # identity with the folded bias, so the measuring pass is the ONNX model
        assert bn.running_var is not None and bn.running_mean is not None  # BatchNorm tracks running stats
        bn.reset_running_stats()
        bn.running_var.fill_(1 - bn.eps)
        bn.weight.data.fill_(1.0)
        bn.bias.data.copy_(b)
    model.eval()
    with torch.no_grad():
        model(torch.from_numpy(to_input(images)))
    for h in hooks:
        h.remove()
    for bn, b, (mean, std) in zip(tbns, biases, stats):
        bn.weight.data.copy_(std.clamp_min(1e-3))
        bn.bias.data.copy_(mean)
        assert bn.running_var is not None and bn.running_mean is not None
        bn.running_mean.copy_(mean - b)
        bn.running_var.copy_(std.clamp_min(1e-3) ** 2 - bn.eps)


# ---------------------------------------------------------------------------------------------
# Training with checkpoints


def resolve_device(name: str = "auto") -> str:
    """``auto`` → ``cuda`` where torch sees a GPU, else ``cpu``."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def predict(model, images: np.ndarray, batch: int = 256, tta: bool = True) -> np.ndarray:
    """Softmax probabilities (N, 7) on the model's device; ``tta`` averages the image and its mirror."""
    import torch

    dev = next(model.parameters()).device
    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(images), batch):
            x = torch.from_numpy(to_input(images[s : s + batch])).to(dev)
            p = torch.softmax(model(x), 1)
            if tta:
                p = (p + torch.softmax(model(torch.flip(x, dims=[3])), 1)) / 2
            out.append(p.cpu().numpy())
    return np.concatenate(out)


def _optimiser(model, cfg: FaceConfig, total_steps: int):
    import torch

    opt: torch.optim.Optimizer
    if cfg.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    if cfg.optimizer != "sgd":
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose sgd or adam")
    opt = torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=True, weight_decay=cfg.weight_decay
    )
    return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total_steps, pct_start=0.15)


def _step(model, opt, sched, loss_fn, x, y, cfg: FaceConfig, gen):
    if cfg.augment:
        x = photometric(augment(x, cfg, gen), cfg, gen)
    loss = loss_fn(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    return loss.detach()


def _fit_epochs(model, cfg: FaceConfig, x_all, y_all, steps_per_epoch: int) -> int:
    """Epochs that fit ``cfg.time_budget``: time 30 steps of a throwaway copy, keep a 10% margin."""
    import copy

    import torch

    probe = copy.deepcopy(model).train()
    opt, sched = _optimiser(probe, cfg, 10_000)
    gen = torch.Generator(device=x_all.device).manual_seed(cfg.seed + 1)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    idx = torch.arange(cfg.batch_size, device=x_all.device)
    for i in range(40):
        if i == 10:
            if x_all.is_cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        _step(probe, opt, sched, loss_fn, x_all[idx], y_all[idx], cfg, gen)
    if x_all.is_cuda:
        torch.cuda.synchronize()
    per_epoch = (time.perf_counter() - t0) / 30 * steps_per_epoch * 1.15  # + validation
    assert cfg.time_budget is not None
    fit = max(1, int(cfg.time_budget * 0.9 / per_epoch))
    log.info("time budget %.0fs: %.1fs an epoch, %d epochs fit", cfg.time_budget, per_epoch, fit)
    return min(cfg.epochs, fit)


def training_split(data: str | Path, split: str, labels: str = "fer2013") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images, class labels and the training target of one split under a labelling scheme.

    ``fer2013``: every image, its folder's label as both. ``ferplus``: the images FER+ can score or
    train on; the class is FER+'s majority (train: the distribution's top class, for class weights
    only), the target the vote distribution (val and test: only images with a seven-class majority,
    target = that class).
    """
    x, y = load_split(data, split)
    if labels == "fer2013":
        return x, y, y
    if labels != "ferplus":
        raise ValueError(f"unknown face labels {labels!r}; choose fer2013 or ferplus")
    dist, majority, usable = ferplus_targets(data, split)
    if split == "train":
        return x[usable], dist[usable].argmax(1), dist[usable]
    keep = majority >= 0
    return x[keep], majority[keep], majority[keep]


def _epoch(model, opt, sched, loss_fn, x_all, y_all, cfg: FaceConfig, gen) -> float:
    """One pass over the training images in a random order; the mean training loss."""
    import torch

    n = len(x_all)
    order = torch.randperm(n, generator=gen, device=x_all.device)
    total = torch.zeros((), device=x_all.device)
    for s in range(0, n, cfg.batch_size):
        idx = order[s : s + cfg.batch_size]
        if len(idx) < 2:
            continue
        total += _step(model, opt, sched, loss_fn, x_all[idx], y_all[idx], cfg, gen) * len(idx)
    return float(total) / n


def _checkpoint(run_dir: Path, model, opt, sched, gen, state: dict) -> None:
    """``last.pt`` (replaced atomically: a run stopped while writing resumes from the previous one)
    and ``history.json``."""
    import torch

    torch.save(
        {
            "model": model.state_dict(),
            "opt": opt.state_dict(),
            "sched": sched.state_dict(),
            "gen": gen.get_state(),
            "state": json.dumps(state),
        },
        run_dir / "last.tmp",
    )
    (run_dir / "last.tmp").replace(run_dir / "last.pt")
    (run_dir / "history.json").write_text(json.dumps(state, indent=2))


def train(data: str | Path, run_dir: Path, cfg: FaceConfig | None = None) -> dict:
    """Train (or resume) in ``run_dir``; returns the history. ``best.pt`` holds the chosen model.

    A resumed run keeps the epochs its ``config.json`` recorded (the schedule depends on them).
    """
    import torch

    from .face_nets import build

    cfg = cfg or FaceConfig()
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    dev = torch.device(resolve_device(cfg.device))
    torch.backends.cudnn.benchmark = dev.type == "cuda"
    xtr, ytr, target = training_split(data, "train", cfg.labels)
    xva, yva, _ = training_split(data, "val", cfg.labels)
    log.info("train %d, val %d images (%s labels), on %s", len(xtr), len(xva), cfg.labels, dev)
    torch.manual_seed(cfg.seed)
    model = build(cfg.arch, len(FACE_EMOTIONS))
    if cfg.init_from and not (run_dir / "last.pt").exists():
        init_from_onnx(model, cfg.init_from, xtr[np.random.default_rng(cfg.seed).choice(len(xtr), 2048, replace=False)])
        log.info(
            "started from %s: val %.4f",
            cfg.init_from,
            float((predict(model, xva, tta=cfg.tta).argmax(1) == yva).mean()),
        )
    model = model.to(dev)
    x_all = torch.from_numpy(to_input(xtr)).to(dev)
    y_all = torch.from_numpy(target).to(dev)
    steps_per_epoch = math.ceil(len(xtr) / cfg.batch_size)
    ckpt = run_dir / "last.pt"
    if ckpt.exists() and (run_dir / "config.json").exists():
        cfg.epochs = json.loads((run_dir / "config.json").read_text())["epochs"]
    elif cfg.time_budget:
        cfg.epochs = _fit_epochs(model, cfg, x_all, y_all, steps_per_epoch)
    opt, sched = _optimiser(model, cfg, cfg.epochs * steps_per_epoch)
    gen = torch.Generator(device=dev).manual_seed(cfg.seed)
    state: dict[str, Any] = {"epoch": 0, "best_val": 0.0, "best_epoch": -1, "history": []}
    if ckpt.exists():
        saved = torch.load(ckpt, weights_only=True, map_location=dev)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        sched.load_state_dict(saved["sched"])
        gen.set_state(saved["gen"].cpu())
        state = json.loads(saved["state"])
        log.info("resumed at epoch %d (best val %.4f)", state["epoch"], state["best_val"])
    (run_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    weight = torch.from_numpy(class_weights(ytr, cfg.class_power)).to(dev) if cfg.class_power else None
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.label_smoothing)
    while state["epoch"] < cfg.epochs:
        epoch = state["epoch"]
        model.train()
        t0 = time.time()
        loss = _epoch(model, opt, sched, loss_fn, x_all, y_all, cfg, gen)
        val = float((predict(model, xva, tta=cfg.tta).argmax(1) == yva).mean())
        state["history"].append(
            {
                "epoch": epoch + 1,
                "loss": round(loss, 4),
                "val_accuracy": round(val, 4),
                "seconds": round(time.time() - t0, 1),
            }
        )
        state["epoch"] = epoch + 1
        if val > state["best_val"]:
            state["best_val"], state["best_epoch"] = val, epoch + 1
            torch.save({k: v.cpu() for k, v in model.state_dict().items()}, run_dir / "best.pt")
        _checkpoint(run_dir, model, opt, sched, gen, state)
        log.info(
            "epoch %d/%d loss %.4f val %.4f (best %.4f @%d) %.0fs",
            epoch + 1,
            cfg.epochs,
            loss,
            val,
            state["best_val"],
            state["best_epoch"],
            time.time() - t0,
        )
    return state


def load_best(run_dir: Path, arch: str):
    import torch

    from .face_nets import build

    model = build(arch, len(FACE_EMOTIONS))
    model.load_state_dict(torch.load(run_dir / "best.pt", weights_only=True, map_location="cpu"))
    return model.eval()


def _hardware(device: str) -> str:
    import platform

    import torch

    if resolve_device(device) == "cuda":
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__})"
    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores (torch {torch.__version__})"


def export_onnx(model, path: Path, temperature: float = 1.0) -> Path:
    """``faces`` (N, 1, 48, 48) grey 0..255 → ``probabilities`` (N, 7), logits / ``temperature``."""
    import torch

    from .export import export_classifier

    return export_classifier(model, torch.zeros(1, 1, 48, 48), path, "faces", {0: "batch"}, temperature)


def val_logits(model, data: str | Path, labels: str = "fer2013") -> tuple[np.ndarray, np.ndarray]:
    """Logits (N, 7) of the val split, and its labels: what the temperature is fitted on."""
    import torch

    xva, yva, _ = training_split(data, "val", labels)
    model.eval()
    with torch.no_grad():
        z = np.concatenate(
            [model(torch.from_numpy(to_input(xva[s : s + 512]))).numpy() for s in range(0, len(xva), 512)]
        )
    return z, yva


FER_LICENCE = (
    "weights trained on FER2013 (Goodfellow et al. 2013, ICML 2013 challenges in representation learning), "
    "released for research; non-commercial research use"
)


def _card_data(data: str | Path, labels: str) -> dict:
    """What a face card says it learned from and was chosen on."""
    if labels == "ferplus":
        n_train = len(training_split(data, "train", labels)[0])
        n_val = len(training_split(data, "val", labels)[0])
        return {
            "corpus": "FER2013 images, FER+ votes (ferplus.csv)",
            "train": f"train/: {n_train:,} images FER+ rated, target the vote distribution over the seven classes",
            "selection": f"val/ = PublicTest, the {n_val:,} images with a seven-class FER+ majority",
        }
    return {"corpus": "FER2013", "train": "train/ (28,709)", "selection": "val/ = PublicTest (3,589)"}


def train_and_export_face(
    data: str | Path,
    run_dir: Path,
    out: Path,
    cfg: FaceConfig | None = None,
    name: str | None = None,
    command: str | None = None,
) -> Path:
    """Train (resuming in ``run_dir``), export the best-on-val epoch to ONNX, write its card."""
    from ..bundles import write_card

    cfg = cfg or FaceConfig()
    state = train(data, run_dir, cfg)
    model = load_best(run_dir, cfg.arch)
    out.mkdir(parents=True, exist_ok=True)
    name = name or ("face_baseline" if cfg.arch == "baseline" else "face")
    from .export import fit_temperature

    temperature = fit_temperature(*val_logits(model, data, cfg.labels)) if cfg.calibrate else 1.0
    path = export_onnx(model, out / f"{name}.onnx", temperature)
    card = {
        "name": name,
        "task": "face",
        "labels": list(FACE_EMOTIONS),
        "tta": cfg.tta,
        "inputs": {
            "faces": {
                "kind": "face",
                "size": 48,
                "channels": "grey",
                "range": "0..255",
                "layout": "N,1,48,48",
                "normalisation": "per-image standardisation inside the model",
            }
        },
        "architecture": cfg.arch,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "trained_on": _hardware(cfg.device),
        "calibration": {"temperature": round(temperature, 4), "fitted_on": "val/ (PublicTest), negative log-likelihood"}
        if cfg.calibrate
        else None,
        "training": {
            "config": asdict(cfg),
            "best_epoch": state["best_epoch"],
            "val_accuracy": round(state["best_val"], 4),
            "history": state["history"],
        },
        "data": _card_data(data, cfg.labels),
        "licence": FER_LICENCE
        + ("; FER+ labels (Barsoum et al. 2016): MIT, Microsoft" if cfg.labels == "ferplus" else ""),
        "command": command or f"avemotion train face DATA --arch {cfg.arch}",
    }
    write_card(path, card)
    return path
