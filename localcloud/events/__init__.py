"""EventBridge: the router (rules, input transformers, targets, archives) and scheduled rules."""
