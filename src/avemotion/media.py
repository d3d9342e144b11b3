"""Reading media: audio to 16 kHz mono float32, video frames at a target rate, still images.

Decoding goes through PyAV (FFmpeg), so any container FFmpeg reads works: mp4, mov, mkv, webm,
avi, mp3, m4a, ogg, flac, wav. Plain audio files take the faster libsndfile path first. Nothing
here holds a whole video in memory: frames are yielded one at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import MediaError

#: The sample rate every speech model in avemotion works at.
SAMPLE_RATE = 16000
#: Extensions treated as still images rather than video.
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"}
AUDIO_EXTENSIONS = {".wav", ".flac", ".mp3", ".ogg", ".oga", ".m4a", ".aac", ".opus", ".wma", ".aiff", ".aif"}
VIDEO_EXTENSIONS = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp"}
MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | AUDIO_EXTENSIONS | VIDEO_EXTENSIONS


@dataclass(frozen=True)
class MediaInfo:
    """What a file holds, from its container header (no decoding)."""

    path: str
    kind: str  # "video", "audio" or "image"
    duration: float | None
    has_video: bool
    has_audio: bool
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    audio_streams: int = 0


def check_file(path: str | os.PathLike[str]) -> Path:
    """Fail with one clear line if ``path`` is missing, a folder, not a regular file, or empty.

    A FIFO, a socket or a device (``/dev/zero``) is refused by name: reading one could block or
    never end, and its size of 0 says nothing about its content.
    """
    import stat

    p = Path(path)
    if not p.exists():
        raise MediaError("no such file", p)
    if p.is_dir():
        raise MediaError("is a folder, not a media file", p)
    mode = p.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise MediaError(f"is {kind}, not a media file: give a file saved on disk", p)
    if p.stat().st_size == 0:
        raise MediaError("file is empty (0 bytes)", p)
    return p


def _open(path: Path):
    import av

    try:  # max_pixels: FFmpeg itself refuses to decode a frame over the budget, even while probing the file
        return av.open(str(path), options={"max_pixels": str(MAX_DECODED_PIXELS)})
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:  # pragma: no branch
        raise MediaError(f"not a readable media file ({_short(exc)})", path) from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:160] or type(exc).__name__


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Describe a media file: kind, duration, streams (reads only the header)."""
    p = check_file(path)
    if p.suffix.lower() in IMAGE_EXTENSIONS:
        return MediaInfo(str(p), "image", None, True, False)
    with _open(p) as container:
        # a stream whose codec FFmpeg does not know (a damaged header) has no codec context: not usable
        vs = [s for s in container.streams.video if s.codec_context is not None and (s.frames != 1 or s.duration)]
        as_ = [s for s in container.streams.audio if s.codec_context is not None]
        duration = float(container.duration / 1_000_000) if container.duration else None
        if not vs and not as_:
            raise MediaError("has neither a video nor an audio stream", p)
        v = vs[0] if vs else None
        a = as_[0] if as_ else None
        fps = float(v.average_rate) if v is not None and v.average_rate else None
        kind = "video" if v is not None else "audio"
        if v is not None and (duration is None or duration == 0) and (v.frames or 0) <= 1:
            kind = "image"
        if v is not None:  # a 16,000² frame is 768 MB: FFmpeg left it undecoded (max_pixels), so it has no size
            check_frame_size(v.codec_context.width, v.codec_context.height, p)
            if not (v.codec_context.width and v.codec_context.height):
                raise MediaError(
                    "video frames too large to decode (over the decoding budget of "
                    f"{MAX_DECODED_PIXELS / 1e6:g} MP) or of no size",
                    p,
                )
        return MediaInfo(
            str(p),
            kind,
            duration,
            v is not None,
            a is not None,
            width=v.codec_context.width if v is not None else None,
            height=v.codec_context.height if v is not None else None,
            fps=fps,
            sample_rate=a.codec_context.sample_rate if a is not None else None,
            channels=a.codec_context.channels if a is not None else None,
            audio_streams=len(as_),
        )


def load_audio(
    path: str | os.PathLike[str], sr: int = SAMPLE_RATE, *, normalize: bool = True, max_seconds: float | None = None
) -> np.ndarray:
    """Decode any audio file or a video's audio track to mono float32 at ``sr`` Hz.

    ``normalize`` applies :func:`normalize_loudness`, so quiet and loud recordings look alike
    to the models. Raises :class:`MediaError` for unreadable files, files without an audio
    track, and tracks with no samples. The same decoder as :func:`audio_blocks`, gathered whole.
    """
    p = check_file(path)
    limit = None if max_seconds is None else int(max_seconds * sr)
    chunks: list[np.ndarray] = []
    got = 0
    for piece in _audio_pieces(p, sr):
        chunks.append(piece)
        got += piece.size
        if limit is not None and got >= limit:
            break
    y = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    y = y[:limit] if limit is not None else y
    if y.size == 0:
        raise MediaError("audio track holds no samples (zero length)", p)
    return normalize_loudness(y) if normalize else y


def resample(y: np.ndarray, orig_sr: int, sr: int) -> np.ndarray:
    """High-quality (soxr) resampling; a no-op when the rates already match."""
    if orig_sr == sr or y.size == 0:
        return np.ascontiguousarray(y, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(y, dtype=np.float32), orig_sr, sr, quality="HQ").astype(np.float32)


def audio_stream_index(path: str | os.PathLike[str], seconds: float = 30.0) -> int:
    """Which audio stream to listen to: the first, unless the file has several, then the one with
    the most sound in its first ``seconds`` (a silent commentary or a muted first track must not
    hide the speech in another). Cached per file."""
    p = Path(path)
    key = (str(p.resolve()), p.stat().st_mtime_ns)
    if key not in _STREAM_CHOICE:
        _STREAM_CHOICE[key] = _loudest_stream(p, seconds)
    return _STREAM_CHOICE[key]


_STREAM_CHOICE: dict[tuple[str, int], int] = {}


def _loudest_stream(p: Path, seconds: float) -> int:
    import av

    with _open(p) as container:
        streams = [s for s in container.streams.audio if s.codec_context is not None]
        if len(streams) < 2:
            return 0
        energy = []
        for stream in streams:
            total, got = 0.0, 0
            try:
                for frame in container.decode(stream):
                    raw = frame.to_ndarray()
                    x = raw.astype(np.float64)
                    if np.issubdtype(raw.dtype, np.integer):
                        x /= np.iinfo(raw.dtype).max
                    total += float(np.sum(x * x))
                    got += frame.samples
                    if got >= seconds * (frame.sample_rate or 16000):
                        break
            except av.FFmpegError:
                pass
            energy.append(total / max(got, 1))
            container.seek(0)
        return int(list(container.streams.audio).index(streams[int(np.argmax(energy))]))


def normalize_loudness(y: np.ndarray, target_dbfs: float = -23.0, gate_dbfs: float = -60.0) -> np.ndarray:
    """Scale a signal so its active (gated) RMS level sits at ``target_dbfs``.

    The level is measured over 50 ms blocks louder than ``gate_dbfs`` (so pauses do not count),
    in the spirit of EBU R128 gating. Silence stays silence: a signal with no block above the
    gate is returned unchanged. The gain is capped so that no sample clips.
    """
    y = np.asarray(y, dtype=np.float32)
    gain = loudness_gain(block_powers(y), float(np.max(np.abs(y))) if y.size else 0.0, target_dbfs, gate_dbfs)
    return y if gain == 1.0 else (y * gain).astype(np.float32)


LOUDNESS_BLOCK = 800  # 50 ms at 16 kHz; fine at other rates too, it only sets the gate resolution


def block_powers(y: np.ndarray) -> np.ndarray:
    """Mean power of each whole 50-ms block of ``y`` (the whole signal if shorter than one)."""
    if y.size == 0:
        return np.zeros(0)
    n = y.size // LOUDNESS_BLOCK
    blocks = y[None, :] if n == 0 else y[: n * LOUDNESS_BLOCK].reshape(n, LOUDNESS_BLOCK)
    return np.einsum("ij,ij->i", blocks, blocks, dtype=np.float64) / blocks.shape[1]


def loudness_gain(powers: np.ndarray, peak: float, target_dbfs: float = -23.0, gate_dbfs: float = -60.0) -> float:
    """The gain :func:`normalize_loudness` applies, from the blocks' powers and the signal's peak
    (so a long file can be measured block by block, never whole)."""
    active = powers[powers > 10 ** (gate_dbfs / 10)]
    if active.size == 0:
        return 1.0
    gain = 10 ** ((target_dbfs - 10 * np.log10(active.mean())) / 20)
    return float(min(gain, 0.99 / (peak or 1.0)))


def audio_blocks(path: str | os.PathLike[str], seconds: float = 60.0, sr: int = SAMPLE_RATE) -> Iterator[np.ndarray]:
    """The audio track as consecutive mono float32 blocks at ``sr`` Hz, about ``seconds`` long,
    decoded and resampled as it streams: memory does not grow with the file's duration."""
    p = check_file(path)
    size = max(1, int(seconds * sr))
    pending: list[np.ndarray] = []
    held = 0
    for piece in _audio_pieces(p, sr):
        pending.append(piece)
        held += piece.size
        while held >= size:
            joined = np.concatenate(pending)
            yield joined[:size]
            pending, held = [joined[size:]], joined.size - size
    if held:
        yield np.concatenate(pending)


def _audio_pieces(p: Path, sr: int) -> Iterator[np.ndarray]:
    """Mono float32 pieces at ``sr``, straight from the decoder (soundfile where it reads the file)."""
    if p.suffix.lower() in {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif"}:
        import soundfile as sf
        import soxr

        yielded = False
        try:
            with sf.SoundFile(str(p)) as f:
                stream = (
                    None
                    if f.samplerate == sr
                    else soxr.ResampleStream(f.samplerate, sr, 1, dtype="float32", quality="HQ")
                )
                while True:
                    data = f.read(frames=f.samplerate * 10, dtype="float32", always_2d=True)
                    last = data.shape[0] < f.samplerate * 10
                    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
                    out = mono if stream is None else stream.resample_chunk(mono, last=last)
                    if out.size:
                        yielded = True
                        yield np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
                    if last:
                        return
        except (sf.LibsndfileError, RuntimeError, TypeError):
            if yielded:  # damage part-way: what came before it stands
                return
            # else let FFmpeg try: it reads more variants and words its errors
    import av

    with _open(p) as container:
        if not container.streams.audio:
            raise MediaError("has no audio track", p)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        decoded = False
        try:
            for frame in container.decode(container.streams.audio[audio_stream_index(p)]):
                for out in resampler.resample(frame):
                    decoded = True
                    yield np.nan_to_num(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                yield np.nan_to_num(out.to_ndarray().reshape(-1))
        except av.FFmpegError as exc:  # damage part-way: what came before it stands
            if not decoded:
                raise MediaError(f"audio track cannot be decoded ({_short(exc)})", p) from None


@dataclass(frozen=True)
class Frame:
    """One decoded video frame: its time in seconds and its pixels (BGR, uint8, HxWx3)."""

    index: int
    time: float
    image: np.ndarray


def iter_frames(
    path: str | os.PathLike[str], fps: float | None, *, max_side: int | None = None, on_early_stop=None
) -> Iterator[Frame]:
    """Yield frames of a video at about ``fps`` frames a second (None: every frame).

    Frames are picked by their presentation time, so variable-frame-rate files sample evenly.
    ``max_side`` shrinks frames whose longer side is larger (detection does not need 4K).
    Only one frame is held at a time. A file that stops decoding part-way (damaged or cut short)
    yields the frames before the damage and calls ``on_early_stop(seconds, reason)``.
    """
    p = check_file(path)
    if p.suffix.lower() in IMAGE_EXTENSIONS:
        image = read_image(p)
        size = _fit(image.shape[1], image.shape[0], max_side)
        if size:
            import cv2

            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        yield Frame(0, 0.0, image)
        return
    import av

    with _open(p) as container:
        if not container.streams.video:
            raise MediaError("has no video track", p)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        step = None if not fps else 1.0 / fps
        next_t = 0.0
        index = 0
        base = stream.time_base or Fraction(1, 1000)
        start = float(stream.start_time * base) if stream.start_time is not None else 0.0
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        decoded = -1
        try:
            for frame in container.decode(stream):
                decoded += 1
                # Without timestamps (some AVI files), the frame's place in the stream gives its time.
                t = float(frame.pts * base) - start if frame.pts is not None else decoded / rate
                if step is not None and t + 1e-6 < next_t:
                    continue
                image = _frame_to_bgr(frame, max_side)
                yield Frame(index, max(t, 0.0), image)
                index += 1
                if step is not None:
                    next_t = (int(max(t, 0.0) / step + 1e-6) + 1) * step
        except av.FFmpegError as exc:
            if index == 0:
                raise MediaError(f"video track cannot be decoded ({_short(exc)})", p) from None
            if on_early_stop is not None:
                on_early_stop(round(max(t, 0.0), 3) if decoded >= 0 else 0.0, _short(exc))
            return
        # FFmpeg mostly ends quietly where a file is cut or damaged: compare with the declared length
        declared = (
            float(stream.duration * base)
            if stream.duration
            else (float(container.duration / 1_000_000) if container.duration and not container.streams.audio else None)
        )
        if on_early_stop is not None and declared and decoded >= 0 and t < declared - max(1.0, 3.0 / rate):
            on_early_stop(round(max(t, 0.0), 3), "the file ends before its declared length")


def _fit(w: int, h: int, max_side: int | None) -> tuple[int, int] | None:
    """(width, height), even, with the longer side ``max_side``; None when no shrinking is needed."""
    if not max_side or max(w, h) <= max_side:
        return None
    scale = max_side / max(w, h)
    return max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)


def _frame_to_bgr(frame, max_side: int | None) -> np.ndarray:
    """The frame as BGR, shrunk to ``max_side`` and turned upright.

    Phones store a portrait video as landscape frames plus a display matrix saying how to turn
    them; players apply it, so must we (a face on its side is not found).
    """
    size = _fit(frame.width, frame.height, max_side)
    if size:
        image = frame.reformat(width=size[0], height=size[1], format="bgr24").to_ndarray()
    else:
        image = frame.to_ndarray(format="bgr24")
    turn = int(round((getattr(frame, "rotation", 0) or 0) / 90.0)) % 4  # counterclockwise quarter turns
    return np.ascontiguousarray(np.rot90(image, turn)) if turn else image


#: The most pixels one decoded image or video frame may hold: the memory budget of a decode (40 MP is
#: 120 MB as 8-bit BGR, before any conversion). A larger JPEG is decoded at 1/2, 1/4 or 1/8 of its
#: size, which libjpeg does without ever holding the full image; any other image, and a video whose
#: frames are larger, is refused with its size named. Applied to files, uploads, live frames and
#: video frames alike (:func:`decode_image`, :func:`check_frame_size`).
MAX_DECODED_PIXELS = 40_000_000


def image_header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG, GIF, BMP or WebP, without decoding; None if unknown."""
    import struct

    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            return struct.unpack(">II", data[16:24])
        if data[:4] in (b"GIF8",):
            return struct.unpack("<HH", data[6:10])
        if data[:2] == b"BM":
            w, h = struct.unpack("<ii", data[18:26])
            return w, abs(h)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            chunk = data[12:16]
            if chunk == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                return w & 0x3FFF, h & 0x3FFF
            if chunk == b"VP8L":
                b = int.from_bytes(data[21:25], "little")
                return 1 + (b & 0x3FFF), 1 + ((b >> 14) & 0x3FFF)
            if chunk == b"VP8X":
                return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
            return None
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    return None
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                    i += 2
                    continue
                length = int.from_bytes(data[i + 2 : i + 4], "big")
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                    return w, h
                i += 2 + length
    except struct.error:
        return None
    return None


def _over_budget(w: int, h: int, what: str, source) -> MediaError:
    return MediaError(
        f"{what} too large to decode: {w}x{h} ({w * h / 1e6:.0f} MP), over the decoding budget of "
        f"{MAX_DECODED_PIXELS / 1e6:g} MP",
        source,
    )


def check_frame_size(width: int | None, height: int | None, source) -> None:
    """Refuse a video whose frames would each be larger than :data:`MAX_DECODED_PIXELS` once decoded."""
    if width and height and width * height > MAX_DECODED_PIXELS:
        raise _over_budget(width, height, "video frames", source)


def decode_image(data: np.ndarray, source=None) -> np.ndarray:
    """Decode encoded image bytes (uint8) within the decoding budget; raw OpenCV output (any depth, channels).

    JPEG is decoded as colour, which also turns a phone photo upright by its EXIF orientation (as video
    is turned by its rotation); other formats keep their depth and alpha. Raises :class:`MediaError`.
    """
    import cv2

    jpeg = data[:3].tobytes() == b"\xff\xd8\xff"
    flags = cv2.IMREAD_COLOR if jpeg else cv2.IMREAD_UNCHANGED
    # A JPEG's size comes after its metadata segments (EXIF thumbnails, ICC profiles: tens of KB), which
    # the scan steps over one length field at a time; other formats state it in their first 30 bytes.
    size = image_header_size(data.tobytes() if jpeg else data[:64].tobytes())
    if size and size[0] * size[1] > MAX_DECODED_PIXELS:
        w, h = size
        reduced = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}
        factor = next((f for f in reduced if (w // f) * (h // f) <= MAX_DECODED_PIXELS), None)
        if not jpeg or factor is None:
            raise _over_budget(w, h, "image", source)
        flags = reduced[factor]
    try:
        img = cv2.imdecode(data, flags)
    except cv2.error:
        raise MediaError(
            f"image too large (over {os.environ.get('OPENCV_IO_MAX_IMAGE_PIXELS')} pixels)", source
        ) from None
    if img is None:
        raise MediaError("not a readable image (unknown format or corrupt data)", source)
    if img.size == 0 or min(img.shape[:2]) < 1:
        raise MediaError("image has no pixels", source)
    return img


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as BGR uint8 (HxWx3), whatever its depth or channels, within the decoding budget.

    16-bit images are scaled to 8 bits, alpha is composited on white, grey becomes 3-channel.
    """

    p = check_file(path)
    return to_bgr8(decode_image(np.fromfile(str(p), dtype=np.uint8), p))


def to_bgr8(img: np.ndarray) -> np.ndarray:
    """Any decoded image as BGR uint8 (HxWx3): 16-bit scaled, alpha composited on white, grey to 3 channels."""
    import cv2

    if img.dtype == np.uint16:
        img = (img / 257.0).round().astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        img = np.clip(img * (255.0 if img.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)  # type: ignore[call-overload]
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        alpha = img[:, :, 3:4].astype(np.float32) / 255.0
        img = (img[:, :, :3].astype(np.float32) * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    elif img.shape[2] == 1:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img)
