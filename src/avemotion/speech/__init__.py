"""Emotion from the voice: features, voice-activity detection, classification."""

from .analyzer import SpeechAnalyzer, SpeechOptions, SpeechResult, SpeechSegment

__all__ = ["SpeechAnalyzer", "SpeechOptions", "SpeechResult", "SpeechSegment"]
