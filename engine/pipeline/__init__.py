"""The pipeline: the one module that strings the stages together.

load -> validate -> features -> rules (tier, route, assign) -> models -> priority -> write
"""

from engine.pipeline._demo import run_demo
from engine.pipeline._ingest import Ingested, ingest
from engine.pipeline._train import KINDS, TrainResult, train_model

__all__ = ["Ingested", "ingest", "run_demo", "KINDS", "TrainResult", "train_model"]
