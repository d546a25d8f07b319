"""Test support: a wallet API client with factories, and a real backend process to crash."""
