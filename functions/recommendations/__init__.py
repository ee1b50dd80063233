"""Recommendations: the event stream -> Valkey signals; "popular now" and "because you watched" for the aggregator."""
