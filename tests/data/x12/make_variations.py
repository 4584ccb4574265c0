"""Derive the real-world variation files in ``variations/`` from the golden files.

    .venv/bin/python tests/data/x12/make_variations.py

Each file exercises one way real 837/835 files differ from the implementation guide's examples (or one way
they are broken). The files are committed; this script documents how each was made.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from claims.samples import SCENARIOS
from claims.x12 import write_837

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
OUT = HERE / "variations"


def _segments(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip()]


def _join(segments: list[str], terminator: str = "~", between: str = "\n") -> str:
    return between.join(s + terminator for s in segments) + "\n"


def _fix_se(segments: list[str]) -> list[str]:
    """Recount SE01 after segments were added or removed."""
    out: list[str] = []
    count = 0
    for seg in segments:
        if seg.startswith("ST*"):
            count = 0
        count += 1
        if seg.startswith("SE*"):
            parts = seg.split("*")
            seg = "*".join([parts[0], str(count), *parts[2:]])
        out.append(seg)
    return out


def main() -> None:
    OUT.mkdir(exist_ok=True)
    nsclc = (GOLDEN / "office_nsclc_carbo_pem_pembro.837p").read_text()
    segs = _segments(nsclc)
    write = lambda name, data: (OUT / name).write_bytes(data if isinstance(data, bytes) else data.encode())  # noqa: E731

    write("bom.837p", b"\xef\xbb\xbf" + nsclc.encode())
    write("crlf.837p", _join(segs, between="\r\n"))
    write("indented.837p", "\n".join("    " * (i > 0) + s + "~" for i, s in enumerate(segs)) + "\n")
    # Segment terminator declared as CR (the character after ISA16), and as newline.
    write("cr_terminator.837p", "\r".join(segs) + "\r")
    write("newline_terminator.837p", "\n".join(segs) + "\n")
    # Other delimiters: element |, component >, terminator ' (all declared in the ISA).
    custom = [s.replace("*", "|").replace(":", ">") for s in segs]
    write("custom_delimiters.837p", "'\n".join(custom) + "'\n")
    # Two interchanges in one file (an 837P and an 837I), and one interchange with two groups.
    trial = (GOLDEN / "hospital_outpatient_trial.837i").read_text()
    write("two_interchanges.837", nsclc + trial)
    claims = [make() for make in SCENARIOS.values()]
    write("two_groups.837", write_837(claims, created=dt.datetime(2026, 2, 5, 12, 0)))
    # A subscriber HL whose child code says dependents follow when none do.
    both = _segments(write_837([claims[0], claims[1]], created=dt.datetime(2026, 2, 5, 12, 0)))
    quirk = [s.replace("HL*2*1*22*0", "HL*2*1*22*1") for s in both]
    assert quirk != both
    write("hl_child_code_quirk.837p", _join(quirk))
    # Unsupported 4010 envelope.
    v4010 = [s.replace("*00501*", "*00401*").replace("005010X222A2", "004010X098A1") for s in segs]
    write("version_4010.837p", _join(v4010))
    # Broken files.
    write("truncated.837p", _join(segs)[: len(_join(segs)) // 2])
    no_sv1 = _fix_se([s for s in segs if not s.startswith("SV1*HC:96417")])
    write("missing_required_segment.837p", _join(no_sv1))
    wrong_se = [s.replace("SE*", "SE*9", 1) if s.startswith("SE*") else s for s in segs]
    write("wrong_se_count.837p", _join(wrong_se))
    wrong_ge = [("GE*2*1" if s.startswith("GE*") else s) for s in segs]
    write("wrong_ge_count.837p", _join(wrong_ge))
    write("not_x12.txt", "Patient statement\nThis is not an X12 file.\n")
    write("empty.837p", "")
    write("binary.bin", bytes(range(256)) * 4)
    # Valid X12, invalid domain values: an ICD-10 code that does not exist, negative units.
    bad_dx = [s.replace("ABF:C3490", "ABF:C3499X") for s in segs]
    write("invalid_icd10.837p", _join(bad_dx))
    bad_units = [s.replace("SV1*HC:96411*180.00*UN*1", "SV1*HC:96411*180.00*UN*-1") for s in segs]
    write("negative_units.837p", _join(bad_units))
    # One good claim and one bad claim in the same transaction: the good one must survive.
    two = _segments(write_837([claims[0], claims[1]], created=dt.datetime(2026, 2, 5, 12, 0)))
    write("one_bad_claim.837p", _join([s.replace("ABF:C187", "ABF:C18Q") for s in two]))
    # 835 variations: lines without REF*6R (fallback matching) and a claim denied as a whole.
    remit = _segments((GOLDEN / "remittances_denials.835").read_text())
    write(
        "remit_without_control_numbers.835", _join(_fix_se([s for s in remit if not s.startswith("REF*6R")]))
    )
    claim_level: list[str] = []
    skipping = False
    for s in remit:
        if s.startswith("CLP*FOLFOX0001"):
            charge = s.split("*")[3]
            claim_level += [f"CLP*FOLFOX0001*4*{charge}*0.00**12*ICNFOLFOX0001", f"CAS*CO*29*{charge}"]
            skipping = True
            continue
        if skipping and s.startswith(("SVC*", "DTM*472", "CAS*", "REF*6R", "AMT*", "LQ*")):
            continue
        if not s.startswith("NM1*QC"):
            skipping = False
        claim_level.append(s)
    # BPR02 is the sum of the claim payments (CLP04) of its transaction.
    for i, s in enumerate(claim_level):
        if s.startswith("BPR*"):
            end = next(j for j in range(i, len(claim_level)) if claim_level[j].startswith("SE*"))
            paid = sum(float(x.split("*")[4]) for x in claim_level[i:end] if x.startswith("CLP*"))
            parts = s.split("*")
            parts[2] = f"{paid:.2f}"
            claim_level[i] = "*".join(parts)
    write("remit_claim_level_denial.835", _join(_fix_se(claim_level)))


if __name__ == "__main__":
    main()
