"""Fitness charts of a run: lines of text for a terminal, and a small PNG written with zlib.

No plotting library: a chart of two lines needs a canvas, a line routine and a 3x5 pixel font
for its labels, which is less code than a dependency is trouble.
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from collections.abc import Sequence

from mindgit.errors import UsageError

Series = Sequence[float | None]

BEST_COLOUR = (31, 119, 180)
MEAN_COLOUR = (255, 127, 14)
_GRID = (225, 225, 225)
_AXIS = (60, 60, 60)
_WHITE = (255, 255, 255)

# 3x5 glyphs, one row per string, '#' = ink.
_FONT: dict[str, tuple[str, ...]] = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", ".##", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    ".": ("...", "...", "...", "...", ".#."),
    "-": ("...", "...", "###", "...", "..."),
    "+": ("...", ".#.", "###", ".#.", "..."),
    "e": ("...", "###", "#.#", "##.", "###"),
    "b": ("#..", "#..", "###", "#.#", "###"),
    "s": ("...", "###", "##.", "..#", "###"),
    "t": (".#.", "###", ".#.", ".#.", ".##"),
    "m": ("...", "###", "###", "#.#", "#.#"),
    "a": ("...", "##.", ".##", "#.#", "###"),
    "n": ("...", "##.", "#.#", "#.#", "#.#"),
    "g": (".##", "#..", "#.#", "#.#", ".##"),
    "r": ("...", "#.#", "##.", "#..", "#.."),
    "i": (".#.", "...", ".#.", ".#.", ".#."),
    "o": ("...", "###", "#.#", "#.#", "###"),
    " ": ("...", "...", "...", "...", "..."),
}


# The widths `mindgit plot --width` takes. A terminal chart narrower than 20 columns shows too
# few generations to see a trend in, and wider than 1,000 is wider than any terminal (a 4K screen
# at a 6-pixel font is ~640 columns). A PNG has 80 px of y labels on its left and a 20 px margin
# on its right; between them the x axis holds the "generation" label (80 px, centred) and the
# last generation's number at its right end (up to 7 digits, 56 px): they overlap below 300 px.
# 10,000 px is 400 rows x 10,000 x 3 bytes = 12 MB of pixels, under half a second to compress;
# 10**9 would ask for 1.2 TB.
TEXT_WIDTHS = (20, 1_000)
PNG_WIDTHS = (300, 10_000)


class ChartWidthOutOfRange(UsageError):
    """A chart width outside what the chart can be drawn in (``--width``)."""

    def __init__(self, width: int, what: str, bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        super().__init__(f"--width {width} is out of range: {what} {lo}..{hi}")
        self.width = width
        self.bounds = bounds


def check_width(width: int, *, png: bool) -> int:
    """``width`` if a chart (a PNG's pixels, else a terminal's columns) can be drawn that wide."""
    if png:
        bounds, what = PNG_WIDTHS, "a PNG (-o) is in pixels,"
    else:
        bounds, what = TEXT_WIDTHS, "a terminal chart is in columns,"
    if not bounds[0] <= width <= bounds[1]:
        raise ChartWidthOutOfRange(width, what, bounds)
    return width


def label(x: float) -> str:
    """A short axis label for a score."""
    return f"{x:.4g}"


# A PNG's y labels are drawn from x=4 in glyphs 8 px apart, left of the axis at x=80: nine fit.
_PNG_LABEL_CHARS = 9


def png_label(x: float) -> str:
    """A y label that fits left of a PNG's axis: ``label``'s, with fewer digits when it is
    wider (-1.798e+308, eleven characters, ran over the axis; -1.8e+308 fits)."""
    for digits in (4, 3, 2, 1):
        text = f"{x:.{digits}g}"
        if len(text) <= _PNG_LABEL_CHARS:
            return text
    return text


def _range(series: Sequence[Series]) -> tuple[float, float] | None:
    values = [v for s in series for v in s if v is not None and math.isfinite(v)]
    if not values:
        return None
    lo, hi = min(values), max(values)
    if lo == hi:
        pad = abs(lo) * 0.05 or 1.0
        # Kept finite: a score near the largest float padded by 5% would be infinite.
        lo, hi = max(lo - pad, -sys.float_info.max), min(hi + pad, sys.float_info.max)
    return lo, hi


def _fraction(v: float, lo: float, hi: float) -> float:
    """Where ``v`` lies between ``lo`` and ``hi``, 0..1. Halved first: finite scores far apart
    (-1e308 and 1e308) have a difference too large for a float, and inf/inf is NaN. Subnormal
    scores a few units of the last place apart (1e-322 padded by one, 5e-324 and -5e-324) halve
    to the same float: their whole difference, far from overflowing, is taken then."""
    span = hi / 2 - lo / 2
    if span == 0:
        return (v - lo) / (hi - lo)
    return (v / 2 - lo / 2) / span


def text_chart(best: Series, mean: Series, *, width: int = 60, height: int = 15) -> list[str]:
    """The two series as lines of text: ``*`` best, ``.`` mean, a labelled y axis."""
    n = max(len(best), len(mean))
    span = _range([best, mean])
    if n == 0 or span is None:
        return ["(no scores to chart)"]
    lo, hi = span
    cols = min(width, n)
    grid = [[" "] * cols for _ in range(height)]

    def row_of(v: float) -> int:
        return height - 1 - round(_fraction(v, lo, hi) * (height - 1))

    for series, mark in ((mean, "."), (best, "*")):
        for c in range(cols):
            g = c * (n - 1) // max(cols - 1, 1) if cols > 1 else n - 1
            v = series[g] if g < len(series) else None
            if v is not None and math.isfinite(v):
                grid[row_of(v)][c] = mark
    top, bottom = label(hi), label(lo)
    pad = max(len(top), len(bottom))
    lines = []
    for r, cells in enumerate(grid):
        axis = top if r == 0 else bottom if r == height - 1 else ""
        lines.append(f"{axis:>{pad}} |{''.join(cells)}")
    last = str(n - 1)
    lines.append(" " * pad + " +" + "-" * cols)
    # One generation is one column: its number once, not "00".
    ticks = "0" + last.rjust(max(cols - 1, len(last))) if n > 1 else "0"
    lines.append(" " * pad + "  " + ticks)
    lines.append(" " * pad + "  generation   * best   . mean")
    return lines


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(bytes(_WHITE) * (width * height))

    def dot(self, x: int, y: int, colour: tuple[int, int, int]) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = (y * self.width + x) * 3
            self.pixels[i : i + 3] = bytes(colour)

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        for y in range(max(y0, 0), min(y1, self.height)):
            for x in range(max(x0, 0), min(x1, self.width)):
                self.dot(x, y, colour)

    def line(
        self, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int], thick: int = 1
    ) -> None:
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            for t in range(thick):
                self.dot(x0, y0 + t, colour)
                self.dot(x0 + t, y0, colour)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x: int, y: int, s: str, colour: tuple[int, int, int], scale: int = 2) -> None:
        for ch in s:
            glyph = _FONT.get(ch, _FONT[" "])
            for gy, row in enumerate(glyph):
                for gx, cell in enumerate(row):
                    if cell == "#":
                        self.rect(
                            x + gx * scale,
                            y + gy * scale,
                            x + (gx + 1) * scale,
                            y + (gy + 1) * scale,
                            colour,
                        )
            x += 4 * scale

    def png(self) -> bytes:
        raw = bytearray()
        stride = self.width * 3
        for y in range(self.height):
            raw.append(0)  # filter type: none
            raw += self.pixels[y * stride : (y + 1) * stride]
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_chart(best: Series, mean: Series, *, width: int = 800, height: int = 400) -> bytes:
    """A PNG of best (blue) and mean (orange) fitness per generation, with labelled axes."""
    canvas = _Canvas(width, height)
    left, right, top, bottom = 80, width - 20, 20, height - 50
    n = max(len(best), len(mean))
    span = _range([best, mean])
    canvas.line(left, top, left, bottom, _AXIS)
    canvas.line(left, bottom, right, bottom, _AXIS)
    if n == 0 or span is None:
        return canvas.png()
    lo, hi = span
    for k in range(1, 5):
        y = bottom - (bottom - top) * k // 4
        canvas.line(left + 1, y, right, y, _GRID)

    def point(g: int, v: float) -> tuple[int, int]:
        x = left + (right - left) * g // max(n - 1, 1)
        y = bottom - round(_fraction(v, lo, hi) * (bottom - top))
        return x, y

    for series, colour in ((mean, MEAN_COLOUR), (best, BEST_COLOUR)):
        prev: tuple[int, int] | None = None
        for g, v in enumerate(series):
            if v is None or not math.isfinite(v):
                prev = None
                continue
            p = point(g, v)
            if prev is not None:
                canvas.line(prev[0], prev[1], p[0], p[1], colour, thick=2)
            else:
                canvas.dot(p[0], p[1], colour)
            prev = p
    canvas.text(4, top, png_label(hi), _AXIS)
    canvas.text(4, bottom - 10, png_label(lo), _AXIS)
    canvas.text(left, bottom + 8, "0", _AXIS)
    last = str(n - 1)
    canvas.text(right - 8 * len(last), bottom + 8, last, _AXIS)
    canvas.text(left + (right - left) // 2 - 40, bottom + 8, "generation", _AXIS)
    canvas.rect(left + 10, height - 20, left + 22, height - 8, BEST_COLOUR)
    canvas.text(left + 28, height - 20, "best", _AXIS)
    canvas.rect(left + 80, height - 20, left + 92, height - 8, MEAN_COLOUR)
    canvas.text(left + 98, height - 20, "mean", _AXIS)
    return canvas.png()
