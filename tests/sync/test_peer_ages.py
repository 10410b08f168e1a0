"""peers tells a head's age in whole units passed (3,599 s read "60m", 86,399 s "24h"), and
never below 0 (a clock set back made --json's age_seconds negative)."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from mindgit.cli.commands.sync import _age
from mindgit.sync.peers import readable_state, write_state
from tests.conftest import Mg
from tests.sync.conftest import Nodes
from tests.sync.test_cli import at


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "0s"),
        (59.9, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h"),
        (86399, "23h"),
        (86400, "1d"),
        (2.5 * 86400, "2d"),
    ],
)
def test_an_age_is_whole_units_passed(seconds: float, shown: str) -> None:
    assert _age(seconds) == shown


def test_a_head_seen_in_the_future_is_zero_seconds_old(pair: Nodes, mg: Mg) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    assert mg(*at(pair, "alpha"), "pull", "beta").code == 0
    state = readable_state(alpha, "beta")
    ahead = time.time() + 3600  # as a clock set back by an hour since sees it
    write_state(
        alpha,
        "beta",
        replace(state, seen={r: replace(s, last=ahead) for r, s in state.seen.items()}),
    )
    r = mg(*at(pair, "alpha"), "peers", "--json")
    assert r.code == 0, r.err
    [peer] = json.loads(r.out)
    assert peer["seen"] and all(s["age_seconds"] == 0 for s in peer["seen"])
