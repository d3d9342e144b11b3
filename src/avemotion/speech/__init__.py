"""Emotion from the voice: features, voice-activity detection, classification."""

from .analyzer import SpeechAnalyzer, SpeechResult, SpeechSegment

__all__ = ["SpeechAnalyzer", "SpeechResult", "SpeechSegment"]
