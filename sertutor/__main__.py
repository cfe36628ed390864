"""``python -m sertutor ...`` (also what ``torchrun -m sertutor train`` runs)."""

from .cli import main

raise SystemExit(main())
