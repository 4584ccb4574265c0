"""One router per resource: claims (score, audit), X12 837 bodies, the model, health and metrics."""

from serving.routes import claims, health, model, x12

__all__ = ["claims", "health", "model", "x12"]
