"""Files written whole (export-af -o, plot -o, export --car) under the longest names a file
system takes: the temporary file beside the target added 10 bytes to its name, so a name of 246
to 255 bytes could not be written at all ("File name too long")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mindgit.adapters.agentfile_export import temp_prefix, write_whole
from mindgit.errors import MindgitError


@pytest.mark.parametrize("length", [240, 246, 250, 255])
def test_a_file_of_the_longest_names_is_written_whole(tmp_path: Path, length: int) -> None:
    target = tmp_path / ("a" * length)
    write_whole(target, b"data")
    assert target.read_bytes() == b"data"
    assert os.listdir(tmp_path) == [target.name]  # no temporary file left


def test_a_longer_name_than_the_file_system_takes_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MindgitError, match="too long"):
        write_whole(tmp_path / ("a" * 256), b"data")
    assert os.listdir(tmp_path) == []


def test_the_prefix_is_cut_by_bytes_and_keeps_short_names_whole(tmp_path: Path) -> None:
    assert temp_prefix(tmp_path / "out.af", 8) == ".out.af."
    cut = temp_prefix(tmp_path / ("é" * 127), 8)  # 254 bytes of UTF-8
    assert len(os.fsencode(cut)) + 8 <= 255
    assert cut.startswith(".é")
