"""Format checks for the codes a claim carries: HCPCS/CPT, modifiers, ICD-10-CM, NPI, NDC.

These are pure functions used by the domain model's validators and by the audit rules.

ICD-10-CM codes are checked against the ``simple-icd-10-cm`` package's code tree. Importing that package
parses a 10 MB XML file (about 3 s), so it is not imported here: the first :func:`icd10_status` call reads
a compact table of the tree's node names and leaf flags from a cache file (tens of milliseconds), and only
when the file is missing, stale or corrupt imports the package, builds the table and writes the file.
The folder is ``$DENIALS_CACHE_DIR``, else ``$XDG_CACHE_HOME/denials``, else ``~/.cache/denials``; when it
cannot be written the table is built from the package in memory.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import logging
import os
import re
import tempfile
import threading
import zlib
from functools import cache
from pathlib import Path

#: HCPCS Level II (a letter and four digits) or CPT (five digits, or four digits and F/T/U category codes).
HCPCS_PATTERN = re.compile(r"^(?:[A-V][0-9]{4}|[0-9]{4}[0-9FTU])$")
#: Modifiers are two characters, letters or digits (JW, JZ, 25, 59, XE, Q0 ...).
MODIFIER_PATTERN = re.compile(r"^[A-Z0-9]{2}$")
#: 11-digit NDC in 5-4-2 form without hyphens (837 loop 2410 LIN03).
NDC_PATTERN = re.compile(r"^[0-9]{11}$")
#: ClinicalTrials.gov number as reported in REF*P4: eight digits, without the "NCT" prefix.
NCT_PATTERN = re.compile(r"^[0-9]{8}$")


def is_hcpcs(code: str) -> bool:
    """True for a well-formed HCPCS Level II or CPT code.

    >>> is_hcpcs("J9271"), is_hcpcs("96413"), is_hcpcs("J92")
    (True, True, False)
    """
    return bool(HCPCS_PATTERN.match(code))


def is_modifier(code: str) -> bool:
    """True for a well-formed two-character modifier."""
    return bool(MODIFIER_PATTERN.match(code))


def normalize_icd10(code: str) -> str:
    """Upper-case an ICD-10-CM code and drop its dot: ``c34.90`` -> ``C3490`` (the X12 HI form)."""
    return code.strip().upper().replace(".", "")


def format_icd10(code: str) -> str:
    """Dotted form of an ICD-10-CM code: ``C3490`` -> ``C34.90``."""
    code = normalize_icd10(code)
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


#: The ICD-10-CM code tree's distribution; its installed version is part of the cache file's name.
ICD10_DISTRIBUTION = "simple-icd-10-cm"
#: Bump when the cache file's layout changes (it is part of the file's name and of its header).
ICD10_TABLE_FORMAT = 1
_TABLE_MAGIC = "denials-icd10cm-leaf-table"

_logger = logging.getLogger(__name__)
#: Node name -> whether the node is a leaf (has no children), for every node of the package's code tree.
_icd10_table: dict[str, bool] | None = None
_icd10_table_lock = threading.Lock()


def icd10_cache_dir() -> Path:
    """``$DENIALS_CACHE_DIR``, else ``$XDG_CACHE_HOME/denials``, else ``~/.cache/denials``."""
    folder = os.environ.get("DENIALS_CACHE_DIR")
    if folder:
        return Path(folder)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore a relative path
        return Path(xdg) / "denials"
    return Path.home() / ".cache" / "denials"


def icd10_table_path(version: str) -> Path:
    """The cache file of the ICD-10-CM table built from ``simple-icd-10-cm`` ``version``."""
    name = f"icd10cm-table-v{ICD10_TABLE_FORMAT}-simple-icd-10-cm-{version}.txt"
    return icd10_cache_dir() / name


def build_icd10_table() -> dict[str, bool]:
    """Every node name of ``simple-icd-10-cm``'s code tree -> whether it is a leaf (imports the package).

    These are the names ``is_valid_item`` and ``is_leaf`` look up: codes with dots, 7th-character
    extensions, categories, blocks (``C00-C14``) and chapters (``2``). Where a block and a category share a
    name (``B99``), the package keeps the first node it registered, and so does this table.
    """
    tree = importlib.import_module("simple_icd_10_cm.simple_icd_10_cm")
    return {name: not node.children for name, node in tree._code_to_node.items()}


def _encode_table(table: dict[str, bool], version: str) -> bytes | None:
    """A header line, then the leaves' names and the other nodes' names, one a line.

    The header holds the format, the package version, the two counts and the CRC-32 of the lines after it,
    so that a truncated or damaged file is never trusted. None when a name cannot be written on one line.
    """
    leaves = [name for name, leaf in table.items() if leaf]
    others = [name for name, leaf in table.items() if not leaf]
    text = "\n".join(leaves + others) + "\n" if table else ""
    if text.count("\n") != len(table):  # a name with a line break
        return None
    body = text.encode()
    header = (
        f"{_TABLE_MAGIC} {ICD10_TABLE_FORMAT} {version} {len(leaves)} {len(others)} {zlib.crc32(body):08x}"
    )
    return f"{header}\n".encode() + body


def _decode_table(data: bytes, version: str) -> dict[str, bool] | None:
    """The table in a cache file's bytes, or None unless the header, the counts and the checksum all match."""
    header, newline, body = data.partition(b"\n")
    expected = f"{_TABLE_MAGIC} {ICD10_TABLE_FORMAT} {version} ".encode()
    if not newline or not header.startswith(expected):
        return None
    try:
        leaves_text, others_text, crc_text = header[len(expected) :].split(b" ")
        n_leaves, n_others, crc = int(leaves_text), int(others_text), int(crc_text, 16)
        if crc != zlib.crc32(body):
            return None
        names = body.decode().split("\n")
    except ValueError:  # a malformed header, or bytes that are not UTF-8
        return None
    if names.pop() != "" or len(names) != n_leaves + n_others:
        return None
    table = dict.fromkeys(names[:n_leaves], True)
    table.update(dict.fromkeys(names[n_leaves:], False))
    return table if len(table) == len(names) else None


def _read_table(path: Path, version: str) -> dict[str, bool] | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        _logger.debug("cannot read the ICD-10-CM table %s (%s); rebuilding it", path, exc)
        return None
    table = _decode_table(data, version)
    if table is None:
        _logger.debug("the ICD-10-CM table %s is corrupt or stale; rebuilding it", path)
    return table


def _write_table(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically (a temporary file in the same folder, then ``os.replace``).

    Readers see the old file or the whole new one, never part of it, and two processes writing at once
    leave one complete file. False (and nothing left behind) when the folder cannot be created or written.
    """
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # public code lists: other users of a shared cache folder may read it
        os.replace(temporary, path)
        return True
    except OSError as exc:
        _logger.debug("cannot write the ICD-10-CM table %s (%s); using it in memory", path, exc)
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        return False


def _load_icd10_table() -> dict[str, bool]:
    """The table from the cache file, else built from the package (and written to the cache file)."""
    try:
        version = importlib.metadata.version(ICD10_DISTRIBUTION)
        path = icd10_table_path(version)
    except (importlib.metadata.PackageNotFoundError, RuntimeError) as exc:  # no metadata; no home folder
        _logger.debug("no cache file for the ICD-10-CM table (%s); using it in memory", exc)
        return build_icd10_table()
    table = _read_table(path, version)
    if table is None:
        table = build_icd10_table()
        data = _encode_table(table, version)
        if data is not None:
            _write_table(path, data)
    return table


def _icd10_leaf_table() -> dict[str, bool]:
    global _icd10_table
    table = _icd10_table
    if table is None:
        with _icd10_table_lock:
            if _icd10_table is None:
                _icd10_table = _load_icd10_table()
            table = _icd10_table
    return table


def reset_icd10_table() -> None:
    """Forget the loaded table and :func:`icd10_status`'s answers (the next call loads the table again)."""
    global _icd10_table
    with _icd10_table_lock:
        _icd10_table = None
    icd10_status.cache_clear()


def _is_valid_item(code: str, table: dict[str, bool]) -> bool:
    """``simple_icd_10_cm.is_valid_item`` over the table."""
    return code in table or (len(code) >= 4 and code[:3] + "." + code[3:] in table)


def _add_dot_to_code(code: str, table: dict[str, bool]) -> str:
    """``simple_icd_10_cm._add_dot_to_code`` over the table (the name ``is_leaf`` looks up)."""
    if len(code) < 4 or code[3] == ".":
        return code
    dotted = code[:3] + "." + code[3:]
    return dotted if dotted in table else code


@cache
def icd10_status(code: str) -> str:
    """``billable``, ``header`` (valid but not billable: a category with children) or ``invalid``.

    Answers as the ``simple-icd-10-cm`` package's ``is_valid_item`` and ``is_leaf`` do, from its code tree
    (cached in a file, see the module's docstring).
    """
    dotted = format_icd10(code)
    table = _icd10_leaf_table()
    if not _is_valid_item(dotted, table):
        return "invalid"
    return "billable" if table[_add_dot_to_code(dotted, table)] else "header"


def is_valid_icd10(code: str) -> bool:
    """True when the code exists in ICD-10-CM (billable or not)."""
    return icd10_status(code) != "invalid"


def npi_is_valid(npi: str) -> bool:
    """Check an NPI's Luhn check digit (with the 80840 card-issuer prefix, as CMS specifies).

    >>> npi_is_valid("1234567893"), npi_is_valid("1234567890")
    (True, False)
    """
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 24  # the constant contribution of the "80840" prefix
    for i, ch in enumerate(reversed(npi[:9])):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


def npi_check_digit(first_nine: str) -> str:
    """The check digit that makes ``first_nine + digit`` a valid NPI."""
    for d in "0123456789":
        if npi_is_valid(first_nine + d):
            return d
    raise ValueError(f"not nine digits: {first_nine!r}")


def normalize_ndc(ndc: str) -> str:
    """Digits only: ``00006-3026-02`` -> ``00006302602``."""
    return re.sub(r"[^0-9]", "", ndc)
