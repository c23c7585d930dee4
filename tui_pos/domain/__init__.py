"""The domain: pure records and arithmetic (money, pricing, tenders, the cart, sales, refunds,
shifts, reports). No I/O: it imports no database, UI, CLI or printer library."""
