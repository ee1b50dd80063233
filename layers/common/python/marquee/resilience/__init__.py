"""Resilience: circuit breakers, the generic provider transport and credentials, deep health checks."""
