"""Model files: where they live, how the embedded default is assembled, how they are checked."""
