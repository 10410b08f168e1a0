"""errors.shown_url and scrub hide a URL's credentials in any text, git's error lines (which
quote a peer's words) included. Their pattern matched a scheme of any length, so a run of letters
with no "://" after it was scanned to its end from each of its letters: 40,000 letters took
2.6 s, a git:// peer's 65 KB error line ~7 s. The scheme is now matched by its last 64
characters at most, and the "@" after a scheme looked for once per "://" (a 63-letter scheme and
100,000 characters with no "@" took 0.4 s); what is hidden, and the text around it, is exactly
what it was."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.errors import HIDDEN, SSH_SCHEMES, scrub, shown_url

# The pattern as it was, the reference for what must be hidden.
_BEFORE = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@\s]*(?:@[^/?#@\s]*)*)@"
)


def shown_before(url: str) -> str:
    def secret(m: re.Match[str]) -> bool:
        return ":" in m["userinfo"] or not m["scheme"].lower().startswith(SSH_SCHEMES)

    return _BEFORE.sub(lambda m: f"{m['scheme']}{HIDDEN}@" if secret(m) else m[0], url)


PIECES = st.sampled_from(
    [
        "https",
        "ssh",
        "git+ssh",
        "x",
        "1",
        "-",
        ".",
        "://",
        "@",
        ":",
        "/",
        " ",
        "user",
        "pw",
        "a" * 70,
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=30).map("".join))
def test_what_is_hidden_is_what_it_was(text: str) -> None:
    assert shown_url(text) == shown_before(text)


def test_a_scheme_longer_than_64_characters_still_has_its_credentials_hidden() -> None:
    url = "a" * 100 + "https://user:secret@host/repo"
    assert shown_url(url) == "a" * 100 + f"https://{HIDDEN}@host/repo"
    assert "secret" not in scrub(f"fatal: unable to access {url}", url)


def test_a_long_run_of_letters_is_left_as_it_is() -> None:
    # 200,000 letters: seconds to minutes before (each letter a scan to the end of the run).
    text = "a" * 200_000
    assert shown_url(text) == text
    assert scrub(text, "https://user:pw@host/x") == text


def test_a_scheme_followed_by_a_long_run_with_no_at_sign_is_left_as_it_is() -> None:
    # 0.4-1.7 s before: the run after the scheme was backtracked through from each of the 64
    # places a scheme may begin. Its "@" is looked for once per "://" now.
    text = "a" * 63 + "://" + "x" * 100_000
    assert shown_url(text) == text
    assert scrub(text, text) == text
    late = text + "@host"
    assert shown_url(late) == f"{'a' * 63}://{HIDDEN}@host"
