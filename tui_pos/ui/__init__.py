"""The Textual checkout UI: screens and widgets over the core's Till API. It never writes SQL."""
