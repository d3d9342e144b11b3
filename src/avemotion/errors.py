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


class OptionError(AvemotionError, ValueError):
    """A numeric or named option out of its range (any surface: CLI, Python, web form, weights file)."""


def check_number(name: str, value, low: float, high: float) -> float:
    """``value`` as a float within [low, high]; NaN, infinities and anything else are an :class:`OptionError`."""
    import math

    try:
        v = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or not low <= v <= high:
        raise OptionError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return v


class MissingExtraError(AvemotionError):
    """A feature whose package is not installed; the message names the extra that brings it."""


def require(module: str, extra: str, feature: str):
    """Import ``module`` for ``feature``, or raise a one-line error naming the extra to install.

    Inference keeps its install small: plotting, data frames, the original system's features and training
    live in extras (see ``pyproject.toml``), imported only when the user asks for them.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        package = {"sklearn": "scikit-learn"}.get(module.split(".")[0], module.split(".")[0])
        raise MissingExtraError(f"{feature} needs {package}: pip install 'avemotion[{extra}]'") from None
