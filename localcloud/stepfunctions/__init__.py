"""Step Functions: moto's ASL interpreter, with Lambda tasks run on the runner."""
