"""Use cases: what a cashier, a manager and the CLI can do, over the store's ports. No SQL here."""
