"""Cache invalidator: domain events -> the cached showtime entries they make stale."""
