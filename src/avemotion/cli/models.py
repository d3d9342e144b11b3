"""``avemotion models``: the shipped models, a line each."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    sub.add_parser("models", help="list the shipped models").set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..bundles import MODELS_DIR

    for card in sorted(MODELS_DIR.glob("*.json")):
        c = json.loads(card.read_text())
        metric = c.get("metrics", {}).get("headline", "")
        print(f"{card.stem:20s} {c.get('task', ''):7s} {len(c.get('labels', []))} classes  {metric}")
    return 0
