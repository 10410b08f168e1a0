"""errors.one_line returns a text that is one terminal line already as it is: the same as
folding it character by character, for every text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mindgit.errors import one_line


def folded(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))


@given(st.text())
def test_one_line_is_the_fold_of_any_text(text: str) -> None:
    assert one_line(text) == folded(text)


@given(st.text(alphabet=st.sampled_from(" a\t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000\x1b\u009b")))
def test_one_line_is_the_fold_of_texts_of_blanks_and_controls(text: str) -> None:
    assert one_line(text) == folded(text)


def test_a_line_already_one_comes_back_as_it_is() -> None:
    text = "refs/heads/main moved while this command ran"
    assert one_line(text) is text
    assert one_line(" a") == "a" and one_line("a  b") == "a b" and one_line("a\xa0b") == "a b"
