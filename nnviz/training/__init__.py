"""Scripts that reproduce every shipped weight file, seeded."""
