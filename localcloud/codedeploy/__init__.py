"""CodeDeploy for Lambda: what moto's CodeDeploy stores but never does (shift traffic, watch alarms, roll back)."""
