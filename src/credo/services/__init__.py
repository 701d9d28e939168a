"""The use cases, each written once and run by every edge (the command line, the API): see docs/architecture.md.

Each is a function that takes a :class:`~credo.services.unit_of_work.UnitOfWork` and does one thing a person
asks of Credo; the unit of work owns the transaction, the subjects to rescore and the audit entries.
"""
