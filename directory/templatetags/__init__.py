"""Template filters of the directory screens."""
