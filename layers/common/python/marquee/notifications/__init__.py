"""Notifications (challenge 6, design question 10): channels and messages (``channels``), providers behind breakers
(``providers``), the delivery store (``store``). The DLQ operations of the staff API live in functions/notifications."""
