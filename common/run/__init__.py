"""Running the suite: flags, errors, devices, launchers, cost plans, the steps of reproduce.py.

cli       flags shared by every script, and the one-line error handling (``run``)
errors    ``UserError`` and the input checks
names     the registries' names, importable without torch (for ``--help``)
device    ``--device``
launch    launchers: how a step runs its independent jobs
plan      ``--plan``: what a step's jobs cost before anything runs
throughputs  ``--plan``'s measured throughputs per device and network (``results/throughputs.csv``)
steps     the papers' steps in order, as plain data
pipeline  reproduce.py's runner
"""
