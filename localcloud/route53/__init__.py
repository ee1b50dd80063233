"""Route 53 beyond moto's records: health checks evaluated for real, and failover records that follow them."""
