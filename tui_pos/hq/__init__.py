"""HQ: the chain's PostgreSQL side (issue 13). Schema and named, versioned migrations (schema.py),
the connection and its errors (connection.py), shops and tills (chain.py), a till's enrolment
(enrol.py), and the records stream's client calls (stream.py).

psycopg is imported lazily, inside these modules' functions only: a till without HQ never loads it
(tests/hq/test_lazy_import.py). Nothing here imports the store or the app: HQ keeps the records as
the JSON the till's journal holds.
"""
