"""`python tests/merge/launcher.py ARGS...` runs `mindgit ARGS...` with the merge commands
registered, for the git driver's subprocess while mindgit/cli/main.py does not list them yet."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mindgit.cli.main import COMMANDS, main

COMMANDS.setdefault("merge", ("merge", "merge"))
COMMANDS.setdefault("merge-driver", ("merge", "merge_driver"))
COMMANDS.setdefault("git-setup", ("merge", "git_setup"))

if __name__ == "__main__":
    main()
