"""Credo's domain: records, identifiers, the rulebook and the scoring semantics.

Pure Python: nothing here reads a file, a clock or a database. The as-of date
is always an argument. This package is the reference every engine is tested
against.
"""
