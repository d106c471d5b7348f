"""Plain-Python core of the service's side of training (no Django): reading a run directory that
``python -m training`` wrote, and launching and supervising a training process. The ORM side is
``flywheel.services.training``; the on-disk run directory (training/README.md) is the contract."""
