"""Mata Duitan backend: FastAPI + MongoDB, the only owner of the money."""
