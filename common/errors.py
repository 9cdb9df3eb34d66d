"""One exception type for everything a user can fix (unknown task, missing data, missing checkpoint ...).

Scripts catch it and print its message as a single ``error: ...`` line on stderr, exit code 2.
"""


class UserError(Exception):
    pass


def positive(name: str, value):
    """``value`` unchanged, or a UserError naming the flag when it is given and not positive."""
    if value is not None and value <= 0:
        raise UserError(f"--{name} must be positive, got {value}")
    return value
