from actbench.cli import app

app()
