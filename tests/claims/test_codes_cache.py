"""The ICD-10-CM table behind ``icd10_status``: same answers as ``simple-icd-10-cm``, read from a cache file.

The package (about 3 s to import) is the parity reference: imported on first use, not at collection.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from claims import codes
from claims.codes import icd10_status

#: Headers, billable codes with and without the dot, 7th-character extensions (and their placeholder X),
#: invalid codes, lowercase and padded input, blocks, chapters, a block and a category sharing a name (B99).
TRICKY = [
    "C34",
    "C34.9",
    "C34.90",
    "C3490",
    "c34.90",
    " c3490 ",
    "C34.",
    "C34..90",
    "C34.99X",
    "C99.99",
    "C99",
    "S52.521",
    "S52.521A",
    "S52521A",
    "s52.521a",
    "S52.521Z",
    "T36.0X1A",
    "T360X1A",
    "T36.01XA",
    "M48.50XA",
    "Z51.11",
    "Z5111",
    "C50.911",
    "C50911",
    "C7A",
    "C7A.0",
    "C7A.00",
    "B99",
    "B99.8",
    "B10",
    "B20",
    "C00-C14",
    "c00-c14",
    "A00-A09",
    "C00-C96",
    "1",
    "2",
    "22",
    "23",
    "",
    " ",
    ".",
    "C",
    "C3",
    "U07.1",
    "0000",
]


def _icd() -> ModuleType:
    return importlib.import_module("simple_icd_10_cm")


def _package_status(code: str) -> str:
    """What ``icd10_status`` answered when it called the package directly."""
    icd = _icd()
    dotted = codes.format_icd10(code)
    if not icd.is_valid_item(dotted):
        return "invalid"
    return "billable" if icd.is_leaf(dotted) else "header"


def _package_names() -> list[str]:
    return list(_icd().simple_icd_10_cm._code_to_node)


def _table_path() -> Path:
    return codes.icd10_table_path(importlib.metadata.version("simple-icd-10-cm"))


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder, and no table loaded (before and after the test)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("DENIALS_CACHE_DIR", str(folder))
    codes.reset_icd10_table()
    yield folder
    codes.reset_icd10_table()


@pytest.fixture(scope="module")
def good_file() -> bytes:
    """The cache file's content, built from the package."""
    data = codes._encode_table(codes.build_icd10_table(), importlib.metadata.version("simple-icd-10-cm"))
    assert data is not None
    return data


def _no_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> dict[str, bool]:
        raise AssertionError("the table was built from the package instead of read from the cache file")

    monkeypatch.setattr(codes, "build_icd10_table", fail)


def test_the_table_holds_every_name_the_package_looks_up() -> None:
    names = _package_names()
    assert set(names) == set(_icd().get_all_codes(with_dots=True))
    table = codes.build_icd10_table()
    assert table.keys() == set(names)
    assert "S52.521A" in table and "C00-C14" in table and "2" in table


def test_cached_answers_equal_the_package_for_every_code(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert icd10_status("C34") == "header"  # builds the table and writes the cache file
    assert _table_path().parent == cache_dir and _table_path().is_file()
    reference = codes.build_icd10_table()
    codes.reset_icd10_table()
    _no_build(monkeypatch)
    table = codes._icd10_leaf_table()  # read from the file
    assert table == reference

    icd = _icd()
    names = _package_names()
    # The lookups themselves, on the raw names and on tricky strings (no normalisation on the way).
    for name in [*names, *TRICKY]:
        valid = icd.is_valid_item(name)
        assert codes._is_valid_item(name, table) == valid, name
        if valid:
            assert table[codes._add_dot_to_code(name, table)] == icd.is_leaf(name), name
    # And icd10_status as callers use it: dotted, undotted, lowercase (padded input is in TRICKY).
    for name in names:
        for variant in {name, name.replace(".", ""), name.lower()}:
            assert icd10_status(variant) == _package_status(variant), variant
    for code in TRICKY:
        assert icd10_status(code) == _package_status(code), code


def test_tricky_codes(cache_dir: Path) -> None:
    expected = {
        "C34": "header",
        "C34.90": "billable",
        "C3490": "billable",
        "c34.90": "billable",
        "S52.521": "header",
        "S52.521A": "billable",
        "S52521A": "billable",
        "C99.99": "invalid",
        "C34.99X": "invalid",
        "": "invalid",
    }
    assert {code: icd10_status(code) for code in expected} == expected
    assert {code: _package_status(code) for code in expected} == expected


def test_a_second_process_answers_from_the_cache_without_the_package(cache_dir: Path) -> None:
    assert icd10_status("C34.90") == "billable"  # writes the cache file
    script = (
        "import json, sys\n"
        "from claims.codes import icd10_status\n"
        f"answers = [icd10_status(c) for c in {TRICKY!r}]\n"
        "print(json.dumps({'answers': answers, 'imported': 'simple_icd_10_cm' in sys.modules}))\n"
    )
    env = {**os.environ, "DENIALS_CACHE_DIR": str(cache_dir)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["imported"] is False
    assert out["answers"] == [_package_status(c) for c in TRICKY]


def _corruptions(data: bytes, version: str) -> dict[str, bytes]:
    header, _, body = data.partition(b"\n")
    middle = len(data) // 2
    flipped = data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]
    return {
        "empty": b"",
        "header only": header + b"\n",
        "no newline at all": header,
        "truncated by lines": data[: data.rindex(b"\n", 0, len(data) - 1000) + 1],
        "truncated mid-line": data[:-3],
        "one byte flipped": flipped,
        "a line dropped": header + b"\n" + body.split(b"\n", 1)[1],
        "other package version": header.replace(f" {version} ".encode(), b" 0.0.1 ") + b"\n" + body,
        "garbage header": b"hello\n" + body,
        "not utf-8": header + b"\n\xff\xfe" + body[2:],
        "binary": bytes(range(256)) * 16,
    }


CORRUPTIONS = sorted(_corruptions(b"header\n" + b"line\n" * 1000, "1.0"))


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_a_corrupt_cache_file_is_rebuilt(cache_dir: Path, good_file: bytes, kind: str) -> None:
    version = importlib.metadata.version("simple-icd-10-cm")
    bad = _corruptions(good_file, version)[kind]
    assert bad != good_file
    assert codes._decode_table(bad, version) is None
    path = _table_path()
    cache_dir.mkdir()
    path.write_bytes(bad)
    assert [icd10_status(c) for c in TRICKY] == [_package_status(c) for c in TRICKY]
    assert path.read_bytes() == good_file  # rewritten whole


def test_an_unwritable_cache_folder_still_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DENIALS_CACHE_DIR", str(blocker / "cache"))  # mkdir fails, even as root
    codes.reset_icd10_table()
    try:
        with caplog.at_level("WARNING"):
            assert [icd10_status(c) for c in TRICKY] == [_package_status(c) for c in TRICKY]
        assert caplog.records == []
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    finally:
        codes.reset_icd10_table()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_cache_folder_still_answers(cache_dir: Path) -> None:
    cache_dir.mkdir()
    cache_dir.chmod(0o555)
    try:
        assert [icd10_status(c) for c in TRICKY] == [_package_status(c) for c in TRICKY]
        assert list(cache_dir.iterdir()) == []
    finally:
        cache_dir.chmod(0o755)


def test_a_folder_refusing_new_files_still_answers(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only folder as root sees it (root may write anywhere, so the refusal is simulated)."""

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("claims.codes.tempfile.mkstemp", refuse)
    assert [icd10_status(c) for c in TRICKY] == [_package_status(c) for c in TRICKY]
    assert list(cache_dir.iterdir()) == []


def test_a_failed_write_leaves_no_temporary_file(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: str, dst: str) -> None:
        raise PermissionError("no")

    monkeypatch.setattr("claims.codes.os.replace", refuse)
    assert codes._write_table(cache_dir / "table.txt", b"data") is False
    assert list(cache_dir.iterdir()) == []


def test_writers_replace_the_file_whole_and_readers_never_see_part_of_it(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What two xdist workers building the cache at once do: each writes its own file, then renames it."""
    version = importlib.metadata.version("simple-icd-10-cm")
    table = codes.build_icd10_table()
    data = codes._encode_table(table, version)
    assert data is not None
    path = _table_path()
    real_replace = os.replace
    replaced: list[str] = []

    def checked_replace(src: str, dst: str) -> None:
        assert (
            Path(src).parent == path.parent and Path(src).read_bytes() == data
        )  # complete before the rename
        replaced.append(src)
        real_replace(src, dst)

    monkeypatch.setattr("claims.codes.os.replace", checked_replace)
    seen: list[int | None] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            found = codes._read_table(path, version)
            seen.append(None if found is None else len(found))

    def write() -> None:
        for _ in range(3):
            assert codes._write_table(path, data)

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write) for _ in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert len(set(replaced)) == 12  # one temporary file per write
    assert set(seen) <= {None, len(table)}
    assert [p.name for p in cache_dir.iterdir()] == [path.name]
    assert codes._read_table(path, version) == table


def test_the_cache_folder_and_file_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DENIALS_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert codes.icd10_cache_dir() == tmp_path / "home" / ".cache" / "denials"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert codes.icd10_cache_dir() == tmp_path / "home" / ".cache" / "denials"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert codes.icd10_cache_dir() == tmp_path / "xdg" / "denials"
    monkeypatch.setenv("DENIALS_CACHE_DIR", str(tmp_path / "mine"))
    assert codes.icd10_cache_dir() == tmp_path / "mine"
    name = codes.icd10_table_path("1.5.0").name
    assert "1.5.0" in name and f"v{codes.ICD10_TABLE_FORMAT}" in name


def test_importing_the_module_does_not_import_the_package() -> None:
    script = "import sys, claims, claims.codes; print('simple_icd_10_cm' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
