"""Notifications (challenge 6, design question 10): channels and messages, providers, the delivery store, the DLQs."""
