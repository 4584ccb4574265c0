"""Write docs/feature-catalogue.md from the code (a test checks it is current).

.venv/bin/python scripts/build_feature_catalogue.py
"""

from __future__ import annotations

from pathlib import Path

from features.catalogue import catalogue, catalogue_markdown
from features.context import rule_ids

HEADER = """# Feature catalogue

Generated from `features/catalogue.py` by `scripts/build_feature_catalogue.py`; do not edit by hand.
Every feature is known at submission. `group` is what explanations are phrased by; `reads` lists the
line-table or context columns the feature is computed from (never an 835 column; history features use
outcomes *received before* the submission date). Categorical features are integer codes learned at fit
(0 = other or unseen).

"""


def main() -> None:
    path = Path(__file__).parent.parent / "docs" / "feature-catalogue.md"
    path.write_text(HEADER + catalogue_markdown(catalogue(rule_ids())))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
