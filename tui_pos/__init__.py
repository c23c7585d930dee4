"""tui-pos: a point-of-sale system for headless tills."""

__version__ = "0.1.0"
