from tui_pos.cli import main

main()
