"""Emotion from the face: detection, the shared preprocessing path, classification."""
