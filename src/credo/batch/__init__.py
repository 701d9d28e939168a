"""Batch scoring: a rulebook compiled to one relational plan, run by DuckDB.

``reader`` turns files into rows with their place in the file,
``validation`` splits rows into typed records and rejects (in SQL, with the
same reasons as :func:`credo.domain.records.parse_row`), ``plan`` compiles a
rulebook into engine-neutral SQL, ``engine`` runs it and writes the outputs.
"""
