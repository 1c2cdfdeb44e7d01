"""Online stage: reduced solver, reconstruction, error indicator (see issues)."""
