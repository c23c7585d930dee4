try:  # `python -m tui_pos`: an interrupt while the CLI is imported lands here, not in cli/__init__
    from tui_pos.cli import main
except KeyboardInterrupt:
    from tui_pos import exit_interrupted

    exit_interrupted()

main()
