"""tui-pos: a point-of-sale system for headless tills."""

__version__ = "0.1.0"


def exit_interrupted() -> None:
    """Ctrl-C while Python still imports the CLI: one line and status 130, never a traceback.
    os._exit, not sys.exit: a clean interpreter exit can be interrupted again."""
    import os
    import sys

    said = "Error: interrupted"
    try:  # the shop's language is not read yet: the system's (a second Ctrl-C here: the English)
        from tui_pos.i18n import system_language, translator

        words = translator(system_language())
        said = words.gettext("Error: {message}").format(message=words.gettext("interrupted"))
    except BaseException:  # noqa: BLE001, S110 - one line is all that is left to say
        pass
    sys.stderr.write(f"\n{said}\n")
    sys.stderr.flush()
    os._exit(130)
