"""The kernel core: environment models, cached AWS clients, typed errors, money, the camelCase wire models."""
