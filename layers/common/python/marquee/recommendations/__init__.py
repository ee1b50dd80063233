"""Real-time recommendations (design question 5): "popular now" per tenant and city from the event stream, with time
decay in Valkey sorted sets, and "because you watched <genre>" from the customer's recent orders. Every recommendation
says why it was chosen. See docs/design/05-recommendations.md."""

from marquee.recommendations.store import (
    ERA_S,
    HALF_LIFE_S,
    Recommendation,
    Recommendations,
    RecommendationStore,
    UnknownShowtime,
)

__all__ = [
    "ERA_S",
    "HALF_LIFE_S",
    "Recommendation",
    "RecommendationStore",
    "Recommendations",
    "UnknownShowtime",
]
