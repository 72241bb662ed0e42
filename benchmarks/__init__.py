"""Benchmarks of aiobatch side by side with Powertools' batch utility.

Run them with ``make bench`` (or ``python -m benchmarks --help``). Every case runs its
contenders interleaved in one process, so that drift on a shared machine hits all of
them alike, and reports medians. Nothing here is a test: the test suite only runs
``--quick`` once so that the benchmarks do not rot.
"""
