"""Tests of the command line layer (tui_pos/cli)."""
