"""Sync between nodes over git remotes: peers, quarantine, verify-then-accept, push, hooks.

- ``peers``: peers as git remotes, their last-seen heads and recorded state.
- ``pull`` / ``push`` / ``session``: the three operations (``session.sync`` runs both with
  every peer).
- ``gate``: the check every incoming ref update passes (pull and the pre-receive hook).
- ``transport``: stock git in a subprocess, bounded in time.

Import the submodules directly.
"""
