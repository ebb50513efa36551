"""The one error of the documents layer: a single line saying what happened and what to do."""


class DocsError(Exception):
    """A collection cannot be found, changed, indexed or searched; the text says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
