"""One exception type for everything a user can get wrong.

Every error avemotion raises on purpose is an :class:`AvemotionError` whose message is one line
that names the file (when there is one) and the problem. The command line prints that line and
goes on with the next file; it never prints a traceback for bad input.
"""

from __future__ import annotations

from os import PathLike


class AvemotionError(Exception):
    """A problem with the user's input or setup, described in one line."""

    def __init__(self, message: str, path: str | PathLike[str] | None = None) -> None:
        self.path = None if path is None else str(path)
        self.reason = " ".join(str(message).split())
        super().__init__(f"{self.path}: {self.reason}" if self.path else self.reason)


class MediaError(AvemotionError):
    """A file that cannot be read as audio, video or image."""


class ModelError(AvemotionError):
    """A model bundle that is missing, corrupt or does not match its card."""
