"""Django-side shared pieces: the process clock, actors, domain errors."""
