"""The shared social security store: connections and migrations (`database`), publishing (`publish`)."""
