"""Typed access to git objects that pygit2's stubs cannot narrow.

pygit2's stubs declare ``Commit`` final and unrelated to ``Object`` (what ``repo[x]`` and
``repo.get(x)`` return), so ``isinstance(obj, pygit2.Commit)`` makes mypy treat the code that
follows as unreachable and check none of it. This checks the object's kind at run time and
returns it typed as a commit instead.
"""

from __future__ import annotations

import pygit2


def as_commit(obj: pygit2.Object | None) -> pygit2.Commit | None:
    """``obj`` if it is a commit, else None (absent, a tree, a blob, or a tag: tags are not followed).

    Example: ``commit = as_commit(repo.get(oid))``.
    """
    if obj is None or obj.type != pygit2.enums.ObjectType.COMMIT:
        return None
    # A commit peels to itself; peel is only how the stubs let us say "this is a Commit".
    return obj.peel(pygit2.Commit)
