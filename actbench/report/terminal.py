"""Draw tables that fit the terminal without breaking a number or a word.

rich narrows a table that is too wide by cutting cells anywhere: '0.9497 ±' / '0.0038',
'distingu' / 'ishable'. Here the widths are planned first: text cells wrap only between words
(and a label between its name and its parameters), numbers never; when even that does not fit,
optional columns go first (with a line saying so), then the remaining columns are spread over
several tables that repeat the leading label columns. A table of metrics keeps its labels whole and
shows as many metrics as fit (`draw_metrics`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

WIDE = 100_000  # "no limit": tables keep their natural width
# SIMPLE_HEAVY's layout in plain ASCII, for pipes and logs: a rule under the header, no side bars.
ASCII_SIMPLE = box.Box("    \n    \n -- \n    \n    \n -- \n    \n    \n", ascii=True)


def pieces(text: str) -> list[str]:
    """The parts a cell may be broken into: words, and a label's name apart from '(its parameters)'.

    A parenthesis stays whole: 'softmax (2 units)' breaks before '(2 units)', never inside it.
    """
    return re.findall(r"\([^)]*\)?\s*|[^\s(]+\s*|\s+", text)


def wrap_cell(text: str, width: int) -> str:
    """Greedy line filling over `pieces`; a piece longer than `width` stays whole on its own line."""
    lines = []
    for line in text.split("\n"):
        current = ""
        for part in pieces(line):
            if current and len((current + part).rstrip()) > width:
                lines.append(current.rstrip())
                current = part.lstrip()
            else:
                current += part
        lines.append(current.rstrip())
    return "\n".join(lines)


def _is_text(cells: list[str]) -> bool:
    """Text columns may wrap; a column of numbers ('0.9497 ± 0.0038', '[0.94, 0.95]', '<0.001') may not."""
    return any(re.search(r"[A-Za-z]{2}", cell) for cell in cells)


def _widths(frame: pd.DataFrame) -> tuple[list[int], list[int]]:
    """Natural and narrowest widths per column; headers always wrap between words."""
    natural, narrowest = [], []
    for column in frame.columns:
        cells = [str(value) for value in frame[column]]
        header = str(column)
        longest = max([len(header), *(max(map(len, c.split("\n"))) for c in cells)])
        header_min = max(len(word) for word in header.split())
        if _is_text(cells):
            cell_min = max((len(p.strip()) for c in cells for p in pieces(c)), default=1)
        else:
            cell_min = max((len(c) for c in cells), default=1)
        natural.append(longest)
        narrowest.append(max(cell_min, header_min))
    return natural, narrowest


class _Trimmed:
    """A renderable without the spaces rich pads every line to the table's width with: a pipe or a log keeps no
    trailing blanks (and a terminal shows the same)."""

    def __init__(self, renderable: Table) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in console.render_lines(self.renderable, options, pad=False):
            while line and not line[-1].control and not line[-1].text.strip():
                line.pop()
            if line:
                line[-1] = Segment(line[-1].text.rstrip(), line[-1].style, line[-1].control)
            yield from line
            yield Segment.line()


def _table(console: Console, frame: pd.DataFrame, widths: list[int] | None) -> Table:
    # Two spaces between columns (one of padding, one of the box's blank rule) and none at the edges.
    table = Table(
        box=box.SIMPLE_HEAVY if console.is_terminal else ASCII_SIMPLE,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for index, column in enumerate(frame.columns):
        width = widths[index] if widths else None
        table.add_column(wrap_cell(str(column), width) if width else str(column), no_wrap=True, width=width)
    for row in frame.itertuples(index=False):
        cells = [str(value) for value in row]
        table.add_row(*(wrap_cell(cell, widths[i]) if widths else cell for i, cell in enumerate(cells)))
    return table


def _plan(console: Console, frame: pd.DataFrame, soft: list[str] | None = None) -> list[int] | None:
    """Column widths that fit `console.width`, wrapping only the `soft` columns (None: any text column).

    None when the natural widths fit, [] when even the narrowest allowed widths do not.
    """
    natural, narrowest = _widths(frame)
    if soft is not None:
        narrowest = [low if column in soft else high for column, low, high in zip(frame.columns, narrowest, natural)]
    unlimited = console.options.update(max_width=WIDE)  # measured within the console's width, a table never exceeds it
    overhead = Measurement.get(console, unlimited, _table(console, frame, None)).maximum - sum(natural)
    room = console.width - overhead
    if sum(natural) <= room:
        return None
    if sum(narrowest) > room:
        return []
    widths = list(natural)
    while sum(widths) > room:  # narrow the widest column that can still give, one character at a time
        candidates = [i for i in range(len(widths)) if widths[i] > narrowest[i]]
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def draw_table(console: Console, title: str, frame: pd.DataFrame, optional: Sequence[str] = (), keep: int = 1) -> None:
    """Print `frame` within the console's width, trying in turn: wrapping the first `keep` (label) columns;
    dropping `optional` columns (saying so); wrapping any text column; splitting the columns over
    several tables, each repeating the first `keep`."""
    dropped = []
    soft = list(frame.columns[:keep])
    widths = _plan(console, frame, soft)
    for column in optional:
        if widths != []:
            break
        if column in frame.columns:
            frame = frame.drop(columns=column)
            dropped.append(column)
            widths = _plan(console, frame, soft)
    if widths == []:
        widths = _plan(console, frame)
    if widths == [] and len(frame.columns) > keep + 1:
        for part, chunk in enumerate(_chunks(console, frame, keep)):
            draw_table(console, f"{title} ({part + 1})" if part else title, chunk, keep=len(frame.columns))
        return
    # The title on a line of its own: as a table title rich wraps it to the table's width, however narrow.
    _line(console, title, "table.title")
    console.print(_Trimmed(_table(console, frame, widths or None)))
    _left_out(console, dropped)


def draw_metrics(console: Console, title: str, frame: pd.DataFrame, keep: int = 2) -> None:
    """A table of metric columns after `keep` label columns: as many metrics as fit beside whole labels, in
    their order (headers may wrap between words), the rest named on a line. Only when not even the first
    fits do the labels wrap."""
    leading, metrics = list(frame.columns[:keep]), list(frame.columns[keep:])
    count = len(metrics)
    while count > 1 and _plan(console, frame[leading + metrics[:count]], metrics[:count]) == []:
        count -= 1
    draw_table(console, title, frame[leading + metrics[:count]], keep=keep)
    _left_out(console, metrics[count:])


def _left_out(console: Console, columns: list[str]) -> None:
    if columns:
        _line(console, f"left out at {console.width} columns: {', '.join(columns)}; --wide shows every column")


def _line(console: Console, text: str, style: str = "") -> None:
    """A sentence wrapped between words at the console's width, without the blank rich leaves at each break."""
    console.print(Text(wrap_cell(text, console.width), style=style), soft_wrap=True)


def _chunks(console: Console, frame: pd.DataFrame, keep: int) -> list[pd.DataFrame]:
    """Split the columns after the first `keep` into as few tables as fit, in order."""
    leading, rest = list(frame.columns[:keep]), list(frame.columns[keep:])
    chunks: list[pd.DataFrame] = []
    current: list[str] = []
    for column in rest:
        if current and _plan(console, frame[leading + current + [column]], leading) == []:
            chunks.append(frame[leading + current])
            current = []
        current.append(column)
    return chunks + [frame[leading + current]]
