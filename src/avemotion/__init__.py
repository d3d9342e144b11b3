"""avemotion: emotion from faces and voices in video, offline, on a CPU.

The public API::

    from avemotion import analyze, analyze_many, SpeechAnalyzer, FaceAnalyzer, LiveAnalyzer, EMOTIONS
"""

from __future__ import annotations

import os as _os

from ._version import __version__ as __version__
from .errors import AvemotionError, MediaError, ModelError
from .taxonomy import EMOTIONS, FACE_EMOTIONS, SPEECH_EMOTIONS

#: Images larger than this are refused before they are decoded (a decompression bomb: an 854 KB
#: PNG can decode to 30000x30000). OpenCV reads the limit from its environment on first decode.
MAX_IMAGE_PIXELS = 120_000_000  # a 10000x10000 photo still opens
_os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))


def __getattr__(name: str):
    # Heavy parts load on first use, so `import avemotion` stays fast.
    if name in {"SpeechAnalyzer", "SpeechResult", "SpeechSegment"}:
        from . import speech

        return getattr(speech, name)
    if name in {"FaceAnalyzer", "Face", "FaceResult"}:
        from .face import analyzer

        return getattr(analyzer, name)
    if name in {"analyze", "AnalyzeConfig", "AnalysisResult", "VideoAnalyzer"}:
        from . import pipeline

        return getattr(pipeline, name)
    if name in {"analyze_many", "BatchItem"}:
        from . import batch

        return getattr(batch, name)
    if name == "LiveAnalyzer":
        from .live import LiveAnalyzer

        return LiveAnalyzer
    raise AttributeError(f"module 'avemotion' has no attribute {name!r}")


__all__ = [
    "EMOTIONS",
    "FACE_EMOTIONS",
    "SPEECH_EMOTIONS",
    "AnalysisResult",
    "AnalyzeConfig",
    "AvemotionError",
    "BatchItem",
    "Face",
    "FaceAnalyzer",
    "FaceResult",
    "LiveAnalyzer",
    "MediaError",
    "ModelError",
    "SpeechAnalyzer",
    "SpeechResult",
    "SpeechSegment",
    "VideoAnalyzer",
    "analyze",
    "analyze_many",
]
