"""General helpers, mirroring ``keras.utils``, so that code written for Keras
(``from keras.utils import to_categorical``) reads the same with tinynn.

``to_categorical`` is defined in :mod:`tinynn.datasets.preprocessing`, ``set_random_seed`` in
:mod:`tinynn.seeding`.
"""

from tinynn.datasets.preprocessing import to_categorical
from tinynn.seeding import set_random_seed

__all__ = ["set_random_seed", "to_categorical"]
