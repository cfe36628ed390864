"""sertutor: learn speech emotion recognition with a multi-task semi-supervised AAE.

After Latif, Rana, Khalifa, Jurdak, Epps and Schuller, *Multi-Task Semi-Supervised Adversarial
Autoencoding for Speech Emotion Recognition*, IEEE Trans. Affective Computing 13(2), 2022
(arXiv:1907.06078), and Makhzani et al., *Adversarial Autoencoders*, ICLR workshop 2016.

Importing sertutor is cheap: torch, umap, plotly and the widgets load only when a submodule
that needs them is used.

>>> import sertutor
>>> cfg = sertutor.get_config("tiny")
"""

from .config import PRESETS, Config, get_config
from .storage import data_dir

__version__ = "0.1.0"
__all__ = ["Config", "PRESETS", "get_config", "data_dir", "__version__"]
