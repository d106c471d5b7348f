"""Benchmarks: scripts that print our numbers beside the bare library doing the same work.

Run them as files (``python bench/NAME.py``). This file makes ``bench`` a package for mypy only:
without it ``bench/training.py`` and the ``training`` package would both be module "training".
"""
