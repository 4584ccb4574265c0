"""Rewrite the golden X12 files from claims.samples (run after an intended change to the writer).

    .venv/bin/python tests/data/x12/regenerate_golden.py

The golden test then checks that the writer still produces these bytes and the reader gives back the
same domain objects. Review the diff before committing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from claims.samples import SCENARIOS, sample_remittances
from claims.x12 import write_835, write_837

HERE = Path(__file__).parent / "golden"
CREATED = dt.datetime(2026, 2, 5, 12, 0)


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, make in SCENARIOS.items():
        claim = make()
        suffix = ".837p" if claim.form.value == "professional" else ".837i"
        (HERE / f"{name}{suffix}").write_text(write_837([claim], created=CREATED))
    (HERE / "remittances_denials.835").write_text(
        write_835(sample_remittances(), created=dt.datetime(2026, 3, 20, 12, 0))
    )


if __name__ == "__main__":
    main()
