"""DynamoDB helpers shared by the stores: the store base (table name and lazy client), items, named conditions and
error codes, transaction cancellation reasons."""
