"""The one exception type for mistakes a user can fix; entry points print it as one line."""


class UserError(Exception):
    """A problem with the user's input; the message says what to do about it."""
