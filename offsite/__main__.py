"""``python -m offsite``: the command line, as the ``offsite`` script (a training worker is started this way, with the
training environment's Python)."""

from offsite.cli import app

app()
