"""The one exception type whose message a user can act on; the CLI turns it into exit code 2."""


class ActbenchError(Exception):
    """A problem with the user's input or environment, explained in one line with the fix."""
