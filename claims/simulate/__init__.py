"""A realistic oncology practice, its payers, and the ground truth (``simulate_practice``).

Loading the clinical and payer data files happens on first use, not at import.
"""

from claims.simulate.config import SimulationConfig, load_config
from claims.simulate.engine import SimulationResult, simulate_practice, write_simulation

__all__ = ["SimulationConfig", "SimulationResult", "load_config", "simulate_practice", "write_simulation"]
