"""The top floor: the orchestration of the steps, which imports the step rooms (nothing below imports it).

launch       how a step runs its independent jobs: the jobs, the finished ones, the merge (``run_step``)
launchers    the ``local`` and ``submitit`` launchers: job processes, their logs, Ctrl-C
plan         ``--plan``: what a step's jobs cost before anything runs
throughputs  ``--plan``'s measured throughputs per device and network (``results/throughputs.csv``)
pipeline     reproduce.py's runner: the steps of ``common/steps.py`` in order

Each room's step module (``fisher/step.py``, ``nas/step.py``, ``training/step.py``, ...: the body of a step
script) stands on this floor too, between ``launch`` (which it uses) and ``pipeline`` (which runs it).
"""
