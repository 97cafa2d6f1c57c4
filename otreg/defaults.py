"""The λ and margin used when a caller gives none, in a module of their own that imports
nothing: the command line's argument parser reads them without loading NumPy, which keeps
``otreg --help`` quick."""

DEFAULT_LAM = 1.0
DEFAULT_MARGIN = 0.1
