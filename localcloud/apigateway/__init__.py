"""API Gateway: the front door (REST routes at LocalStack's URLs, Lambda proxy, Cognito authorizer)."""
