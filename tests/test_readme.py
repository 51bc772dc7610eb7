"""docs/development.md's "Layout of the code" lists every module of the package, one line each, sorted by name."""

import re

from helpers import REPO


def listed_modules() -> list[str]:
    """The paths the layout block names, in its order: 'actbench/cli.py', 'actbench/report/plots.py', ..."""
    text = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
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


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_between_the_readme_and_docs_leads_somewhere():
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    linked_from_readme = set()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if "://" in target:
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            assert file.is_file(), f"{page.name}: link to {target!r}: no such file"
            if page.name == "README.md":
                linked_from_readme.add(file)
            if anchor:
                headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), flags=re.MULTILINE)
                assert anchor in {slug(h) for h in headings}, f"{page.name}: link to {target!r}: no such heading"
    unlinked = [p.name for p in pages[1:] if p.resolve() not in linked_from_readme]
    assert not unlinked, f"docs pages the README does not point to: {unlinked}"


def test_the_readme_gives_the_test_command_ci_runs():
    command = "pip install -e '.[test]' && pytest"
    assert command in (REPO / "README.md").read_text(encoding="utf-8")
    assert command in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_readmes_python_example_runs_as_a_script(tmp_path):
    import shutil
    import subprocess
    import sys

    text = (REPO / "README.md").read_text(encoding="utf-8").split("## From Python", 1)[1]
    script = text.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "configs").mkdir()
    shutil.copy(REPO / "configs" / "relu_vs_sigmoid.yaml", tmp_path / "configs")
    (tmp_path / "example.py").write_text(script)
    out = subprocess.run([sys.executable, "example.py"], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("6 runs finished") and "relu" in out.stdout and "sigmoid" in out.stdout
    assert (tmp_path / "results" / "relu_vs_sigmoid" / "results.csv").is_file()
