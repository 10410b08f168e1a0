"""Adapters: moving a store's states in and out of other formats (CAR files for IPFS, ...).

They sit above ``store`` (and may use ``ipld``, ``identity`` and ``store``), beside ``sync``.
"""
