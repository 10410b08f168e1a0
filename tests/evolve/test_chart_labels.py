"""A PNG's y labels are drawn left of its axis (x=80) in glyphs 8 px apart: an eleven-character
label (-1.798e+308, a score near the largest float) ran three pixels into the plot, over the
axis. Such a label now drops digits until it fits (-1.8e+308)."""

from __future__ import annotations

import struct
import sys
import zlib

import pytest

from mindgit.evolve.chart import label, png_chart, png_label

AXIS = (60, 60, 60)
LEFT = 80  # the y axis


def pixels(png: bytes) -> tuple[int, int, bytes]:
    """Width, height and the RGB bytes of a PNG png_chart wrote (one IDAT, filter 0)."""
    width, height = struct.unpack(">II", png[16:24])
    at = png.index(b"IDAT") - 4
    (size,) = struct.unpack(">I", png[at : at + 4])
    raw = zlib.decompress(png[at + 8 : at + 8 + size])
    rows = [raw[y * (width * 3 + 1) + 1 : (y + 1) * (width * 3 + 1)] for y in range(height)]
    return width, height, b"".join(rows)


@pytest.mark.parametrize(
    "lo",
    [-sys.float_info.max, -1.234e-300, -5e-324, -123456789.0, -35.26],
)
def test_the_low_label_stays_left_of_the_axis(lo: float) -> None:
    width, height, rgb = pixels(png_chart([lo, 1.0], [lo, 1.0], width=300, height=200))
    bottom = height - 50
    inked = [
        x
        for y in range(bottom - 10, bottom)
        for x in range(LEFT + 1, width)
        if tuple(rgb[(y * width + x) * 3 : (y * width + x) * 3 + 3]) == AXIS
    ]
    assert inked == [], (png_label(lo), inked[:5])


def test_png_labels_keep_as_many_digits_as_fit() -> None:
    assert png_label(-sys.float_info.max) == "-1.8e+308"
    assert png_label(-0.14369395345303282) == label(-0.14369395345303282) == "-0.1437"
    assert png_label(-123456789.0) == "-1.23e+08"
    assert all(
        len(png_label(x)) <= 9
        for x in (-sys.float_info.max, -5e-324, -1.234e-300, -1.2345678e-10, -9.999e99)
    )
