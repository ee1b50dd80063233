"""DynamoDB helpers shared by the stores: item (de)serialisation and conditional-check failure codes."""
