"""Model families behind one interface (see ``base.LatentModel``), and checkpoint I/O."""

from latentlab.models.base import LatentModel
from latentlab.models.config import ModelConfig
from latentlab.models.registry import config_from_dict, create_model, family_class, family_names, make_config

__all__ = [
    "LatentModel", "ModelConfig",
    "config_from_dict", "create_model", "family_class", "family_names", "make_config",
]
