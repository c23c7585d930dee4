"""Durability: SQLite, the fallback journal, and the ledger that chooses between them.

The store speaks only plain dict records (see tui_pos.domain.sale.Sale.to_record); it never
imports the core, so storage can be tested and replayed on its own.
"""
