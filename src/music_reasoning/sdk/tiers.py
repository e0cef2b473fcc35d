"""Tiers, modes and the daily cloud quota.

========== ========= ========================
tier       local AI  cloud calls per day
========== ========= ========================
free       no        0
creator    yes       50
studio     yes       1000
enterprise yes       unlimited
========== ========= ========================

Every tier gets the deterministic theory data.  Modes pick the backends:
``local-only``, ``cloud-only``, or ``auto`` (local first, the cloud when the local
model is unavailable, too slow or does not fit in memory).

The quota is counted per UTC day in ``cache_dir()/cloud_usage.json`` under a file
lock, so several processes share one count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock

from music_reasoning.config import atomic_write, cache_dir
from music_reasoning.errors import InvalidInputError, TierLimitError

__all__ = ["MODES", "TIERS", "CloudQuota", "Tier", "check_mode", "get_tier"]

MODES = ("local-only", "cloud-only", "auto", "deterministic")  # deterministic: no model


@dataclass(frozen=True)
class Tier:
    """What a tier allows."""

    name: str
    local_ai: bool
    cloud_calls_per_day: int | None  # None: unlimited

    @property
    def cloud(self) -> bool:
        return self.cloud_calls_per_day is None or self.cloud_calls_per_day > 0


TIERS: dict[str, Tier] = {
    t.name: t
    for t in (
        Tier("free", local_ai=False, cloud_calls_per_day=0),
        Tier("creator", local_ai=True, cloud_calls_per_day=50),
        Tier("studio", local_ai=True, cloud_calls_per_day=1000),
        Tier("enterprise", local_ai=True, cloud_calls_per_day=None),
    )
}


def get_tier(name: str) -> Tier:
    """Return the tier called ``name``.

    Raises:
        InvalidInputError: no such tier.
    """
    tier = TIERS.get(name.strip().lower())
    if tier is None:
        raise InvalidInputError(
            f"Unknown tier {name!r}.", suggestion=f"Use one of: {', '.join(TIERS)}."
        )
    return tier


def check_mode(mode: str) -> str:
    """Return ``mode`` normalised, or raise InvalidInputError naming the valid modes."""
    value = mode.strip().lower()
    if value not in MODES:
        raise InvalidInputError(
            f"Unknown mode {mode!r}.", suggestion=f"Use one of: {', '.join(MODES)}."
        )
    return value


class CloudQuota:
    """Counts cloud calls per UTC day, shared by every process of this user."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_dir() / "cloud_usage.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path) + ".lock")

    @staticmethod
    def _today() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%d")

    def _read(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text())
            return {str(k): int(v) for k, v in data.items()}
        except (OSError, ValueError, AttributeError):
            return {}

    def used(self) -> int:
        """Cloud calls counted today."""
        with self._lock:
            return self._read().get(self._today(), 0)

    def take(self, tier: Tier) -> None:
        """Count one call, or raise when the tier's quota for today is spent.

        Raises:
            TierLimitError: the tier has no cloud calls, or none left today.
        """
        limit = tier.cloud_calls_per_day
        if limit == 0:
            raise TierLimitError(f"The {tier.name} tier does not include cloud explanations.")
        with self._lock:
            today = self._today()
            used = self._read().get(today, 0)
            if limit is not None and used >= limit:
                raise TierLimitError(
                    f"The {tier.name} tier's {limit} cloud calls for today are used up.",
                    details={"used": used, "limit": limit},
                )
            atomic_write(self.path, json.dumps({today: used + 1}).encode())
