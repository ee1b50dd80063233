"""The booking domain: catalog, seats and holds, orders, their errors and events."""
