"""SpeechAnalyzer: the voice half of avemotion, on files or on signals already in memory.

Load once, call many times::

    from avemotion import SpeechAnalyzer
    sa = SpeechAnalyzer()                    # the shipped default model
    result = sa.analyze_file("talk.wav")     # or a video: its audio track is used
    result.probabilities                     # {"angry": 0.02, ..., "calm": 0.31} or None
    result.segments                          # per speech segment, with start/end in seconds

Voice-activity detection finds the speech first; only speech is classified. A file with no
speech (silence, music) has ``has_speech == False`` and ``probabilities is None``: no speech is
not an emotion.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..bundles import ModelBundle, model_option
from ..errors import AvemotionError
from ..media import SAMPLE_RATE, audio_blocks, block_powers, load_audio, loudness_gain, probe
from ..options import check_fields, option
from ..taxonomy import as_dict, top_label
from .features import INPUT_KINDS, LogMelConfig, speech_inputs
from .vad import VADConfig, VADStream, segments_of, speech_probabilities, speech_segments

DEFAULT_MODEL = "speech"
MIN_FRAMES = 64  # shorter log-mels are tiled to this (as training tiles short clips)


@dataclass
class SpeechSegment:
    """One classified stretch of speech."""

    start: float
    end: float
    probabilities: dict[str, float]

    @property
    def label(self) -> str | None:
        return top_label(self.probabilities)


@dataclass
class SpeechResult:
    """What the voice says about one file or signal."""

    path: str | None
    duration: float
    has_speech: bool
    speech_seconds: float
    probabilities: dict[str, float] | None
    segments: list[SpeechSegment] = field(default_factory=list)
    model: str = ""
    labels: list[str] = field(default_factory=list)
    adapted: bool = False  # the segments were read against each other by the speaker-adapted model
    adaptation: str | None = None  # why the segments were or were not read against each other (when asked to)

    @property
    def label(self) -> str | None:
        """The most probable emotion, or None when there is no speech."""
        return top_label(self.probabilities)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["label"] = self.label
        d["status"] = "ok" if self.has_speech else "no speech"
        return d


@dataclass
class SpeechOptions:
    """How the voice is read: the model, voice-activity detection, the longest segment.

    The speech options' defaults, written once (read by :class:`SpeechAnalyzer`, the video
    pipeline and the command line).
    """

    model: str = model_option("speech", DEFAULT_MODEL)
    vad: bool = True  # find speech first (False: the whole signal is one utterance)
    max_segment: float = 4.0  # s: longer speech is cut into equal pieces, each classified
    # A recording with enough segments of one voice is read by the model's speaker-adapted variant: on
    # request only, since standardising a recording against itself erases an emotion it holds throughout.
    adapt: bool = option(
        False,
        "read the speech segments against each other with the speaker-adapted model, "
        "when they sound like one voice (off by default: a voice that holds one emotion "
        "throughout would be read as neutral)",
        name="voice_adapt",
    )

    #: Accepted ranges (a 1-ms segment would classify noise; ten minutes is the longest read at once).
    RANGES: ClassVar[dict[str, tuple[float, float]]] = {"max_segment": (0.5, 600.0)}

    def __post_init__(self) -> None:
        from ..errors import check_number

        check_fields(self)
        self.max_segment = check_number("max_segment (seconds)", self.max_segment, *self.RANGES["max_segment"])


class SpeechAnalyzer:
    """Classify the emotion in speech with a shipped (or given) ONNX model.

    Parameters
    ----------
    model:
        A shipped model name (``"speech"``, the default; ``"speech_baseline"``, the original system's MLP) or a
        path to an ``.onnx`` file with its card beside it.
    vad:
        Find speech with voice-activity detection first (default). ``False`` classifies the whole
        signal as one utterance (for clips known to be speech).
    max_segment:
        Speech segments longer than this many seconds are cut into equal pieces of at most this
        length, each classified on its own.
    adapt:
        Where the model has a speaker-adapted variant (``NAME_adaptive``, whose card says it adapts
        ``NAME``) and a recording has at least its ``min_segments`` speech segments, read them all
        at once with it: each segment's features are standardised against the recording's own, so
        emotion is heard as a departure from this voice's usual way of speaking (one voice per
        recording is assumed). Fewer segments, or ``False``: each segment on its own.
    threads:
        onnxruntime intra-op threads (None: its default).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = SpeechOptions.model,
        *,
        vad: bool = SpeechOptions.vad,
        max_segment: float = SpeechOptions.max_segment,
        vad_config: VADConfig | None = None,
        adapt: bool = SpeechOptions.adapt,
        threads: int | None = None,
    ) -> None:
        self.bundle = ModelBundle.load(model, threads=threads)
        if self.bundle.card.get("task") != "speech":
            raise AvemotionError(f"model {self.bundle.name!r} is not a speech model", self.bundle.path)
        self.labels = self.bundle.labels
        self.inputs: dict[str, dict] = self.bundle.card.get("inputs") or {}
        unknown = {spec.get("kind") for spec in self.inputs.values()} - set(INPUT_KINDS)
        if not self.inputs or unknown:
            raise AvemotionError(f"model card names no usable inputs ({unknown or 'none'})", self.bundle.path)
        mel = next((spec for spec in self.inputs.values() if spec["kind"] == "logmel"), {})
        self.logmel = LogMelConfig.from_dict(mel)
        self.vad = vad
        self.vad_config = vad_config or VADConfig(min_silence=0.5)
        self.max_segment = SpeechOptions(max_segment=max_segment).max_segment
        self.adaptive = _adaptive_variant(self.bundle, threads) if adapt else None

    @classmethod
    def from_options(cls, options: SpeechOptions, threads: int | None = None) -> SpeechAnalyzer:
        """The analyser that ``options`` describe."""
        return cls(
            options.model, vad=options.vad, max_segment=options.max_segment, adapt=options.adapt, threads=threads
        )

    # -- signals -------------------------------------------------------------------------------

    def features(self, y: np.ndarray) -> dict[str, np.ndarray]:
        """The model's inputs for one stretch of 16 kHz speech, computed as its card says."""
        feats = speech_inputs(y, [spec["kind"] for spec in self.inputs.values()], self.logmel)
        feeds = {}
        for name, spec in self.inputs.items():
            if spec["kind"] == "logmel":
                m = feats["logmel"]
                if m.shape[1] < MIN_FRAMES:
                    m = np.tile(m, (1, int(np.ceil(MIN_FRAMES / m.shape[1]))))
                feeds[name] = m[None, None]
            else:  # a vector (N=1, dim), or frames (N=1, T, dim)
                feeds[name] = feats[spec["kind"]][None]
        return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in feeds.items()}

    def predict_proba(self, y: np.ndarray) -> np.ndarray:
        """Probabilities over :attr:`labels` for one stretch of 16 kHz speech."""
        return np.asarray(self.bundle.run_feeds(self.features(y))[0], dtype=np.float32)

    def predict(self, y: np.ndarray) -> str:
        """The most probable label for one stretch of 16 kHz speech (scikit-learn's sense of predict)."""
        return self.labels[int(np.argmax(self.predict_proba(y)))]

    def analyze(self, y: np.ndarray, sr: int = SAMPLE_RATE, path: str | None = None) -> SpeechResult:
        """Find speech in a mono signal and classify each segment and the whole."""
        if sr != SAMPLE_RATE:
            from ..media import resample

            y = resample(y, sr, SAMPLE_RATE)
        y = np.asarray(y, dtype=np.float32)
        duration = y.size / SAMPLE_RATE
        if self.vad:
            spans = speech_segments(y, SAMPLE_RATE, self.vad_config, speech_probabilities(y))
        else:
            spans = [(0.0, duration)] if np.any(np.abs(y) > 1e-4) else []
        pieces = [p for s, e in spans for p in _split(s, e, self.max_segment)]
        cut = ((s, e, y[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)]) for s, e in pieces)
        return self._result(path, duration, cut)

    def _result(self, path: str | None, duration: float, pieces) -> SpeechResult:
        """Classify each ``(start, end, signal)`` piece; the whole is their duration-weighted mean."""
        spans, weights, feeds = [], [], []
        for s, e, seg in pieces:
            spans.append((round(s, 3), round(e, 3)))
            weights.append(e - s)
            feeds.append(self.features(seg))
        adapted, adaptation = self._adapt(feeds)
        model = self.adaptive if adapted and self.adaptive is not None else self.bundle
        if model is self.adaptive:  # all segments in one batch: the graph standardises them against each other
            batch = {k: np.concatenate([f[k] for f in feeds]) for k in model.card["inputs"]}  # some of the model's
            probs = list(np.asarray(model.run_feeds(batch), dtype=np.float32))
        else:
            probs = [np.asarray(model.run_feeds(f)[0], dtype=np.float32) for f in feeds]
        segments = [SpeechSegment(s, e, as_dict(p, self.labels)) for (s, e), p in zip(spans, probs, strict=True)]
        speech_seconds = float(sum(weights))
        overall = None
        if probs:
            overall = as_dict(np.average(np.stack(probs), axis=0, weights=weights), self.labels)
        return SpeechResult(
            path,
            round(duration, 3),
            bool(probs),
            round(speech_seconds, 3),
            overall,
            segments,
            model.name,
            list(self.labels),
            adapted,
            adaptation,
        )

    def _adapt(self, feeds: list[dict[str, np.ndarray]]) -> tuple[bool, str | None]:
        """Whether the speaker-adapted variant reads these segments, and why (None when it was not asked for)."""
        if self.adaptive is None:
            return False, None
        need = int(self.adaptive.card["adaptation"]["min_segments"])
        if len(feeds) < need:
            return False, f"not adapted: {len(feeds)} speech segments, fewer than the {need} it needs"
        voice = next((name for name, spec in self.inputs.items() if spec["kind"] == "voice"), None)
        if voice is not None:
            from .voices import check_one_voice

            one, score = check_one_voice(np.concatenate([f[voice] for f in feeds]))
            if not one:
                return False, f"not adapted: the segments sound like more than one voice (one-voice score {score})"
            if score is not None:
                return True, f"adapted: {len(feeds)} segments of one voice (one-voice score {score})"
        return True, f"adapted: {len(feeds)} segments, one voice assumed"

    # -- files ---------------------------------------------------------------------------------

    def analyze_file(self, path: str | os.PathLike[str]) -> SpeechResult:
        """Decode any audio file or a video's audio track and analyse it.

        A file longer than :data:`STREAM_AFTER_S` is streamed instead of decoded whole
        (:meth:`_analyze_stream`): the same steps, with memory that does not grow with its length.
        """
        info = probe(path)
        if self.vad and info.duration and info.duration > STREAM_AFTER_S:
            return self._analyze_stream(Path(path))
        y = load_audio(path)
        return self.analyze(y, SAMPLE_RATE, str(Path(path)))

    def _analyze_stream(self, path: Path) -> SpeechResult:
        """:meth:`analyze` of a long file in three passes over its decoded audio, a block at a time:
        its loudness (the normalising gain), voice activity, then the speech segments' emotion."""
        powers, peak, n = [], 0.0, 0
        for block in audio_blocks(path):
            powers.append(block_powers(block))
            peak = max(peak, float(np.max(np.abs(block))))
            n += block.size
        if n == 0:
            from ..errors import MediaError

            raise MediaError("audio track holds no samples (zero length)", path)
        gain = loudness_gain(np.concatenate(powers), peak)
        duration = n / SAMPLE_RATE

        def probabilities(scale: float) -> np.ndarray:
            vad = VADStream()
            parts = [vad.feed(block * scale) for block in audio_blocks(path)]
            return np.concatenate([*parts, vad.feed(np.zeros(0, np.float32), last=True)])

        p = probabilities(gain)
        spans = segments_of(p, duration, self.vad_config)
        if not spans and self.vad_config.retry_gains and peak > 0:
            p = np.max([p, *(probabilities(gain * g) for g in self.vad_config.retry_gains)], axis=0)
            spans = segments_of(p, duration, self.vad_config)
        pieces = [piece for s, e in spans for piece in _split(s, e, self.max_segment)]
        return self._result(str(path), duration, _cut_stream(audio_blocks(path), pieces, gain))


def _adaptive_variant(bundle: ModelBundle, threads: int | None) -> ModelBundle | None:
    """The shipped speaker-adapted variant of ``bundle`` (``NAME_adaptive``, its card naming ``NAME``
    under ``adaptation.adapts``, the same labels, and inputs that are some of ``bundle``'s), or None."""
    path = bundle.path.with_name(f"{bundle.path.stem}_adaptive.onnx")
    if not path.exists():
        return None
    variant = ModelBundle.load(path, threads=threads)
    card = variant.card
    if (
        card.get("adaptation", {}).get("adapts") != bundle.name
        or card.get("labels") != bundle.card.get("labels")
        or not card.get("inputs")
        or any(spec != (bundle.card.get("inputs") or {}).get(name) for name, spec in card["inputs"].items())
    ):
        return None
    return variant


#: Files whose audio is longer than this are analysed as a stream (:meth:`SpeechAnalyzer._analyze_stream`).
STREAM_AFTER_S = 600.0


def _cut_stream(blocks, pieces: list[tuple[float, float]], gain: float):
    """``(start, end, signal × gain)`` for each of ``pieces`` (in time order), cut from consecutive
    blocks; only the samples from the current piece's start on are held."""
    buffer, offset = np.zeros(0, np.float32), 0  # buffer holds samples [offset, offset + buffer.size)
    blocks = iter(blocks)

    def skip_to(a: int) -> None:
        nonlocal buffer, offset
        drop = min(max(0, a - offset), buffer.size)
        buffer, offset = buffer[drop:], offset + drop

    for s, e in pieces:
        a, b = int(s * SAMPLE_RATE), int(e * SAMPLE_RATE)
        skip_to(a)
        while offset + buffer.size < b:
            block = next(blocks, None)
            if block is None:
                break
            buffer = np.concatenate([buffer, block])
            skip_to(a)
        yield s, e, buffer[a - offset : b - offset] * np.float32(gain)


def _split(start: float, end: float, longest: float) -> list[tuple[float, float]]:
    """Cut [start, end) into equal pieces no longer than ``longest`` seconds."""
    n = max(1, int(np.ceil((end - start) / longest - 1e-9)))
    step = (end - start) / n
    return [(start + i * step, start + (i + 1) * step) for i in range(n)]
