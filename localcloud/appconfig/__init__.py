"""AppConfig: the data plane moto lacks (sessions, latest configuration) and its deployment store."""
