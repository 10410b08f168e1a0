"""Node identity: ed25519 keys, did:key ids, SSH signatures git verifies, and the trust store.

- ``keys``: ``PublicKey`` (did:key, OpenSSH line, fingerprint) and ``NodeKey`` (OpenSSH key file).
- ``sshsig``: ``sign``/``verify`` in OpenSSH's SSHSIG format (namespace "git", sha512).
- ``gitsig``: put a signature into a commit object and take it out again, as git does.
- ``trust``: ``TrustStore``, an OpenSSH allowed_signers file naming the trusted nodes.

Import the submodules directly; this package imports nothing so that ``import mindgit.identity``
stays free.
"""

from __future__ import annotations
