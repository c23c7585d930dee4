"""The thin transaction core: pure domain code plus the Till API. Never imports Textual or click."""
