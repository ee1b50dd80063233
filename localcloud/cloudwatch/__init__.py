"""CloudWatch: what moto's CloudWatch stores but never does (alarm evaluation)."""
