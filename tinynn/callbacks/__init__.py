"""Callbacks: code that runs at fixed points of ``fit`` (Keras hook names).

One module per concept: ``callback`` (the hooks), ``callback_list`` (fan-out),
``history``, ``progbar``, ``early_stopping``, ``checkpoint``, ``learning_rate``,
``terminate_on_nan``, ``csv_logger``, ``backup_and_restore``; ``monitor`` holds the
"did it improve?" logic they share.
"""

from tinynn.callbacks.backup_and_restore import BackupAndRestore
from tinynn.callbacks.callback import Callback
from tinynn.callbacks.callback_list import CallbackList
from tinynn.callbacks.checkpoint import ModelCheckpoint
from tinynn.callbacks.csv_logger import CSVLogger
from tinynn.callbacks.early_stopping import EarlyStopping
from tinynn.callbacks.grow_on_plateau import GrowOnPlateau
from tinynn.callbacks.history import History
from tinynn.callbacks.layer_stats import LayerStatistics
from tinynn.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from tinynn.callbacks.progbar import ProgbarLogger
from tinynn.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "GrowOnPlateau",
    "History",
    "LayerStatistics",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]
