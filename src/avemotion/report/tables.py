"""Terminal tables (rich): the per-emotion probability table of the original system's figure 5, and friends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table

from ..taxonomy import top_label


def bar(p: float, width: int = 24) -> str:
    """A text bar for a probability in [0, 1]."""
    full = int(round(max(0.0, min(1.0, p)) * width))
    return "█" * full + "·" * (width - full)


def probability_table(
    columns: Mapping[str, Mapping[str, float] | None], title: str = "", labels: Sequence[str] | None = None
) -> Table:
    """Emotion rows × one column per source (e.g. voice, face, fused); best value in bold.

    A source whose distribution is None (no speech, no face) shows "–" in every row.
    """
    labels = list(labels or next((list(v) for v in columns.values() if v), []))
    table = Table(title=title or None, title_justify="left")
    table.add_column("emotion")
    for name in columns:
        table.add_column(name, justify="right")
    if len(columns) == 1:
        table.add_column("")
    best = {n: top_label(v) for n, v in columns.items()}
    for lab in labels:
        row = [lab]
        for name, dist in columns.items():
            if not dist or lab not in dist:
                row.append("–")
            else:
                txt = f"{dist[lab]:.3f}"
                row.append(f"[bold]{txt}[/bold]" if best[name] == lab else txt)
        if len(columns) == 1:
            dist = next(iter(columns.values()))
            row.append(bar(dist.get(lab, 0.0)) if dist else "")
        table.add_row(*row)
    return table


def print_table(table: Table) -> None:
    Console(highlight=False).print(table)
