"""The API aggregator (challenge 17): GET /showtimes/{showtimeId}/overview from four internal services at once."""
