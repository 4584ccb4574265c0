"""Write ``claims/reference/data/unit_limits.csv``: the simulator's MUE-like drug unit limits.

The limits are the simulator defaults of ``claims.simulate.adjudication.unit_limits`` over
``claims.simulate.engine.max_doses()`` (oncology-billing.md 2.3 proxy: the largest plausible dose in billing
units rounded up to a whole largest vial). They are NOT the CMS MUE table. A test checks that the committed
file equals what this script computes, so the audit rules and the simulated payers cannot drift apart.

Run from the project root::

    .venv/bin/python scripts/build_unit_limits.py          # rewrite the file
    .venv/bin/python scripts/build_unit_limits.py --check  # exit 1 when the file is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "claims" / "reference" / "data" / "unit_limits.csv"

HEADER = (
    "# source: simulator default proxy per oncology-billing.md 2.3 (largest plausible dose rounded up to a "
    "whole vial) — NOT the CMS MUE table [UNVERIFIED]",
    "# version: simulator-defaults over drugs.csv {drugs_version}",
    "# effective: 2023-01-01 to open (simulator defaults for the simulated period, not a dated CMS quarter)",
    "# notes: built by scripts/build_unit_limits.py from "
    "claims.simulate.adjudication.unit_limits(claims.simulate.engine.max_doses()); max_units is HCPCS billing "
    "units per date of service; codes the simulator never gives have no row (no limit); replace with the CMS "
    "practitioner and outpatient-hospital MUE tables when they are loaded",
)


def render() -> str:
    """The file's text as the simulator computes it now."""
    sys.path.insert(0, str(ROOT))
    from claims.reference import provenance_of
    from claims.simulate.adjudication import unit_limits
    from claims.simulate.engine import max_doses

    limits = unit_limits(max_doses())
    drugs_version = provenance_of("drugs.csv").version
    lines = [h.format(drugs_version=drugs_version) for h in HEADER]
    lines.append("code,max_units")
    lines.extend(f"{code},{limits[code]}" for code in sorted(limits))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed file is out of date")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date; run scripts/build_unit_limits.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({text.count(chr(10)) - len(HEADER) - 1} codes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
