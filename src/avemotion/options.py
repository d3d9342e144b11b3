"""The analysis options: each declared once, read by every surface.

An option is a field of one analyser's options dataclass (:class:`~avemotion.face.analyzer.FaceOptions`,
:class:`~avemotion.speech.analyzer.SpeechOptions`, :class:`~avemotion.fusion.FusionOptions`) made with
:func:`option`, or an :class:`Option` added from anywhere with :func:`register_option` (a plugin, a
test). From that one declaration come ``avemotion analyze``'s arguments, the server's form and
``/v1/options``, the web page's form (built from ``/v1/options``), the check of every value, and
``result.json``'s ``config``. Adding an option is one declaration; nothing else is edited.

The flat name (``fps``, ``face_model``, ``voice_adapt``) is the option's name on every surface:
``--face-model`` on the command line, ``face_model`` in the form and in ``analyze(path, **options)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import OptionError

#: What an option holds: a number, a whole number, text, yes/no, or modality weights.
KINDS = ("number", "integer", "text", "flag", "weights")


@dataclass(frozen=True)
class Option:
    """One analysis option: its flat name, what it holds, its default, and what is accepted.

    ``part`` is the options dataclass that holds it (``"face"``, ``"speech"``, ``"fusion"``), or
    ``"extra"`` for an option registered from outside (kept in :attr:`AnalyzeConfig.extra`).
    ``choices`` is a callable (registries fill up on import) giving the accepted values;
    ``paths`` also accepts a local file path (a model), except from the server. ``parse`` reads
    the option from text where the kind's own reading is not enough (``weights``).
    """

    name: str
    help: str
    kind: str = "text"
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: Callable[[], Sequence[str]] | None = None
    paths: bool = False
    parse: Callable[[str, bool], Any] | None = None
    part: str = "extra"
    key: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"option {self.name!r}: kind must be one of {KINDS}, not {self.kind!r}")
        if not self.key:
            object.__setattr__(self, "key", self.name)

    @property
    def flag(self) -> str:
        """The command-line flag: ``--face-model`` for ``face_model``."""
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> list[str]:
        return list(self.choices()) if self.choices else []

    def check(self, value: Any, *, local: bool = True) -> Any:
        """``value`` converted to the option's kind and checked; else an :class:`OptionError` naming it.

        ``local=False`` (the server) refuses file paths where ``paths`` would accept them.
        """
        if value is None and self.default is None:
            return None
        if self.kind == "number":
            return _in_range(self.name, value, self.minimum, self.maximum)
        if self.kind == "integer":
            v = _in_range(self.name, value, self.minimum, self.maximum)
            if v != int(v):
                raise OptionError(f"{self.name} must be a whole number, got {value!r}")
            return int(v)
        if self.kind == "flag":
            return _flag(self.name, value)
        if self.kind == "weights":
            return self.parse(value, local) if isinstance(value, str) and self.parse else value
        text = str(value)
        allowed = self.allowed()
        if allowed and text not in allowed and not (self.paths and local and text.endswith(".onnx")):
            raise OptionError(f"{self.name} must be one of {', '.join(allowed)}, not {text!r}")
        return text

    def describe(self) -> dict:
        """The option as ``/v1/options`` lists it (the web page builds its form from this)."""
        d = {"name": self.name, "kind": self.kind, "default": _plain(self.default), "help": self.help}
        if self.minimum is not None:
            d["minimum"] = self.minimum
        if self.maximum is not None:
            d["maximum"] = self.maximum
        if self.choices:
            d["choices"] = self.allowed()
        return d


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def _in_range(name: str, value: Any, low: float | None, high: float | None) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{name} must be a number, got {value!r}") from None
    lo = -math.inf if low is None else low
    hi = math.inf if high is None else high
    if not math.isfinite(v) or not lo <= v <= hi:
        raise OptionError(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")
    return v


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise OptionError(f"{name} must be true or false, got {value!r}")


#: Every analysis option by flat name, in the order the surfaces show them.
OPTIONS: dict[str, Option] = {}


def register_option(opt: Option) -> Option:
    """Add an option (or replace one of the same name); every surface shows it from then on."""
    OPTIONS[opt.name] = opt
    return opt


def unregister_option(name: str) -> None:
    """Remove an option added by :func:`register_option` (tests, plugins being unloaded)."""
    OPTIONS.pop(name, None)


def option(
    default: Any = None,
    help: str = "",
    *,
    name: str | None = None,
    kind: str | None = None,
    default_factory: Callable[[], Any] | None = None,
    **spec: Any,
) -> Any:
    """A dataclass field that is also an analysis option (:func:`declare` registers it).

    ``spec``: ``minimum``, ``maximum``, ``choices``, ``paths``, ``parse`` as in :class:`Option`.
    The kind is read from the default's type unless given.
    """
    meta = {"option": {"name": name, "help": help, "kind": kind, **spec}}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "flag"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "weights"
    return "text"


def _field_default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


def _option_of(f: dataclasses.Field, part: str = "extra") -> Option:
    """The :class:`Option` an :func:`option` field declares."""
    meta = dict(f.metadata["option"])
    default = _field_default(f)
    name, kind = meta.pop("name") or f.name, meta.pop("kind") or _kind_of(default)
    return Option(name=name, kind=kind, default=default, part=part, key=f.name, **meta)


def declare(part: str, cls: type) -> list[Option]:
    """Register the :func:`option` fields of the options dataclass ``cls`` under ``part``."""
    return [register_option(_option_of(f, part)) for f in dataclasses.fields(cls) if "option" in f.metadata]


def check_fields(obj: Any) -> None:
    """Check and convert every :func:`option` field of the dataclass instance ``obj`` in place
    (called from its ``__post_init__``: a wrong value never gets further than its constructor)."""
    for f in dataclasses.fields(obj):
        if "option" in f.metadata and getattr(obj, f.name) is not None:
            setattr(obj, f.name, _option_of(f).check(getattr(obj, f.name)))
