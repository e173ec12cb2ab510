"""General helpers, mirroring ``keras.utils``.

Only ``to_categorical`` lives here for now; it is defined in
:mod:`tinynn.datasets.preprocessing` and re-exported so that code written for Keras
(``from keras.utils import to_categorical``) reads the same with tinynn.
"""

from tinynn.datasets.preprocessing import to_categorical

__all__ = ["to_categorical"]
