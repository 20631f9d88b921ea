"""Charts and reports built from an analysis result (matplotlib Figures, never pyplot)."""
