"""DynamoDB helpers shared by the stores: items, named conditions and error codes, transaction cancellation reasons."""
