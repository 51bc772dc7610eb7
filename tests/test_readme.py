"""The README's "Layout of the code" lists every module of the package, one line each, sorted by name."""

import re

from helpers import REPO


def listed_modules() -> list[str]:
    """The paths the layout block names, in its order: 'actbench/cli.py', 'actbench/report/plots.py', ..."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## Layout of the code", 1)[1].split("```", 2)[1]
    folders: list[str] = []
    paths = []
    for line in block.splitlines():
        match = re.match(r"( *)(\S+)", line)
        if not match:
            continue
        depth, name = len(match.group(1)) // 2, match.group(2)
        folders = folders[:depth]
        if name.endswith("/"):
            folders.append(name.rstrip("/"))
        else:
            paths.append("/".join([*folders, name]))
            assert len(line.split(None, 1)) == 2, f"{line!r}: say what the module is for"
    return paths


def test_the_layout_lists_every_module_once_sorted_by_name():
    listed = listed_modules()
    on_disk = sorted(str(path.relative_to(REPO)) for path in (REPO / "actbench").rglob("*.py"))
    assert sorted(set(listed)) == on_disk, (sorted(set(on_disk) - set(listed)), sorted(set(listed) - set(on_disk)))
    assert len(listed) == len(on_disk)  # each once
    # Sorted by name, a folder where its name sorts: the order `sorted` gives the path parts.
    assert listed == sorted(listed, key=lambda path: path.split("/"))
