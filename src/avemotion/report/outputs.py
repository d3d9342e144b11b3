"""The files of an analysis: result.json, timeline.csv, timeline.png, annotated.mp4, report.html.

Every file is written to a temporary name and moved into place, and ``result.json`` comes last,
so a folder holding ``result.json`` is complete (batch runs use that to skip finished files).
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic, write_json
from ..taxonomy import top_label

#: annotated.mp4 is drawn at most this many pixels on its longer side (720p).
ANNOTATED_MAX_SIDE = 1280


class OutputSkipped(Exception):
    """Raised by an output writer that cannot make its file for this result (the reason is recorded)."""


@dataclass(frozen=True)
class Output:
    """One kind of output file: its ``--outputs`` name, its file name, and the function writing it.

    ``write(result, path, context)`` writes the file at ``path`` (a temporary name, moved into
    place afterwards); ``context`` holds ``out`` (the folder) and ``media`` (the analysed file).
    It raises :class:`OutputSkipped` when the result has nothing for it (annotated.mp4 of an audio
    file). Outputs are written in registration order, result.json always and last.
    """

    name: str
    filename: str
    write: Callable[[Any, Path, dict], object]
    help: str = ""
    default: bool = True


#: The registry of output kinds, in the order they are written (report.html embeds the PNG and
#: the video, so it comes after them). :func:`register_output` adds one: the CLI's ``--outputs``,
#: the server's ``/v1/options`` and batches read this.
OUTPUTS: dict[str, Output] = {}


def register_output(output: Output) -> Output:
    """Add an output kind (or replace one of the same name)."""
    OUTPUTS[output.name] = output
    return output


def default_outputs() -> tuple[str, ...]:
    return tuple(name for name, o in OUTPUTS.items() if o.default or name == "json")


def parse_outputs(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"json,csv,png"`` (or a list) → the output kinds, checked; None: the default (all)."""
    from ..errors import OptionError

    if text is None:
        return default_outputs()
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    unknown = [n for n in names if n not in OUTPUTS]
    if unknown:
        raise OptionError(f"unknown output {unknown[0]!r}; choose from {','.join(OUTPUTS)}")
    return tuple(k for k in OUTPUTS if k in names or k == "json")


def write_csv(rows: list[dict], path: str | os.PathLike[str]) -> Path:
    """Rows of dicts as CSV with a header (None written as an empty cell), with the standard library."""
    import csv

    columns = list(rows[0]) if rows else ["start", "end"]
    with open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def _writer(output: Output, result: Any, context: dict) -> Callable[[Path], object]:
    """``output``'s writer for ``result``, as :func:`avemotion.files.atomic` calls it (with the temporary path)."""
    return lambda tmp: output.write(result, tmp, context)


def write_outputs(
    result,
    out: Path,
    *,
    annotate: bool = True,
    source: dict | None = None,
    media: str | os.PathLike[str] | None = None,
    outputs: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write the asked-for outputs of ``result`` (an AnalysisResult) into ``out``; result.json last.

    ``outputs``: names from :data:`OUTPUTS` (default: every default one); ``annotate=False`` drops mp4.
    ``media`` is the file to draw annotated.mp4 from when it is not at ``result.path`` (the
    server stores uploads under generated names).
    """
    kinds = set(parse_outputs(outputs))
    if not annotate:
        kinds.discard("mp4")
    out.mkdir(parents=True, exist_ok=True)
    context = {"out": out, "media": media}
    files, skipped = {}, {}
    for name, output in OUTPUTS.items():
        if name not in kinds or name == "json":
            continue
        try:
            files[output.filename] = atomic(out / output.filename, _writer(output, result, context))
        except OutputSkipped as exc:
            if str(exc):
                skipped[output.filename] = str(exc)
    data = result.to_dict()
    if source:
        data["source"] = source
    data["outputs"] = sorted([*files, "result.json"])
    if skipped:
        data["outputs_skipped"] = skipped
    files["result.json"] = write_json(data, out / "result.json", indent=1)
    return files


# ---------------------------------------------------------------------------------------------
# timeline.png


def plot_timeline(result, path: str | os.PathLike[str]) -> Path:
    """timeline.png: :func:`~avemotion.report.draw.draw_timeline` encoded as PNG.

    Drawn with OpenCV (a few milliseconds) rather than matplotlib, whose import alone took about
    3 s of a 6-s analysis; ``benchmarks/startup.py`` measures the command as a whole.
    """
    import cv2

    from .draw import draw_timeline

    ok, buf = cv2.imencode(".png", draw_timeline(result))
    if not ok:
        raise ValueError("the timeline could not be encoded as PNG")
    Path(path).write_bytes(buf.tobytes())
    return Path(path)


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
        # the analysed frames when the analysis kept them (short videos), else decoded again
        kept = getattr(result, "sampled_frames", None)
        frames = (
            kept
            if kept is not None
            else ((f.time, f.image) for f in iter_frames(media, fps=cfg["fps"], max_side=cfg.get("max_side")))
        )
        for i, (t, image) in enumerate(frames):
            img = _at_most(draw_faces(image, by_time.get(round(t, 3), [])), ANNOTATED_MAX_SIDE)
            if img.shape[0] < 16 or img.shape[1] < 16:  # the encoder needs a few pixels: pad tiny images
                import cv2

                img = cv2.copyMakeBorder(
                    img, 0, max(0, 16 - img.shape[0]), 0, max(0, 16 - img.shape[1]), cv2.BORDER_CONSTANT
                )
            if vs is None:
                vs = out.add_stream("libx264", rate=fps)
                vs.width, vs.height = img.shape[1] // 2 * 2, img.shape[0] // 2 * 2
                vs.pix_fmt = "yuv420p"
                vs.options = {"preset": "ultrafast", "crf": "26"}  # a preview: speed over size
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[: vs.height, : vs.width]), format="bgr24")
            vf.pts = i
            out.mux(vs.encode(vf))
            if audio is not None:
                audio.until(t)
        if vs is not None:
            out.mux(vs.encode(None))
        if audio is not None:
            audio.until(None)
    return Path(path)


def _at_most(img: np.ndarray, side: int) -> np.ndarray:
    """``img`` shrunk so its longer side is at most ``side`` (drawn first, so boxes stay in place)."""
    h, w = img.shape[:2]
    if max(h, w) <= side:
        return img
    import cv2

    scale = side / max(h, w)
    return cv2.resize(img, (max(2, int(w * scale)), max(2, int(h * scale))), interpolation=cv2.INTER_AREA)


#: Audio codecs an MP4 holds as they are: their packets are copied, not decoded and encoded again.
_MP4_AUDIO = {"aac", "mp3", "opus", "alac", "ac3", "eac3"}


class _AudioTrack:
    """The source's audio track in ``out``, interleaved with the video.

    Copied packet for packet when MP4 can hold its codec (most camera and phone files: AAC),
    which costs nothing; otherwise decoded and encoded to AAC.
    """

    def __init__(self, src: str, out) -> None:
        import av

        self.av = av
        self.inp: Any = av.open(src)
        from ..media import audio_stream_index

        self.stream_in = self.inp.streams.audio[audio_stream_index(src)]
        self.out, self.written = out, 0
        self.copy = self.stream_in.codec_context.name in _MP4_AUDIO
        if self.copy:
            self.stream = out.add_stream_from_template(self.stream_in)
            self.packets: Any = self.inp.demux(self.stream_in)
            return
        rate = self.stream_in.codec_context.sample_rate or 48000
        self.stream = out.add_stream("aac", rate=rate)
        self.stream.layout = "stereo"
        self.resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        self.frames: Any = self.inp.decode(self.stream_in)
        self.rate = rate

    def until(self, t: float | None) -> None:
        """Write the source audio up to ``t`` seconds (half a second ahead); None: to the end."""
        if self.inp is None:
            return
        av = self.av
        try:
            if self.copy:
                self._copy_until(t)
                return
            while t is None or self.written / self.rate <= t + 0.5:
                frame = next(self.frames)
                for r in self.resampler.resample(frame):
                    r.pts = self.written
                    self.written += r.samples
                    self.out.mux(self.stream.encode(r))
        except (StopIteration, av.FFmpegError):
            self._close()

    def _copy_until(self, t: float | None) -> None:
        base = self.stream_in.time_base
        start = self.stream_in.start_time or 0
        while True:
            packet = next(self.packets)
            if packet.dts is None:  # the demuxer's final empty packet
                continue
            packet.stream = self.stream
            self.out.mux(packet)
            if t is not None and packet.pts is not None and float((packet.pts - start) * base) > t + 0.5:
                return

    def _close(self) -> None:
        if self.inp is None:
            return
        if not self.copy:
            for r in self.resampler.resample(None):
                r.pts = self.written
                self.written += r.samples
                self.out.mux(self.stream.encode(r))
            self.out.mux(self.stream.encode(None))
        self.inp.close()
        self.inp = None
        self.frames = self.packets = iter(())


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
            cells.append(
                f"<td{' class=best' if best else ''}><span class=bar style='width:{v * 100:.0f}%'></span>{v:.3f}</td>"
            )
        rows.append(f"<tr><th>{html.escape(lab)}</th>{''.join(cells)}</tr>")
    return f"<table class=probs><tr><th>emotion</th>{head}</tr>{''.join(rows)}</table>"


CSS = """body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}th{text-align:left}
.probs td{position:relative;min-width:7rem}
.bar{position:absolute;left:0;top:15%;height:70%;background:#cfe3ff;z-index:-1}
.best{font-weight:700}.na{color:#999;text-align:center}.status{color:#555}img,video{max-width:100%}
.big{font-size:1.6rem;font-weight:700}small{color:#666}"""


def report_html(result, out: Path) -> str:
    """One self-contained page: summary, timeline figure (embedded), tracks, the annotated video."""
    from .._version import __version__

    name = html.escape(Path(result.path).name)
    labels = result.all_labels
    summary = _table(
        {"voice": result.summary["voice"], "face": result.summary["face"], "fused": result.summary["fused"]}, labels
    )
    png = out / "timeline.png"
    img = (
        f"<img alt='timeline' src='data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()}'>"
        if png.exists()
        else ""
    )
    video = ""
    mp4 = out / "annotated.mp4"
    if mp4.exists():
        src = (
            f"data:video/mp4;base64,{base64.b64encode(mp4.read_bytes()).decode()}"
            if mp4.stat().st_size < 8_000_000
            else "annotated.mp4"
        )
        video = f"<h2>Annotated video</h2><video controls src='{src}'></video>"
    tracks = "".join(
        f"<tr><td>{t.id}{' (main)' if t.id == result.main_track else ''}</td><td>{t.start:.1f}–{t.end:.1f} s</td>"
        f"<td>{t.frames}</td><td>{t.presence:.0%}</td><td>{html.escape(t.label)}</td></tr>"
        for t in result.tracks
    )
    tracks = (
        (
            f"<table><tr><th>track</th><th>seen</th><th>frames</th><th>presence</th><th>expression</th></tr>{tracks}"
            "</table>"
        )
        if result.tracks
        else "<p class=status>No face was found.</p>"
    )
    rows = "".join(
        f"<tr><td>{w.start:.1f}–{w.end:.1f}</td><td>{_cell(w.face)}</td><td>{_cell(w.voice)}</td>"
        f"<td>{html.escape(w.label or '–')}</td></tr>"
        for w in result.timeline
    )
    label = html.escape(result.label or "nothing to read (no face, no speech)")
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>avemotion: {name}</title><style>{CSS}</style></head><body>
<h1>{name}</h1>
<p class=big id=label>{label}</p>
<p class=status>face: {html.escape(result.status["face"])} · voice: {html.escape(result.status["voice"])} ·
{result.duration:.1f} s · faces sampled at {result.config["fps"]:g}/s · windows of {result.config["window"]:g} s ·
fusion: {html.escape(result.config["fusion"])}</p>
<h2>Summary</h2>{summary}
<h2>Timeline</h2>{img}
{video}
<h2>Faces</h2>{tracks}
<h2>Windows</h2><table id=windows><tr><th>time (s)</th><th>face</th><th>voice</th><th>fused</th></tr>{rows}</table>
<p><a href='result.json'>result.json</a> · <a href='timeline.csv'>timeline.csv</a></p>
<p><small>avemotion {__version__}; models: face {html.escape(result.models["face"])}, voice
{html.escape(result.models["voice"])}, detector {html.escape(result.models["detector"])}. Model accuracy is in the
models' cards; expressions and voices are not feelings, and the models were trained on acted or posed data.</small></p>
</body></html>
"""


def _cell(lane) -> str:
    if not lane.probabilities:
        return f"<span class=na>{html.escape(lane.status)}</span>"
    lab = top_label(lane.probabilities) or ""
    return f"{html.escape(lab)} {lane.probabilities[lab]:.2f}"


# ---------------------------------------------------------------------------------------------
# The built-in outputs


def _annotated(result, path: Path, context: dict) -> None:
    if not result.frames or result.media.get("kind") not in ("video", "image"):
        raise OutputSkipped("")  # nothing to draw on: not worth a note
    import av

    try:
        annotated_video(result, path, context.get("media"))
    except (av.FFmpegError, ValueError, IndexError) as exc:  # an odd frame must not cost the other outputs
        raise OutputSkipped(f"could not be encoded ({type(exc).__name__}: {str(exc)[:120]})") from None


register_output(
    Output(
        "json",
        "result.json",
        lambda r, p, c: None,
        "the whole analysis, schema avemotion.analysis (always written, last)",
    )
)
register_output(
    Output(
        "csv",
        "timeline.csv",
        lambda r, p, c: write_csv(r.timeline_rows(), p),
        "a row per window, a column per emotion per lane",
    )
)
register_output(Output("png", "timeline.png", lambda r, p, c: plot_timeline(r, p), "the timeline as a figure"))
register_output(Output("mp4", "annotated.mp4", _annotated, "the analysed frames with faces and labels, audio kept"))
register_output(
    Output(
        "html",
        "report.html",
        lambda r, p, c: Path(p).write_text(report_html(r, c["out"]), encoding="utf-8", errors="backslashreplace"),
        "one self-contained page",
    )
)
