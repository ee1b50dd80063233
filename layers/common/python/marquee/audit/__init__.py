"""Sensitive-data audit (design question 7): who read which customer's personal data, kept apart from the request path
(``access``: the record and its queue; ``trail``: the encrypted bucket; ``rules``: unusual-access alerts)."""
