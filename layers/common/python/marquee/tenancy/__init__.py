"""Tenancy: the tenant context every data access takes, and the per-tenant scoped AWS session (LeadingKeys)."""
