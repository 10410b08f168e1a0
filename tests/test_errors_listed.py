"""errors.listed: the first few items of a list that may be thousands long, and how many more
(show's "this node is not a recipient; a, b and 3 more can open it")."""

from __future__ import annotations

from mindgit.errors import listed


def test_a_list_within_the_limit_is_shown_whole() -> None:
    assert listed([], 5) == ""
    assert listed(["alpha"], 5) == "alpha"
    assert listed(["alpha", "beta"], 2) == "alpha, beta"


def test_a_longer_list_names_the_first_and_counts_the_rest() -> None:
    assert listed(["a", "b", "c"], 2) == "a, b and 1 more"
    assert listed([f"did:key:z{i}" for i in range(5000)], 5) == (
        "did:key:z0, did:key:z1, did:key:z2, did:key:z3, did:key:z4 and 4995 more"
    )
