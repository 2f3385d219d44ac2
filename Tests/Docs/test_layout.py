"""The README's layout table against the tree: every source, C and test folder is listed, every
listed path exists, and the C core's row names exactly the core's .c files."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def layout_rows() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("| `") else []
        if len(cells) >= 2:
            rows.append((cells[0], cells[1]))
    return rows


def listed_paths() -> set[str]:
    return {p for path_cell, _ in layout_rows() for p in re.findall(r"`([^`]+/)`", path_cell)}


def test_every_folder_of_the_tree_is_listed():
    folders = {f"{top}/{d.name}/" for top in ("Sources", "CSources", "Tests")
               for d in (ROOT / top).iterdir() if d.is_dir() and not d.name.startswith((".", "__"))}
    folders.add("Benchmarks/")
    missing = sorted(folders - listed_paths())
    assert not missing, f"folders missing from the README's layout table: {missing}"


def test_every_listed_path_exists():
    gone = sorted(p for p in listed_paths() if not (ROOT / p).is_dir())
    assert not gone, f"the README's layout table lists paths that do not exist: {gone}"


def test_the_core_row_names_exactly_the_core_files():
    row = next(what for path, what in layout_rows() if path == "`CSources/CNaviosWS/`")
    named = set(re.findall(r"`([a-z0-9_]+\.c)`", row))
    files = {f.name for f in (ROOT / "CSources/CNaviosWS").glob("*.c")}
    assert named == files, f"not named: {sorted(files - named)}; named but absent: {sorted(named - files)}"
