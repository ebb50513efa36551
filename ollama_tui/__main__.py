"""The `ollama-tui` command and `python -m ollama_tui`.

The cyclic garbage collector is paused while the app starts: importing and building it makes
hundreds of thousands of objects that live as long as it does, and collecting among them as
they are made (full passes over an ever larger heap) cost 70–90 ms of a ~0.4 s start. The app
sets the collector going again, with those objects out of its sight, as it mounts
(`ui/collector.py`); the other commands set it going as soon as the arguments are read.
"""

import gc
import sys


def main() -> int:
    gc.disable()
    from ollama_tui.cli import main as run_command

    return run_command()


if __name__ == "__main__":
    sys.exit(main())
