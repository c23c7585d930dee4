"""Start-up: config -> store -> services -> Till; starts the workers (print, replay)."""
