"""The till's side of HQ (issue 13): push what it recorded (push.py: its commits after HQ's
high-water mark, in commit order), pull what HQ changed, one step of both (run.py: sync_once, what
`tui-pos sync` and the sync worker call).

Over psycopg, imported lazily through tui_pos.hq: a till without HQ never loads it. Reads what is
stored only through the store's view (StoreView.commits_after); writes nothing at the till but
through the app's use cases.
"""
