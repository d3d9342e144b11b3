"""Analyse a video: faces over time, the voice over time, fused into one timeline and a summary.

The steps, each its own module::

    media.iter_frames (PyAV, sampled at cfg.fps, decoded in a background thread)
        → face.FaceAnalyzer (detect + classify, frames batched) → face.track.IoUTracker
    media.load_audio (the audio track, 16 kHz mono) → speech.SpeechAnalyzer (VAD segments)
        → timeline windows: face lane (main subject), voice lane, fused (fusion.py)
        → AnalysisResult (dataclasses; ``to_dict`` is result.json, ``to_dataframe`` the timeline)

A modality that is not there is reported as such, never as an emotion: ``"missing"`` (the file
has no video or no audio track), ``"no face"`` / ``"no speech"`` (the track is there but holds
nothing to read). An audio file, a video without audio and a still image all work.

Usage::

    import avemotion
    r = avemotion.analyze("talk.mp4")
    r.summary["fused"], r.to_dataframe()
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .affect import SOURCE as AFFECT_SOURCE
from .affect import valence_arousal
from .errors import MediaError
from .face.analyzer import Face, FaceOptions
from .face.track import IoUTracker, smooth_over_time
from .fusion import FUSION_RULES, FusionOptions, ModalityInput, fuse_timeline
from .media import MediaInfo, audio_stream_index, iter_frames, probe
from .options import OPTIONS, declare
from .speech.analyzer import SpeechOptions
from .taxonomy import as_dict, top_label

SCHEMA_VERSION = "1.1"  # 1.1: valence and arousal (derived) beside the distributions


# The analysis options (:mod:`avemotion.options`): each analyser's, declared once on its options
# dataclass. Their flat names are those of the command line, the server form, ``analyze(path,
# **options)`` and result.json's ``config``.
declare("face", FaceOptions)
declare("speech", SpeechOptions)
declare("fusion", FusionOptions)


@dataclass
class AnalyzeConfig:
    """How a file is analysed: one options dataclass per analyser (each default written there once),
    and the values of options registered from outside (:func:`avemotion.options.register_option`).

    ``AnalyzeConfig.of(fps=2, window=2.0)`` builds one from the flat names of
    :data:`avemotion.options.OPTIONS`; :meth:`flat` gives them back.
    """

    face: FaceOptions = field(default_factory=FaceOptions)
    speech: SpeechOptions = field(default_factory=SpeechOptions)
    fusion: FusionOptions = field(default_factory=FusionOptions)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, *, local: bool = True, **options: Any) -> AnalyzeConfig:
        """From flat option names (``fps``, ``window``, ``fusion``, ``weights``, ``detector``, ...), each
        checked by its declaration; ``None`` means the default. ``local=False`` (the server) refuses
        file paths for models and weights."""
        from .errors import OptionError

        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise OptionError(f"unknown option {unknown[0]!r}; options are {', '.join(OPTIONS)}")
        parts: dict[str, dict] = {"face": {}, "speech": {}, "fusion": {}, "extra": {}}
        for name, opt in OPTIONS.items():
            value = options.get(name)
            if value is not None:
                parts[opt.part][opt.key] = opt.check(value, local=local)
            elif opt.part == "extra":
                parts["extra"][opt.key] = opt.default
        return cls(
            FaceOptions(**parts["face"]),
            SpeechOptions(**parts["speech"]),
            FusionOptions(**parts["fusion"]),
            parts["extra"],
        )

    def flat(self) -> dict:
        """The flat options (result.json's ``config``)."""
        return {
            name: _plain(
                self.extra.get(opt.key, opt.default)
                if opt.part == "extra"
                else getattr(getattr(self, opt.part), opt.key)
            )
            for name, opt in OPTIONS.items()
        }


def _plain(value):
    return dict(value) if isinstance(value, dict) else value


@dataclass
class Lane:
    """One modality in one window: its distribution, how much of the window it saw, and why not."""

    probabilities: dict[str, float] | None
    coverage: float
    status: str  # "ok", "no face", "no speech" or "missing"


@dataclass
class Window:
    """A stretch of the timeline with the face, voice and fused distributions."""

    start: float
    end: float
    face: Lane
    voice: Lane
    fused: dict[str, float] | None

    @property
    def label(self) -> str | None:
        return top_label(self.fused)


@dataclass
class FrameFace(Face):
    """A face in one sampled frame, with the track it belongs to."""

    track: int = -1


@dataclass
class FrameResult:
    time: float
    faces: list[FrameFace]


@dataclass
class TrackSummary:
    """One face followed through the video."""

    id: int
    start: float
    end: float
    frames: int
    presence: float  # share of the sampled frames it is in
    probabilities: dict[str, float]

    @property
    def label(self) -> str | None:
        return top_label(self.probabilities)


@dataclass
class AnalysisResult:
    """Everything ``avemotion analyze`` found in one file; ``to_dict()`` is ``result.json``."""

    path: str
    media: dict
    duration: float
    summary: dict[str, dict[str, float] | None]  # fused, face, voice
    status: dict[str, str]  # face, voice: ok / no face / no speech / missing
    timeline: list[Window]
    tracks: list[TrackSummary]
    main_track: int | None
    frames: list[FrameResult]
    speech_segments: list[dict]
    config: dict
    models: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the user should know: decoding stopped early...

    @property
    def label(self) -> str | None:
        """The fused emotion of the whole file (None when neither face nor voice had anything)."""
        return top_label(self.summary.get("fused"))

    @property
    def fused_labels(self) -> list[str]:
        """The fused label set, as the fusion that made this result carried it in ``models``."""
        if self.models.get("fused_labels"):
            return list(self.models["fused_labels"])
        return next((list(w.fused) for w in self.timeline if w.fused), [])  # older results: the keys

    @property
    def all_labels(self) -> list[str]:
        """Fused, face and voice labels in that order, each once (the summary table's rows)."""
        out: list[str] = []
        for lab in (
            self.fused_labels + list(self.models.get("face_labels", [])) + list(self.models.get("voice_labels", []))
        ):
            if lab not in out:
                out.append(lab)
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        d = {"schema": "avemotion.analysis", "schema_version": SCHEMA_VERSION, "avemotion": __version__, **d}
        d["label"] = self.label
        d["affect"] = {lane: valence_arousal(self.summary.get(lane)) for lane in ("face", "voice", "fused")}
        d["affect"]["derived"] = AFFECT_SOURCE
        for w, wd in zip(self.timeline, d["timeline"], strict=True):
            wd["label"] = w.label
            wd["affect"] = _window_affect(w)
        for t, td in zip(self.tracks, d["tracks"], strict=True):
            td["label"] = t.label
        return d

    def timeline_rows(self) -> list[dict]:
        """The timeline as rows (timeline.csv): a row per window, a column per emotion per lane."""
        rows = []
        for w in self.timeline:
            row: dict = {"start": w.start, "end": w.end}
            for lane_name, lane in (("face", w.face), ("voice", w.voice)):
                row[f"{lane_name}_status"] = lane.status
                row[f"{lane_name}_coverage"] = lane.coverage
                for lab in self.models[f"{lane_name}_labels"]:
                    row[f"{lane_name}_{lab}"] = lane.probabilities.get(lab) if lane.probabilities else None
            for lab in self.fused_labels:
                row[f"fused_{lab}"] = w.fused.get(lab) if w.fused else None
            row["fused_label"] = w.label
            for lane_name, va in _window_affect(w).items():  # derived, see avemotion.affect
                row[f"valence_{lane_name}"] = va["valence"] if va else None
                row[f"arousal_{lane_name}"] = va["arousal"] if va else None
            rows.append(row)
        return rows

    def to_dataframe(self):
        """The timeline as a pandas DataFrame (the ``dataframe`` extra: ``pip install 'avemotion[dataframe]'``)."""
        from .errors import require

        pd = require("pandas", "dataframe", "AnalysisResult.to_dataframe")
        return pd.DataFrame(self.timeline_rows())


# ---------------------------------------------------------------------------------------------


def prefetch(items: Iterator, size: int = 8) -> Iterator:
    """Run an iterator in a background thread, ``size`` items ahead (decoding overlaps inference).

    PyAV and onnxruntime release the GIL, so on two cores the decoder and the models run at
    once. An exception in the producer is raised in the consumer.
    """
    q: queue.Queue = queue.Queue(maxsize=size)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(item)
        except BaseException as exc:  # handed to the consumer, raised there
            q.put(exc)
        finally:
            q.put(done)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # drain so the producer can finish
            try:
                q.get(timeout=0.1)
            except queue.Empty:
                pass


#: A video's sampled frames are kept for annotated.mp4 while they take at most this many bytes
#: (about 90 frames of 960x540: an 18-s clip at 5 frames/s); longer videos are decoded again.
KEEP_FRAMES_BYTES = 150_000_000


class VideoAnalyzer:
    """Load the face and speech models once; :meth:`analyze` any video, audio file or image."""

    def __init__(self, config: AnalyzeConfig | None = None, *, faces=None, speech=None) -> None:
        """``faces``/``speech``: already loaded analysers to share (the server's jobs do); they
        must match ``config`` (see :meth:`sharing`)."""
        from .face.analyzer import FaceAnalyzer
        from .speech import SpeechAnalyzer

        self.config = config or AnalyzeConfig()
        c = self.config
        self.faces = faces or FaceAnalyzer.from_options(c.face)
        self.speech = speech or SpeechAnalyzer.from_options(c.speech)

    def sharing(self, config: AnalyzeConfig) -> VideoAnalyzer:
        """An analyser for ``config`` that reuses this one's loaded models wherever they fit."""
        if config == self.config:
            return self
        face_keys = ("model", "detector", "min_score", "max_faces", "tta", "tiles", "align")
        same_face = all(getattr(config.face, k) == getattr(self.config.face, k) for k in face_keys)
        same_voice = config.speech == self.config.speech
        return VideoAnalyzer(
            config, faces=self.faces if same_face else None, speech=self.speech if same_voice else None
        )

    # -- the two lanes -------------------------------------------------------------------------

    def _face_pass(
        self, path: Path, info: MediaInfo, progress=None, keep: bool = False, notes: list[str] | None = None
    ) -> tuple[list[FrameResult], IoUTracker, list | None]:
        """Faces of the sampled frames, tracked and smoothed; and the frames themselves while few."""
        c = self.config
        tracker = IoUTracker(max_gap=max(1.0, 2.5 / c.face.fps))
        frames: list[FrameResult] = []
        notes = [] if notes is None else notes
        if not info.has_video:
            return frames, tracker, None
        batch: list = []
        kept: list | None = [] if keep else None  # the sampled frames, for annotated.mp4, while they are few
        budget = KEEP_FRAMES_BYTES

        def flush() -> None:
            for fr, faces in zip(batch, self.faces.analyze_batch([f.image for f in batch]), strict=True):
                probs = [np.array([f.probabilities[lab] for lab in self.faces.labels]) for f in faces]
                ids = tracker.update(fr.time, [f.box for f in faces], probs)
                frames.append(
                    FrameResult(
                        round(fr.time, 3),
                        [
                            FrameFace(tuple(f.box), round(f.score, 4), f.probabilities, track=i)
                            for i, f in zip(ids, faces, strict=True)
                        ],
                    )
                )
            if progress is not None and batch and info.duration:
                progress(min(0.85, 0.85 * batch[-1].time / info.duration))
            batch.clear()

        def stopped(t: float, reason: str) -> None:
            notes.append(
                f"video decoding stopped early at {t:g} s of {info.duration or 0:g} s ({reason}): "
                "later frames were not analysed"
            )

        for frame in prefetch(iter_frames(path, fps=c.face.fps, max_side=c.face.max_side, on_early_stop=stopped)):
            batch.append(frame)
            if kept is not None:
                budget -= frame.image.nbytes
                if budget >= 0:
                    kept.append((frame.time, frame.image))
                else:
                    kept = None
            if len(batch) == 4:
                flush()
        flush()
        self._smooth_tracks(frames, tracker)
        return frames, tracker, kept

    def _smooth_tracks(self, frames: list[FrameResult], tracker: IoUTracker) -> None:
        """Replace every face's distribution by its track's smoothed one (:func:`smooth_over_time`)."""
        sigma = self.config.face.smoothing
        if sigma <= 0:
            return
        labels = self.faces.labels
        by_track: dict[int, list[FrameFace]] = {}
        for fr in frames:
            for f in fr.faces:
                by_track.setdefault(f.track, []).append(f)
        for track in tracker.tracks:
            faces = by_track.get(track.id, [])
            smooth = smooth_over_time(np.array(track.times), np.stack(track.probabilities), sigma)
            track.probabilities = list(smooth)
            for f, p in zip(faces, smooth, strict=True):
                f.probabilities = as_dict(p, labels)

    def _timed_voice_pass(self, path: Path, info: MediaInfo):
        t0 = time.perf_counter()
        speech, problem = self._voice_pass(path, info)
        return speech, time.perf_counter() - t0, problem

    def _voice_pass(self, path: Path, info: MediaInfo):
        """(SpeechResult or None, why the audio track could not be read or None).

        An audio file whose audio cannot be decoded is an unreadable file (raised, as ``speech`` says);
        in a video the track counts as missing and the result's notes say why.
        """
        if not info.has_audio:
            return None, None
        try:  # a long track is streamed (SpeechAnalyzer.analyze_file): memory does not grow with it
            return self.speech.analyze_file(path), None
        except MediaError as exc:
            if not info.has_video:
                raise
            return None, f"audio track cannot be decoded ({exc.reason}): the voice counts as missing"

    # -- the whole file ------------------------------------------------------------------------

    def analyze(self, path: str | os.PathLike[str], progress=None, keep_frames: bool = False) -> AnalysisResult:
        """Analyse one file; raises :class:`~avemotion.errors.MediaError` (one line) if unreadable.

        ``progress``, if given, is called with the fraction done (0..1) as the work goes on.
        ``keep_frames`` keeps a short video's sampled frames on the result (``sampled_frames``,
        never in result.json) so annotated.mp4 is drawn without decoding the file again; whoever
        asks for them drops them once the video is written.
        """
        c = self.config
        p = Path(path)
        info = probe(p)
        t0 = time.perf_counter()
        # The voice runs in a second thread beside the faces: decoding, onnxruntime and numpy's
        # FFTs release the GIL, so on two cores a short clip's voice costs almost no wall time.
        with ThreadPoolExecutor(1, thread_name_prefix="avemotion-voice") as pool:
            voice = pool.submit(self._timed_voice_pass, p, info)
            notes: list[str] = []
            frames, tracker, kept = self._face_pass(p, info, progress, keep_frames, notes)
            t1 = time.perf_counter()
            speech, voice_s, voice_problem = voice.result()
        if progress is not None:
            progress(0.95)
        if info.has_video and not frames:
            raise MediaError("video track holds no frames", p)
        last_frame = frames[-1].time + 1.0 / c.face.fps if frames else 0.0
        duration = max(info.duration or 0.0, last_frame, speech.duration if speech else 0.0)
        main = tracker.main_track()
        timeline = self._timeline(duration, frames, main.id if main else None, speech, info)
        tracks = self._track_summaries(tracker, len(frames))
        face_summary = tracks[main.id].probabilities if main else None
        voice_summary = speech.probabilities if speech else None
        fused = _fused_summary(
            c.fusion,
            timeline,
            ModalityInput(face_summary, tracks[main.id].presence if main else 0.0),
            ModalityInput(voice_summary, _speech_share(speech, duration)),
        )
        status = {
            "face": "missing" if not info.has_video else ("ok" if main else "no face"),
            "voice": "missing" if speech is None else ("ok" if speech.has_speech else "no speech"),
        }
        result = AnalysisResult(
            path=str(p),
            media=asdict(info),
            duration=round(duration, 3),
            summary={"fused": fused, "face": face_summary, "voice": voice_summary},
            status=status,
            timeline=timeline,
            tracks=tracks,
            main_track=main.id if main else None,
            frames=frames,
            speech_segments=[asdict(s) for s in speech.segments] if speech else [],
            config=c.flat(),
            models={
                "face": self.faces.classifier.bundle.name,
                "voice": speech.model if speech else self.speech.bundle.name,
                "detector": c.face.detector,
                "face_labels": list(self.faces.labels),
                "fused_labels": list(c.fusion.labels),
                "voice_labels": list(self.speech.labels),
            },
            timings={
                "faces_s": round(t1 - t0, 3),
                "voice_s": round(voice_s, 3),
                "total_s": round(time.perf_counter() - t0, 3),
            },
            notes=notes + _voice_notes(p, info, speech, voice_problem),
        )
        # Not a field (never in result.json): the analysed frames of a short video, so that
        # annotated.mp4 is drawn without decoding the file a second time.
        result.sampled_frames = kept  # type: ignore[attr-defined]
        return result

    def _track_summaries(self, tracker: IoUTracker, n_frames: int) -> list[TrackSummary]:
        """Each face track: when it was seen, on what share of the frames, its mean distribution."""
        return [
            TrackSummary(
                t.id,
                round(t.start, 3),
                round(t.end, 3),
                len(t.times),
                round(len(t.times) / max(1, n_frames), 4),
                as_dict(np.mean(t.probabilities, axis=0), self.faces.labels),
            )
            for t in tracker.tracks
        ]

    def _timeline(
        self, duration: float, frames: list[FrameResult], main: int | None, speech, info: MediaInfo
    ) -> list[Window]:
        c = self.config
        fusion, fcfg = FUSION_RULES[c.fusion.rule], c.fusion
        n = max(1, int(np.ceil(duration / fcfg.window - 1e-9)))
        times = np.array([f.time for f in frames])
        lanes = []
        for k in range(n):
            start = k * fcfg.window
            end = min((k + 1) * fcfg.window, duration) if duration > 0 else fcfg.window
            lanes.append(
                (
                    start,
                    end,
                    self._face_lane(frames, times, main, start, end, info),
                    self._voice_lane(speech, start, end),
                )
            )
        fused = fuse_timeline(
            fusion,
            [
                {
                    "face": ModalityInput(face.probabilities, face.coverage),
                    "voice": ModalityInput(voice.probabilities, voice.coverage),
                }
                for _, _, face, voice in lanes
            ],
            fcfg,
        )
        return [
            Window(round(start, 3), round(end, 3), face, voice, f)
            for (start, end, face, voice), f in zip(lanes, fused, strict=True)
        ]

    def _face_lane(self, frames, times, main, start, end, info) -> Lane:
        if not info.has_video:
            return Lane(None, 0.0, "missing")
        idx = np.flatnonzero((times >= start - 1e-6) & (times < end - 1e-6))
        got = [f for i in idx for f in frames[i].faces if f.track == main]
        if not len(idx) or not got:
            return Lane(None, 0.0, "no face")
        mean = np.mean([[f.probabilities[lab] for lab in self.faces.labels] for f in got], axis=0)
        return Lane(as_dict(mean, self.faces.labels), round(len(got) / len(idx), 3), "ok")

    def _voice_lane(self, speech, start, end) -> Lane:
        if speech is None:
            return Lane(None, 0.0, "missing")
        parts, weights = [], []
        for s in speech.segments:
            overlap = min(end, s.end) - max(start, s.start)
            if overlap > 1e-3:
                parts.append([s.probabilities[lab] for lab in self.speech.labels])
                weights.append(overlap)
        if not parts:
            return Lane(None, 0.0, "no speech")
        mean = np.average(parts, axis=0, weights=weights)
        return Lane(as_dict(mean, self.speech.labels), round(min(1.0, sum(weights) / (end - start)), 3), "ok")


_DEFAULT: dict[str, VideoAnalyzer] = {}


def _window_affect(w: Window) -> dict[str, dict[str, float] | None]:
    """A window's derived valence and arousal, per lane and fused (:mod:`avemotion.affect`)."""
    return {
        "face": valence_arousal(w.face.probabilities),
        "voice": valence_arousal(w.voice.probabilities),
        "fused": valence_arousal(w.fused),
    }


def _fused_summary(
    options: FusionOptions, timeline: list[Window], face: ModalityInput, voice: ModalityInput
) -> dict[str, float] | None:
    """The file's fused distribution: the rule applied once to the file's two lane summaries.

    The face lane is the main track's mean distribution, observed on its share of the sampled
    frames; the voice lane is the speech's distribution, observed on its share of the file. This is
    the computation ``avemotion evaluate fusion`` scores on pairs (one face and one voice
    distribution), so its table describes this summary; the windows keep their own fusions. A rule
    over time (``over_time``) reads a sequence, not one file-long window: its windows' fused
    distributions are averaged, weighted by length.
    """
    rule = FUSION_RULES[options.rule]
    if getattr(rule, "over_time", False):
        return _windows_mean(timeline, options.labels)
    return fuse_timeline(rule, [{"face": face, "voice": voice}], options)[0]


def _windows_mean(timeline: list[Window], labels: tuple[str, ...]) -> dict[str, float] | None:
    """The windows' fused distributions averaged, weighted by length (None: no window has one)."""
    fused_windows = [(w.fused, w.end - w.start) for w in timeline if w.fused]
    if not fused_windows:
        return None
    mean = np.average(
        [[d[lab] for lab in labels] for d, _ in fused_windows], axis=0, weights=[wt for _, wt in fused_windows]
    )
    return as_dict(mean / mean.sum(), list(labels))


def _speech_share(speech, duration: float) -> float:
    """The share of the file the voice lane heard: its speech segments' total length over the duration."""
    if speech is None or duration <= 0:
        return 0.0
    return round(min(1.0, sum(s.end - s.start for s in speech.segments) / duration), 4)


def _voice_notes(path: Path, info: MediaInfo, speech, problem: str | None) -> list[str]:
    """What result.json's notes say of the voice: a decoding problem, which audio track, adaptation."""
    notes = [problem] if problem else []
    if speech and info.audio_streams > 1:
        notes.append(
            f"the file has {info.audio_streams} audio tracks: track {audio_stream_index(path) + 1}, "
            "the one with the most sound, was analysed"
        )
    if speech and speech.adaptation:
        notes.append(f"voice: speaker adaptation {speech.adaptation} ({speech.model})")
    return notes


def analyze(path: str | os.PathLike[str], config: AnalyzeConfig | None = None, **options) -> AnalysisResult:
    """Analyse one file with the shipped models (loaded once per configuration and kept).

    ``options`` are flat option names (:data:`avemotion.options.OPTIONS`), e.g. ``analyze("a.mp4", fps=2, window=2.0)``.
    """
    cfg = config or AnalyzeConfig.of(**options)
    key = repr(cfg)
    if key not in _DEFAULT:
        _DEFAULT.clear()
        _DEFAULT[key] = VideoAnalyzer(cfg)
    return _DEFAULT[key].analyze(path)
