"""Models: encoder, decoder, discriminators, auxiliary heads and the assembled MultiTaskAAE.

>>> from sertutor.config import get_config
>>> from sertutor.models import MultiTaskAAE
>>> cfg = get_config("tiny", model__variant="aae")
>>> model = MultiTaskAAE.from_config(cfg)
>>> print(model.describe())  # doctest: +SKIP
"""

from .aae import VARIANT_PARTS, AAEOutput, Codes, MultiTaskAAE, VariantParts
from .decoder import Decoder, UpBlock
from .discriminators import (CategoricalPriorDiscriminator, GaussianPriorDiscriminator,
                             PriorDiscriminator, sample_categorical_prior, sample_gaussian_prior)
from .encoder import ConvBlock, Encoder, LatentSplit, feature_map_shape, pooled_size
from .heads import (ClassifierHead, DimensionalHead, DimensionalOutput, GenderHead,
                    SpeakerHead, scale_gradient)

__all__ = [
    "MultiTaskAAE", "AAEOutput", "Codes", "VARIANT_PARTS", "VariantParts",
    "Encoder", "LatentSplit", "ConvBlock", "pooled_size", "feature_map_shape",
    "Decoder", "UpBlock",
    "PriorDiscriminator", "GaussianPriorDiscriminator", "CategoricalPriorDiscriminator",
    "sample_gaussian_prior", "sample_categorical_prior",
    "ClassifierHead", "SpeakerHead", "GenderHead", "DimensionalHead", "DimensionalOutput",
    "scale_gradient",
]
