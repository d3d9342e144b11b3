"""The files of an analysis: result.json, timeline.csv, timeline.png, annotated.mp4, report.html.

Every file is written to a temporary name and moved into place, and ``result.json`` comes last,
so a folder holding ``result.json`` is complete (batch runs use that to skip finished files).
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..taxonomy import FACE_EMOTIONS, top_label
from .draw import COLOURS

OUTPUTS = ("result.json", "timeline.csv", "timeline.png", "annotated.mp4", "report.html")


def _atomic(path: Path, write) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_json(data: dict, path: Path) -> Path:
    return _atomic(path, lambda t: t.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8"))


def write_outputs(result, out: Path, *, annotate: bool = True, source: dict | None = None,
                  media: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Write every output of ``result`` (an AnalysisResult) into ``out``; result.json last.

    ``media`` is the file to draw annotated.mp4 from when it is not at ``result.path`` (the
    server stores uploads under generated names).
    """
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    files["timeline.csv"] = _atomic(out / "timeline.csv", lambda t: result.to_dataframe().to_csv(t, index=False))
    files["timeline.png"] = _atomic(out / "timeline.png", lambda t: plot_timeline(result, t))
    skipped = {}
    if annotate and result.frames and result.media.get("kind") in ("video", "image"):
        import av

        try:
            files["annotated.mp4"] = _atomic(out / "annotated.mp4", lambda t: annotated_video(result, t, media))
        except (av.FFmpegError, ValueError, IndexError) as exc:  # an odd frame must not cost the other outputs
            skipped["annotated.mp4"] = f"could not be encoded ({type(exc).__name__}: {str(exc)[:120]})"
    files["report.html"] = _atomic(out / "report.html", lambda t: t.write_text(report_html(result, out), encoding="utf-8"))
    data = result.to_dict()
    if source:
        data["source"] = source
    data["outputs"] = sorted([*files, "result.json"])
    if skipped:
        data["outputs_skipped"] = skipped
    files["result.json"] = write_json(data, out / "result.json")
    return files


# ---------------------------------------------------------------------------------------------
# timeline.png


def _matrix(result, lane: str, labels: list[str]) -> np.ndarray:
    m = np.full((len(labels), len(result.timeline)), np.nan)
    for j, w in enumerate(result.timeline):
        d = w.fused if lane == "fused" else getattr(w, lane).probabilities
        if d:
            m[:, j] = [d.get(lab, np.nan) for lab in labels]
    return m


def plot_timeline(result, path: str | os.PathLike[str]) -> Path:
    """Fused emotion over time (stacked areas) above a face lane and a voice lane (heat maps).

    Gaps — no face, no speech, a missing track — stay blank and are labelled, never filled in.
    """
    from .plots import _plt

    plt = _plt()
    voice_labels = result.models.get("voice_labels", [])
    t = np.array([(w.start + w.end) / 2 for w in result.timeline])
    edges = [result.timeline[0].start] + [w.end for w in result.timeline] if result.timeline else [0, 1]
    fig, axes = plt.subplots(3, 1, figsize=(11, 6.5), dpi=100, sharex=True,
                             gridspec_kw={"height_ratios": [2.2, 1.3, 1.5]})
    ax = axes[0]
    fused = _matrix(result, "fused", list(FACE_EMOTIONS))
    if np.isfinite(fused).any():
        ax.stackplot(t, np.nan_to_num(fused), labels=FACE_EMOTIONS,
                     colors=[_rgb(COLOURS[lab]) for lab in FACE_EMOTIONS], alpha=0.9)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    else:
        ax.text(0.5, 0.5, "nothing to fuse: no face and no speech", transform=ax.transAxes, ha="center",
                va="center", color="grey")
    ax.set_ylim(0, 1)
    ax.set_ylabel("fused")
    label = result.label or "nothing to read"
    ax.set_title(f"{Path(result.path).name}: {label}   (face: {result.status['face']}, voice: {result.status['voice']})",
                 fontsize=10, loc="left")
    for ax, lane, labels in ((axes[1], "face", list(FACE_EMOTIONS)), (axes[2], "voice", voice_labels)):
        m = _matrix(result, lane, labels) if labels else np.full((1, len(result.timeline)), np.nan)
        ax.pcolormesh(edges, np.arange(len(m) + 1), np.ma.masked_invalid(m), cmap="viridis", vmin=0, vmax=1,
                      shading="flat")
        ax.set_yticks(np.arange(len(labels)) + 0.5, labels, fontsize=7)
        ax.set_ylabel(lane)
        if result.status[lane] != "ok":
            ax.text(0.5, 0.5, result.status[lane], transform=ax.transAxes, ha="center", va="center", color="grey")
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return Path(path)


def _rgb(bgr) -> tuple[float, float, float]:
    b, g, r = bgr
    return (r / 255, g / 255, b / 255)


# ---------------------------------------------------------------------------------------------
# annotated.mp4


def annotated_video(result, path: str | os.PathLike[str], media: str | os.PathLike[str] | None = None) -> Path:
    """The sampled frames with face boxes, labels and probability bars; the original audio kept.

    The video runs at the sampling rate (``config.fps``), so it is exactly what was analysed.
    """
    import av

    from ..media import iter_frames
    from .draw import draw_faces

    cfg = result.config
    media = str(media or result.path)
    fps = max(1, int(round(cfg["fps"])))
    by_time = {round(f.time, 3): f.faces for f in result.frames}
    with av.open(str(path), "w", format="mp4") as out:
        vs = None
        audio = _AudioTrack(media, out) if result.media.get("has_audio") else None
        for i, frame in enumerate(iter_frames(media, fps=cfg["fps"], max_side=cfg.get("max_side"))):
            img = draw_faces(frame.image, by_time.get(round(frame.time, 3), []))
            if img.shape[0] < 16 or img.shape[1] < 16:  # the encoder needs a few pixels: pad tiny images
                import cv2

                img = cv2.copyMakeBorder(img, 0, max(0, 16 - img.shape[0]), 0, max(0, 16 - img.shape[1]),
                                         cv2.BORDER_CONSTANT)
            if vs is None:
                vs = out.add_stream("libx264", rate=fps)
                vs.width, vs.height = img.shape[1] // 2 * 2, img.shape[0] // 2 * 2
                vs.pix_fmt = "yuv420p"
                vs.options = {"preset": "veryfast", "crf": "26"}
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[: vs.height, : vs.width]), format="bgr24")
            vf.pts = i
            out.mux(vs.encode(vf))
            if audio is not None:
                audio.until(frame.time)
        if vs is not None:
            out.mux(vs.encode(None))
        if audio is not None:
            audio.until(None)
    return Path(path)


class _AudioTrack:
    """Re-encode the source's audio track to AAC into ``out``, interleaved with the video."""

    def __init__(self, src: str, out) -> None:
        import av

        self.av = av
        self.inp = av.open(src)
        self.stream_in = self.inp.streams.audio[0]
        rate = self.stream_in.codec_context.sample_rate or 48000
        self.stream = out.add_stream("aac", rate=rate)
        self.stream.layout = "stereo"
        self.resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        self.frames = self.inp.decode(self.stream_in)
        self.out, self.rate, self.written = out, rate, 0

    def until(self, t: float | None) -> None:
        """Encode the source audio up to ``t`` seconds (half a second ahead); None: to the end."""
        if self.inp is None:
            return
        av = self.av
        try:
            while t is None or self.written / self.rate <= t + 0.5:
                frame = next(self.frames)
                for r in self.resampler.resample(frame):
                    r.pts = self.written
                    self.written += r.samples
                    self.out.mux(self.stream.encode(r))
        except (StopIteration, av.FFmpegError):
            self._close()

    def _close(self) -> None:
        if self.inp is None:
            return
        for r in self.resampler.resample(None):
            r.pts = self.written
            self.written += r.samples
            self.out.mux(self.stream.encode(r))
        self.out.mux(self.stream.encode(None))
        self.inp.close()
        self.inp = None
        self.frames = iter(())


# ---------------------------------------------------------------------------------------------
# report.html


def _table(columns: dict[str, dict | None], labels: Iterable[str]) -> str:
    head = "".join(f"<th>{html.escape(n)}</th>" for n in columns)
    rows = []
    for lab in labels:
        cells = []
        for d in columns.values():
            if not d or lab not in d:
                cells.append("<td class=na>–</td>")
                continue
            best = top_label(d) == lab
            v = d[lab]
            cells.append(f"<td{' class=best' if best else ''}><span class=bar style='width:{v * 100:.0f}%'></span>"
                         f"{v:.3f}</td>")
        rows.append(f"<tr><th>{html.escape(lab)}</th>{''.join(cells)}</tr>")
    return f"<table class=probs><tr><th>emotion</th>{head}</tr>{''.join(rows)}</table>"


CSS = """body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}th{text-align:left}
.probs td{position:relative;min-width:7rem}.bar{position:absolute;left:0;top:15%;height:70%;background:#cfe3ff;z-index:-1}
.best{font-weight:700}.na{color:#999;text-align:center}.status{color:#555}img,video{max-width:100%}
.big{font-size:1.6rem;font-weight:700}small{color:#666}"""


def report_html(result, out: Path) -> str:
    """One self-contained page: summary, timeline figure (embedded), tracks, the annotated video."""
    from .. import __version__

    name = html.escape(Path(result.path).name)
    voice_labels = result.models.get("voice_labels", [])
    labels = list(FACE_EMOTIONS) + [lab for lab in voice_labels if lab not in FACE_EMOTIONS]
    summary = _table({"voice": result.summary["voice"], "face": result.summary["face"],
                      "fused": result.summary["fused"]}, labels)
    png = out / "timeline.png"
    img = (f"<img alt='timeline' src='data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()}'>"
           if png.exists() else "")
    video = ""
    mp4 = out / "annotated.mp4"
    if mp4.exists():
        src = (f"data:video/mp4;base64,{base64.b64encode(mp4.read_bytes()).decode()}"
               if mp4.stat().st_size < 8_000_000 else "annotated.mp4")
        video = f"<h2>Annotated video</h2><video controls src='{src}'></video>"
    tracks = "".join(
        f"<tr><td>{t.id}{' (main)' if t.id == result.main_track else ''}</td><td>{t.start:.1f}–{t.end:.1f} s</td>"
        f"<td>{t.frames}</td><td>{t.presence:.0%}</td><td>{html.escape(t.label)}</td></tr>" for t in result.tracks)
    tracks = (f"<table><tr><th>track</th><th>seen</th><th>frames</th><th>presence</th><th>expression</th></tr>{tracks}"
              "</table>") if result.tracks else "<p class=status>No face was found.</p>"
    rows = "".join(
        f"<tr><td>{w.start:.1f}–{w.end:.1f}</td><td>{_cell(w.face)}</td><td>{_cell(w.voice)}</td>"
        f"<td>{html.escape(w.label or '–')}</td></tr>" for w in result.timeline)
    label = html.escape(result.label or "nothing to read (no face, no speech)")
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>avemotion: {name}</title><style>{CSS}</style></head><body>
<h1>{name}</h1>
<p class=big id=label>{label}</p>
<p class=status>face: {html.escape(result.status['face'])} · voice: {html.escape(result.status['voice'])} ·
{result.duration:.1f} s · faces sampled at {result.config['fps']:g}/s · windows of {result.config['window']:g} s ·
fusion: {html.escape(result.config['fusion'])}</p>
<h2>Summary</h2>{summary}
<h2>Timeline</h2>{img}
{video}
<h2>Faces</h2>{tracks}
<h2>Windows</h2><table id=windows><tr><th>time (s)</th><th>face</th><th>voice</th><th>fused</th></tr>{rows}</table>
<p><a href='result.json'>result.json</a> · <a href='timeline.csv'>timeline.csv</a></p>
<p><small>avemotion {__version__}; models: face {html.escape(result.models['face'])}, voice
{html.escape(result.models['voice'])}, detector {html.escape(result.models['detector'])}. Model accuracy is in the
models' cards; expressions and voices are not feelings, and the models were trained on acted or posed data.</small></p>
</body></html>
"""


def _cell(lane) -> str:
    if not lane.probabilities:
        return f"<span class=na>{html.escape(lane.status)}</span>"
    lab = top_label(lane.probabilities)
    return f"{html.escape(lab)} {lane.probabilities[lab]:.2f}"
