"""Words with positions, and rows of them: what OCR boxes and PDF text layers become.

Pure code, no I/O. Coordinates grow right and down; a row is the words a person reads as one
printed line of the receipt.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Point = tuple[float, float]


@dataclass(frozen=True)
class Word:
    """A piece of text and its box (left, top, right, bottom)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cy(self) -> float:
        """Vertical centre."""
        return (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        """Box height."""
        return self.y1 - self.y0


@dataclass(frozen=True)
class Row:
    """One printed line: its words from left to right."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        """The words joined by single spaces."""
        return " ".join(w.text for w in self.words)

    @property
    def x0(self) -> float:
        """Left edge."""
        return min(w.x0 for w in self.words)

    @property
    def x1(self) -> float:
        """Right edge."""
        return max(w.x1 for w in self.words)


def split_words(text: str, x0: float, y0: float, x1: float, y1: float) -> list[Word]:
    """Split one box's text at spaces, giving each word its share of the box by characters."""
    text = text.rstrip()
    if not text.strip():
        return []
    per_char = (x1 - x0) / max(len(text), 1)
    words = []
    start = None
    for i, ch in enumerate(text + " "):
        if ch.isspace():
            if start is not None:
                words.append(Word(text[start:i], x0 + start * per_char, y0, x0 + i * per_char, y1))
                start = None
        elif start is None:
            start = i
    return words


def rows_from_text(text: str) -> list[Row]:
    """Rows from plain text, a character being one unit wide and a line one unit high.

    For text receipts and for tests: the column a word starts at is its position.
    """
    rows = []
    for n, line in enumerate(text.splitlines()):
        words = split_words(line, 0, n, len(line), n + 1)
        if words:
            rows.append(Row(tuple(words)))
    return rows


def text_width(rows: Sequence[Row]) -> float:
    """The width the rows span (the receipt's printed width)."""
    if not rows:
        return 0.0
    return max(r.x1 for r in rows) - min(r.x0 for r in rows)


def _box_angle(box: Sequence[Point]) -> float:
    """Angle of a box's top edge in radians (positive: rising to the right goes down)."""
    (ax, ay), (bx, by) = box[0], box[1]
    if bx - ax <= 0:
        return 0.0
    return math.atan2(by - ay, bx - ax)


def group_rows(boxes: Iterable[tuple[Sequence[Point], str]]) -> list[Row]:
    """Group OCR boxes (four corners clockwise from top-left, text) into printed rows.

    The median text angle is undone first, so a photo skewed by some degrees still groups
    line by line; then boxes whose vertical spans overlap by more than half the smaller box
    form one row.
    """
    items = [(list(box), text) for box, text in boxes if text.strip()]
    if not items:
        return []
    angle = statistics.median(_box_angle(box) for box, _ in items)
    cos, sin = math.cos(-angle), math.sin(-angle)
    words: list[Word] = []
    for box, text in items:
        pts = [(x * cos - y * sin, x * sin + y * cos) for x, y in box]
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        words.extend(split_words(text, min(xs), min(ys), max(xs), max(ys)))
    words.sort(key=lambda w: w.cy)
    rows: list[list[Word]] = []
    spans: list[tuple[float, float]] = []
    for word in words:
        placed = False
        # Look back a few rows only: a word belongs to one of the last rows or starts a new one.
        for i in range(len(rows) - 1, max(-1, len(rows) - 4), -1):
            top, bottom = spans[i]
            overlap = min(bottom, word.y1) - max(top, word.y0)
            smaller = min(bottom - top, word.height) or 1.0
            if overlap / smaller > 0.5:
                # The span stays the first word's, so a row cannot grow into its neighbours.
                rows[i].append(word)
                placed = True
                break
        if not placed:
            rows.append([word])
            spans.append((word.y0, word.y1))
    return [Row(tuple(sorted(r, key=lambda w: w.x0))) for r in rows]
