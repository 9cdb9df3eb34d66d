"""One exception type for everything a user can fix (unknown task, missing data, missing checkpoint ...).

Scripts catch it and print its message as a single ``error: ...`` line on stderr, exit code 2.
"""


class UserError(Exception):
    pass
