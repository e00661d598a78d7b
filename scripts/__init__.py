"""Developer scripts: the docs generator (docs.py) and a real Medusa for the e2e suite."""
