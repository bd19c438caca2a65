"""What a call costs: list prices per model from ``extractor/data/llm_prices.yaml`` (dated, with sources)."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

PRICES_PATH = Path(__file__).resolve().parents[2] / "data" / "llm_prices.yaml"


@functools.lru_cache(maxsize=1)
def prices() -> dict[str, tuple[float, float]]:
    """USD per 1M tokens (input, output) by model name; dated snapshots match by prefix."""
    data = yaml.safe_load(PRICES_PATH.read_text(encoding="utf-8")) or {}
    return {str(name): (float(p["input"]), float(p["output"])) for name, p in (data.get("models") or {}).items()}


def price_for(model: str) -> tuple[float, float] | None:
    name = model.rsplit("/", 1)[-1].lower()
    if name in prices():
        return prices()[name]
    prefixes = [k for k in prices() if name.startswith(k + "-")]
    return prices()[max(prefixes, key=len)] if prefixes else None


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD for the tokens, or None for a model not in ``prices()``."""
    price = price_for(model)
    if price is None:
        return None
    return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000, 8)

