"""The rule families; importing this package registers every rule in ``claims.audit.REGISTRY``."""

from claims.audit.rules import administration, coverage, drugs

__all__ = ["administration", "coverage", "drugs"]
