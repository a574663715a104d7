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
    slope: float = 0.0  # dy/dx of the text line through the word (a curved receipt bends)

    @property
    def cx(self) -> float:
        """Horizontal centre."""
        return (self.x0 + self.x1) / 2

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


def split_words(
    text: str, x0: float, y0: float, x1: float, y1: float, slope: float = 0.0
) -> list[Word]:
    """Split one box's text at spaces, giving each word its share of the box by characters.

    With a ``slope``, ``y0``/``y1`` are the text line's top and bottom at the box's centre and
    each word sits where the line passes at its own centre.
    """
    text = text.rstrip()
    if not text.strip():
        return []
    per_char = (x1 - x0) / max(len(text), 1)
    centre = (x0 + x1) / 2
    words = []
    start = None
    for i, ch in enumerate(text + " "):
        if ch.isspace():
            if start is not None:
                a, b = x0 + start * per_char, x0 + i * per_char
                dy = slope * ((a + b) / 2 - centre)
                words.append(Word(text[start:i], a, y0 + dy, b, y1 + dy, slope))
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
    """Angle of a box's top edge in radians (positive: it falls to the right, y grows down)."""
    (ax, ay), (bx, by) = box[0], box[1]
    if bx - ax <= 0:
        return 0.0
    return math.atan2(by - ay, bx - ax)


def _apart(a: Word, b: Word) -> float:
    """How far apart two words' text lines are, in line heights, where the lines meet.

    Each word's line is followed from its centre, with its own slope, to the point halfway
    between the two words: on a curved or crumpled receipt the two lines meet there even
    when the words' own heights differ by most of a line.
    """
    middle = (a.cx + b.cx) / 2
    ya = a.cy + a.slope * (middle - a.cx)
    yb = b.cy + b.slope * (middle - b.cx)
    return abs(ya - yb) / (min(a.height, b.height) or 1.0)


def group_rows(boxes: Iterable[tuple[Sequence[Point], str]]) -> list[Row]:
    """Group OCR boxes (four corners clockwise from top-left, text) into printed rows.

    The median text angle is undone first, so a photo skewed by some degrees still groups
    line by line; what remains of each box's angle is its local slope (a curved receipt).
    A word joins the nearby row whose text line, followed to it, passes within half a line.
    """
    items = [(list(box), text) for box, text in boxes if text.strip()]
    if not items:
        return []
    angle = statistics.median(_box_angle(box) for box, _ in items)
    cos, sin = math.cos(-angle), math.sin(-angle)
    words: list[Word] = []
    for box, text in items:
        pts = [(x * cos - y * sin, x * sin + y * cos) for x, y in box]
        (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = pts[:4]
        top_dx, bottom_dx = trx - tlx, brx - blx
        slope = 0.0
        if top_dx > 0 and bottom_dx > 0:
            slope = ((try_ - tly) / top_dx + (bry - bly) / bottom_dx) / 2
        height = (math.dist(pts[0], pts[3]) + math.dist(pts[1], pts[2])) / 2
        cy = sum(p[1] for p in pts) / 4
        left = min(p[0] for p in pts)
        right = max(p[0] for p in pts)
        words.extend(split_words(text, left, cy - height / 2, right, cy + height / 2, slope))
    words.sort(key=lambda w: w.cy)
    rows: list[list[Word]] = []
    for word in words:
        best, best_apart = None, 0.5
        # Only the last few rows can hold it: it belongs to one of them or starts a new one.
        for i in range(len(rows) - 1, max(-1, len(rows) - 5), -1):
            nearest = min(rows[i], key=lambda w: abs(w.cx - word.cx))
            apart = _apart(nearest, word)
            if apart < best_apart:
                best, best_apart = i, apart
        if best is None:
            rows.append([word])
        else:
            rows[best].append(word)
    return [Row(tuple(sorted(r, key=lambda w: w.x0))) for r in rows]
