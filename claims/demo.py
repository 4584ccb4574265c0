"""Demo files: the sample claims and remittances of :mod:`claims.samples` written as real X12.

Until the simulator lands this is what ``make demo`` ingests; the files are synthetic (no patient data).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from claims.enums import ClaimForm
from claims.samples import SCENARIOS, sample_remittances
from claims.x12 import write_835, write_837

__all__ = ["write_demo_files"]

CREATED = dt.datetime(2026, 2, 5, 12, 0)


def write_demo_files(folder: Path) -> list[Path]:
    """Write ``claims.837p``, ``claims.837i`` and ``remits.835`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    claims = [make() for make in SCENARIOS.values()]
    paths = []
    for form, suffix in ((ClaimForm.PROFESSIONAL, ".837p"), (ClaimForm.INSTITUTIONAL, ".837i")):
        batch = [c for c in claims if c.form is form]
        path = folder / f"claims{suffix}"
        path.write_text(write_837(batch, created=CREATED))
        paths.append(path)
    path = folder / "remits.835"
    path.write_text(write_835(sample_remittances(), created=dt.datetime(2026, 3, 20, 12, 0)))
    paths.append(path)
    return paths
