"""Customers' own data: the profile (challenge 8's versioned entity holding personal data, and what erasure removes)."""
